"""Published image digests: a compose's container images looked up in Sigstore's public Rekor log.

For each image of a compose pinned by digest (``repo@sha256:HEX``), Rekor's search index is asked
which entries name that digest (``POST /api/v1/index/retrieve`` with ``{"hash": "sha256:HEX"}``),
and each entry it lists is fetched (``POST /api/v1/log/entries/retrieve`` with
``{"entryUUIDs": [UUID]}``, one UUID per request, at most :data:`MAX_ENTRIES` per image). An entry
counts only when all of this holds:

* its signed entry timestamp (SET) verifies under a Rekor key of sigstore-python's production
  trusted root, and its inclusion proof against the signed checkpoint it carries (the ``sigstore``
  package's :class:`~sigstore.models.TransparencyLogEntry`); the UUID the index gave ends with the
  entry's leaf hash (SHA-256(0x00 ‖ body)), so the entry is the one the index named;
* its body (``dsse`` 0.0.1 or ``hashedrekord`` 0.0.1) carries a signing certificate that chains to
  a Fulcio CA of the same trusted root at the entry's integration time (inside the certificate's
  ten minutes);
* the certificate's identity, read from Fulcio's extensions: OIDC issuer (1.3.6.1.4.1.57264.1.8),
  Source Repository URI (.1.12) and Build Signer URI (.1.9) of a repository matching the policy's
  pattern, and Source Repository Ref (.1.14) one of the policy's refs.

What that proves, and what it does not (said in every check's detail): Rekor (by its signature)
logged, at the integration time, a signature by a workflow of that repository and ref. For a DSSE
entry Rekor logs only the envelope's and the payload's SHA-256, not the in-toto statement, so the
link from the image digest to the entry is Rekor's search index alone, which is not signed (live,
an answer of rekor.sigstore.dev over TLS; on replay, the recorded answer). Nothing here shows the
statement's subject is this digest, nor what the workflow built.

HTTP goes through the caller's collateral fetcher (``post``: never cached, refused offline). On
replay the recording answers each request (:class:`verifier.recording.ReplayTransport` matches a
POST's body where the recording kept it, as teep's recordings do; otherwise by order).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import fnmatch
import hashlib
import hmac
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from verifier.errors import CollateralError, ParseError
from verifier.reference.sigstore_bundle import GITHUB_ISSUER, certificate_identity
from verifier.result import Check, failed, passed, skipped
from verifier.strict_json import load_strict_json
from verifier.text import one_line

if TYPE_CHECKING:
    from verifier.endorsements.fetch import CollateralFetcher

REKOR = "https://rekor.sigstore.dev"
INDEX_PATH = "/api/v1/index/retrieve"
ENTRIES_PATH = "/api/v1/log/entries/retrieve"
MAX_ENTRIES = 8
"""At most this many of the entries the index lists are fetched per image (alpine's digest lists hundreds)."""
_PINNED = re.compile(r"\A(?P<repo>[^@\s]+)@sha256:(?P<digest>[0-9a-f]{64})\Z")
_UUID = re.compile(r"\A(?:[0-9a-f]{16})?[0-9a-f]{64}\Z")
REASONS = ("unreachable", "unpinned", "no_entry", "log_entry", "certificate", "identity")
"""``nearai.images.first_party``'s structured reasons, in the order a failing image is judged."""
PROOF = ("Rekor's signed entry timestamp and inclusion proof, the Fulcio certificate and its "
         "identity are verified; the digest-to-entry link is Rekor's search index, which is unsigned, "
         "and for a DSSE entry only the envelope's and payload's hashes are logged, so the statement's "
         "subject is not seen.")


@dataclass(frozen=True)
class ImagePolicy:
    first_party: tuple[str, ...] = ()
    """Patterns of first-party repositories (``nearaidev/*``), one ``fnmatch`` pattern per path segment."""
    signer_repository: str = ""
    """Pattern of the signing workflow's repository (``github.com/nearai/*``)."""
    signer_refs: tuple[str, ...] = ()
    issuer: str = GITHUB_ISSUER


@dataclass(frozen=True)
class Entry:
    """One Rekor entry as read and checked (``problem`` None: it verified)."""

    uuid: str
    kind: str | None = None
    log_index: int | None = None
    integrated_time: int | None = None
    problem: str | None = None
    reason: str | None = None
    signer: dict[str, str | None] = field(default_factory=dict)
    """The certificate's identity (Fulcio extensions), or ``{"key": SPKI SHA-256}`` for a bare key."""
    logged: dict[str, str] = field(default_factory=dict)
    """What the body logs: ``payload_sha256``, ``envelope_sha256`` (dsse) or ``data_sha256`` (hashedrekord)."""
    matches: bool = False
    mismatch: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"uuid": self.uuid, "kind": self.kind, "log_index": self.log_index,
                               "integrated_time": self.integrated_time, "verified": self.problem is None,
                               "signer": {k: v for k, v in self.signer.items() if v is not None},
                               "logged": dict(self.logged), "matches_policy": self.matches}
        if self.problem:
            out["problem"] = self.problem
        if self.mismatch:
            out["mismatch"] = self.mismatch
        return out


@dataclass(frozen=True)
class Image:
    reference: str
    repository: str | None
    digest: str | None
    first_party: bool
    uuids: tuple[str, ...] = ()
    entries: tuple[Entry, ...] = ()
    problem: str | None = None
    """Why nothing was looked up or fetched (not pinned, Rekor unreachable)."""
    reason: str | None = None

    @property
    def match(self) -> Entry | None:
        return next((e for e in self.entries if e.problem is None and e.matches), None)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"image": self.reference, "first_party": self.first_party,
                               "index_uuids": len(self.uuids), "entries": [e.to_json() for e in self.entries]}
        if self.problem:
            out["problem"] = self.problem
        return out


def _segments_match(value: str, pattern: str) -> bool:
    have, want = value.split("/"), pattern.split("/")
    return len(have) == len(want) and all(fnmatch.fnmatchcase(h, w) for h, w in zip(have, want, strict=True))


def _repository(repo: str) -> str:
    for prefix in ("docker.io/", "index.docker.io/", "registry-1.docker.io/"):
        if repo.startswith(prefix):
            return repo[len(prefix):]
    return repo


def _untagged(repo: str) -> str:
    """``name:tag`` -> ``name`` (a colon in the last path segment is a tag; in the first, a registry port)."""
    head, _, last = repo.rpartition("/")
    return f"{head}/{last.split(':')[0]}" if head else last.split(":")[0]


def is_first_party(repository: str, policy: ImagePolicy) -> bool:
    return any(_segments_match(_repository(repository), p) for p in policy.first_party)


def _post(fetcher: CollateralFetcher, path: str, doc: dict[str, Any]) -> Any:
    body = json.dumps(doc, separators=(",", ":")).encode()
    fetched = fetcher.post(REKOR + path, body, "application/json")
    try:
        return load_strict_json(fetched.body, f"Rekor {path}", max_depth=16)
    except ParseError as e:
        raise CollateralError(f"Rekor's answer to {path} is not JSON ({e})") from None


def _trusted_root() -> Any:
    from sigstore.models import ClientTrustConfig

    return ClientTrustConfig.production(offline=True).trusted_root


def _fulcio_chain(cert: x509.Certificate, root: Any, at: dt.datetime) -> None:
    """The certificate chains to a Fulcio CA of the trusted root at ``at`` (as sigstore-python
    checks it: web PKI defaults, code-signing EKU allowed)."""
    from cryptography.x509 import ExtendedKeyUsage
    from cryptography.x509.verification import Criticality, ExtensionPolicy, PolicyBuilder, Store

    ca = ExtensionPolicy.webpki_defaults_ca().may_be_present(ExtendedKeyUsage, Criticality.NON_CRITICAL, None)
    ee = ExtensionPolicy.webpki_defaults_ee().may_be_present(ExtendedKeyUsage, Criticality.NON_CRITICAL, None)
    verifier = (PolicyBuilder().store(Store(root.get_fulcio_certs())).time(at)
                .extension_policies(ca_policy=ca, ee_policy=ee).build_client_verifier())
    verifier.verify(cert, [])


def _signer_material(body: dict[str, Any]) -> tuple[str, bytes, dict[str, str]]:
    """(kind, the PEM of the certificate or key, what the body logs) of a dsse or hashedrekord body."""
    kind, spec = body.get("kind"), body.get("spec")
    if not isinstance(spec, dict):
        raise ValueError("the body has no spec")
    if kind == "dsse":
        sigs = spec.get("signatures")
        if not isinstance(sigs, list) or len(sigs) != 1 or not isinstance(sigs[0], dict):
            raise ValueError("the DSSE entry does not carry exactly one signature")
        pem = base64.b64decode(str(sigs[0].get("verifier")), validate=True)
        logged = {f"{k.removesuffix('Hash')}_sha256": str(v.get("value")) for k, v in spec.items()
                  if k in ("payloadHash", "envelopeHash") and isinstance(v, dict)}
        return "dsse", pem, logged
    if kind == "hashedrekord":
        sig = spec.get("signature")
        data = spec.get("data")
        if not isinstance(sig, dict) or not isinstance(sig.get("publicKey"), dict):
            raise ValueError("the hashedrekord entry has no public key")
        pem = base64.b64decode(str(sig["publicKey"].get("content")), validate=True)
        hashed = data.get("hash") if isinstance(data, dict) else None
        return "hashedrekord", pem, ({"data_sha256": str(hashed.get("value"))} if isinstance(hashed, dict) else {})
    raise ValueError(f"entries of kind {one_line(str(kind), 30)!r} are not read here")


def _identity_mismatch(ident: dict[str, str | None], policy: ImagePolicy) -> str | None:
    if ident.get("issuer") != policy.issuer:
        return f"the OIDC issuer is {ident.get('issuer')!r}, not {policy.issuer!r}"
    repo = (ident.get("source_repository_uri") or "").removeprefix("https://")
    if not policy.signer_repository or not _segments_match(repo, policy.signer_repository):
        return f"the source repository is {repo or None!r}, which does not match {policy.signer_repository!r}"
    signer = (ident.get("build_signer_uri") or "").removeprefix("https://")
    signer_repo = "/".join(signer.split("/")[:3])
    if not _segments_match(signer_repo, policy.signer_repository):
        return f"the build signer is {signer or None!r}, a workflow outside {policy.signer_repository!r}"
    ref = ident.get("source_repository_ref")
    if ref not in policy.signer_refs:
        return f"the source ref is {ref!r}, not one of {list(policy.signer_refs)}"
    return None


def check_entry(uuid: str, answer: Any, policy: ImagePolicy, root: Any) -> Entry:
    """One ``entries/retrieve`` answer for ``uuid``, verified (module docstring); never raises."""
    from sigstore._internal.trust import KeyringPurpose
    from sigstore.models import TransparencyLogEntry

    if not isinstance(answer, list) or len(answer) != 1 or not isinstance(answer[0], dict) or len(answer[0]) != 1:
        return Entry(uuid, problem="Rekor's answer is not one entry", reason="log_entry")
    (got_uuid, raw), = answer[0].items()
    if not isinstance(raw, dict) or got_uuid[-64:] != uuid[-64:]:
        return Entry(uuid, problem=f"Rekor answered entry {one_line(str(got_uuid), 90)}, not the one asked for",
                     reason="log_entry")
    try:
        body_bytes = base64.b64decode(str(raw.get("body")), validate=True)
        body = load_strict_json(body_bytes, "Rekor entry body", max_depth=16)
        log_index = int(raw["logIndex"])
        integrated = int(raw["integratedTime"])
        if not isinstance(body, dict):
            raise ValueError("the body is not a JSON object")
    except (KeyError, TypeError, ValueError, binascii.Error, ParseError) as e:
        return Entry(uuid, problem=f"the entry does not read ({one_line(str(e), 120)})", reason="log_entry")
    kind = body.get("kind") if isinstance(body.get("kind"), str) else None
    base = Entry(uuid, kind, log_index, integrated)
    try:
        entry = TransparencyLogEntry._from_v1_response({got_uuid: raw})
        keyring = root.rekor_keyring(KeyringPurpose.VERIFY)
        entry._verify_set(keyring)
    except Exception as e:  # sigstore raises many kinds; a bad entry is a finding, never a crash
        return replace(base, problem=f"its signed entry timestamp does not verify under Rekor's key ({one_line(str(e), 120)})",
                     reason="log_entry")
    try:
        entry._verify(keyring)  # the inclusion proof and its signed checkpoint (and the SET again)
    except Exception as e:
        return replace(base, problem=f"its inclusion proof or checkpoint does not verify ({one_line(str(e), 120)})",
                     reason="log_entry")
    leaf = hashlib.sha256(b"\x00" + body_bytes).hexdigest()
    if not hmac.compare_digest(leaf, uuid[-64:]):
        return replace(base, problem="the UUID the index gave is not this entry's leaf hash", reason="log_entry")
    try:
        kind, pem, logged = _signer_material(body)
    except (ValueError, TypeError, binascii.Error) as e:
        return replace(base, problem=one_line(str(e), 120), reason="certificate")
    if b"CERTIFICATE" not in pem:
        try:
            key = serialization.load_pem_public_key(pem)
            spki = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        except ValueError:
            return replace(base, logged=logged, problem="its signer is neither a certificate nor a key", reason="certificate")
        return replace(base, logged=logged, signer={"key": hashlib.sha256(spki).hexdigest()},
                     mismatch="signed by a bare key, not a Fulcio certificate naming a workflow")
    try:
        cert = x509.load_pem_x509_certificate(pem)
        ident = certificate_identity(cert)
    except (ValueError, UnicodeDecodeError) as e:
        return replace(base, logged=logged, problem=f"its certificate does not read ({one_line(str(e), 100)})",
                     reason="certificate")
    try:
        _fulcio_chain(cert, root, dt.datetime.fromtimestamp(integrated, dt.UTC))
    except Exception as e:  # cryptography's VerificationError and others
        return replace(base, logged=logged, signer=ident,
                     problem=f"its certificate does not chain to Fulcio at the integration time ({one_line(str(e), 120)})",
                     reason="certificate")
    mismatch = _identity_mismatch(ident, policy)
    return replace(base, logged=logged, signer=ident, matches=mismatch is None, mismatch=mismatch)


def look_up(references: Sequence[str], policy: ImagePolicy, fetcher: CollateralFetcher | None,
            *, root: Any = None) -> list[Image]:
    """Each distinct image reference: first-party or not, its index UUIDs and entries (never raises
    on what Rekor answers; an unreachable Rekor is the image's ``problem``)."""
    images: list[Image] = []
    seen: set[str] = set()
    for ref in references:
        if ref in seen:
            continue
        seen.add(ref)
        m = _PINNED.match(ref)
        repo = _untagged(m.group("repo") if m else ref.split("@")[0])
        first = is_first_party(repo, policy)
        if m is None:
            images.append(Image(ref, repo, None, first, problem="not pinned by digest: there is no digest to look up",
                                reason="unpinned"))
            continue
        digest = m.group("digest")
        if fetcher is None:
            images.append(Image(ref, repo, digest, first, problem="nothing fetches here (no collateral fetcher)",
                                reason="unreachable"))
            continue
        try:
            uuids = _post(fetcher, INDEX_PATH, {"hash": f"sha256:{digest}"})
            if not isinstance(uuids, list) or not all(isinstance(u, str) and _UUID.match(u) for u in uuids):
                raise CollateralError("Rekor's index answer is not a list of entry UUIDs")
        except CollateralError as e:
            images.append(Image(ref, repo, digest, first, problem=f"Rekor's index could not be asked ({one_line(str(e), 140)})",
                                reason="unreachable"))
            continue
        if root is None:
            root = _trusted_root()
        entries: list[Entry] = []
        for uuid in uuids[:MAX_ENTRIES]:
            try:
                answer = _post(fetcher, ENTRIES_PATH, {"entryUUIDs": [uuid]})
            except CollateralError as e:
                entries.append(Entry(uuid, problem=f"not fetched ({one_line(str(e), 120)})", reason="unreachable"))
                continue
            entry = check_entry(uuid, answer, policy, root)
            entries.append(entry)
            if first and entry.problem is None and entry.matches:
                break  # one entry by the policy's signer is what a first-party image needs
        images.append(Image(ref, repo, digest, first, tuple(uuids), tuple(entries),
                            reason=None if uuids else "no_entry"))
    return images


def _describe(e: Entry) -> str:
    if "key" in e.signer:
        return f"a bare key (SPKI SHA-256 {str(e.signer['key'])[:16]}…)"
    return f"{e.signer.get('build_signer_uri')} ({e.signer.get('source_repository_ref')})"


def _image_problem(image: Image) -> tuple[str, str]:
    """(why a first-party image has no matching entry, its reason)."""
    if image.problem is not None:
        return image.problem, image.reason or "unreachable"
    if not image.uuids:
        return "Rekor's index lists no entry for its digest", "no_entry"
    verified = [e for e in image.entries if e.problem is None]
    if verified:
        return f"no entry is signed by the policy's workflows ({verified[0].mismatch})", "identity"
    bad = image.entries[0] if image.entries else None
    if bad is not None and bad.reason == "unreachable" and len({e.reason for e in image.entries}) == 1:
        return f"none of its {len(image.uuids)} entries could be fetched ({bad.problem})", "unreachable"
    bad = next((e for e in image.entries if e.reason != "unreachable"), bad)
    return (f"entry {bad.uuid[-12:]} {bad.problem}" if bad is not None else "no entry was read"), (
        bad.reason or "log_entry") if bad is not None else "log_entry"


def first_party_check(check_id: str, images: Sequence[Image], policy: ImagePolicy, *,
                      required: bool = True) -> Check:
    """Every first-party image has a verified entry signed by the policy's workflows."""
    if not policy.first_party:
        return skipped(check_id, "The policy names no first-party images, so none is looked up in Rekor.", required=False)
    mine = [i for i in images if i.first_party]
    if not mine:
        return skipped(check_id, f"No image of this compose is first-party ({', '.join(policy.first_party)}): nothing to look up.",
                       required=False)
    wanted = f"a workflow of {policy.signer_repository} on {' or '.join(policy.signer_refs)}"
    for image in mine:
        if image.match is None:
            why, reason = _image_problem(image)
            if reason == "unreachable":
                return skipped(check_id, f"Not checked: for {image.reference} {why}; live, Rekor is asked.", required=required)
            return failed(check_id, f"{image.reference} has no Rekor entry signed by {wanted}: {why}.", reason=reason)
    found = "; ".join(f"{i.reference.split('@')[0]} by {_describe(i.match)} (entry {i.match.log_index})"
                      for i in mine if i.match is not None)
    return passed(check_id, f"The {len(mine)} first-party image(s) each have a Rekor entry signed by {wanted}: {found}. {PROOF}",
                  required=required)


def third_party_check(check_id: str, images: Sequence[Image]) -> Check:
    """The other images' signers, or "unsigned": informative, never a pass."""
    others = [i for i in images if not i.first_party]
    if not others:
        return skipped(check_id, "Every image of this compose is first-party.", required=False)
    said: list[str] = []
    for image in others:
        name = image.reference.split("@")[0]
        good = [e for e in image.entries if e.problem is None]
        if image.problem is not None:
            said.append(f"{name}: not looked up ({image.problem})")
        elif not image.uuids:
            said.append(f"{name}: unsigned (Rekor's index lists no entry)")
        elif good:
            said.append(f"{name}: signed by {_describe(good[0])}" + (f", {len(image.uuids)} entry(ies) listed" if len(image.uuids) > 1 else ""))
        else:
            first = image.entries[0].problem if image.entries else "none fetched"
            said.append(f"{name}: {len(image.uuids)} entry(ies) listed, none verified here (the first: {first})")
    return skipped(check_id, "Third-party images, reported, not judged: " + "; ".join(said) + ". " + PROOF, required=False)
