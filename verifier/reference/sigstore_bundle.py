"""Sigstore bundles as GitHub artifact attestations publish them, checked with an identity policy.

The cryptography (Fulcio certificate path at the signing time, SCT, Rekor entry and its inclusion
promise or checkpoint, the signature over the DSSE envelope or the artifact digest, and the
consistency of the log entry's body with the bundle) is done by the ``sigstore`` package, imported
lazily (DESIGN.md "Libraries"). On top of it this module checks, each with its own check id:

* the Rekor inclusion proof again with RFC 9162 §2.1.3.2 (:mod:`verifier.reference.merkle`) and the
  Rekor checkpoint as a C2SP signed note under a log key of the trusted root
  (:mod:`verifier.reference.note`; Rekor v1 signs with ECDSA P-256, Rekor v2 with Ed25519, and its
  witnesses' cosignatures are ignored as unknown keys);
* the identity, read from the Fulcio certificate's extensions, not from its SAN (a reusable
  workflow's SAN names the workflow's repository, not the caller's): the OIDC issuer
  (1.3.6.1.4.1.57264.1.8, else .1.1), the Source Repository URI (.1.12) matched exactly against
  ``https://github.com/OWNER/NAME``, and the Build Config URI (.1.18) against a regular expression;
* what was signed: the in-toto statement's subjects (DSSE bundles) or the message digest (message
  signature bundles) against ``--digest`` and the artifact's SHA-256.

Check ids, in order: ``sigstore.bundle``, ``sigstore.tlog.inclusion``, ``sigstore.tlog.checkpoint``,
``sigstore.signature``, ``sigstore.identity.issuer``, ``sigstore.identity.repository``,
``sigstore.identity.workflow``, ``sigstore.statement``, ``sigstore.digest``, ``sigstore.artifact``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from verifier.errors import InputError, ParseError, VerifierError
from verifier.files import read_file
from verifier.reference import sigstore_checks as ids
from verifier.reference.checkpoint import read_checkpoint
from verifier.reference.merkle import leaf_hash, verify_inclusion
from verifier.reference.note import NoteVerifier, ecdsa_verifier, ed25519_verifier, verify_note
from verifier.result import AttestationResult, Check, PolicyRef, failed, passed, skipped
from verifier.strict_json import load_strict_json

KIND = "sigstore-release"
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
OID_ISSUER_V1 = "1.3.6.1.4.1.57264.1.1"
OID_ISSUER = "1.3.6.1.4.1.57264.1.8"
OID_SOURCE_REPOSITORY_URI = "1.3.6.1.4.1.57264.1.12"
OID_BUILD_CONFIG_URI = "1.3.6.1.4.1.57264.1.18"
IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
IN_TOTO_STATEMENT_TYPES = ("https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1")
MAX_BUNDLE_BYTES = 4 * 1024 * 1024
MAX_ROOT_BYTES = 4 * 1024 * 1024
SIGSTORE_DEPTH = 64
"""Sigstore bundles and trusted roots nest a dozen levels; deeper input is refused, not recursed into."""
_DIGEST = re.compile(r"\Asha256:([0-9a-f]{64})\Z")
_REPOSITORY = re.compile(r"\A[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+\Z")


@dataclass(frozen=True)
class Subject:
    """An in-toto subject: a name and its SHA-256 (lowercase hex)."""

    name: str
    sha256: str


@dataclass(frozen=True)
class BundleAppraisal:
    """The checks, and what the bundle signed (valid only when no check failed)."""

    checks: tuple[Check, ...]
    payload_type: str | None = None
    payload: bytes | None = None
    subjects: tuple[Subject, ...] = ()
    predicate_type: str | None = None
    predicate: Any = None
    claims: Mapping[str, Any] = field(default_factory=dict)


class _AcceptAnyIdentity:
    """A ``sigstore`` verification policy that accepts every certificate: identity is checked
    afterwards by this module, each rule with its own check id."""

    def verify(self, cert: Any) -> None:
        return None


# -- small readers -------------------------------------------------------------------------------


def _der_utf8(value: bytes) -> str:
    """A DER UTF8String (tag 0x0C), as Fulcio writes its v2 extensions (1.3.6.1.4.1.57264.1.8+)."""
    if len(value) < 2 or value[0] != 0x0C:
        raise ValueError("not a DER UTF8String")
    length, pos = value[1], 2
    if length & 0x80:
        n = length & 0x7F
        if n == 0 or n > 3 or len(value) < 2 + n:
            raise ValueError("bad DER length")
        length, pos = int.from_bytes(value[2 : 2 + n], "big"), 2 + n
    if pos + length != len(value):
        raise ValueError("DER length does not match")
    return value[pos:].decode("utf-8")


def _extension(cert: x509.Certificate, oid: str, *, der: bool) -> str | None:
    try:
        ext = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier(oid))
    except x509.ExtensionNotFound:
        return None
    value = ext.value
    if not isinstance(value, x509.UnrecognizedExtension):
        return None
    return _der_utf8(value.value) if der else value.value.decode("utf-8")


def certificate_identity(cert: x509.Certificate) -> dict[str, str | None]:
    """The Fulcio extensions this module matches on (None where absent)."""
    issuer = _extension(cert, OID_ISSUER, der=True) or _extension(cert, OID_ISSUER_V1, der=False)
    return {
        "issuer": issuer,
        "source_repository_uri": _extension(cert, OID_SOURCE_REPOSITORY_URI, der=True),
        "build_config_uri": _extension(cert, OID_BUILD_CONFIG_URI, der=True),
    }


def _b64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"{what} is missing")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{what} is not base64") from None


def _int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{what} is missing")
    try:
        n = int(value)
    except ValueError:
        raise ValueError(f"{what} is not a number") from None
    if n < 0:
        raise ValueError(f"{what} is negative")
    return n


def _log_keys(root: Mapping[str, Any]) -> list[NoteVerifier]:
    """Note verifiers for the trusted root's transparency logs: the key name is the log URL's host
    (and path), the key ID the first four bytes of the root's log ID."""
    keys: list[NoteVerifier] = []
    for tlog in root.get("tlogs") or []:
        try:
            parts = urlsplit(tlog["baseUrl"])
            name = (parts.netloc + parts.path).rstrip("/")
            spki = base64.b64decode(tlog["publicKey"]["rawBytes"], validate=True)
            log_id = base64.b64decode(tlog["logId"]["keyId"], validate=True)
            public = serialization.load_der_public_key(spki)
            if isinstance(public, Ed25519PublicKey):
                keys.append(ed25519_verifier(name, public, explicit_key_id=log_id[:4]))
            elif isinstance(public, ec.EllipticCurvePublicKey) and isinstance(public.curve, ec.SECP256R1):
                keys.append(ecdsa_verifier(name, public))
        except (KeyError, TypeError, ValueError, binascii.Error, VerifierError):
            continue
    return keys


def _statement(payload_type: str, payload: bytes) -> tuple[tuple[Subject, ...], str | None, Any]:
    if payload_type != IN_TOTO_PAYLOAD_TYPE:
        raise ValueError(f"the DSSE payload type is {payload_type!r}, not {IN_TOTO_PAYLOAD_TYPE}")
    try:
        doc = load_strict_json(payload, "in-toto statement", max_depth=SIGSTORE_DEPTH)
    except ParseError as e:
        raise ValueError(f"the payload is not an in-toto statement ({e})") from None
    if not isinstance(doc, dict) or doc.get("_type") not in IN_TOTO_STATEMENT_TYPES:
        raise ValueError("the payload is not an in-toto statement")
    subjects = []
    for s in doc.get("subject") or []:
        if not isinstance(s, dict) or not isinstance(s.get("digest"), dict):
            raise ValueError("an in-toto subject has no digest")
        sha = s["digest"].get("sha256")
        if isinstance(sha, str) and re.fullmatch(r"[0-9a-f]{64}", sha):
            subjects.append(Subject(str(s.get("name", "")), sha))
    if not subjects:
        raise ValueError("the in-toto statement names no SHA-256 subject")
    predicate_type = doc.get("predicateType")
    return tuple(subjects), predicate_type if isinstance(predicate_type, str) else None, doc.get("predicate")


def parse_digest(text: str) -> str:
    """``sha256:<64 hex>`` -> the hex; anything else is an :class:`InputError`."""
    m = _DIGEST.match(text.strip().lower())
    if not m:
        raise InputError(f"digest {text!r} must be written sha256:<64 hex digits>")
    return m.group(1)


def repository_uri(repository: str) -> str:
    """``OWNER/NAME`` -> ``https://github.com/OWNER/NAME``; a full https URL is kept as written."""
    if repository.startswith("https://"):
        return repository.rstrip("/")
    if not _REPOSITORY.match(repository):
        raise InputError(f"repository {repository!r} must be OWNER/NAME")
    return f"https://github.com/{repository}"


# -- the appraisal -------------------------------------------------------------------------------------


def appraise_bundle(bundle: bytes, *, trusted_root: bytes | None, repository: str,
                    artifact: bytes | None = None, digest: str | None = None,
                    workflow_ref: str | None = None, issuer: str | None = GITHUB_ISSUER,
                    offline: bool = True) -> BundleAppraisal:
    """Verify a Sigstore bundle against a trusted root and an identity policy (checks in module doc).

    ``trusted_root`` is a ``trusted_root.json``; None means the ``sigstore`` package's production
    root (``offline=True``: the copy it ships or has cached, never a network fetch). ``digest``
    (``sha256:<hex>``) and ``artifact`` say what must have been signed; ``workflow_ref`` is a
    regular expression that must match the whole Build Config URI or the ref after its ``@``.
    Bad arguments raise :class:`~verifier.errors.InputError`; a bad bundle is a failed check.
    """
    want_repo = repository_uri(repository)
    want_digest = parse_digest(digest) if digest else None
    try:
        workflow_re = re.compile(workflow_ref) if workflow_ref else None
    except re.error as e:
        raise InputError(f"--workflow-ref {workflow_ref!r} is not a regular expression: {e}") from None
    checks: list[Check] = []
    rest = (ids.TLOG_INCLUSION, ids.TLOG_CHECKPOINT, ids.SIGNATURE,
            ids.IDENTITY_ISSUER, ids.IDENTITY_REPOSITORY, ids.IDENTITY_WORKFLOW,
            ids.STATEMENT, ids.DIGEST, ids.ARTIFACT)

    def stop(reason: str) -> BundleAppraisal:
        checks.append(failed(ids.BUNDLE, reason, authenticity=True))
        checks.extend(skipped(i, "The bundle could not be read.") for i in rest)
        return BundleAppraisal(tuple(checks))

    # sigstore.bundle: the bundle and the trusted root load.
    if len(bundle) > MAX_BUNDLE_BYTES:
        return stop(f"The bundle is larger than {MAX_BUNDLE_BYTES} bytes.")
    if trusted_root is not None and len(trusted_root) > MAX_ROOT_BYTES:
        return stop(f"The trusted root is larger than {MAX_ROOT_BYTES} bytes.")
    try:
        doc = load_strict_json(bundle, "bundle", max_depth=SIGSTORE_DEPTH)
        root_doc = (load_strict_json(trusted_root, "trusted root", max_depth=SIGSTORE_DEPTH)
                    if trusted_root is not None else None)
    except ParseError:
        return stop("The bundle or the trusted root is not JSON (a .jsonl file holds one bundle per line: pass one line).")
    if not isinstance(doc, dict) or not isinstance(doc.get("verificationMaterial"), dict):
        return stop("This is not a Sigstore bundle (no verificationMaterial).")
    entries = doc["verificationMaterial"].get("tlogEntries") or []
    if not entries:
        return stop("The bundle has no transparency log entry (such bundles, e.g. from GitHub's private Sigstore instance, cannot be verified against a public log).")
    try:
        from sigstore.models import Bundle, ClientTrustConfig, TrustedRoot
        from sigstore_models.trustroot import v1 as trustroot_v1

        sig_bundle = Bundle.from_json(bundle)
        if trusted_root is not None:
            sig_root = TrustedRoot(trustroot_v1.TrustedRoot.from_json(trusted_root))
        else:
            sig_root = ClientTrustConfig.production(offline=offline).trusted_root
    except Exception as e:  # the sigstore package raises many kinds; none may escape as a traceback
        return stop(f"The bundle or trusted root does not load: {type(e).__name__}: {e}.")
    if root_doc is None:
        root_doc = json.loads(sig_root._inner.to_json())
    cert = sig_bundle.signing_certificate
    dsse = doc.get("dsseEnvelope") if isinstance(doc.get("dsseEnvelope"), dict) else None
    kind = "DSSE envelope" if dsse else "message signature"
    checks.append(passed(ids.BUNDLE, f"Sigstore bundle ({doc.get('mediaType')}) with a {kind} and {len(entries)} log entry.", authenticity=True))
    claims: dict[str, Any] = {"bundle_media_type": doc.get("mediaType")}

    # sigstore.tlog.inclusion / .checkpoint: the log entry, checked here as well as by sigstore.
    entry = entries[0]
    proof = entry.get("inclusionProof") if isinstance(entry, dict) else None
    checkpoint_text: str | None = None
    size = 0
    root_hash = b""
    try:
        if not isinstance(proof, dict):
            raise ValueError("the entry has no inclusion proof")
        body = _b64(entry.get("canonicalizedBody"), "canonicalizedBody")
        index = _int(proof.get("logIndex"), "logIndex")
        size = _int(proof.get("treeSize"), "treeSize")
        root_hash = _b64(proof.get("rootHash"), "rootHash")
        hashes = [_b64(h, "a proof hash") for h in proof.get("hashes") or []]
        cp = proof.get("checkpoint")
        checkpoint_text = cp.get("envelope") if isinstance(cp, dict) else None
        verify_inclusion(leaf_hash(body), index, size, hashes, root_hash)
        claims["rekor_log_index"] = index
        checks.append(passed(ids.TLOG_INCLUSION, f"The log entry is leaf {index} of a tree of {size} (RFC 9162 inclusion proof).", authenticity=True))
    except (ValueError, VerifierError) as e:
        checks.append(failed(ids.TLOG_INCLUSION, f"The bundle's inclusion proof does not hold ({e}): the entry may not be in the log.", authenticity=True))
    try:
        if not isinstance(checkpoint_text, str):
            raise ValueError("the inclusion proof carries no checkpoint")
        keys = _log_keys(root_doc)
        checkpoint, note = read_checkpoint(checkpoint_text)
        verified = verify_note(note, keys)
        if checkpoint.size != size or checkpoint.root_hash != root_hash:
            raise ValueError("the checkpoint's size or root differs from the inclusion proof's")
        checks.append(passed(ids.TLOG_CHECKPOINT, f"Checkpoint of {checkpoint.origin} at size {checkpoint.size}, signed by {verified[0].verifier.name} from the trusted root.", authenticity=True))
    except (ValueError, VerifierError) as e:
        checks.append(failed(ids.TLOG_CHECKPOINT, f"The log checkpoint is not signed by a log of the trusted root, or does not match the proof ({e}).", authenticity=True))

    # sigstore.signature: the sigstore package's full verification, identity aside.
    payload_type: str | None = None
    payload: bytes | None = None
    message_digest: bytes | None = None
    try:
        from sigstore.hashes import Hashed
        from sigstore.verify import Verifier
        from sigstore_models.common.v1 import HashAlgorithm

        verifier = Verifier(trusted_root=sig_root)
        if dsse is not None:
            payload_type, payload = verifier.verify_dsse(sig_bundle, _AcceptAnyIdentity())
        else:
            signature = sig_bundle._inner.message_signature
            if signature is None or signature.message_digest is None:
                raise ValueError("the message signature names no digest")
            message_digest = bytes(signature.message_digest.digest)
            verifier.verify_artifact(Hashed(algorithm=HashAlgorithm.SHA2_256, digest=message_digest),
                                     sig_bundle, _AcceptAnyIdentity())
        checks.append(passed(ids.SIGNATURE, "The signature, Fulcio certificate path, SCT and Rekor entry verify under the trusted root.", authenticity=True))
    except Exception as e:  # sigstore raises VerificationError and others; report, never crash
        checks.append(failed(ids.SIGNATURE, f"Sigstore verification failed: {e}", authenticity=True))

    # sigstore.identity.*: read from the certificate's extensions.
    try:
        ident = certificate_identity(cert)
    except (ValueError, UnicodeDecodeError) as e:
        ident = {"issuer": None, "source_repository_uri": None, "build_config_uri": None}
        claims["identity_error"] = str(e)
    claims.update({k: v for k, v in ident.items() if v is not None})
    want_issuer = issuer or GITHUB_ISSUER
    if ident["issuer"] == want_issuer:
        checks.append(passed(ids.IDENTITY_ISSUER, f"The OIDC issuer is {want_issuer}."))
    else:
        checks.append(failed(ids.IDENTITY_ISSUER, f"The certificate's OIDC issuer is {ident['issuer']!r}, expected {want_issuer!r}."))
    if ident["source_repository_uri"] == want_repo:
        checks.append(passed(ids.IDENTITY_REPOSITORY, f"Signed by a workflow run of {want_repo}."))
    else:
        checks.append(failed(ids.IDENTITY_REPOSITORY, f"The certificate's source repository is {ident['source_repository_uri']!r}, expected {want_repo!r}."))
    build = ident["build_config_uri"]
    if workflow_re is None:
        checks.append(skipped(ids.IDENTITY_WORKFLOW, f"No --workflow-ref given; the workflow was {build!r}.", required=False))
    elif build is not None and (workflow_re.fullmatch(build) or workflow_re.fullmatch(build.rpartition("@")[2])):
        checks.append(passed(ids.IDENTITY_WORKFLOW, f"The build workflow {build} matches {workflow_ref!r}."))
    else:
        checks.append(failed(ids.IDENTITY_WORKFLOW, f"The build workflow {build!r} does not match {workflow_ref!r}."))

    # sigstore.statement / .digest / .artifact: what was signed.
    subjects: tuple[Subject, ...] = ()
    predicate_type: str | None = None
    predicate: Any = None
    if dsse is not None:
        try:
            if payload is None:
                payload_type = dsse.get("payloadType")
                payload = _b64(dsse.get("payload"), "the DSSE payload")
            subjects, predicate_type, predicate = _statement(str(payload_type), payload)
            claims["subjects"] = [{"name": s.name, "sha256": s.sha256} for s in subjects]
            claims["predicate_type"] = predicate_type
            checks.append(passed(ids.STATEMENT, f"An in-toto statement about {len(subjects)} subject(s), predicate {predicate_type}."))
        except (ValueError, UnicodeDecodeError) as e:
            checks.append(failed(ids.STATEMENT, f"The signed payload is not a usable in-toto statement ({e})."))
        signed = {s.sha256 for s in subjects}
    else:
        if message_digest is None:
            signature_doc = doc.get("messageSignature") or {}
            try:
                message_digest = _b64((signature_doc.get("messageDigest") or {}).get("digest"), "messageDigest")
            except (ValueError, AttributeError):
                message_digest = b""
        signed = {message_digest.hex()} if message_digest else set()
        claims["message_digest"] = f"sha256:{message_digest.hex()}" if message_digest else None
        checks.append(passed(ids.STATEMENT, f"A signature over one file's digest sha256:{message_digest.hex() if message_digest else '?'}.", required=False))
    bound = False
    if want_digest is None:
        checks.append(skipped(ids.DIGEST, "No --digest given.", required=False))
    elif want_digest in signed:
        bound = True
        checks.append(passed(ids.DIGEST, f"The bundle signs sha256:{want_digest}."))
    else:
        checks.append(failed(ids.DIGEST, f"The bundle does not sign sha256:{want_digest}; it signs {', '.join('sha256:' + s for s in sorted(signed)) or 'nothing usable'}."))
    if artifact is None:
        if dsse is None and not bound:
            checks.append(skipped(ids.ARTIFACT, "This bundle signs a file, which was not given (pass the artifact or --digest): nothing is bound to it."))
        else:
            checks.append(skipped(ids.ARTIFACT, "No artifact given.", required=False))
    else:
        have = hashlib.sha256(artifact).hexdigest()
        if have in signed:
            checks.append(passed(ids.ARTIFACT, f"The artifact (sha256:{have}) is what the bundle signs."))
        else:
            checks.append(failed(ids.ARTIFACT, f"The artifact's digest sha256:{have} is not what the bundle signs: the artifact was modified or is another file."))
    return BundleAppraisal(tuple(checks), payload_type, payload, subjects, predicate_type, predicate, claims)


def verify_bundle(bundle: bytes, *, trusted_root: bytes | None, repository: str,
                  artifact: bytes | None = None, digest: str | None = None,
                  workflow_ref: str | None = None, issuer: str | None = GITHUB_ISSUER,
                  offline: bool = True) -> tuple[Check, ...]:
    """The checks of :func:`appraise_bundle` (for callers that only need the verdict)."""
    return appraise_bundle(bundle, trusted_root=trusted_root, repository=repository, artifact=artifact,
                           digest=digest, workflow_ref=workflow_ref, issuer=issuer, offline=offline).checks


def _read(path: Path, what: str) -> bytes:
    return read_file(path, what=what)


def verify_release_files(bundle_path: Path, *, repository: str, trusted_root_path: Path | None = None,
                         artifact_path: Path | None = None, digest: str | None = None,
                         workflow_ref: str | None = None, issuer: str | None = GITHUB_ISSUER,
                         offline: bool = True, at: dt.datetime | None = None,
                         policy: PolicyRef | None = None,
                         require_subject: bool = False) -> AttestationResult:
    """``enclave-chat release verify``: one :class:`AttestationResult` of kind ``sigstore-release``.

    Unreadable files and bad arguments raise :class:`~verifier.errors.InputError` (exit code 2);
    with ``require_subject`` (the command line), so does giving neither ``digest`` nor
    ``artifact_path``: nothing would bind the result to an artifact.
    """
    bundle = _read(bundle_path, "bundle")
    root = _read(trusted_root_path, "trusted root") if trusted_root_path is not None else None
    artifact = _read(artifact_path, "artifact") if artifact_path is not None else None
    if require_subject and digest is None and artifact is None:
        raise InputError("nothing binds the bundle to an artifact: give the digest it must sign "
                         "(--digest sha256:HEX) or the artifact (--artifact FILE)")
    appraisal = appraise_bundle(bundle, trusted_root=root, repository=repository, artifact=artifact,
                                digest=digest, workflow_ref=workflow_ref, issuer=issuer, offline=offline)
    evidence = {"bundle": hashlib.sha256(bundle).hexdigest()}
    if root is not None:
        evidence["trusted_root"] = hashlib.sha256(root).hexdigest()
    if artifact is not None:
        evidence["artifact"] = hashlib.sha256(artifact).hexdigest()
    identity = f"repository={repository_uri(repository)};issuer={issuer or GITHUB_ISSUER};workflow={workflow_ref or ''}"
    ref = policy or PolicyRef("sigstore-identity", hashlib.sha256(identity.encode()).hexdigest())
    return AttestationResult(KIND, at or dt.datetime.now(dt.UTC), None, ref, appraisal.checks,
                             evidence, dict(appraisal.claims))
