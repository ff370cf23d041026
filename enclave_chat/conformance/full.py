"""``verify-full`` (SPEC §11): the stages chained, each on its own adapter, so that a refusal keeps
the sub-stage that made it (``rejection.stage``).

- ``standard`` (§11.1): ``verify-sigstore`` gives the published measurement; ``verify-attestation-sev``
  (or ``-tdx``) the enclave's; ``verify-measurement`` compares them (§7.3; for TDX, after
  ``verify-hardware-measurements`` has matched MRTD and RTMR0 to a hardware platform, §6.3). A
  missing sigstore or attestation block is the cross-stage ``BUNDLE_MALFORMED``.
- ``pinned`` (§11.3): the attestation alone, compared with the caller's pinned measurement.
- ``bundle`` (§11.2, every material in one envelope) is not built: exit 20, and not declared.

No sub-stage is re-implemented here: each block is handed to its stage exactly as that stage's
own input (with ``schema_version``), and its outputs are read back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from enclave_chat.conformance.inputs import obj, text
from enclave_chat.conformance.measurement import verify_hardware_measurements, verify_measurement
from enclave_chat.conformance.taxonomy import Malformed, Rejected, Unsupported

MODES = ("standard", "pinned")
"""The flow modes built (capabilities' ``flow_modes_supported``)."""
_KEYS = {"schema_version", "mode", "sigstore", "attestation_sev", "attestation_tdx", "hardware_measurements",
         "pinned_measurement"}

Stage = Callable[[Mapping[str, Any]], dict[str, Any]]


def _run(stage: str, function: Stage, block: Mapping[str, Any]) -> dict[str, Any]:
    """One sub-stage on ``block`` (its own input, less ``schema_version``); a refusal names it."""
    try:
        return function({"schema_version": "1", **block})
    except Rejected as e:
        e.stage = e.stage or stage
        raise


def _attestation(doc: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The attestation block's stage and outputs; none (or two) is the cross-stage BUNDLE_MALFORMED."""
    sev, tdx = obj(doc, "attestation_sev", optional=True), obj(doc, "attestation_tdx", optional=True)
    if (sev is None) == (tdx is None):
        raise Rejected("BUNDLE_MALFORMED", "one attestation block (attestation_sev or attestation_tdx) is required",
                       "11.1", stage="verify-full")
    if sev is not None:
        from enclave_chat.conformance.sev import verify_attestation_sev

        return "sev-snp", _run("verify-attestation-sev", verify_attestation_sev, sev)
    from enclave_chat.conformance.tdx import verify_attestation_tdx

    assert tdx is not None
    return "tdx", _run("verify-attestation-tdx", verify_attestation_tdx, tdx)


def _compare(source: Mapping[str, Any], target: Mapping[str, Any]) -> str:
    out = _run("verify-measurement", verify_measurement, {"source": source, "target": target})
    return str(out["target_fingerprint_hex"])


def verify_full(doc: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(doc) - _KEYS)
    if unknown:
        raise Malformed(f"unknown member {unknown[0]!r}")
    mode = text(doc, "mode")
    if mode == "bundle":
        raise Unsupported("the bundle flow (SPEC §11.2) is not built")
    if mode not in MODES:
        raise Malformed(f"mode {mode!r} is not standard, bundle or pinned")
    outputs: dict[str, Any] = {"mode": mode}
    if mode == "pinned":
        pinned = obj(doc, "pinned_measurement", optional=True)
        if pinned is None:
            raise Malformed("the pinned flow needs pinned_measurement")
        platform, attested = _attestation(doc)
        outputs.update(platform=platform, attestation_measurement=attested["measurement"])
        outputs["final_measurement_fingerprint_hex"] = _compare(pinned, attested["measurement"])
        return outputs
    sigstore = obj(doc, "sigstore", optional=True)
    if sigstore is None:
        raise Rejected("BUNDLE_MALFORMED", "the standard flow needs the sigstore block", "11.1", stage="verify-full")
    from enclave_chat.conformance.sigstore import verify_sigstore

    published = _run("verify-sigstore", verify_sigstore, sigstore)  # before any hardware evidence is read
    measurement = published.get("measurement")
    if not isinstance(measurement, dict):
        raise Rejected("BUNDLE_MALFORMED", "the Sigstore predicate carries no measurement", "11.1", stage="verify-full")
    platform, attested = _attestation(doc)
    outputs.update(platform=platform, sigstore_measurement=measurement, attestation_measurement=attested["measurement"])
    if platform == "tdx":
        platforms = doc.get("hardware_measurements")
        if platforms is None:
            raise Rejected("BUNDLE_MALFORMED", "a TDX enclave needs hardware_measurements (SPEC §11.1 step 4)",
                           "11.1", stage="verify-full")
        matched = _run("verify-hardware-measurements", verify_hardware_measurements,
                       {"enclave_measurement": attested["measurement"], "hardware_measurements": platforms})
        outputs["matched_hardware"] = matched
    outputs["final_measurement_fingerprint_hex"] = _compare(measurement, attested["measurement"])
    return outputs
