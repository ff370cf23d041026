"""The ``[azure.maa]`` table of a policy: which Microsoft Azure Attestation instance's tokens a
user accepts beside Azure CVM evidence, and how they are checked (docs/azure.md, "MAA tokens: a
weaker input"; docs/policies.md). Parsed once, strictly: unknown keys, empty lists and malformed
values are a :class:`~verifier.errors.PolicyError`; the pinned JWKS file is read and checked here,
so that a bad one fails when the policy is loaded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from verifier.appraisal.policy import Policy, Section
from verifier.errors import InputError, ParseError, PolicyError

if TYPE_CHECKING:
    from verifier.appraisal.azure.maa import Jwks

MAA_KEYS = ("issuer", "jwks", "keys", "nonce_claim", "nonce_encoding", "attestation_types", "leeway_seconds")


def _issuer(section: Section) -> str:
    if "issuer" not in section.values:
        raise PolicyError(f"policy [{section.name}] needs issuer: the MAA instance's URL "
                          "(https://NAME.REGION.attest.azure.net), exactly as its tokens' iss claim has it")
    issuer = section.get("issuer", str, "")
    parts = urlsplit(issuer)
    if parts.scheme != "https" or not parts.hostname or parts.path or parts.query or parts.fragment \
            or "@" in parts.netloc or issuer != f"https://{parts.netloc}":
        raise PolicyError(f"policy [{section.name}] issuer {issuer!r} is not an https instance URL without a path "
                          "or trailing slash (https://NAME.REGION.attest.azure.net)")
    return issuer


def _jwks(section: Section, policy: Policy) -> tuple[Jwks | None, Path | None]:
    from verifier.appraisal.azure.maa import MAX_JWKS_BYTES, parse_jwks
    from verifier.files import read_file

    if "jwks" not in section.values:
        return None, None
    path = Path(section.get("jwks", str, ""))
    if not path.parts:
        raise PolicyError(f"policy [{section.name}] jwks must name a file")
    if not path.is_absolute():
        source = Path(policy.source)
        path = (source.parent if source.is_file() else Path.cwd()) / path
    try:
        data = read_file(path, MAX_JWKS_BYTES, "the pinned JWKS")
        return parse_jwks(data, str(path)), path
    except (InputError, ParseError) as e:
        raise PolicyError(f"policy [{section.name}] jwks: {e}") from None


def _thumbprints(section: Section) -> frozenset[str] | None:
    from verifier.appraisal.azure.maa import is_thumbprint

    items = section.allow_list("keys", "key thumbprint")
    if items is None:
        return None
    for item in items:
        if not is_thumbprint(item):
            raise PolicyError(f"policy [{section.name}] keys: {item!r} is not an RFC 7638 SHA-256 key thumbprint "
                              "(43 base64url characters)")
    return frozenset(items)


def _claim_path(section: Section, default: str) -> str:
    path = section.get("nonce_claim", str, default)
    if not path or any(not part for part in path.split(".")):
        raise PolicyError(f"policy [{section.name}] nonce_claim {path!r} is not a dotted claim path")
    return path


@dataclass(frozen=True)
class MaaPolicy:
    """The ``[azure.maa]`` table, every key typed (docs/azure.md has each key's meaning)."""

    issuer: str
    jwks: Jwks | None
    jwks_path: Path | None
    keys: frozenset[str] | None
    nonce_claim: str
    nonce_encoding: str
    attestation_types: tuple[str, ...] | None
    leeway_seconds: int

    @property
    def certs_url(self) -> str:
        """Where the instance publishes its signing keys: the only URL keys are ever fetched from."""
        return f"{self.issuer}/certs"

    @classmethod
    def from_section(cls, section: Section, policy: Policy) -> MaaPolicy:
        """Parse and check the table; a :class:`PolicyError` for a bad key or value."""
        from verifier.appraisal.azure.maa import (
            DEFAULT_LEEWAY_SECONDS,
            DEFAULT_NONCE_CLAIM,
            MAX_LEEWAY_SECONDS,
            NONCE_ENCODINGS,
        )

        section.only(*MAA_KEYS)
        issuer = _issuer(section)
        if "jwks" not in section.values and "keys" not in section.values:
            raise PolicyError(f"policy [{section.name}] needs jwks (a pinned JWKS file) or keys (pinned key "
                              "thumbprints): a token's own jku is never trusted")
        jwks, path = _jwks(section, policy)
        keys = _thumbprints(section)
        if jwks is not None and keys is not None:
            known = {k.thumbprint for k in jwks.keys.values()}
            if not keys & known:
                raise PolicyError(f"policy [{section.name}] keys: none of the pinned thumbprints is a key of the "
                                  f"JWKS {path}: no token could verify")
        leeway = section.get("leeway_seconds", int, DEFAULT_LEEWAY_SECONDS)
        if not 0 <= leeway <= MAX_LEEWAY_SECONDS:
            raise PolicyError(f"policy [{section.name}] leeway_seconds must be 0 to {MAX_LEEWAY_SECONDS}, not {leeway}")
        types = section.allow_list("attestation_types")
        return cls(issuer, jwks, path, keys, _claim_path(section, DEFAULT_NONCE_CLAIM),
                   section.choice("nonce_encoding", NONCE_ENCODINGS, "base64"),
                   tuple(types) if types is not None else None, leeway)

    @classmethod
    def from_policy(cls, policy: Policy) -> MaaPolicy | None:
        """The policy's ``[azure.maa]`` table, parsed; None when it has none."""
        azure = policy.section("azure")
        if "maa" not in azure.values:
            return None
        return cls.from_section(azure.table("maa"), policy)


def policy_maa(policy: Policy) -> MaaPolicy:
    """The policy's ``[azure.maa]`` table for ``--maa-token``; an :class:`InputError` when it has
    none (a token cannot be checked without a pinned issuer and keys)."""
    maa = MaaPolicy.from_policy(policy)
    if maa is None:
        raise InputError(f"--maa-token needs an [azure.maa] table in the policy ({policy.name!r} has none): the MAA "
                         "instance's issuer and its pinned keys (docs/azure.md)")
    return maa
