"""The contract: stage names, exit codes, the output envelope, and the dispatch."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from enclave_chat.conformance.taxonomy import Malformed, Rejected, Unsupported
from verifier.errors import ParseError
from verifier.strict_json import load_strict_json

EXIT_ACCEPT = 0
EXIT_REJECT = 10
EXIT_UNSUPPORTED = 20
EXIT_BAD_INPUT = 30
EXIT_INTERNAL = 1

Stage = Callable[[Mapping[str, Any]], dict[str, Any]]
"""A stage: the decoded input object -> its ``outputs``; raises Rejected, Malformed or Unsupported."""

STAGES: dict[str, str] = {
    "verify-measurement": "enclave_chat.conformance.measurement:verify_measurement",
    "verify-hardware-measurements": "enclave_chat.conformance.measurement:verify_hardware_measurements",
    "verify-ehbp-key-binding": "enclave_chat.conformance.ehbp:verify_ehbp_key_binding",
    "verify-attestation-sev": "enclave_chat.conformance.sev:verify_attestation_sev",
    "verify-attestation-tdx": "enclave_chat.conformance.tdx:verify_attestation_tdx",
    "verify-sigstore": "enclave_chat.conformance.sigstore:verify_sigstore",
    "verify-full": "enclave_chat.conformance.full:verify_full",
}
"""Stage name (the manifests' ``stage``) -> ``module:function``, imported only when it runs."""


def _stage(name: str) -> Stage:
    module, _, function = STAGES[name].partition(":")
    handler: Stage = getattr(importlib.import_module(module), function)
    return handler


def supported_stages() -> list[str]:
    """The stages whose module exists (a stage not built yet is absent from capabilities)."""
    out = []
    for name, target in STAGES.items():
        try:
            importlib.import_module(target.partition(":")[0])
        except ModuleNotFoundError:
            continue
        out.append(name)
    return out


def run_stage(name: str, stdin: bytes) -> tuple[int, dict[str, Any] | None, str]:
    """Run one stage on its stdin: (exit code, stdout object or None, a line for stderr)."""
    if name not in STAGES or name not in supported_stages():
        return EXIT_UNSUPPORTED, None, f"stage {name!r} is not supported"
    try:
        doc = load_strict_json(stdin, "stdin", max_depth=64)
    except ParseError as e:
        return EXIT_BAD_INPUT, None, f"stdin is not JSON: {e}"
    if not isinstance(doc, dict) or doc.get("schema_version") != "1":
        return EXIT_BAD_INPUT, None, "stdin is not an object with schema_version \"1\""
    try:
        outputs = _stage(name)(doc)
    except Rejected as e:
        rejection: dict[str, Any] = {"code": e.code}
        if e.spec_ref:
            rejection["spec_ref"] = e.spec_ref
        if e.stage:
            rejection["stage"] = e.stage
        return EXIT_REJECT, {"stage": name, "accepted": False, "rejection": rejection}, e.detail
    except Malformed as e:
        return EXIT_BAD_INPUT, None, f"malformed input: {e}"
    except Unsupported as e:
        return EXIT_UNSUPPORTED, None, f"not supported: {e}"
    return EXIT_ACCEPT, {"stage": name, "accepted": True, "outputs": outputs}, "accepted"
