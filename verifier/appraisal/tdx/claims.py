"""What a TDX quote and its PCK certificate say, JSON-able; never a verdict."""

from __future__ import annotations

from verifier.endorsements.intel_anchors import SGX_TYPES
from verifier.endorsements.intel_pck import PckChain, PckExtensions
from verifier.evidence.tdx import TdxQuote, trailing_kind


def quote_claims(q: TdxQuote) -> dict[str, object]:
    """JSON-able facts of the quote (hex for bytes), never a verdict."""
    b = q.body
    out: dict[str, object] = {
        "quote_version": q.version,
        "tdx_version": q.tdx_version,
        "tee_tcb_svn": b.tee_tcb_svn.hex(),
        "mrseam": b.mrseam.hex(),
        "mrsignerseam": b.mrsignerseam.hex(),
        "seam_attributes": b.seam_attributes.hex(),
        "td_attributes": b.td_attributes.hex(),
        "debug": b.debug,
        "sept_ve_disable": b.sept_ve_disable,
        "xfam": b.xfam.hex(),
        "mrtd": b.mrtd.hex(),
        "mrconfigid": b.mrconfigid.hex(),
        "mrowner": b.mrowner.hex(),
        "mrownerconfig": b.mrownerconfig.hex(),
        "rtmr0": b.rtmr0.hex(),
        "rtmr1": b.rtmr1.hex(),
        "rtmr2": b.rtmr2.hex(),
        "rtmr3": b.rtmr3.hex(),
        "report_data": b.report_data.hex(),
        "qe_isvsvn": q.qe_report.isvsvn,
        "trailing_bytes": {"length": len(q.trailing), "kind": str(trailing_kind(q.trailing))},
    }
    if b.tee_tcb_svn2 is not None:
        out["tee_tcb_svn2"] = b.tee_tcb_svn2.hex()
    if b.mrservicetd is not None:
        out["mrservicetd"] = b.mrservicetd.hex()
    return out


def pck_claims(ext: PckExtensions, chain: PckChain | None) -> dict[str, object]:
    return {
        "fmspc": ext.fmspc.hex(),
        "pce_id": ext.pce_id.hex(),
        "pcesvn": ext.pcesvn,
        "cpusvn_components": list(ext.cpusvn_components),
        "sgx_type": SGX_TYPES.get(ext.sgx_type, str(ext.sgx_type)) if ext.sgx_type is not None else None,
        "pck_ca": chain.ca if chain is not None else None,
    }
