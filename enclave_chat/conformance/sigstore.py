"""``verify-sigstore`` (SPEC §5): a release's Sigstore bundle under the input's trusted root and policy.

The bundle is appraised by :func:`verifier.reference.sigstore_bundle.appraise_bundle`, the function
the Tinfoil provider's release check uses (:mod:`verifier.providers.tinfoil.release`), with the
input as its options: the trusted root (``trust_root_b64``, never the package's own), the repository,
the OIDC issuer, the workflow ref prefix, the payload type, the statement and predicate type
allow-lists (null: any), the expected digest; and the rules SPEC §5 adds to that function's
defaults: only the first in-toto subject counts (§5.4), no top-level statement field beyond in-toto's
four, and no bundle v0.1/v0.2 certificate chain (§5.2). The predicate's measurement (§5.5) is
checked by the provider's :func:`~verifier.providers.tinfoil.release.code_predicate_problem`.
The first failing check maps to the suite's code by (check id, reason) in :data:`TABLE`.

``verification_time_unix`` is validated and not used: the ``sigstore`` package checks the
certificate at the time the bundle's log entry or timestamp establishes, not at a caller's time
(capability ``verification_time_override: bundle-supplied-only``). The thresholds this project
cannot configure (``tlog_entries_*``, ``sct_min``, ``observer_timestamps_min``) are accepted only
at the values it enforces; any other value is :class:`Unsupported` (exit 20).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

from enclave_chat.conformance.taxonomy import Key, Malformed, Rejected, Unsupported, reject_first
from verifier.providers.tinfoil import release
from verifier.reference import sigstore_checks as ids
from verifier.reference.sigstore_bundle import appraise_bundle

TABLE: dict[Key, str] = {
    (ids.BUNDLE, "trusted_root"): "TRUST_ROOT_INVALID",
    (ids.BUNDLE, "tlog_count"): "TLOG_COUNT_OUT_OF_RANGE",
    (ids.BUNDLE, "timestamp"): "OBSERVER_TIMESTAMP_INSUFFICIENT",
    (ids.BUNDLE, None): "BUNDLE_MALFORMED",
    (ids.TLOG_INCLUSION, None): "REKOR_INCLUSION_INVALID",
    (ids.TLOG_CHECKPOINT, "untrusted_key"): "REKOR_KEY_NOT_TRUSTED",
    (ids.TLOG_CHECKPOINT, "root_mismatch"): "CHECKPOINT_ROOT_MISMATCH",
    (ids.TLOG_CHECKPOINT, None): "REKOR_INCLUSION_INVALID",
    (ids.SIGNATURE, "timestamp"): "OBSERVER_TIMESTAMP_INSUFFICIENT",
    (ids.SIGNATURE, "chain"): "FULCIO_CHAIN_INVALID",
    (ids.SIGNATURE, "certificate"): "FULCIO_CHAIN_INVALID",
    (ids.SIGNATURE, "expired"): "CERT_EXPIRED",
    (ids.SIGNATURE, "sct"): "SCT_INSUFFICIENT",
    (ids.SIGNATURE, "sct_duplicate_log"): "SCT_DUPLICATE_LOG",
    (ids.SIGNATURE, "log_entry"): "REKOR_INCLUSION_INVALID",
    (ids.SIGNATURE, "log_entry_body"): "REKOR_INCLUSION_INVALID",
    (ids.SIGNATURE, None): "DSSE_SIGNATURE_INVALID",
    (ids.IDENTITY_ISSUER, None): "OIDC_ISSUER_MISMATCH",
    (ids.IDENTITY_REPOSITORY, None): "WORKFLOW_REPOSITORY_MISMATCH",
    (ids.IDENTITY_WORKFLOW, None): "WORKFLOW_REF_PREFIX_MISMATCH",
    (ids.STATEMENT, "payload_type"): "PAYLOAD_TYPE_MISMATCH",
    (ids.STATEMENT, "statement_type"): "IN_TOTO_STATEMENT_TYPE_NOT_ALLOWED",
    (ids.STATEMENT, "no_subject"): "SUBJECT_MISSING",
    (ids.STATEMENT, "predicate_type"): "PREDICATE_TYPE_NOT_ALLOWED",
    (ids.STATEMENT, None): "BUNDLE_MALFORMED",
    (ids.DIGEST, None): "SUBJECT_DIGEST_MISMATCH",
}
"""(check id, reason) -> rejection code; (id, None) covers the id's other reasons. A
``sigstore.signature`` refusal that no step of the ``sigstore`` package reproduces has no reason and
is ``DSSE_SIGNATURE_INVALID``; an unknown statement field or an unreadable statement is
``BUNDLE_MALFORMED``."""

PREDICATES_UNDERSTOOD = (release.CODE_PREDICATE,)
"""The predicate types a measurement is extracted from (capability ``predicate_types_understood``)."""

ENFORCED = {"tlog_entries_min": (1,), "tlog_entries_max": (None, 1), "sct_min": (1,), "observer_timestamps_min": (1,)}
"""The thresholds the verifier enforces without a knob (exactly one log entry and one SCT, one
verified time: the ``sigstore`` package's rules), as the values of the input that say the same."""

_TOP = ("schema_version", "bundle_b64", "expected_digest_sha256_hex", "repo", "policy", "trust_root_b64",
        "verification_time_unix")
_POLICY = ("oidc_issuer", "workflow_ref_prefix", "payload_type", "predicate_types_allowed",
           "in_toto_statement_types_allowed", *ENFORCED)
_HEX64 = re.compile(r"\A[0-9a-fA-F]{64}\Z")
_REPO = re.compile(r"\A[A-Za-z0-9._-]+/[A-Za-z0-9._-]+\Z")


def _string(doc: Mapping[str, Any], key: str, pattern: re.Pattern[str] | None = None) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or (pattern is not None and not pattern.match(value)):
        raise Malformed(f"{key} is not a string of the schema's form")
    return value


def _b64(doc: Mapping[str, Any], key: str) -> bytes:
    try:
        return base64.b64decode(_string(doc, key), validate=True)
    except (binascii.Error, ValueError):
        raise Malformed(f"{key} is not base64") from None


def _count(value: object, key: str, *, nullable: bool = False) -> int | None:
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Malformed(f"{key} is not a non-negative integer")
    return value


def _allow_list(policy: Mapping[str, Any], key: str) -> tuple[str, ...] | None:
    value = policy.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Malformed(f"policy.{key} is not a list of strings or null")
    return tuple(value)


def _decode(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The input, schema-exact (schemas/verify-sigstore.input.schema.json), or :class:`Malformed`."""
    missing = [k for k in _TOP if k not in doc]
    extra = sorted(set(doc) - set(_TOP))
    if missing or extra:
        raise Malformed(f"missing {missing}, unknown {extra}")
    policy = doc["policy"]
    if not isinstance(policy, dict):
        raise Malformed("policy is not an object")
    missing = [k for k in ("oidc_issuer", "workflow_ref_prefix", "payload_type") if k not in policy]
    extra = sorted(set(policy) - set(_POLICY))
    if missing or extra:
        raise Malformed(f"policy: missing {missing}, unknown {extra}")
    thresholds = {k: _count(policy[k], f"policy.{k}", nullable=k == "tlog_entries_max")
                  for k in ENFORCED if k in policy}
    _count(doc["verification_time_unix"], "verification_time_unix")
    out = {
        "bundle": _b64(doc, "bundle_b64"),
        "trusted_root": _b64(doc, "trust_root_b64"),
        "digest": _string(doc, "expected_digest_sha256_hex", _HEX64).lower(),
        "repo": _string(doc, "repo", _REPO),
        "issuer": _string(policy, "oidc_issuer"),
        "prefix": _string(policy, "workflow_ref_prefix"),
        "payload_type": _string(policy, "payload_type"),
        "predicate_types": _allow_list(policy, "predicate_types_allowed"),
        "statement_types": _allow_list(policy, "in_toto_statement_types_allowed"),
    }
    for key, value in thresholds.items():
        if value not in ENFORCED[key]:
            raise Unsupported(f"policy.{key} = {value}: this verifier enforces {key} = "
                              f"{' or '.join('null' if v is None else str(v) for v in ENFORCED[key])}, with no knob")
    return out


def _measurement(predicate_type: str | None, predicate: Any) -> dict[str, Any] | None:
    """SPEC §5.5: the predicate's measurement (registers lower-case), or Rejected / Unsupported."""
    if predicate_type == release.CODE_PREDICATE:
        problem = release.code_predicate_problem(predicate) if isinstance(predicate, dict) else "it is not an object"
        if problem:
            raise Rejected("PREDICATE_MEASUREMENT_INVALID", f"the {predicate_type} predicate: {problem}", "5.5")
        registers = [predicate["snp_measurement"], predicate["tdx_measurement"]["rtmr1"], predicate["tdx_measurement"]["rtmr2"]]
        return {"type": predicate_type, "registers": [str(r).lower() for r in registers]}
    if predicate_type == release.HARDWARE_PREDICATE:
        problem = release.hardware_predicate_problem(predicate) if isinstance(predicate, dict) else "it is not an object"
        if problem:
            raise Rejected("PREDICATE_MEASUREMENT_INVALID", f"the {predicate_type} predicate: {problem}", "5.5")
        return None  # a table of platforms, not one measurement
    raise Unsupported(f"predicate type {predicate_type!r}: no measurement is read from it here")


def verify_sigstore(doc: Mapping[str, Any]) -> dict[str, Any]:
    given = _decode(doc)
    appraisal = appraise_bundle(
        given["bundle"], trusted_root=given["trusted_root"], repository=given["repo"],
        digest=f"sha256:{given['digest']}", issuer=given["issuer"], offline=True,
        workflow_ref_prefix=given["prefix"], payload_type=given["payload_type"],
        statement_types=given["statement_types"], predicate_types=given["predicate_types"],
        statement_extra_fields=False, first_subject_only=True, legacy_certificate_chain=False)
    reject_first(appraisal.checks, TABLE, fallback="BUNDLE_MALFORMED")
    if appraisal.payload is None or not appraisal.subjects:
        raise Rejected("BUNDLE_MALFORMED", "the bundle signs no DSSE in-toto statement", "5.2")
    measurement = _measurement(appraisal.predicate_type, appraisal.predicate)
    claims = appraisal.claims
    repository = claims.get("github_workflow_repository") or str(claims.get("source_repository_uri", "")).removeprefix("https://github.com/")
    outputs: dict[str, Any] = {
        "predicate_type": appraisal.predicate_type,
        "in_toto_statement_type": claims.get("statement_type"),
        "subject_name": appraisal.subjects[0].name,
        "subject_digest_sha256_hex": appraisal.subjects[0].sha256,
        "measurement": measurement,
        "cert_oidc_issuer": claims.get("issuer"),
        "cert_workflow_ref": claims.get("source_repository_ref", ""),
        "cert_workflow_repository": repository,
        "cert_workflow_signer_uri": claims.get("build_signer_uri", ""),
        "rekor_log_id_hex": claims.get("rekor_log_id"),
        "rekor_integrated_time_unix": claims.get("rekor_integrated_time"),
        "tlog_entry_count": claims.get("tlog_entries"),
        "sct_count": claims.get("sct_count"),
    }
    return {k: v for k, v in outputs.items() if v is not None}
