"""Azure HCL reports around a TDX TDREPORT: recognised, decoded for inspection, never authentic.

An Azure confidential VM's vTPM NV index 0x01400001 holds an "HCL report": a 32-byte header
(``HCLA``, version, size, request type, status), the hardware report (for TDX the 1024-byte
TDREPORT_STRUCT of the TDX module ABI spec, in a 1184-byte slot), then runtime data (size,
version, report type 4 = TDX, hash type, the runtime claims JSON whose hash is in REPORTDATA).

A TDREPORT is protected by a MAC keyed inside the CPU; nobody outside that CPU can check it. Only
a quote (the TDREPORT converted and signed by the Quoting Enclave) can be verified, so this module
exists to *recognise* such evidence and say so, and to let ``evidence inspect`` show its fields.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from verifier.errors import ParseError

HCL_MAGIC = b"HCLA"
HCL_HEADER_SIZE = 0x20
HW_REPORT_SLOT = 1184
TDREPORT_SIZE = 1024
REPORT_TYPE_TDX = 4
REPORT_TYPE_SNP = 2
REPORTTYPE_TDX = 0x81  # TDREPORT_STRUCT.REPORTMACSTRUCT.REPORTTYPE.TYPE
MAX_RUNTIME_DATA = 64 * 1024


@dataclass(frozen=True)
class TdReportStruct:
    """The fields of TDREPORT_STRUCT worth showing (TDX module ABI spec, "TDREPORT_STRUCT")."""

    report_type: bytes
    cpusvn: bytes
    tee_tcb_info_hash: bytes
    tee_info_hash: bytes
    report_data: bytes
    mac: bytes
    td_attributes: bytes
    xfam: bytes
    mrtd: bytes
    mrconfigid: bytes
    mrowner: bytes
    mrownerconfig: bytes
    rtmrs: tuple[bytes, bytes, bytes, bytes]


@dataclass(frozen=True)
class HclTdxReport:
    version: int
    request_type: int
    report_type: int
    tdreport: TdReportStruct
    runtime_data: bytes


def is_hcl_report(data: bytes) -> bool:
    return len(data) >= HCL_HEADER_SIZE and data[:4] == HCL_MAGIC


def parse_tdreport(raw: bytes) -> TdReportStruct:
    if len(raw) != TDREPORT_SIZE:
        raise ParseError(f"must be {TDREPORT_SIZE} bytes, is {len(raw)}", field="tdreport")
    if raw[0] != REPORTTYPE_TDX:
        raise ParseError(f"REPORTTYPE {raw[0]:#x} is not TDX (0x81)", field="tdreport.report_type")
    td = raw[512:]  # REPORTMACSTRUCT (256) and TEE_TCB_INFO (239 + 17 reserved) come first
    return TdReportStruct(
        report_type=raw[0:4], cpusvn=raw[16:32], tee_tcb_info_hash=raw[32:80],
        tee_info_hash=raw[80:128], report_data=raw[128:192], mac=raw[224:256],
        td_attributes=td[0:8], xfam=td[8:16], mrtd=td[16:64], mrconfigid=td[64:112],
        mrowner=td[112:160], mrownerconfig=td[160:208],
        rtmrs=(td[208:256], td[256:304], td[304:352], td[352:400]))


def parse_hcl_tdx_report(data: bytes) -> HclTdxReport:
    """Decode an Azure HCL report that carries a TDREPORT (for inspection only)."""
    if not is_hcl_report(data):
        raise ParseError("does not start with 'HCLA'", field="hcl.header")
    if len(data) < HCL_HEADER_SIZE + HW_REPORT_SLOT + 20:
        raise ParseError(f"is {len(data)} bytes, too short for an HCL report", field="hcl")
    version, _size, request_type = struct.unpack_from("<III", data, 4)
    rt = HCL_HEADER_SIZE + HW_REPORT_SLOT
    _data_size, _rt_version, report_type, _hash_type, var_size = struct.unpack_from("<IIIII", data, rt)
    if report_type != REPORT_TYPE_TDX:
        raise ParseError(f"report type {report_type} is not TDX ({REPORT_TYPE_TDX})", field="hcl.report_type")
    if var_size > min(MAX_RUNTIME_DATA, len(data) - rt - 20):
        raise ParseError(f"runtime data size {var_size} exceeds the report", field="hcl.runtime_data")
    tdreport = parse_tdreport(data[HCL_HEADER_SIZE:HCL_HEADER_SIZE + TDREPORT_SIZE])
    return HclTdxReport(version, request_type, report_type, tdreport, data[rt + 20:rt + 20 + var_size])


def describe(report: HclTdxReport) -> dict[str, object]:
    """A JSON-able decoding for ``evidence inspect``; it says plainly that this is not verifiable."""
    t = report.tdreport
    return {
        "format": "Azure HCL report around a TDX TDREPORT (MAC-protected only: not a quote, never authentic)",
        "hcl_version": report.version,
        "request_type": report.request_type,
        "report_type": report.report_type,
        "tdreport": {"cpusvn": t.cpusvn.hex(), "tee_tcb_info_hash": t.tee_tcb_info_hash.hex(),
                     "tee_info_hash": t.tee_info_hash.hex(), "report_data": t.report_data.hex(),
                     "mac": t.mac.hex(), "td_attributes": t.td_attributes.hex(), "xfam": t.xfam.hex(),
                     "mrtd": t.mrtd.hex(), "mrconfigid": t.mrconfigid.hex(), "mrowner": t.mrowner.hex(),
                     "mrownerconfig": t.mrownerconfig.hex(), "rtmr0": t.rtmrs[0].hex(),
                     "rtmr1": t.rtmrs[1].hex(), "rtmr2": t.rtmrs[2].hex(), "rtmr3": t.rtmrs[3].hex()},
        "runtime_data": report.runtime_data.decode("utf-8", "replace"),
    }
