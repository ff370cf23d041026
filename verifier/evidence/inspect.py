"""``enclave-chat evidence inspect FILE``: decode any supported evidence into plain, JSON-able fields.

Decoding only: nothing here says whether the evidence is authentic. Formats are recognised by
structure: a native evidence bundle (JSON), an SEV-SNP report, an Azure HCL report carrying one, a
TDX quote, or an NVIDIA SPDM measurement report; files may be binary, hex text or base64.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from pathlib import Path
from typing import Any

from verifier.errors import InputError, ParseError
from verifier.evidence import azure_hcl, azure_tdx, bundle, nvidia, sev_snp, tdx
from verifier.evidence.encoding import MAX_EVIDENCE_FILE, decode_evidence
from verifier.files import read_file


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


def _snp(raw: bytes) -> dict[str, Any]:
    report = sev_snp.parse_report(raw)
    out: dict[str, Any] = {"format": "sev-snp report", **plain(report)}
    out.update(product=report.product.value, signing_key=report.signing_key.name,
               debug=report.debug, migrate_ma=report.migrate_ma,
               current_tcb=report.tcb("current").components(),
               reported_tcb=report.tcb("reported").components(),
               committed_tcb=report.tcb("committed").components(),
               launch_tcb=report.tcb("launch").components())
    return out


def _hcl(raw: bytes) -> dict[str, Any]:
    return {"format": "azure hcl report (SEV-SNP inside; REPORT_DATA binds the HCL runtime data)",
            **plain(azure_hcl.parse_hcl_report(raw))}


def _is_hcl_tdx(raw: bytes) -> bool:
    """An Azure HCL report whose runtime data says it carries a TDREPORT (report type 4), which
    :func:`azure_hcl.is_hcl_report` (the SEV-SNP form, same magic) would otherwise claim."""
    at = azure_tdx.HCL_HEADER_SIZE + azure_tdx.HW_REPORT_SLOT + 8
    return (azure_tdx.is_hcl_report(raw) and len(raw) >= at + 4
            and int.from_bytes(raw[at:at + 4], "little") == azure_tdx.REPORT_TYPE_TDX)


def _hcl_tdx(raw: bytes) -> dict[str, Any]:
    return {**plain(azure_tdx.describe(azure_tdx.parse_hcl_tdx_report(raw)))}


def _tdx(raw: bytes) -> dict[str, Any]:
    return {"format": "tdx quote", **plain(tdx.parse_quote(raw))}


def _nvidia(raw: bytes) -> dict[str, Any]:
    return {"format": "nvidia spdm measurement report", **plain(nvidia.parse_report(raw))}


def _bundle(raw: bytes) -> dict[str, Any]:
    b = bundle.parse_bundle(raw)
    out: dict[str, Any] = {"format": "native evidence bundle", "version": b.version,
                           "nonce": b.nonce.hex(), "key_config": b.key_config.hex(),
                           "config": dict(b.config), "expires": b.expires.isoformat(),
                           "release": dict(b.release or {}), "digests": b.digests(),
                           "cpu": {"platform": b.cpu.platform,
                                   "certificates": len(b.cpu.certificates)}}
    if b.cpu.platform == "sev-snp":
        out["cpu"]["report"] = _snp(b.cpu.report)
    out["gpus"] = [{"arch": g.arch, "report": _nvidia(g.report)} for g in b.gpus]
    return out


_BINARY: tuple[tuple[Callable[[bytes], bool], Callable[[bytes], dict[str, Any]]], ...] = (
    (sev_snp.is_report_sized, _snp),
    (_is_hcl_tdx, _hcl_tdx),
    (azure_hcl.is_hcl_report, _hcl),
    (tdx.looks_like_quote, _tdx),
    (nvidia.looks_binary, _nvidia),
)


def inspect_bytes(data: bytes, name: str = "the file") -> dict[str, Any]:
    if data.lstrip()[:1] == b"{":
        try:
            return _bundle(data)
        except ParseError as e:
            raise InputError(f"{name} is JSON, but not an evidence bundle this version decodes ({e})") from None
    raw, encoding = decode_evidence(data, lambda d: any(fits(d) for fits, _ in _BINARY), name)
    for fits, decode in _BINARY:
        if fits(raw):
            try:
                return {"encoding": encoding, **decode(raw)}
            except ParseError as e:
                raise InputError(f"{name} looks like {decode.__name__.strip('_')} evidence but does not parse: {e}") from None
    raise InputError(f"the {encoding} content of {name} is not any evidence format this version knows ({len(raw)} bytes)")


def inspect_file(path: Path) -> dict[str, Any]:
    return inspect_bytes(read_file(path, MAX_EVIDENCE_FILE), str(path))
