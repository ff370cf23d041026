"""Microsoft Azure Attestation (MAA) tokens: an optional, weaker input beside Azure CVM evidence.

An MAA instance (``https://NAME.REGION.attest.azure.net``) appraises evidence by its own policy
and, when satisfied, signs a JWT (RS256) with one of the keys it publishes at ``/certs`` (a JWKS
whose keys carry ``x5c`` certificates). A token proves only that Microsoft's service appraised
*some* evidence and said what its claims say; it replaces none of this client's own checks
(docs/azure.md, "MAA tokens: a weaker input").

:func:`parse_maa_token` reads a JWS compact token strictly (bounded, canonical base64url, strict
JSON: duplicate names refused); :func:`parse_jwks` reads a JWKS (RSA keys from ``n``/``e`` or the
leaf of ``x5c``; private keys refused); :func:`verify_maa_token` emits the ``maa.*`` checks of
:mod:`verifier.appraisal.azure.maa_checks` in order and the claims worth showing. The token's
``jku`` is never fetched: keys come from a JWKS the policy pins (a file) or from the policy's own
issuer's ``/certs`` (:func:`appraise_maa_token`), optionally narrowed to pinned thumbprints.

Every refusal is a :class:`MaaError` (a :class:`~verifier.errors.ParseError`) with one sentence,
which the checks carry; nothing here raises on a hostile token.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from verifier.appraisal.azure import maa_checks as ids
from verifier.appraisal.checks import CheckCollector
from verifier.errors import CollateralError, InputError, ParseError
from verifier.result import Check, Checked, failed, iso, passed, skipped, utc
from verifier.strict_json import load_strict_json

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

    from verifier.appraisal.azure.maa_rules import MaaPolicy
    from verifier.endorsements.fetch import CollateralFetcher

__all__ = ["ALGORITHM", "DEFAULT_LEEWAY_SECONDS", "DEFAULT_NONCE_CLAIM", "MAX_TOKEN_BYTES", "Jwks", "MaaError",
           "MaaKey", "MaaToken", "MaaVerification", "appraise_maa_token", "is_thumbprint", "jwk_thumbprint",
           "parse_jwks", "parse_maa_token", "read_token_text", "verify_maa_token"]

ALGORITHM = "RS256"
"""The one signature algorithm accepted: RSASSA-PKCS1-v1_5 with SHA-256, what MAA signs with."""
MAX_TOKEN_BYTES = 64 * 1024
"""A real MAA token is a few kilobytes (its runtime claims included); a longer one is refused unread."""
MAX_JWKS_BYTES = 256 * 1024
MAX_JWKS_KEYS = 32
MAX_X5C = 8
MIN_KEY_BITS = 2048
DEFAULT_LEEWAY_SECONDS = 60
"""Clock skew allowed on ``nbf``, ``exp`` and ``iat`` (policy ``leeway_seconds``, at most 300)."""
MAX_LEEWAY_SECONDS = 300
DEFAULT_NONCE_CLAIM = "x-ms-runtime.client-payload.nonce"
"""Where a guest's nonce usually lies: the runtime claims' client payload (policy ``nonce_claim``)."""
NONCE_ENCODINGS = ("base64", "hex", "utf-8")
UNSUPPORTED_HEADERS = ("crit", "b64", "zip", "enc")
"""Header parameters of JWS extensions (or of JWE) this verifier does not implement: refused."""

_B64URL = re.compile(r"\A[A-Za-z0-9_-]*\Z")
_B64 = re.compile(r"\A[A-Za-z0-9+/]*={0,2}\Z")
_HEX = re.compile(r"\A(?:[0-9a-fA-F]{2})+\Z")


class MaaError(ParseError):
    """An MAA token or JWKS this verifier refuses; ``reason`` says which rule (docs/azure.md)."""


# -- encodings -----------------------------------------------------------------------------------
def _b64url_decode(text: str, what: str) -> bytes:
    """Unpadded base64url (RFC 7515 §2), canonical: any other spelling of the same bytes is refused,
    so that one token has one form."""
    if not _B64URL.match(text) or len(text) % 4 == 1:
        raise MaaError(f"{what} is not base64url (RFC 7515: A-Z a-z 0-9 - _, no padding)", reason="base64url")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64url(raw) != text:
        raise MaaError(f"{what} is not canonical base64url (stray bits in its last character)", reason="base64url")
    return raw


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64_decode(text: str, what: str) -> bytes:
    """Padded standard base64 (an ``x5c`` entry, RFC 7517 §4.7)."""
    if not _B64.match(text) or len(text) % 4:
        raise MaaError(f"{what} is not padded standard base64 (RFC 7517 §4.7)", reason="base64")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise MaaError(f"{what} is not base64", reason="base64") from None


def _uint(value: int) -> bytes:
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


# -- the keys ------------------------------------------------------------------------------------
def is_thumbprint(text: str) -> bool:
    """Whether ``text`` is the form :func:`jwk_thumbprint` gives (43 base64url characters, 32 bytes)."""
    try:
        return len(_b64url_decode(text, "it")) == 32
    except MaaError:
        return False


def jwk_thumbprint(key: RSAPublicKey) -> str:
    """The RFC 7638 SHA-256 thumbprint of an RSA public key, base64url without padding (what
    ``[azure.maa] keys`` pins)."""
    numbers = key.public_numbers()
    e, n = _b64url(_uint(numbers.e)), _b64url(_uint(numbers.n))
    canonical = f'{{"e":"{e}","kty":"RSA","n":"{n}"}}'  # RFC 7638 §3.2: required members, sorted, no spaces
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())


@dataclass(frozen=True)
class MaaKey:
    """One signing key of an MAA instance: its ``kid``, the RSA public key and its thumbprint."""

    kid: str
    public_key: RSAPublicKey
    thumbprint: str
    bits: int
    form: str
    """Where the key came from: ``"x5c"`` (the leaf certificate), ``"n/e"``, or ``"x5c, n/e"``."""


@dataclass(frozen=True)
class Jwks:
    """A parsed JWKS: its keys by ``kid``, where it came from and the SHA-256 of its bytes."""

    keys: Mapping[str, MaaKey]
    source: str
    sha256: str


def _rsa_from_numbers(jwk: dict[str, Any], where: str) -> RSAPublicKey:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers

    n, e = jwk["n"], jwk["e"]
    if not isinstance(n, str) or not isinstance(e, str):
        raise MaaError(f"{where}: n and e must be base64url strings", reason="jwks")
    try:
        return RSAPublicNumbers(int.from_bytes(_b64url_decode(e, f"{where}.e"), "big"),
                                int.from_bytes(_b64url_decode(n, f"{where}.n"), "big")).public_key()
    except ValueError:
        raise MaaError(f"{where}: n and e are not an RSA public key", reason="jwks") from None


def _rsa_from_x5c(chain: object, where: str) -> RSAPublicKey:
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

    if not isinstance(chain, list) or not 0 < len(chain) <= MAX_X5C or not all(isinstance(c, str) for c in chain):
        raise MaaError(f"{where}.x5c must be a list of 1 to {MAX_X5C} base64 certificates", reason="jwks")
    try:
        leaf = x509.load_der_x509_certificate(_b64_decode(chain[0], f"{where}.x5c[0]"))
        key = leaf.public_key()
    except (ValueError, UnsupportedAlgorithm):
        raise MaaError(f"{where}.x5c[0] is not a DER X.509 certificate", reason="jwks") from None
    if not isinstance(key, RSAPublicKey):
        raise MaaError(f"{where}.x5c[0] holds no RSA key (MAA signs with RSA)", reason="jwks")
    return key


def _jwk(jwk: object, where: str) -> MaaKey:
    if not isinstance(jwk, dict):
        raise MaaError(f"{where} is not an object", reason="jwks")
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid:
        raise MaaError(f"{where} has no kid", reason="jwks")
    where = f"{where} (kid {kid[:64]!r})"
    if jwk.get("kty") != "RSA":
        raise MaaError(f"{where}: kty {jwk.get('kty')!r} is not RSA (MAA signs with RSA keys)", reason="jwks")
    if any(p in jwk for p in ("d", "p", "q", "dp", "dq", "qi", "oth")):
        raise MaaError(f"{where} holds private key material: a JWKS to verify with must hold public keys only",
                       reason="jwks")
    if "use" in jwk and jwk["use"] != "sig":
        raise MaaError(f"{where}: use {jwk['use']!r} is not sig", reason="jwks")
    if "alg" in jwk and jwk["alg"] != ALGORITHM:
        raise MaaError(f"{where}: alg {jwk['alg']!r} is not {ALGORITHM}", reason="jwks")
    has_numbers = "n" in jwk or "e" in jwk
    if has_numbers and not ("n" in jwk and "e" in jwk):
        raise MaaError(f"{where} has one of n and e without the other", reason="jwks")
    from_x5c = _rsa_from_x5c(jwk["x5c"], where) if "x5c" in jwk else None
    from_numbers = _rsa_from_numbers(jwk, where) if has_numbers else None
    key = from_x5c or from_numbers
    if key is None:
        raise MaaError(f"{where} has neither x5c nor n and e", reason="jwks")
    if from_x5c is not None and from_numbers is not None \
            and from_x5c.public_numbers() != from_numbers.public_numbers():
        raise MaaError(f"{where}: n and e are not the key of its x5c certificate", reason="jwks")
    numbers = key.public_numbers()
    if key.key_size < MIN_KEY_BITS or numbers.e < 3 or numbers.e % 2 == 0:
        raise MaaError(f"{where}: an RSA key of {key.key_size} bits with exponent {numbers.e} is not usable "
                       f"(at least {MIN_KEY_BITS} bits, an odd exponent)", reason="jwks")
    form = ", ".join(f for f, k in (("x5c", from_x5c), ("n/e", from_numbers)) if k is not None)
    return MaaKey(kid, key, jwk_thumbprint(key), key.key_size, form)


def parse_jwks(data: bytes, source: str) -> Jwks:
    """A JWKS (``{"keys": [...]}``, as an MAA instance's ``/certs`` serves it), strictly: bounded,
    strict JSON, RSA public keys only, each ``kid`` once."""
    if len(data) > MAX_JWKS_BYTES:
        raise MaaError(f"the JWKS {source} is larger than {MAX_JWKS_BYTES} bytes", reason="oversized")
    try:
        doc = load_strict_json(data, f"the JWKS {source}", max_depth=6)
    except ParseError as e:
        raise MaaError(str(e), reason="jwks") from None
    keys = doc.get("keys") if isinstance(doc, dict) else None
    if not isinstance(keys, list) or not 0 < len(keys) <= MAX_JWKS_KEYS:
        raise MaaError(f"the JWKS {source} is not an object with a keys list of 1 to {MAX_JWKS_KEYS} keys",
                       reason="jwks")
    out: dict[str, MaaKey] = {}
    for i, jwk in enumerate(keys):
        key = _jwk(jwk, f"the JWKS {source} keys[{i}]")
        if key.kid in out:
            raise MaaError(f"the JWKS {source} names kid {key.kid[:64]!r} twice", reason="jwks")
        out[key.kid] = key
    return Jwks(out, source, hashlib.sha256(data).hexdigest())


# -- the token -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class MaaToken:
    """A parsed (not yet verified) MAA token: its header and claims, and what its signature covers."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes
    text: str
    """The token exactly as given (what PyJWT re-reads to verify the signature)."""

    @property
    def alg(self) -> str:
        return str(self.header["alg"])

    @property
    def kid(self) -> str | None:
        kid = self.header.get("kid")
        return kid if isinstance(kid, str) else None


def _segment_json(segment: str, what: str, depth: int) -> dict[str, Any]:
    raw = _b64url_decode(segment, f"the token's {what}")
    try:
        doc = load_strict_json(raw, f"the token's {what}", max_depth=depth)
    except ParseError as e:
        raise MaaError(str(e), reason=what) from None
    if not isinstance(doc, dict):
        raise MaaError(f"the token's {what} is not a JSON object", reason=what)
    return doc


def parse_maa_token(token: str | bytes) -> MaaToken:
    """Read a JWS compact token (``header.payload.signature``) strictly; a :class:`MaaError` for
    anything else. The signature segment may be empty (an ``alg: none`` token parses, and is
    refused by ``maa.signature``, the check that says why)."""
    if len(token) > MAX_TOKEN_BYTES:
        raise MaaError(f"the token is {len(token)} bytes, more than the {MAX_TOKEN_BYTES} an MAA token needs",
                       reason="oversized")
    if isinstance(token, bytes):
        try:
            token = token.decode("ascii")
        except UnicodeDecodeError:
            raise MaaError("the token is not ASCII text", reason="format") from None
    parts = token.split(".")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise MaaError(f"the token has {len(parts)} dot-separated segment(s), not the three of a JWS compact "
                       "token (header.payload.signature)", reason="format")
    header = _segment_json(parts[0], "header", 4)
    claims = _segment_json(parts[1], "payload", 16)
    signature = _b64url_decode(parts[2], "the token's signature")
    if not isinstance(header.get("alg"), str):
        raise MaaError("the token's header names no alg", reason="header")
    unsupported = [p for p in UNSUPPORTED_HEADERS if p in header]
    if unsupported:
        raise MaaError(f"the token's header has {', '.join(unsupported)}: a JWS extension this verifier does "
                       "not implement (an MAA token uses none)", reason="header")
    typ = header.get("typ", "JWT")
    if not isinstance(typ, str) or typ.upper() != "JWT":
        raise MaaError(f"the token's typ is {typ!r}, not JWT", reason="header")
    for name in ("kid", "jku"):
        if name in header and not isinstance(header[name], str):
            raise MaaError(f"the token's {name} is not a string", reason="header")
    return MaaToken(header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), signature, token)


def read_token_text(data: bytes, name: str) -> str:
    """The token in a file: the compact token alone (white space around it ignored), or MAA's REST
    answer ``{"token": "..."}``; an :class:`InputError` for a file that is neither."""
    if len(data) > 2 * MAX_TOKEN_BYTES:
        raise InputError(f"{name} is larger than {2 * MAX_TOKEN_BYTES} bytes: not an MAA token")
    text = data.strip()
    if text.startswith(b"{"):
        try:
            doc = load_strict_json(text, name, max_depth=2)
        except ParseError as e:
            raise InputError(f"{name} looks like JSON but is not valid JSON ({e})") from None
        if not isinstance(doc, dict) or set(doc) != {"token"} or not isinstance(doc["token"], str):
            raise InputError(f'{name} is JSON but not {{"token": "<JWT>"}} (MAA\'s attest answer)')
        return doc["token"]
    try:
        return text.decode("ascii")
    except UnicodeDecodeError:
        raise InputError(f"{name} is not an MAA token (not ASCII text)") from None


# -- the checks ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class MaaVerification(Checked):
    """The ``maa.*`` checks of one token and what it claims (``claims``, shown under ``maa``)."""

    checks: tuple[Check, ...]
    claims: dict[str, Any] = field(default_factory=dict)
    token: MaaToken | None = None


def _fail(run: CheckCollector, id: str, detail: str, reason: str) -> None:
    run.add(failed(id, detail, required=False, reason=reason))


def _key(run: CheckCollector, tok: MaaToken, jwks: Jwks | None, pinned: frozenset[str] | None,
         certs_url: str, unavailable: str | None) -> MaaKey | None:
    cid = ids.MAA_KEY
    jku = tok.header.get("jku")
    if jku is not None and jku != certs_url:
        _fail(run, cid, f"The token's jku {str(jku)[:120]!r} is not the pinned instance's {certs_url}: it names "
              "another key source, which is never fetched.", "jku")
        return None
    if jwks is None:
        _fail(run, cid, f"No JWKS to find the token's key in ({unavailable or 'none given'}).", "jwks_unavailable")
        return None
    kid = tok.kid
    if kid is None:
        _fail(run, cid, "The token's header names no kid: no pinned key can be chosen.", "no_kid")
        return None
    key = jwks.keys.get(kid)
    if key is None:
        _fail(run, cid, f"The token's kid {kid[:64]!r} is none of the {len(jwks.keys)} key(s) of the JWKS "
              f"{jwks.source}.", "unknown_kid")
        return None
    if pinned is not None and key.thumbprint not in pinned:
        _fail(run, cid, f"The token's key {kid[:64]!r} (thumbprint {key.thumbprint}) is in the JWKS "
              f"{jwks.source} but is not one of the {len(pinned)} key(s) the policy pins.", "not_pinned")
        return None
    how = "pinned by thumbprint" if pinned is not None else "pinned with the JWKS"
    run.add(passed(cid, f"The token's key {kid[:64]!r} (RSA {key.bits} bits, from {key.form}, thumbprint "
                   f"{key.thumbprint}) is in the JWKS {jwks.source}, {how}; no jku is ever fetched.", required=False))
    return key


def _signature(run: CheckCollector, tok: MaaToken, key: MaaKey | None) -> bool:
    import jwt

    cid = ids.MAA_SIGNATURE
    if tok.alg != ALGORITHM:
        _fail(run, cid, f"The token's alg is {tok.alg[:32]!r}; only {ALGORITHM} is accepted (never none, never an "
              "HMAC keyed with a public key, no other algorithm).", "alg")
        return False
    if key is None:
        run.add(skipped(cid, "No pinned key to verify the signature with (maa.key).", required=False))
        return False
    try:
        jwt.PyJWS(algorithms=[ALGORITHM], options={"enforce_minimum_key_length": True}).decode_complete(
            tok.text, key=key.public_key, algorithms=[ALGORITHM])
    except jwt.InvalidSignatureError:
        _fail(run, cid, f"The token's {ALGORITHM} signature does not verify with key {key.kid[:64]!r}: the header "
              "or claims were changed, or another key signed it.", "signature")
        return False
    except jwt.PyJWTError as e:
        _fail(run, cid, f"The token's signature could not be checked: {str(e)[:200]}.", "format")
        return False
    run.add(passed(cid, f"The token's {ALGORITHM} signature verifies with the pinned key {key.kid[:64]!r}.",
                   required=False))
    return True


_UNSIGNED = "Not compared: the token's signature is not verified, so its claims are not the instance's."


def _issuer(run: CheckCollector, tok: MaaToken, issuer: str) -> None:
    iss = tok.claims.get("iss")
    if not isinstance(iss, str):
        _fail(run, ids.MAA_ISSUER, "The token has no iss claim.", "missing")
    elif iss != issuer:
        _fail(run, ids.MAA_ISSUER, f"The token was issued by {iss[:120]!r}, not the pinned instance {issuer}.",
              "mismatch")
    else:
        run.add(passed(ids.MAA_ISSUER, f"The token was issued by the pinned instance {issuer}.", required=False))


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _when(seconds: float) -> str:
    if 0 <= seconds < 253402300800:  # before year 10000
        return iso(dt.datetime.fromtimestamp(seconds, dt.UTC))
    return f"{seconds:g} (no date)"


def _lifetime(run: CheckCollector, tok: MaaToken, at: dt.datetime, leeway: int) -> None:
    cid = ids.MAA_LIFETIME
    times: dict[str, float] = {}
    for name in ("nbf", "exp", "iat"):
        value = _number(tok.claims.get(name))
        if value is None:
            what = "no" if name not in tok.claims else "a non-numeric"
            _fail(run, cid, f"The token has {what} {name} claim (an MAA token carries nbf, exp and iat).", "missing")
            return
        times[name] = value
    now = utc(at).timestamp()
    span = f"valid from {_when(times['nbf'])} to {_when(times['exp'])}"
    if times["nbf"] > times["exp"]:
        _fail(run, cid, f"The token's nbf is after its exp ({span}): it is never valid.", "inverted")
    elif now + leeway < times["nbf"]:
        _fail(run, cid, f"The token is not valid yet at {iso(at)}: {span} (leeway {leeway} s).", "not_yet_valid")
    elif now - leeway >= times["exp"]:
        _fail(run, cid, f"The token expired before {iso(at)}: {span} (leeway {leeway} s).", "expired")
    elif now + leeway < times["iat"]:
        _fail(run, cid, f"The token says it was issued at {_when(times['iat'])}, after {iso(at)} "
              f"(leeway {leeway} s).", "issued_in_future")
    else:
        run.add(passed(cid, f"At {iso(at)} the token is {span}, issued {_when(times['iat'])} "
                       f"(leeway {leeway} s).", required=False))


def claim_at(doc: Mapping[str, Any], path: str) -> object | None:
    """The claim at a dotted path (``x-ms-runtime.client-payload.nonce``); None when absent."""
    value: object = doc
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def decode_nonce(value: str, encoding: str) -> bytes:
    """The nonce claim's bytes as the service wrote them (``base64`` in either alphabet, padding
    optional; ``hex``; ``utf-8``: the string's own bytes); a :class:`MaaError` otherwise."""
    if encoding == "hex":
        if not _HEX.match(value):
            raise MaaError("is not hex", reason="format")
        return bytes.fromhex(value)
    if encoding == "utf-8":
        return value.encode("utf-8")
    bare = value.rstrip("=")
    if len(value) - len(bare) > 2 or (len(value) != len(bare) and len(value) % 4):
        raise MaaError("is not base64 (bad padding)", reason="format")
    url, std = re.search(r"[-_]", bare) is not None, re.search(r"[+/]", bare) is not None
    if url and std:
        raise MaaError("mixes the two base64 alphabets", reason="format")
    if std:
        bare = bare.replace("+", "-").replace("/", "_")
    return _b64url_decode(bare, "it")


def _nonce(run: CheckCollector, tok: MaaToken, nonce: bytes | None, path: str, encoding: str) -> None:
    cid = ids.MAA_NONCE
    if nonce is None:
        run.add(skipped(cid, "No nonce was given: the token's freshness is not checked.", required=False))
        return
    value = claim_at(tok.claims, path)
    if value is None:
        _fail(run, cid, f"The token has no nonce claim at {path} (the policy's nonce_claim).", "missing")
        return
    if not isinstance(value, str):
        _fail(run, cid, f"The token's {path} is a {type(value).__name__}, not a string.", "format")
        return
    try:
        got = decode_nonce(value, encoding)
    except MaaError as e:
        _fail(run, cid, f"The token's {path} {str(e).removeprefix('it ')} ({encoding}, the policy's "
              "nonce_encoding).", "format")
        return
    if hmac.compare_digest(got, nonce):
        run.add(passed(cid, f"The token's {path} is the nonce given ({len(nonce)} bytes, {encoding}).",
                       required=False))
    else:
        _fail(run, cid, f"The token's {path} is not the nonce given ({len(got)} bytes decoded as {encoding}, "
              f"{len(nonce)} expected): a token for another request.", "mismatch")


def _attestation_type(run: CheckCollector, tok: MaaToken, allowed: tuple[str, ...] | None) -> None:
    cid = ids.MAA_ATTESTATION_TYPE
    value = tok.claims.get("x-ms-attestation-type")
    shown = repr(value[:64]) if isinstance(value, str) else "absent"
    if allowed is None:
        run.add(skipped(cid, f"The policy names no attestation_types; the token's x-ms-attestation-type is {shown}.",
                        required=False))
    elif not isinstance(value, str):
        _fail(run, cid, "The token has no x-ms-attestation-type claim to compare with the policy's "
              f"attestation_types ({', '.join(allowed)}).", "missing")
    elif value in allowed:
        run.add(passed(cid, f"The token's x-ms-attestation-type {shown} is one the policy accepts.", required=False))
    else:
        _fail(run, cid, f"The token's x-ms-attestation-type {shown} is not one the policy accepts "
              f"({', '.join(allowed)}).", "not_accepted")


def _claims(tok: MaaToken, key: MaaKey | None, signed: bool, jwks: Jwks | None) -> dict[str, Any]:
    c = tok.claims
    tee = c.get("x-ms-isolation-tee")
    out: dict[str, Any] = {
        "signature_verified": signed, "issuer": c.get("iss"), "kid": tok.kid, "jku": tok.header.get("jku"),
        "key_thumbprint": key.thumbprint if key is not None else None,
        "attestation_type": c.get("x-ms-attestation-type"), "compliance_status": c.get("x-ms-compliance-status"),
        "version": c.get("x-ms-ver"),
        **{name: _when(v) for name in ("iat", "nbf", "exp") if (v := _number(c.get(name))) is not None},
    }
    if isinstance(tee, dict):
        out["isolation_tee"] = {"attestation_type": tee.get("x-ms-attestation-type"),
                                "compliance_status": tee.get("x-ms-compliance-status")}
    if jwks is not None:
        out["jwks"] = {"source": jwks.source, "sha256": jwks.sha256}
    out["claims"] = c
    return out


def verify_maa_token(token: str | bytes, *, jwks: Jwks | None, issuer: str, nonce: bytes | None, at: dt.datetime,
                     leeway_seconds: int = DEFAULT_LEEWAY_SECONDS, pinned: frozenset[str] | None = None,
                     nonce_claim: str = DEFAULT_NONCE_CLAIM, nonce_encoding: str = "base64",
                     attestation_types: tuple[str, ...] | None = None,
                     jwks_unavailable: str | None = None) -> MaaVerification:
    """Check an MAA token at ``at``: the ``maa.*`` checks, in catalogue order, and its claims.

    ``jwks``: the instance's signing keys (a pinned file, or its ``/certs`` read through the
    policy's issuer; None with ``jwks_unavailable`` saying why there are none); ``pinned``: RFC 7638
    thumbprints the key must also have (None: every key of ``jwks``). ``issuer``: the exact ``iss``
    (the instance URL); a ``jku`` in the header must be ``issuer + "/certs"`` and is never fetched.
    ``nonce``: the bytes the claim at ``nonce_claim`` must decode to (None: ``maa.nonce`` skips).
    ``attestation_types``: the accepted ``x-ms-attestation-type`` values (None: any, a skip).

    Every check is informative (``required=False``, never an authenticity check): a token never
    makes a result authentic or verified, while a failed check still leaves it unverified.
    """
    if not 0 <= leeway_seconds <= MAX_LEEWAY_SECONDS:
        raise ValueError(f"leeway_seconds must be 0 to {MAX_LEEWAY_SECONDS}")
    if nonce_encoding not in NONCE_ENCODINGS:
        raise ValueError(f"nonce_encoding must be one of {', '.join(NONCE_ENCODINGS)}")
    run = CheckCollector()
    try:
        tok = parse_maa_token(token)
    except MaaError as e:
        _fail(run, ids.MAA_PARSE, f"The MAA token does not parse: {e}.", e.reason or "format")
        return MaaVerification(run.checks)
    run.add(passed(ids.MAA_PARSE, f"The MAA token is a JWS compact token ({len(tok.text)} bytes) with a strict JSON "
                   f"header and claims ({len(tok.claims)} top-level).", required=False))
    key = _key(run, tok, jwks, pinned, issuer.rstrip("/") + "/certs", jwks_unavailable)
    signed = _signature(run, tok, key)
    if signed:
        _issuer(run, tok, issuer)
        _lifetime(run, tok, at, leeway_seconds)
        _nonce(run, tok, nonce, nonce_claim, nonce_encoding)
        _attestation_type(run, tok, attestation_types)
    else:
        run.extend(skipped(i, _UNSIGNED, required=False) for i in ids.CATALOGUE[3:])
    return MaaVerification(run.checks, _claims(tok, key, signed, jwks), tok)


def appraise_maa_token(token: str | bytes, maa: MaaPolicy, *, nonce: bytes | None, at: dt.datetime,
                       fetcher: CollateralFetcher | None = None) -> MaaVerification:
    """:func:`verify_maa_token` under an ``[azure.maa]`` table: its pinned JWKS file, or (with only
    ``keys``) the issuer's own ``/certs`` through ``fetcher`` (cached; offline-aware), never the
    token's ``jku``."""
    jwks, unavailable = maa.jwks, None
    if jwks is None:
        if fetcher is None:
            unavailable = f"the policy pins no JWKS file and {maa.certs_url} was not fetched"
        else:
            try:
                jwks = parse_jwks(fetcher.get(maa.certs_url).body, maa.certs_url)
            except (CollateralError, MaaError) as e:
                unavailable = f"{maa.certs_url}: {e}"
    return verify_maa_token(token, jwks=jwks, issuer=maa.issuer, nonce=nonce, at=at,
                            leeway_seconds=maa.leeway_seconds, pinned=maa.keys, nonce_claim=maa.nonce_claim,
                            nonce_encoding=maa.nonce_encoding, attestation_types=maa.attestation_types,
                            jwks_unavailable=unavailable)

