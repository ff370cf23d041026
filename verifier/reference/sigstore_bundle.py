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
  (1.3.6.1.4.1.57264.1.8, else .1.1), the Source Repository URI (.1.12, else ``https://github.com/``
  and the GitHub Workflow Repository .1.5) matched exactly against ``https://github.com/OWNER/NAME``,
  the Build Config URI (.1.18) against a regular expression and, when asked, the Source Repository
  Ref (.1.14, else the GitHub Workflow Ref .1.6) against a prefix;
* what was signed: the in-toto statement's subjects (DSSE bundles) or the message digest (message
  signature bundles) against ``--digest`` and the artifact's SHA-256; the statement's payload type,
  statement type and predicate type against the policy's.

A failing check whose id covers several causes carries a structured ``reason``
(:data:`REASONS`); for ``sigstore.signature`` it names the first of the ``sigstore`` package's own
verification steps that fails, replayed one by one after its verdict (:func:`_signature_reason`).

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
from collections.abc import Callable, Collection, Mapping
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
from verifier.reference.note import NoteVerifier, check_signatures, ecdsa_verifier, ed25519_verifier
from verifier.result import AttestationResult, Check, PolicyRef, failed, passed, skipped
from verifier.strict_json import load_strict_json

KIND = "sigstore-release"
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
OID_ISSUER_V1 = "1.3.6.1.4.1.57264.1.1"
OID_GITHUB_WORKFLOW_REPOSITORY = "1.3.6.1.4.1.57264.1.5"
OID_GITHUB_WORKFLOW_REF = "1.3.6.1.4.1.57264.1.6"
OID_ISSUER = "1.3.6.1.4.1.57264.1.8"
OID_BUILD_SIGNER_URI = "1.3.6.1.4.1.57264.1.9"
OID_SOURCE_REPOSITORY_URI = "1.3.6.1.4.1.57264.1.12"
OID_SOURCE_REPOSITORY_REF = "1.3.6.1.4.1.57264.1.14"
OID_BUILD_CONFIG_URI = "1.3.6.1.4.1.57264.1.18"
IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
IN_TOTO_STATEMENT_TYPES = ("https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1")
IN_TOTO_FIELDS = frozenset({"_type", "subject", "predicateType", "predicate"})
REASONS: dict[str, tuple[str, ...]] = {
    ids.BUNDLE: ("trusted_root", "tlog_count", "timestamp"),
    ids.TLOG_CHECKPOINT: ("format", "untrusted_key", "signature", "root_mismatch"),
    ids.SIGNATURE: ("timestamp", "chain", "expired", "sct_duplicate_log", "sct", "certificate",
                    "log_entry", "signature", "log_entry_body"),
    ids.IDENTITY_ISSUER: ("missing", "mismatch"),
    ids.STATEMENT: ("payload_type", "format", "statement_type", "unknown_field", "no_subject", "predicate_type"),
}
"""The structured reasons (:attr:`verifier.result.Check.reason`) each check id may carry when it
fails, in the order they are tested (docs/transparency.md, "Sigstore bundles")."""
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
    """The Fulcio extensions this module matches on or reports (None where absent): each v2
    extension (DER UTF8String) first, its deprecated v1 form (raw bytes) where only that is present."""
    issuer = _extension(cert, OID_ISSUER, der=True) or _extension(cert, OID_ISSUER_V1, der=False)
    ref = _extension(cert, OID_SOURCE_REPOSITORY_REF, der=True) or _extension(cert, OID_GITHUB_WORKFLOW_REF, der=False)
    return {
        "issuer": issuer,
        "source_repository_uri": _extension(cert, OID_SOURCE_REPOSITORY_URI, der=True),
        "github_workflow_repository": _extension(cert, OID_GITHUB_WORKFLOW_REPOSITORY, der=False),
        "source_repository_ref": ref,
        "build_config_uri": _extension(cert, OID_BUILD_CONFIG_URI, der=True),
        "build_signer_uri": _extension(cert, OID_BUILD_SIGNER_URI, der=True),
    }


def sct_log_ids(cert: x509.Certificate) -> list[bytes]:
    """The log IDs of the certificate's embedded SCTs, in order (empty when it has none)."""
    try:
        scts = cert.extensions.get_extension_for_class(x509.PrecertificateSignedCertificateTimestamps).value
    except x509.ExtensionNotFound:
        return []
    return [bytes(s.log_id) for s in scts]


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
            # The trusted root does not say under which name a log signs: the URL's host and path,
            # or (a log served below a path, e.g. https://host/rekor) the host alone.
            names = dict.fromkeys(((parts.netloc + parts.path).rstrip("/"), parts.netloc))
            spki = base64.b64decode(tlog["publicKey"]["rawBytes"], validate=True)
            log_id = base64.b64decode(tlog["logId"]["keyId"], validate=True)
            public = serialization.load_der_public_key(spki)
            for name in names:
                if isinstance(public, Ed25519PublicKey):
                    keys.append(ed25519_verifier(name, public, explicit_key_id=log_id[:4]))
                elif isinstance(public, ec.EllipticCurvePublicKey) and isinstance(public.curve, ec.SECP256R1):
                    keys.append(ecdsa_verifier(name, public))
        except (KeyError, TypeError, ValueError, binascii.Error, VerifierError):
            continue
    return keys


class _Refused(ValueError):
    """A statement the policy refuses, with the structured reason of its check."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class _Statement:
    subjects: tuple[Subject, ...]
    statement_type: str
    predicate_type: str | None
    predicate: Any


def _statement(payload_type: str, payload: bytes, *, want_payload_type: str,
               statement_types: Collection[str] | None, predicate_types: Collection[str] | None,
               extra_fields: bool, first_subject_only: bool) -> _Statement:
    """The in-toto statement, checked in this order: payload type, JSON object, statement type,
    top-level fields, subjects (only the first, with ``first_subject_only``), predicate type."""
    if payload_type != want_payload_type:
        raise _Refused(f"the DSSE payload type is {payload_type!r}, not {want_payload_type!r}", "payload_type")
    try:
        doc = load_strict_json(payload, "in-toto statement", max_depth=SIGSTORE_DEPTH)
    except ParseError as e:
        raise _Refused(f"the payload is not an in-toto statement ({e})", "format") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("_type"), str):
        raise _Refused("the payload is not an in-toto statement", "format")
    statement_type = doc["_type"]
    if statement_types is not None and statement_type not in statement_types:
        raise _Refused(f"the statement type {statement_type!r} is not one of {sorted(statement_types)}", "statement_type")
    unknown = sorted(set(doc) - IN_TOTO_FIELDS)
    if unknown and not extra_fields:
        raise _Refused(f"the statement has fields the policy does not allow: {', '.join(unknown)[:120]}", "unknown_field")
    raw = doc.get("subject") or []
    if not isinstance(raw, list):
        raise _Refused("the statement's subject is not a list", "format")
    subjects = []
    for s in raw[:1] if first_subject_only else raw:
        if not isinstance(s, dict) or not isinstance(s.get("digest"), dict):
            raise _Refused("an in-toto subject has no digest", "format")
        sha = s["digest"].get("sha256")
        if isinstance(sha, str) and re.fullmatch(r"[0-9a-f]{64}", sha):
            subjects.append(Subject(str(s.get("name", "")), sha))
    if not subjects:
        which = "its first subject is no SHA-256 subject" if first_subject_only and raw else "it names no SHA-256 subject"
        raise _Refused(f"the in-toto statement is about nothing: {which}", "no_subject")
    predicate_type = doc.get("predicateType")
    if predicate_types is not None and predicate_type not in predicate_types:
        raise _Refused(f"the predicate type {predicate_type!r} is not one of {sorted(predicate_types)}", "predicate_type")
    return _Statement(tuple(subjects), statement_type,
                      predicate_type if isinstance(predicate_type, str) else None, doc.get("predicate"))


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
                    offline: bool = True, workflow_ref_prefix: str | None = None,
                    payload_type: str = IN_TOTO_PAYLOAD_TYPE,
                    statement_types: Collection[str] | None = IN_TOTO_STATEMENT_TYPES,
                    predicate_types: Collection[str] | None = None,
                    statement_extra_fields: bool = True, first_subject_only: bool = False,
                    legacy_certificate_chain: bool = True) -> BundleAppraisal:
    """Verify a Sigstore bundle against a trusted root and an identity policy (checks in module doc).

    ``trusted_root`` is a ``trusted_root.json``; None means the ``sigstore`` package's production
    root (``offline=True``: the copy it ships or has cached, never a network fetch). ``digest``
    (``sha256:<hex>``) and ``artifact`` say what must have been signed; ``workflow_ref`` is a
    regular expression that must match the whole Build Config URI or the ref after its ``@``.
    Bad arguments raise :class:`~verifier.errors.InputError`; a bad bundle is a failed check.

    Policy options (the defaults are this module's long-standing rules):
    ``workflow_ref_prefix``: the Source Repository Ref (.1.14, else .1.6) must start with it
    (``sigstore.identity.workflow``; an empty prefix asks only that the ref be present);
    ``payload_type``: the DSSE payload type, exactly; ``statement_types``/``predicate_types``:
    allow-lists of the statement's ``_type`` and ``predicateType`` (None: any; empty: none);
    ``statement_extra_fields=False`` refuses top-level statement fields other than in-toto's four;
    ``first_subject_only``: only the statement's first subject is what it signs;
    ``legacy_certificate_chain=False`` refuses a bundle whose certificate is an
    ``x509CertificateChain`` (bundle v0.1/v0.2 layout) instead of v0.3's single ``certificate``.
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

    def stop(detail: str, reason: str | None = None) -> BundleAppraisal:
        checks.append(failed(ids.BUNDLE, detail, authenticity=True, reason=reason))
        checks.extend(skipped(i, "The bundle could not be read.") for i in rest)
        return BundleAppraisal(tuple(checks))

    # sigstore.bundle: the bundle and the trusted root load.
    if len(bundle) > MAX_BUNDLE_BYTES:
        return stop(f"The bundle is larger than {MAX_BUNDLE_BYTES} bytes.")
    if trusted_root is not None and len(trusted_root) > MAX_ROOT_BYTES:
        return stop(f"The trusted root is larger than {MAX_ROOT_BYTES} bytes.", "trusted_root")
    try:
        doc = load_strict_json(bundle, "bundle", max_depth=SIGSTORE_DEPTH)
    except ParseError:
        return stop("The bundle is not JSON (a .jsonl file holds one bundle per line: pass one line).")
    try:
        root_doc = (load_strict_json(trusted_root, "trusted root", max_depth=SIGSTORE_DEPTH)
                    if trusted_root is not None else None)
    except ParseError:
        return stop("The trusted root is not JSON.", "trusted_root")
    if not isinstance(doc, dict) or not isinstance(doc.get("verificationMaterial"), dict):
        return stop("This is not a Sigstore bundle (no verificationMaterial).")
    material = doc["verificationMaterial"]
    entries = material.get("tlogEntries") or []
    if not entries:
        return stop("The bundle has no transparency log entry (such bundles, e.g. from GitHub's private Sigstore instance, cannot be verified against a public log).", "tlog_count")
    if isinstance(entries, list) and len(entries) > 1:
        return stop(f"The bundle has {len(entries)} transparency log entries; exactly one is verified.", "tlog_count")
    if not legacy_certificate_chain and "x509CertificateChain" in material:
        return stop("The bundle carries its certificate as an x509CertificateChain (bundle v0.1/v0.2 layout, which may carry CA certificates); the policy asks for v0.3's single certificate.")
    try:
        from sigstore.models import Bundle, ClientTrustConfig, TrustedRoot
        from sigstore_models.trustroot import v1 as trustroot_v1

        if trusted_root is not None:
            sig_root = TrustedRoot(trustroot_v1.TrustedRoot.from_json(trusted_root))
        else:
            sig_root = ClientTrustConfig.production(offline=offline).trusted_root
    except Exception as e:  # the sigstore package raises many kinds; none may escape as a traceback
        return stop(f"The trusted root does not load: {type(e).__name__}: {e}.", "trusted_root")
    try:
        sig_bundle = Bundle.from_json(bundle)
    except Exception as e:
        # Said apart: a log entry with no inclusion promise and no RFC 3161 timestamp (no observer).
        entry0 = entries[0] if isinstance(entries, list) and isinstance(entries[0], dict) else {}
        tsa = material.get("timestampVerificationData")
        untimed = not entry0.get("inclusionPromise") and not (isinstance(tsa, dict) and tsa.get("rfc3161Timestamps"))
        return stop(f"The bundle does not load: {type(e).__name__}: {e}.", "timestamp" if untimed else None)
    if root_doc is None:
        root_doc = json.loads(sig_root._inner.to_json())
    cert = sig_bundle.signing_certificate
    dsse = doc.get("dsseEnvelope") if isinstance(doc.get("dsseEnvelope"), dict) else None
    kind = "DSSE envelope" if dsse else "message signature"
    checks.append(passed(ids.BUNDLE, f"Sigstore bundle ({doc.get('mediaType')}) with a {kind} and {len(entries)} log entry.", authenticity=True))
    claims: dict[str, Any] = {"bundle_media_type": doc.get("mediaType"), "tlog_entries": len(entries)}

    # sigstore.tlog.inclusion / .checkpoint: the log entry, checked here as well as by sigstore.
    entry = entries[0]
    proof = entry.get("inclusionProof") if isinstance(entry, dict) else None
    if isinstance(entry, dict):
        try:
            claims["rekor_log_id"] = _b64((entry.get("logId") or {}).get("keyId"), "logId").hex()
            if entry.get("integratedTime") is not None:
                claims["rekor_integrated_time"] = _int(entry.get("integratedTime"), "integratedTime")
        except (ValueError, AttributeError):
            pass
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
    cp_reason = "format"
    try:
        if not isinstance(checkpoint_text, str):
            raise ValueError("the inclusion proof carries no checkpoint")
        keys = _log_keys(root_doc)
        checkpoint, note = read_checkpoint(checkpoint_text)
        good, bad = check_signatures(note, keys)
        if bad:
            cp_reason = "signature"
            raise ValueError(f"the signature by trusted key {bad[0].name} does not verify")
        if not good:
            cp_reason = "untrusted_key"
            raise ValueError("no signature from a trusted key")
        if checkpoint.size != size or checkpoint.root_hash != root_hash:
            cp_reason = "root_mismatch"
            raise ValueError("the checkpoint's size or root differs from the inclusion proof's")
        checks.append(passed(ids.TLOG_CHECKPOINT, f"Checkpoint of {checkpoint.origin} at size {checkpoint.size}, signed by {good[0].verifier.name} from the trusted root.", authenticity=True))
    except (ValueError, VerifierError) as e:
        checks.append(failed(ids.TLOG_CHECKPOINT, f"The log checkpoint is not signed by a log of the trusted root, or does not match the proof ({e}).", authenticity=True, reason=cp_reason))

    # sigstore.signature: the sigstore package's full verification, identity aside.
    signed_type: str | None = None
    payload: bytes | None = None
    message_digest: bytes | None = None
    claims["sct_count"] = len(sct_log_ids(cert))
    try:
        from sigstore.hashes import Hashed
        from sigstore.verify import Verifier
        from sigstore_models.common.v1 import HashAlgorithm

        verifier = Verifier(trusted_root=sig_root)
        if dsse is not None:
            signed_type, payload = verifier.verify_dsse(sig_bundle, _AcceptAnyIdentity())
        else:
            signature = sig_bundle._inner.message_signature
            if signature is None or signature.message_digest is None:
                raise ValueError("the message signature names no digest")
            message_digest = bytes(signature.message_digest.digest)
            verifier.verify_artifact(Hashed(algorithm=HashAlgorithm.SHA2_256, digest=message_digest),
                                     sig_bundle, _AcceptAnyIdentity())
        checks.append(passed(ids.SIGNATURE, "The signature, Fulcio certificate path, SCT and Rekor entry verify under the trusted root.", authenticity=True))
    except Exception as e:  # sigstore raises VerificationError and others; report, never crash
        checks.append(failed(ids.SIGNATURE, f"Sigstore verification failed: {e}", authenticity=True,
                             reason=_signature_reason(sig_root, sig_bundle, cert, dsse=dsse is not None)))

    # sigstore.identity.*: read from the certificate's extensions.
    try:
        ident = certificate_identity(cert)
    except (ValueError, UnicodeDecodeError) as e:
        ident = dict.fromkeys(("issuer", "source_repository_uri", "github_workflow_repository",
                               "source_repository_ref", "build_config_uri", "build_signer_uri"))
        claims["identity_error"] = str(e)
    claims.update({k: v for k, v in ident.items() if v is not None})
    want_issuer = issuer or GITHUB_ISSUER
    if ident["issuer"] == want_issuer:
        checks.append(passed(ids.IDENTITY_ISSUER, f"The OIDC issuer is {want_issuer}."))
    else:
        checks.append(failed(ids.IDENTITY_ISSUER, f"The certificate's OIDC issuer is {ident['issuer']!r}, expected {want_issuer!r}.",
                             reason="missing" if ident["issuer"] is None else "mismatch"))
    have_repo = ident["source_repository_uri"] or (
        f"https://github.com/{ident['github_workflow_repository']}" if ident["github_workflow_repository"] else None)
    if have_repo == want_repo:
        checks.append(passed(ids.IDENTITY_REPOSITORY, f"Signed by a workflow run of {want_repo}."))
    else:
        checks.append(failed(ids.IDENTITY_REPOSITORY, f"The certificate's source repository is {have_repo!r}, expected {want_repo!r}."))
    build = ident["build_config_uri"]
    ref = ident["source_repository_ref"]
    wrong: list[str] = []
    if workflow_re is not None and not (build is not None and (workflow_re.fullmatch(build) or workflow_re.fullmatch(build.rpartition("@")[2]))):
        wrong.append(f"The build workflow {build!r} does not match {workflow_ref!r}.")
    if workflow_ref_prefix is not None and not (ref is not None and ref.startswith(workflow_ref_prefix)):
        wrong.append(f"The source ref {ref!r} does not start with {workflow_ref_prefix!r}." if ref is not None
                     else "The certificate names no source ref (1.3.6.1.4.1.57264.1.14 or .1.6).")
    if workflow_re is None and workflow_ref_prefix is None:
        checks.append(skipped(ids.IDENTITY_WORKFLOW, f"No --workflow-ref given; the workflow was {build!r}.", required=False))
    elif wrong:
        checks.append(failed(ids.IDENTITY_WORKFLOW, " ".join(wrong)))
    else:
        said = [f"The build workflow {build} matches {workflow_ref!r}."] if workflow_re is not None else []
        said += [f"The source ref {ref} starts with {workflow_ref_prefix!r}."] if workflow_ref_prefix is not None else []
        checks.append(passed(ids.IDENTITY_WORKFLOW, " ".join(said)))

    # sigstore.statement / .digest / .artifact: what was signed.
    subjects: tuple[Subject, ...] = ()
    predicate_type: str | None = None
    predicate: Any = None
    if dsse is not None:
        try:
            if payload is None:
                signed_type = dsse.get("payloadType")
                payload = _b64(dsse.get("payload"), "the DSSE payload")
            statement = _statement(str(signed_type), payload, want_payload_type=payload_type,
                                   statement_types=statement_types, predicate_types=predicate_types,
                                   extra_fields=statement_extra_fields, first_subject_only=first_subject_only)
            subjects, predicate_type, predicate = statement.subjects, statement.predicate_type, statement.predicate
            claims["statement_type"] = statement.statement_type
            claims["subjects"] = [{"name": s.name, "sha256": s.sha256} for s in subjects]
            claims["predicate_type"] = predicate_type
            checks.append(passed(ids.STATEMENT, f"An in-toto statement about {len(subjects)} subject(s), predicate {predicate_type}."))
        except _Refused as e:
            checks.append(failed(ids.STATEMENT, f"The signed payload is not a usable in-toto statement ({e}).", reason=e.reason))
        except (ValueError, UnicodeDecodeError) as e:
            checks.append(failed(ids.STATEMENT, f"The signed payload is not a usable in-toto statement ({e}).", reason="format"))
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
    return BundleAppraisal(tuple(checks), signed_type, payload, subjects, predicate_type, predicate, claims)


def _signature_reason(sig_root: Any, sig_bundle: Any, cert: x509.Certificate, *, dsse: bool) -> str | None:
    """Why the ``sigstore`` package refused a bundle (``sigstore.signature``'s reason): its own steps
    (``Verifier._verify_common_signing_cert``, then the DSSE signature and the log entry's body),
    replayed one at a time; the first that fails is named. Called only after its verification
    failed, so the verdict stays the package's; a step this version of the package lacks, or a
    refusal no step reproduces, gives None."""
    try:
        from cryptography.x509.oid import ExtendedKeyUsageOID
        from sigstore import dsse as sigstore_dsse
        from sigstore._internal.sct import verify_sct
        from sigstore._internal.trust import KeyringPurpose
        from sigstore.verify import verifier as sigstore_verifier
    except ImportError:
        return None

    def fails(step: Callable[[], object]) -> bool:
        try:
            step()
        except AttributeError:
            raise
        except Exception:
            return True
        return False

    def profile() -> None:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        if not usage.digital_signature or ExtendedKeyUsageOID.CODE_SIGNING not in eku:
            raise ValueError("not a code-signing certificate")

    try:
        try:
            verifier = sigstore_verifier.Verifier(trusted_root=sig_root)
        except Exception:
            return "chain" if fails(sig_root.get_fulcio_certs) else "log_entry"
        try:
            times = verifier._establish_time(sig_bundle)
        except AttributeError:
            raise
        except Exception:
            return "timestamp"
        if len(times) < sigstore_verifier.VERIFIED_TIME_THRESHOLD:
            return "timestamp"
        valid = [cert.not_valid_before_utc <= t.time <= cert.not_valid_after_utc for t in times]
        chain: list[x509.Certificate] = []
        for t, inside in zip(times, valid, strict=True):
            try:
                chain = verifier._verify_chain_at_time(cert, t)
            except AttributeError:
                raise
            except Exception:
                return "chain" if inside else "expired"
        logs = sct_log_ids(cert)
        if len(set(logs)) < len(logs):
            return "sct_duplicate_log"
        if fails(lambda: verify_sct(cert, chain, sig_root.ct_keyring(KeyringPurpose.VERIFY))):
            return "sct"
        if fails(profile):
            return "certificate"
        if fails(lambda: sig_bundle.log_entry._verify(sig_root.rekor_keyring(KeyringPurpose.VERIFY))):
            return "log_entry"
        if not all(valid):
            return "expired"
        if not dsse:
            return None

        def signature() -> None:
            envelope = sig_bundle._dsse_envelope  # its constructor refuses a signature count other than 1
            key = cert.public_key()
            if envelope is None or not isinstance(key, ec.EllipticCurvePublicKey):
                raise ValueError("no DSSE envelope, or not an ECDSA key")
            sigstore_dsse._verify(key, envelope)

        if fails(signature):
            return "signature"
        kind_version = sig_bundle.log_entry._inner.kind_version
        if (kind_version.kind, kind_version.version) == ("dsse", "0.0.1"):
            body: Callable[[Any], None] = sigstore_verifier._validate_dsse_v001_entry_body
        elif (kind_version.kind, kind_version.version) == ("hashedrekord", "0.0.2"):
            body = sigstore_verifier._validate_hashedrekord_v002_dsse_entry_body
        else:
            return "log_entry_body"
        return "log_entry_body" if fails(lambda: body(sig_bundle)) else None
    except Exception:  # a step this version of the package does not have: no reason, never a crash
        return None


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
