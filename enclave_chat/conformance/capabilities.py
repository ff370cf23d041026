"""``capabilities``: what this project implements, declared honestly (schemas/capabilities.schema.json).

A stage is listed only when its adapter module exists; every knob the project lacks is false, so the
harness skips the vectors that need it.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from enclave_chat.conformance.contract import supported_stages
from enclave_chat.conformance.full import MODES


def _version() -> str:
    try:
        return metadata.version("enclave-chat")
    except metadata.PackageNotFoundError:
        return "0"


def capabilities() -> dict[str, Any]:
    stages = supported_stages()
    caps: dict[str, Any] = {
        "schema_version": "1",
        "sdk": "enclave-chat",
        "sdk_version": _version(),
        "stages_supported": stages,
        "platforms_supported": [p for p, s in (("sev-snp", "verify-attestation-sev"), ("tdx", "verify-attestation-tdx")) if s in stages],
        "transport_modes_supported": ["tls-pinning", "ehbp"],
        "measurement": {"compare_multiplatform_to_tdx_supported": "verify-measurement" in stages},
        "ehbp": {"key_binding_supported": "verify-ehbp-key-binding" in stages},
        # verify-attestation-sev (enclave_chat/conformance/sev.py): the VCEK inline, the ARK and ASK
        # inline (the ARK becomes the policy's only root pin), the pins and TCB minimums as [snp]
        # options, the verification time from the input. No execution_mode: the stage is one path.
        "attestation_sev": {
            "supported": "verify-attestation-sev" in stages,
            "injected_collateral_supported": "verify-attestation-sev" in stages,
            "extended_checks_supported": "verify-attestation-sev" in stages,
            "amd_root_ca_injection_supported": "verify-attestation-sev" in stages,
            "verification_time_override": "supported" if "verify-attestation-sev" in stages else "system-clock-only",
            "public_api_hooks_supported": False,
        },
        # verify-attestation-tdx (enclave_chat/conformance/tdx.py): the collateral inline, the root
        # inline as the policy's only pin, the suite's pins as [tdx] options, the input's time. Its
        # public_api mode is not built (exit 20): this project's public TDX path fetches from PCS
        # under a built-in policy that requires REPORTDATA bound to a nonce, which the suite's
        # public_api fixture does not give.
        "attestation_tdx": {
            "supported": "verify-attestation-tdx" in stages,
            "injected_collateral_supported": "verify-attestation-tdx" in stages,
            "verification_time_override": "supported" if "verify-attestation-tdx" in stages else "system-clock-only",
            "tcb_evaluation_supported": "verify-attestation-tdx" in stages,
            "public_api_hooks_supported": False,
            "extended_td_checks_supported": "verify-attestation-tdx" in stages,
            "accepts_non_terminal_tcb_statuses": "verify-attestation-tdx" in stages,
            "enforces_tcb_evaluation_data_number_minimum": "verify-attestation-tdx" in stages,
            "policy_fields_supported": {"expected_fmspc_hex": "verify-attestation-tdx" in stages,
                                        "accepted_qv_results": "verify-attestation-tdx" in stages},
        },
        "flow_modes_supported": list(MODES) if "verify-full" in stages else [],
        "known_quirks": {
            "attestation_tdx_qv_result": "with policy.tcb_evaluation_required false no TCB status is "
                                         "evaluated: qv_result is OK, tcb_status and collateral_expired "
                                         "are left out",
            "attestation_tdx_expiry": "expired collateral is refused (Intel's QVL only flags it); when "
                                      "something else fails too, that failure is the rejection code",
            "attestation_tdx_defaults": "the adapter's default accepts SPEC 4.7.7's non-terminal TCB "
                                        "statuses; enclave-chat's own policies accept UpToDate only",
            "exit_codes": "enclave-chat's own exit codes (docs/cli.md) do not apply to `conformance tinfoil`",
            "attestation_sev_body_fields": "committed_tcb_hex, current_/committed_build/minor/major and "
                                           "launch_tcb_hex are read at their ABI 56860 Table 23 offsets "
                                           "(0x1E0, 0x1E8-0x1EE, 0x1F0); vector 200's expected.json has "
                                           "them 8 bytes off",
            "attestation_sev_embedded_chain": "no AMD certificate is shipped: the ASK and ARK of a VCEK "
                                              "come from AMD KDS through the collateral cache",
        },
    }
    if "verify-sigstore" in stages:
        caps["sigstore"] = _sigstore()
        caps["known_quirks"].update(_SIGSTORE_QUIRKS)
    return caps


def _sigstore() -> dict[str, Any]:
    """verify-sigstore (enclave_chat/conformance/sigstore.py) on verifier.reference.sigstore_bundle:
    the trusted root, identity, payload type and allow-lists are the appraisal's options; the time is
    the bundle's own (sigstore-python verifies at the log entry's or timestamp's time); the log
    entry, SCT and observer-time counts are sigstore-python's fixed rules (exactly one, one, one)."""
    from enclave_chat.conformance.sigstore import PREDICATES_UNDERSTOOD

    return {
        "trust_root_loading": "configurable",
        "verification_time_override": "bundle-supplied-only",
        "policy_fields_configurable": {
            "oidc_issuer": True, "workflow_ref_prefix": True, "workflow_repository": True,
            "predicate_types_allowed": True, "in_toto_statement_types_allowed": True, "payload_type": True,
            "tlog_entries_min": False, "tlog_entries_max": False, "sct_min": False, "observer_timestamps_min": False,
        },
        "predicate_types_understood": list(PREDICATES_UNDERSTOOD),
        "legacy_bundle_format_supported": False,
        "accepts_multi_tlog_entries": False,
        "oidc_issuer_v2_preferred": True,
        "scts_count_distinguish_missing_vs_duplicate": True,
        "rejects_duplicate_sct_log": True,
        "checks_only_subject_0": True,
        "in_toto_statement_tolerates_extra_fields": False,
    }


_SIGSTORE_QUIRKS = {
    "sigstore_verification_time": "verification_time_unix is not used: the certificate is checked at "
                                  "the bundle's integrated time or RFC 3161 time (the trusted root's "
                                  "key start times are compared with the system clock by sigstore-python)",
    "sigstore_counts": "exactly one tlog entry and exactly one SCT (sigstore-python); a tlog_entries_*, "
                       "sct_min or observer_timestamps_min other than 1 (max: null or 1) is exit 20",
}
