"""``verify-attestation-tdx`` (Intel TDX DCAP §2.3/§4.1, Tinfoil SPEC §4) on this project's TDX
appraisal, :func:`verifier.appraisal.tdx.appraise_tdx`.

The adapter decodes the input (schemas/verify-attestation-tdx.input.schema.json, exactly: an unknown
member, a wrong type, bad base64 or hex is :class:`Malformed`), turns the suite's ``policy`` into a
``[tdx]`` policy table in memory and the inline collateral into a
:class:`~verifier.endorsements.intel_collateral.TdxCollateral`, runs the appraisal once, and maps the
first failing check's (id, reason) to the suite's rejection code (:data:`CODES`). Nothing is checked
here. How the suite's knobs become ``[tdx]`` keys:

- ``collateral.intel_root_ca_pem`` -> ``roots = {spki_sha256 = [its key's SHA-256]}`` (the policy's
  pins; absent: Intel's SGX Root CA, pinned)
- ``tcb_evaluation_required = false`` -> no collateral and ``collateral = "if-available"``: the
  CRL, revocation, TCB info, QE identity and TCB checks are optional skips
- ``accepted_qv_results`` -> ``accepted_tcb_status`` (Intel's QV names to PCS statuses); absent:
  SPEC §4.7.7's default, UpToDate and the three statuses it accepts by default
- ``expected_fmspc_hex`` -> ``fmspc``; ``expected_qe_vendor_id_hex`` -> ``qe_vendor_id``;
  ``expected_td_attributes_hex`` -> ``td_attributes``; ``expected_xfam_hex`` -> ``xfam``;
  ``expected_seam_attributes_hex`` -> ``seam_attributes``; ``expected_mr_signer_seam_hex`` ->
  ``mrsignerseam``; ``expected_mrseam_allowlist`` -> ``mrseam``; ``expected_mrtd_hex``,
  ``expected_mr_config_id_hex``, ``expected_mr_owner_hex``, ``expected_mr_owner_config_hex``,
  ``expected_rtmr3_hex`` -> ``mrtd``, ``mrconfigid``, ``mrowner``, ``mrownerconfig``, ``rtmr3``
- ``min_tee_tcb_svn_hex`` -> ``min_tee_tcb_svn``; ``min_tcb_evaluation_data_number`` -> the key of
  the same name; ``expected_report_data_hex`` -> the appraisal's expected REPORTDATA
- ``enforce_spec_defaults`` (SPEC §4.8.1/§4.8.2) -> ``allow_debug = false``,
  ``td_attributes_fixed0`` = bits 0, 28, 30, 63, ``xfam_fixed0 = 0x0006DBE7``,
  ``xfam_fixed1 = 0x3``; without it the suite asks for no TD-attribute rule, so ``allow_debug``.

The suite has no knob for SEPT_VE_DISABLE, migration or trailing bytes: the adapter sets
``require_sept_ve_disable = false``, ``allow_migratable = true`` (bit 29 is then judged by the
fixed-bit rule) and ``trailing_bytes = "any"`` (go-tdx-guest's real quote ends in a 39-byte
trailer, outside every signature). The project's reserved-TD-attribute rule and service-TD rule
have no knob and always apply.

Expired collateral. Intel's QVL does not fail a quote for expiry alone (§4.1.2: it sets
``p_collateral_expiration_status``); this project refuses it. When other checks fail too, the
verdict Intel's QV would give is the other failure, so failures whose reason is ``expired`` are
reported after every other failure.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography import x509

from enclave_chat.conformance.inputs import hex_bytes
from enclave_chat.conformance.measurement import TDX as TDX_PREDICATE
from enclave_chat.conformance.taxonomy import Key, Malformed, Rejected, Unsupported, reject_first
from verifier.appraisal.policy import Policy
from verifier.appraisal.tdx import TdxAppraisal, appraise_tdx
from verifier.appraisal.tdx import checks as ids
from verifier.endorsements.anchors import spki_sha256
from verifier.endorsements.intel_collateral import TdxCollateral
from verifier.errors import PolicyError
from verifier.evidence import tdx as quote_format
from verifier.result import Status

FALLBACK = "QV_RESULT_TERMINAL_UNSPECIFIED"

CODES: dict[Key, str] = {
    (ids.PARSE, "version"): "QUOTE_FORMAT_UNSUPPORTED",
    (ids.PARSE, "key_type"): "ATTESTATION_KEY_TYPE_UNSUPPORTED",
    (ids.PARSE, "tee_type"): "WRONG_TEE_TYPE",
    (ids.PARSE, "qe_vendor"): "QE_VENDOR_UNKNOWN",
    (ids.PARSE, "truncated"): "QUOTE_TRUNCATED",
    (ids.PARSE, None): "QUOTE_FORMAT_UNSUPPORTED",
    (ids.QUOTE_TRAILING_BYTES, None): "QUOTE_FORMAT_UNSUPPORTED",
    (ids.QUOTE_QE_VENDOR, None): "QE_VENDOR_ID_MISMATCH",
    (ids.PCK_CHAIN, "expired"): "PCK_EXPIRED",
    (ids.PCK_CHAIN, "incomplete"): "PCK_CHAIN_INCOMPLETE",
    (ids.PCK_CHAIN, None): "PCK_CHAIN_INVALID",
    (ids.PCK_ROOT_PINNED, None): "ROOT_CA_UNTRUSTED",
    (ids.PCK_EXTENSIONS, None): "PCK_CHAIN_INVALID",
    (ids.PCK_FMSPC, None): "PCK_FMSPC_MISMATCH",
    (ids.QE_REPORT_SIGNATURE, None): "QE_REPORT_SIGNATURE_INVALID",
    (ids.QE_BINDING, None): "AK_BINDING_INVALID",
    (ids.QUOTE_SIGNATURE, None): "QUOTE_SIGNATURE_INVALID",
    (ids.COLLATERAL_ROOT_CRL, "expired"): "ROOT_CRL_EXPIRED",
    (ids.COLLATERAL_PCK_CRL, "expired"): "PCK_CRL_EXPIRED",
    (ids.PCK_REVOCATION, "ca_revoked"): "INTERMEDIATE_REVOKED",
    (ids.PCK_REVOCATION, "revoked"): "PCK_REVOKED",
    (ids.COLLATERAL_TCB_INFO, "expired"): "TCB_INFO_EXPIRED",
    (ids.COLLATERAL_TCB_INFO, "signature"): "TCB_INFO_SIGNATURE_INVALID",
    (ids.COLLATERAL_TCB_INFO, "chain"): "TCB_INFO_CHAIN_INVALID",
    (ids.COLLATERAL_TCB_INFO, "signer_revoked"): "TCB_INFO_CHAIN_INVALID",
    (ids.COLLATERAL_TCB_INFO, "evaluation_data_number"): "TCB_EVAL_DATA_NUMBER_TOO_LOW",
    (ids.COLLATERAL_TCB_INFO, "platform"): "PCK_FMSPC_MISMATCH",
    (ids.COLLATERAL_QE_IDENTITY, "expired"): "QE_IDENTITY_EXPIRED",
    (ids.COLLATERAL_QE_IDENTITY, "signature"): "QE_IDENTITY_SIGNATURE_INVALID",
    (ids.COLLATERAL_QE_IDENTITY, "evaluation_data_number"): "TCB_EVAL_DATA_NUMBER_TOO_LOW",
    (ids.COLLATERAL_QE_IDENTITY, "id"): "QE_IDENTITY_ID_INVALID",
    (ids.COLLATERAL_QE_IDENTITY, "version"): "QE_IDENTITY_VERSION_INVALID",
    (ids.TD_DEBUG, "debug"): "TD_ATTRIBUTES_DEBUG_SET",
    (ids.TD_DEBUG, "tud_reserved"): "TD_ATTRIBUTES_RESERVED_BIT_SET",
    (ids.TD_SEPT_VE_DISABLE, None): "TD_ATTRIBUTES_MISMATCH",
    (ids.TD_MIGRATABLE, None): "TD_ATTRIBUTES_MISMATCH",
    (ids.TD_ATTRIBUTES, "reserved"): "TD_ATTRIBUTES_RESERVED_BIT_SET",
    (ids.TD_ATTRIBUTES, "not_listed"): "TD_ATTRIBUTES_MISMATCH",
    (ids.TD_ATTRIBUTES_FIXED, "forbidden_bit_set"): "TD_ATTRIBUTES_RESERVED_BIT_SET",
    (ids.TD_ATTRIBUTES_FIXED, None): "TD_ATTRIBUTES_MISMATCH",
    (ids.TD_XFAM, None): "XFAM_MISMATCH",
    (ids.TD_XFAM_FIXED, "forbidden_bit_set"): "XFAM_FORBIDDEN_BIT_SET",
    (ids.TD_XFAM_FIXED, "required_bit_clear"): "XFAM_REQUIRED_BIT_CLEAR",
    (ids.TD_SEAM_ATTRIBUTES, None): "SEAM_ATTRIBUTES_MISMATCH",
    (ids.QE_IDENTITY, "mrsigner"): "QE_IDENTITY_MRSIGNER_MISMATCH",
    (ids.QE_IDENTITY, "isvprodid"): "QE_IDENTITY_FIELD_MISMATCH",
    (ids.QE_IDENTITY, "miscselect"): "QE_IDENTITY_FIELD_MISMATCH",
    (ids.QE_IDENTITY, "attributes"): "QE_IDENTITY_FIELD_MISMATCH",
    (ids.TCB_STATUS, "revoked"): "TCB_REVOKED",
    (ids.TCB_STATUS, "not_accepted"): "QV_RESULT_NOT_ACCEPTED_BY_POLICY",
    (ids.TCB_MINIMUM, "tee_tcb_svn"): "TEE_TCB_SVN_BELOW_MINIMUM",
    (ids.TD_MRSEAM, None): "MR_SEAM_NOT_ALLOWED",
    (ids.TD_MRSIGNERSEAM, None): "MR_SIGNER_SEAM_MISMATCH",
    (ids.TD_MRTD, None): "MRTD_MISMATCH",
    (ids.TD_RTMR3, None): "RTMR3_NONZERO",
    (ids.TD_MRCONFIGID, None): "MR_CONFIG_ID_MISMATCH",
    (ids.TD_MROWNER, None): "MR_OWNER_MISMATCH",
    (ids.TD_MROWNERCONFIG, None): "MR_OWNER_CONFIG_MISMATCH",
    (ids.REPORT_DATA, None): "REPORT_DATA_MISMATCH",
}
"""(check id, reason) -> the suite's rejection code; anything else (a CRL or collateral that does
not parse or came without its issuer chain, no matching TCB level, the TDX module) is Intel's
terminal, unspecified result, :data:`FALLBACK`."""

QV_STATUS = {
    "OK": "UpToDate",
    "SW_HARDENING_NEEDED": "SWHardeningNeeded",
    "CONFIG_NEEDED": "ConfigurationNeeded",
    "CONFIG_AND_SW_HARDENING_NEEDED": "ConfigurationAndSWHardeningNeeded",
    "OUT_OF_DATE": "OutOfDate",
    "OUT_OF_DATE_CONFIG_NEEDED": "OutOfDateConfigurationNeeded",
    "TD_RELAUNCH_ADVISED": "TDRelaunchAdvised",
    "TD_RELAUNCH_ADVISED_CONFIG_NEEDED": "TDRelaunchAdvisedConfigurationNeeded",
}
"""Intel's non-terminal QV results (§B.1, the output schema's ``qv_result``) and the PCS TCB status
each stands for."""
STATUS_QV = {status: qv for qv, status in QV_STATUS.items()}
DEFAULT_ACCEPTED = ("OK", "SW_HARDENING_NEEDED", "CONFIG_NEEDED", "CONFIG_AND_SW_HARDENING_NEEDED")
"""SPEC §4.7.7: accepted by default; OutOfDate and the rest are refused unless the policy says so."""

# SPEC §4.8.1/§4.8.2 (``enforce_spec_defaults``), as 8-byte little-endian masks
TD_ATTRIBUTES_FIXED0 = (quote_format.TD_ATTR_DEBUG | quote_format.TD_ATTR_SEPT_VE_DISABLE
                        | quote_format.TD_ATTR_PKS | quote_format.TD_ATTR_PERFMON)
XFAM_FIXED0 = 0x0006DBE7
XFAM_FIXED1 = 0x00000003

TOP_KEYS = {"schema_version", "execution_mode", "quote_b64", "collateral", "expiration_check_date_unix", "policy"}
COLLATERAL_KEYS = {"tcb_info_json", "qe_identity_json", "pck_crl_der_b64", "root_crl_der_b64", "intel_root_ca_pem",
                   "tcb_info_issuer_chain_pem", "qe_identity_issuer_chain_pem", "pck_crl_issuer_chain_pem"}
COLLATERAL_REQUIRED = {"tcb_info_json", "qe_identity_json", "pck_crl_der_b64", "root_crl_der_b64"}
PINS: dict[str, tuple[str, int]] = {
    "expected_fmspc_hex": ("fmspc", 6),
    "expected_qe_vendor_id_hex": ("qe_vendor_id", 16),
    "expected_td_attributes_hex": ("td_attributes", 8),
    "expected_xfam_hex": ("xfam", 8),
    "expected_seam_attributes_hex": ("seam_attributes", 8),
    "expected_mr_signer_seam_hex": ("mrsignerseam", 48),
    "expected_mrtd_hex": ("mrtd", 48),
    "expected_mr_config_id_hex": ("mrconfigid", 48),
    "expected_mr_owner_hex": ("mrowner", 48),
    "expected_mr_owner_config_hex": ("mrownerconfig", 48),
    "expected_rtmr3_hex": ("rtmr3", 48),
    "min_tee_tcb_svn_hex": ("min_tee_tcb_svn", 16),
}
"""The suite's hex pins -> the ``[tdx]`` key and the size in bytes."""
POLICY_KEYS = {*PINS, "accepted_qv_results", "tcb_evaluation_required", "expected_mrseam_allowlist",
               "expected_report_data_hex", "min_tcb_evaluation_data_number", "enforce_spec_defaults"}


# -- the input -----------------------------------------------------------------------------------
def _only(doc: Mapping[str, Any], allowed: set[str], what: str) -> None:
    unknown = sorted(set(doc) - allowed)
    if unknown:
        raise Malformed(f"{what} has members the schema does not define: {', '.join(unknown)}")


def _string(doc: Mapping[str, Any], key: str) -> str | None:
    value = doc.get(key)
    if value is not None and not isinstance(value, str):
        raise Malformed(f"{key} is not a string")
    return value


def _b64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise Malformed(f"{what} is not standard base64") from None


def _bool(doc: Mapping[str, Any], key: str, default: bool) -> bool:
    value = doc.get(key, default)
    if not isinstance(value, bool):
        raise Malformed(f"policy.{key} is not a boolean")
    return value


def _collateral(raw: Mapping[str, Any]) -> tuple[TdxCollateral, str | None]:
    _only(raw, COLLATERAL_KEYS, "collateral")
    missing = sorted(COLLATERAL_REQUIRED - set(raw))
    if missing:
        raise Malformed(f"collateral lacks {', '.join(missing)}")
    text = {k: _string(raw, k) for k in COLLATERAL_KEYS}

    def utf8(key: str) -> bytes | None:
        value = text[key]
        return value.encode() if value is not None else None

    pck_crl, root_crl = text["pck_crl_der_b64"], text["root_crl_der_b64"]
    assert pck_crl is not None and root_crl is not None
    coll = TdxCollateral(tcb_info=utf8("tcb_info_json"), tcb_info_chain=utf8("tcb_info_issuer_chain_pem"),
                         qe_identity=utf8("qe_identity_json"),
                         qe_identity_chain=utf8("qe_identity_issuer_chain_pem"),
                         pck_crl=_b64(pck_crl, "collateral.pck_crl_der_b64"),
                         pck_crl_chain=utf8("pck_crl_issuer_chain_pem"),
                         root_crl=_b64(root_crl, "collateral.root_crl_der_b64"), source="conformance input")
    return coll, text["intel_root_ca_pem"]


def _root_pin(pem: str) -> str:
    try:
        return spki_sha256(x509.load_pem_x509_certificate(pem.encode()))
    except ValueError as e:
        raise Malformed(f"collateral.intel_root_ca_pem is not a PEM certificate: {e}") from None


def _policy(raw: Mapping[str, Any], root_pem: str | None) -> tuple[dict[str, Any], bool, bytes | None]:
    """The ``[tdx]`` table, whether collateral is evaluated, and the expected REPORTDATA."""
    _only(raw, POLICY_KEYS, "policy")
    evaluate = _bool(raw, "tcb_evaluation_required", True)
    enforce = _bool(raw, "enforce_spec_defaults", False)
    accepted = raw.get("accepted_qv_results", list(DEFAULT_ACCEPTED))
    if not isinstance(accepted, list) or not all(isinstance(a, str) for a in accepted):
        raise Malformed("policy.accepted_qv_results is not a list of strings")
    unknown = [a for a in accepted if a not in QV_STATUS]
    if unknown:
        raise Malformed(f"policy.accepted_qv_results names {unknown}, not non-terminal QV results "
                        f"({', '.join(QV_STATUS)})")
    table: dict[str, Any] = {
        "accepted_tcb_status": [QV_STATUS[a] for a in accepted],
        "collateral": "required" if evaluate else "if-available",
        "allow_debug": not enforce,
        "require_sept_ve_disable": False,
        "allow_migratable": True,
        "trailing_bytes": "any",
    }
    if root_pem is not None:
        table["roots"] = {"spki_sha256": [_root_pin(root_pem)]}
    if enforce:
        table["td_attributes_fixed0"] = TD_ATTRIBUTES_FIXED0.to_bytes(8, "little").hex()
        table["xfam_fixed0"] = XFAM_FIXED0.to_bytes(8, "little").hex()
        table["xfam_fixed1"] = XFAM_FIXED1.to_bytes(8, "little").hex()
    for key, (name, size) in PINS.items():
        value = hex_bytes(raw, key, length=size, optional=True)
        if value is not None:
            table[name] = value.hex()
    if "expected_mrseam_allowlist" in raw:
        allow = raw["expected_mrseam_allowlist"]
        if not isinstance(allow, list) or not all(isinstance(v, str) for v in allow):
            raise Malformed("policy.expected_mrseam_allowlist is not a list of strings")
        if not allow:
            raise Unsupported("an empty expected_mrseam_allowlist: this project's policies refuse an "
                              "allow-list that allows nothing (docs/policies.md)")
        table["mrseam"] = [_hex48(v, "policy.expected_mrseam_allowlist") for v in allow]
    if "min_tcb_evaluation_data_number" in raw:
        n = raw["min_tcb_evaluation_data_number"]
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise Malformed("policy.min_tcb_evaluation_data_number is not a non-negative integer")
        table["min_tcb_evaluation_data_number"] = n
    report_data = hex_bytes(raw, "expected_report_data_hex", length=64, optional=True)
    table["require_report_data"] = report_data is not None
    return table, evaluate, report_data


def _hex48(value: str, what: str) -> str:
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise Malformed(f"{what} holds {value!r}, not hex") from None
    if len(raw) != 48:
        raise Malformed(f"{what} holds a value of {len(raw)} bytes, not 48")
    return raw.hex()


def _time(value: object) -> dt.datetime:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Malformed("expiration_check_date_unix is not an integer")
    try:
        return dt.datetime.fromtimestamp(value, dt.UTC)
    except (OverflowError, OSError, ValueError):
        raise Malformed(f"expiration_check_date_unix {value} is not a representable time") from None


# -- the verdict and the outputs -----------------------------------------------------------------
def _verdict(a: TdxAppraisal) -> None:
    """Raise :class:`Rejected` unless the appraisal verified: the first failure, expiries last."""
    failures = [c for c in a.checks if c.status is Status.FAIL]
    reject_first(sorted(failures, key=lambda c: c.reason == "expired"), CODES, fallback=FALLBACK)
    if not a.verified:
        skip = next((c for c in a.checks if c.status is Status.SKIP and c.required), None)
        raise Rejected(FALLBACK, f"{skip.id}: {skip.detail}" if skip else "the quote is not authentic")


def _td_attributes(attrs: int) -> dict[str, bool]:
    """TDATTRIBUTES bit groups (Intel §A.3.4), as the output schema names them."""
    return {
        "tud_debug": bool(attrs & quote_format.TD_ATTR_DEBUG),
        "tud_reserved_nonzero": bool(attrs & quote_format.TD_ATTR_TUD_MASK & ~quote_format.TD_ATTR_DEBUG),
        "sec_reserved_lower_nonzero": bool(attrs & 0x0FFF_FF00),
        "sec_sept_ve_disable": bool(attrs & quote_format.TD_ATTR_SEPT_VE_DISABLE),
        "sec_reserved_bit29": bool(attrs & quote_format.TD_ATTR_MIGRATABLE),
        "sec_pks": bool(attrs & quote_format.TD_ATTR_PKS),
        "sec_kl": bool(attrs & quote_format.TD_ATTR_KL),
        "other_reserved_nonzero": bool(attrs & 0x7FFF_FFFF_0000_0000),
        "other_perfmon": bool(attrs & quote_format.TD_ATTR_PERFMON),
    }


def _outputs(a: TdxAppraisal, evaluated: bool) -> dict[str, Any]:
    q = a.quote
    assert q is not None
    b = q.body
    rtmrs: Sequence[bytes] = b.rtmrs
    out: dict[str, Any] = {
        "measurement": {"type": TDX_PREDICATE, "registers": [r.hex() for r in (b.mrtd, *rtmrs)]},
        # With tcb_evaluation_required false no TCB status is evaluated: the structural verification
        # passed, reported as OK (the schema requires a value), and tcb_status is left out.
        "qv_result": "OK",
        "quote_version": q.version,
        "tee_type": "TDX",
        "header_fields": {"attestation_key_type": q.header.att_key_type,
                          "qe_vendor_id_hex": q.header.qe_vendor_id.hex(),
                          "user_data_hex": q.header.user_data.hex()},
        "body_fields": {
            "tee_tcb_svn_hex": b.tee_tcb_svn.hex(), "mrseam_hex": b.mrseam.hex(),
            "mrsignerseam_hex": b.mrsignerseam.hex(), "seam_attributes_hex": b.seam_attributes.hex(),
            "td_attributes_hex": b.td_attributes.hex(), "td_attributes_decoded": _td_attributes(b.td_attributes_int),
            "xfam_hex": b.xfam.hex(), "mrtd_hex": b.mrtd.hex(), "mrconfigid_hex": b.mrconfigid.hex(),
            "mrowner_hex": b.mrowner.hex(), "mrownerconfig_hex": b.mrownerconfig.hex(),
            "rtmrs_hex": [r.hex() for r in rtmrs], "report_data_hex": b.report_data.hex(),
        },
    }
    fmspc = a.claims.get("fmspc")
    if isinstance(fmspc, str):
        out["fmspc_hex"] = fmspc
    status = a.claims.get("tcb_status")
    if evaluated and isinstance(status, str):
        out["qv_result"] = STATUS_QV[status]
        out["tcb_status"] = status
        out["collateral_expired"] = False  # verified: every piece of collateral was current
    return out


def verify_attestation_tdx(doc: Mapping[str, Any]) -> dict[str, Any]:
    _only(doc, TOP_KEYS, "the input")
    mode = doc.get("execution_mode", "adapter")
    if mode not in ("adapter", "public_api"):
        raise Malformed(f"execution_mode {mode!r} is not adapter or public_api")
    if mode == "public_api":
        raise Unsupported("execution_mode public_api: the conformance command calls the TDX appraisal with "
                          "the collateral given inline, not the session's PCS-fetching path")
    quote_text = _string(doc, "quote_b64")
    raw_coll = doc.get("collateral")
    if quote_text is None or not isinstance(raw_coll, dict) or "expiration_check_date_unix" not in doc:
        raise Malformed("quote_b64, collateral and expiration_check_date_unix are required")
    quote = _b64(quote_text, "quote_b64")
    at = _time(doc["expiration_check_date_unix"])
    coll, root_pem = _collateral(raw_coll)
    raw_policy = doc.get("policy", {})
    if not isinstance(raw_policy, dict):
        raise Malformed("policy is not an object")
    table, evaluate, report_data = _policy(raw_policy, root_pem)
    policy = Policy("tinfoil-conformance", "", "the suite's policy, as a [tdx] table", {"tdx": table})
    try:
        a = appraise_tdx(quote, policy=policy, at=at, expected_report_data=report_data,
                         collateral=coll if evaluate else None)
    except PolicyError as e:
        raise Malformed(f"the policy does not translate into a [tdx] table: {e}") from None
    _verdict(a)
    return _outputs(a, evaluate)
