"""Decoders for ``enclave-chat evidence inspect FILE``: each vendor format as plain, JSON-able fields.

Decoding only: nothing here says whether the evidence is authentic. The kind registry names each
decoder with the test that recognises its format (:mod:`verifier.inspection` dispatches).
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from verifier.evidence import azure_hcl, azure_tdx, nvidia, sev_snp, tdx


def plain(value: Any) -> Any:
    """Dataclasses, enums, bytes and tuples as JSON values (bytes as lowercase hex)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if not f.name.startswith("_") and f.name != "raw"}
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def snp_fields(raw: bytes) -> dict[str, Any]:
    report = sev_snp.parse_report(raw)
    out: dict[str, Any] = {"format": "sev-snp report", **plain(report)}
    out.update(product=report.product.value, signing_key=report.signing_key.name,
               debug=report.debug, migrate_ma=report.migrate_ma,
               current_tcb=report.tcb("current").components(),
               reported_tcb=report.tcb("reported").components(),
               committed_tcb=report.tcb("committed").components(),
               launch_tcb=report.tcb("launch").components())
    return out


def hcl_fields(raw: bytes) -> dict[str, Any]:
    return {"format": "azure hcl report (SEV-SNP inside; REPORT_DATA binds the HCL runtime data)",
            **plain(azure_hcl.parse_hcl_report(raw))}


def is_hcl_tdx(raw: bytes) -> bool:
    """An Azure HCL report whose runtime data says it carries a TDREPORT (report type 4), which
    :func:`azure_hcl.is_hcl_report` (the SEV-SNP form, same magic) would otherwise claim."""
    at = azure_tdx.HCL_HEADER_SIZE + azure_tdx.HW_REPORT_SLOT + 8
    return (azure_tdx.is_hcl_report(raw) and len(raw) >= at + 4
            and int.from_bytes(raw[at:at + 4], "little") == azure_tdx.REPORT_TYPE_TDX)


def hcl_tdx_fields(raw: bytes) -> dict[str, Any]:
    return {**plain(azure_tdx.describe(azure_tdx.parse_hcl_tdx_report(raw)))}


def tdx_fields(raw: bytes) -> dict[str, Any]:
    return {"format": "tdx quote", **plain(tdx.parse_quote(raw))}


def nvidia_fields(raw: bytes) -> dict[str, Any]:
    return {"format": "nvidia spdm measurement report", **plain(nvidia.parse_report(raw))}
