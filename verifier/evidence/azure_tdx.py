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


HASH_TYPES = {1: "sha256", 2: "sha384", 3: "sha512"}


@dataclass(frozen=True)
class HclTdxEnvelope:
    """The strict reading of an HCL report around a TDREPORT (for the azure-tdx-vtpm kind)."""

    report: HclTdxReport
    hash_type: int

    @property
    def hash_name(self) -> str:
        return HASH_TYPES[self.hash_type]


def parse_hcl_tdx_strict(data: bytes) -> HclTdxEnvelope:
    """:func:`parse_hcl_tdx_report`, then what a verifier binds on: version 1 or 2, status 0, zero
    reserved bytes, zero TDREPORT slot tail, a known hash type, data_size = 20 + variable data size,
    report_size = where the variable data ends, and a zero tail after it."""
    report = parse_hcl_tdx_report(data)
    version, report_size, _request_type, status = struct.unpack_from("<IIII", data, 4)
    if version not in (1, 2):
        raise ParseError(f"version {version} is not 1 or 2", field="hcl.version")
    if status != 0:
        raise ParseError(f"status {status} is not 0 (success)", field="hcl.status")
    if any(data[0x14:HCL_HEADER_SIZE]):
        raise ParseError("reserved header bytes are not zero", field="hcl.reserved")
    if any(data[HCL_HEADER_SIZE + TDREPORT_SIZE:HCL_HEADER_SIZE + HW_REPORT_SLOT]):
        raise ParseError("the hardware report slot after the TDREPORT is not zero", field="hcl.tdreport")
    rt = HCL_HEADER_SIZE + HW_REPORT_SLOT
    data_size, _rt_version, _report_type, hash_type, var_size = struct.unpack_from("<IIIII", data, rt)
    if hash_type not in HASH_TYPES:
        raise ParseError(f"hash type {hash_type} is not 1, 2 or 3", field="hcl.hash_type")
    if data_size != 20 + var_size:
        raise ParseError(f"data_size {data_size} is not 20 + variable_data_size {var_size}", field="hcl.data_size")
    end = rt + 20 + var_size
    if end != report_size or end > len(data):
        raise ParseError(f"runtime data ends at {end}, report_size says {report_size}", field="hcl.report_size")
    if any(data[end:]):
        raise ParseError("the padding after the report is not zero", field="hcl.padding")
    return HclTdxEnvelope(report, hash_type)
