"""``capabilities``: what this project implements, declared honestly (schemas/capabilities.schema.json).

A stage is listed only when its adapter module exists; every knob the project lacks is false, so the
harness skips the vectors that need it.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from enclave_chat.conformance.contract import supported_stages


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
        "flow_modes_supported": [],
        "known_quirks": {
            "exit_codes": "enclave-chat's own exit codes (docs/cli.md) do not apply to `conformance tinfoil`",
        },
    }
    return caps
