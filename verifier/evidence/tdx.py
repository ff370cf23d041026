"""Intel TDX quotes, versions 4 and 5: parse strictly, sans-IO.

Layouts follow the *Intel TDX DCAP Quote Generation Library and Quote Verification Library* API
specification (Appendix A, "Version 4 Quote Format" and "Version 5 Quote Format") and the TDX
module ABI specification (TDREPORT_STRUCT, TD attributes). All integers are little-endian.

    v4:  header (48) | TD report body 1.0 (584) | signature data length (4) | signature data
    v5:  header (48) | body type (2) | body size (4) | body (584 or 648) | length (4) | signature data

The quote signature covers everything before the signature data length. The signature data holds
the ECDSA P-256 quote signature (r || s, 64 bytes big-endian), the raw attestation public key
(x || y, 64 bytes), and certification data of type 6 (``QE_REPORT_CERTIFICATION_DATA``) nesting
the QE report (384 bytes), its signature, the QE authentication data and certification data of
type 5 (the PCK certificate chain, PEM).

Trailing bytes. The signature data length says where a quote ends. Quote buffers handed out by
some platforms are larger than the quote: Google Compute Engine returns a fixed 8000-byte buffer
(zero padding) and go-tdx-guest's test quote ends with a 39-byte ASCII trailer. Such bytes are
outside every signature and carry no claim. The parser keeps them aside (:attr:`TdxQuote.trailing`)
and classifies them (:func:`trailing_kind`); whether they are acceptable is a policy decision
(``[tdx] trailing_bytes``), made in :mod:`verifier.appraisal.tdx`, never here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from verifier.errors import ParseError
from verifier.evidence.reader import Reader

# -- sizes and constants (DCAP Quote Generation Library API spec, Appendix A) -------------------
HEADER_SIZE = 48
TD_REPORT10_SIZE = 584
TD_REPORT15_SIZE = 648
QE_REPORT_SIZE = 384
ECDSA_SIG_SIZE = 64
ECDSA_KEY_SIZE = 64
SUPPORTED_VERSIONS = (4, 5)
ATT_KEY_TYPE_ECDSA_P256 = 2
TEE_TYPE_TDX = 0x00000081
TEE_TYPE_SGX = 0x00000000
INTEL_QE_VENDOR_ID = bytes.fromhex("939a7233f79c4ca9940a0db3957f0607")
CERT_DATA_PCK_CHAIN = 5
CERT_DATA_QE_REPORT = 6

MAX_QUOTE_BYTES = 128 * 1024
"""A quote is about 5 KB; buffers are padded to at most a few pages. Refuse more, before parsing."""
MAX_SIGNATURE_DATA = 64 * 1024
MAX_PCK_CHAIN_BYTES = 32 * 1024


class BodyType(enum.IntEnum):
    """v5 ``Body Type`` (spec A.4): 1 SGX enclave report, 2 TD report 1.0, 3 TD report 1.5."""

    SGX = 1
    TD10 = 2
    TD15 = 3


# -- TD attributes (TDX module ABI spec, "TD_ATTRIBUTES") ----------------------------------------
TD_ATTR_DEBUG = 1 << 0
TD_ATTR_TUD_MASK = 0xFF  # bits 7:0, TD-under-debug group: DEBUG and off-TD profiling (all "negative")
TD_ATTR_ICSSD = 1 << 16
TD_ATTR_SERVTD_EXT = 1 << 17
TD_ATTR_LASS = 1 << 27
TD_ATTR_SEPT_VE_DISABLE = 1 << 28
TD_ATTR_MIGRATABLE = 1 << 29
TD_ATTR_PKS = 1 << 30
TD_ATTR_KL = 1 << 31
TD_ATTR_TPA = 1 << 62
TD_ATTR_PERFMON = 1 << 63
TD_ATTR_KNOWN = (TD_ATTR_TUD_MASK | TD_ATTR_ICSSD | TD_ATTR_SERVTD_EXT | TD_ATTR_LASS
                 | TD_ATTR_SEPT_VE_DISABLE | TD_ATTR_MIGRATABLE | TD_ATTR_PKS | TD_ATTR_KL
                 | TD_ATTR_TPA | TD_ATTR_PERFMON)
"""Every bit the TDX 1.0/1.5 ABI defines; any other bit is reserved and must be zero."""


@dataclass(frozen=True)
class QuoteHeader:
    """Quote header (spec A.3.1 / A.4.1), 48 bytes. Bytes 8..11 are reserved in v4 and v5."""

    version: int
    att_key_type: int
    tee_type: int
    reserved: bytes
    qe_vendor_id: bytes
    user_data: bytes


@dataclass(frozen=True)
class TdReport:
    """TD quote body: TD report 1.0 (584 bytes), or 1.5 (648 bytes) with TEE_TCB_SVN2 and MRSERVICETD."""

    tee_tcb_svn: bytes
    mrseam: bytes
    mrsignerseam: bytes
    seam_attributes: bytes
    td_attributes: bytes
    xfam: bytes
    mrtd: bytes
    mrconfigid: bytes
    mrowner: bytes
    mrownerconfig: bytes
    rtmr0: bytes
    rtmr1: bytes
    rtmr2: bytes
    rtmr3: bytes
    report_data: bytes
    tee_tcb_svn2: bytes | None = None
    mrservicetd: bytes | None = None

    @property
    def td_attributes_int(self) -> int:
        return int.from_bytes(self.td_attributes, "little")

    @property
    def xfam_int(self) -> int:
        return int.from_bytes(self.xfam, "little")

    @property
    def debug(self) -> bool:
        return bool(self.td_attributes_int & TD_ATTR_DEBUG)

    @property
    def sept_ve_disable(self) -> bool:
        return bool(self.td_attributes_int & TD_ATTR_SEPT_VE_DISABLE)

    @property
    def rtmrs(self) -> tuple[bytes, bytes, bytes, bytes]:
        return (self.rtmr0, self.rtmr1, self.rtmr2, self.rtmr3)


@dataclass(frozen=True)
class EnclaveReport:
    """SGX enclave report body (SGX ``REPORT_BODY``, 384 bytes): here, the Quoting Enclave's report."""

    cpusvn: bytes
    miscselect: bytes
    attributes: bytes
    mrenclave: bytes
    mrsigner: bytes
    isvprodid: int
    isvsvn: int
    report_data: bytes
    raw: bytes


@dataclass(frozen=True)
class TdxQuote:
    """A parsed quote. ``raw`` is the quote without trailing bytes; ``signed`` is what the
    attestation key signed (header and body)."""

    header: QuoteHeader
    body_type: BodyType
    body: TdReport
    signature: bytes
    attestation_key: bytes
    qe_report: EnclaveReport
    qe_report_signature: bytes
    qe_auth_data: bytes
    pck_chain_pem: bytes
    raw: bytes
    signed: bytes
    trailing: bytes

    @property
    def version(self) -> int:
        return self.header.version

    @property
    def tdx_version(self) -> str:
        return "1.5" if self.body_type is BodyType.TD15 else "1.0"


def parse_header(data: bytes) -> QuoteHeader:
    """Quote header (spec A.3.1): refuses versions, key types, TEE types and QE vendors we do not
    verify (the :class:`ParseError`'s ``reason``: ``version``, ``key_type``, ``tee_type``,
    ``qe_vendor``; a header cut short: ``truncated``)."""
    r = Reader(data)
    version = r.u16("header.version")
    if version not in SUPPORTED_VERSIONS:
        raise ParseError(f"unsupported quote version {version} (only 4 and 5)", field="header.version",
                         reason="version")
    att_key_type = r.u16("header.att_key_type")
    if att_key_type != ATT_KEY_TYPE_ECDSA_P256:
        raise ParseError(f"attestation key type {att_key_type} is not ECDSA-256-with-P-256 (2)",
                         field="header.att_key_type", reason="key_type")
    tee_type = r.u32("header.tee_type")
    if tee_type != TEE_TYPE_TDX:
        raise ParseError(f"TEE type {tee_type:#x} is not TDX (0x81)", field="header.tee_type", reason="tee_type")
    reserved = r.take(4, "header.reserved")
    qe_vendor_id = r.take(16, "header.qe_vendor_id")
    if qe_vendor_id != INTEL_QE_VENDOR_ID:
        raise ParseError(f"QE vendor ID {qe_vendor_id.hex()} is not Intel's", field="header.qe_vendor_id",
                         reason="qe_vendor")
    user_data = r.take(20, "header.user_data")
    return QuoteHeader(version, att_key_type, tee_type, reserved, qe_vendor_id, user_data)


def parse_td_report(body: bytes, body_type: BodyType) -> TdReport:
    """TD quote body (spec A.3.2 "TD Quote Body" / A.4.2 "TD Quote Body Descriptor")."""
    r = Reader(body)
    fields = {
        "tee_tcb_svn": r.take(16, "body.tee_tcb_svn"),
        "mrseam": r.take(48, "body.mrseam"),
        "mrsignerseam": r.take(48, "body.mrsignerseam"),
        "seam_attributes": r.take(8, "body.seam_attributes"),
        "td_attributes": r.take(8, "body.td_attributes"),
        "xfam": r.take(8, "body.xfam"),
        "mrtd": r.take(48, "body.mrtd"),
        "mrconfigid": r.take(48, "body.mrconfigid"),
        "mrowner": r.take(48, "body.mrowner"),
        "mrownerconfig": r.take(48, "body.mrownerconfig"),
        "rtmr0": r.take(48, "body.rtmr0"),
        "rtmr1": r.take(48, "body.rtmr1"),
        "rtmr2": r.take(48, "body.rtmr2"),
        "rtmr3": r.take(48, "body.rtmr3"),
        "report_data": r.take(64, "body.report_data"),
    }
    if body_type is BodyType.TD15:
        return TdReport(**fields, tee_tcb_svn2=r.take(16, "body.tee_tcb_svn2"),
                        mrservicetd=r.take(48, "body.mrservicetd"))
    return TdReport(**fields)


def parse_enclave_report(raw: bytes) -> EnclaveReport:
    """SGX REPORT_BODY (SGX developer reference, "REPORT"), as the QE report (spec A.3.10)."""
    if len(raw) != QE_REPORT_SIZE:
        raise ParseError(f"must be {QE_REPORT_SIZE} bytes, is {len(raw)}", field="qe_report")
    r = Reader(raw)
    cpusvn = r.take(16, "qe_report.cpusvn")
    miscselect = r.take(4, "qe_report.miscselect")
    r.take(28, "qe_report.reserved1")
    attributes = r.take(16, "qe_report.attributes")
    mrenclave = r.take(32, "qe_report.mrenclave")
    r.take(32, "qe_report.reserved2")
    mrsigner = r.take(32, "qe_report.mrsigner")
    r.take(96, "qe_report.reserved3")
    isvprodid = r.u16("qe_report.isvprodid")
    isvsvn = r.u16("qe_report.isvsvn")
    r.take(60, "qe_report.reserved4")
    report_data = r.take(64, "qe_report.report_data")
    return EnclaveReport(cpusvn, miscselect, attributes, mrenclave, mrsigner, isvprodid, isvsvn,
                         report_data, raw)


def _parse_signature_data(r: Reader) -> tuple[bytes, bytes, EnclaveReport, bytes, bytes, bytes]:
    """ECDSA quote signature data (spec A.3.8 / A.4.9) with certification data type 6 (A.3.9-A.3.11)."""
    signature = r.take(ECDSA_SIG_SIZE, "signature_data.signature")
    attestation_key = r.take(ECDSA_KEY_SIZE, "signature_data.attestation_key")
    cert_type = r.u16("certification_data.type")
    if cert_type != CERT_DATA_QE_REPORT:
        raise ParseError(f"type {cert_type} is not 6 (QE report certification data); "
                         "only quotes that carry their PCK chain can be verified offline",
                         field="certification_data.type")
    cert_size = r.u32("certification_data.size")
    if cert_size != r.remaining:
        raise ParseError(f"declares {cert_size} bytes but the signature data leaves {r.remaining}",
                         field="certification_data.size")
    qe_report_raw = r.take(QE_REPORT_SIZE, "qe_report")
    qe_report = parse_enclave_report(qe_report_raw)
    qe_report_signature = r.take(ECDSA_SIG_SIZE, "qe_report_signature")
    auth_size = r.u16("qe_auth_data.size")
    qe_auth_data = r.take(auth_size, "qe_auth_data")
    inner_type = r.u16("pck_certification_data.type")
    if inner_type != CERT_DATA_PCK_CHAIN:
        raise ParseError(f"type {inner_type} is not 5 (PCK certificate chain)",
                         field="pck_certification_data.type")
    inner_size = r.u32("pck_certification_data.size")
    if inner_size != r.remaining:
        raise ParseError(f"declares {inner_size} bytes but {r.remaining} remain",
                         field="pck_certification_data.size")
    if inner_size > MAX_PCK_CHAIN_BYTES:
        raise ParseError(f"{inner_size} bytes is more than {MAX_PCK_CHAIN_BYTES}",
                         field="pck_certification_data.size")
    pck_chain = r.take(inner_size, "pck_certification_data.chain")
    return signature, attestation_key, qe_report, qe_report_signature, qe_auth_data, pck_chain


def parse_quote(data: bytes) -> TdxQuote:
    """Parse a v4 or v5 TDX quote; raise :class:`ParseError` naming the field at fault.

    Lengths are bounded: the whole input by :data:`MAX_QUOTE_BYTES`, every nested length by what
    remains of its parent, so that no declared size can read past its container.
    """
    if len(data) > MAX_QUOTE_BYTES:
        raise ParseError(f"{len(data)} bytes is more than the {MAX_QUOTE_BYTES} a quote may be", field="quote")
    header = parse_header(data[:HEADER_SIZE] if len(data) >= HEADER_SIZE else data)
    r = Reader(data, HEADER_SIZE)
    if header.version == 4:
        body_type = BodyType.TD10
        body_raw = r.take(TD_REPORT10_SIZE, "body")
    else:
        raw_type = r.u16("body.type")
        if raw_type not in (BodyType.TD10, BodyType.TD15):
            raise ParseError(f"body type {raw_type} is not a TD report (2 = TDX 1.0, 3 = TDX 1.5)",
                             field="body.type")
        body_type = BodyType(raw_type)
        size = r.u32("body.size")
        want = TD_REPORT10_SIZE if body_type is BodyType.TD10 else TD_REPORT15_SIZE
        if size != want:
            raise ParseError(f"body type {int(body_type)} has {want} bytes, the quote says {size}",
                             field="body.size")
        body_raw = r.take(size, "body")
    signed_end = r.pos
    sig_len = r.u32("signature_data.length")
    if sig_len > min(MAX_SIGNATURE_DATA, r.remaining):
        raise ParseError(f"declares {sig_len} bytes but {r.remaining} remain", field="signature_data.length")
    sig_reader = Reader(data, r.pos, r.pos + sig_len)
    sig_fields = _parse_signature_data(sig_reader)
    end = r.pos + sig_len
    body = parse_td_report(body_raw, body_type)
    return TdxQuote(header, body_type, body, *sig_fields, raw=data[:end], signed=data[:signed_end],
                    trailing=data[end:])


class Trailing(enum.StrEnum):
    NONE = "none"
    ZERO_PADDING = "zero-padding"
    OTHER = "other"


def trailing_kind(trailing: bytes) -> Trailing:
    """What follows the quote: nothing, zero padding (GCE's 8000-byte buffer), or anything else."""
    if not trailing:
        return Trailing.NONE
    if trailing.count(0) == len(trailing):
        return Trailing.ZERO_PADDING
    return Trailing.OTHER


def looks_like_quote(data: bytes) -> bool:
    """Binary detection for ``evidence inspect``: a TDX quote header and room for a TD report."""
    return len(data) >= HEADER_SIZE + TD_REPORT10_SIZE and has_quote_header(data)


def has_quote_header(data: bytes) -> bool:
    """A TDX quote header (ECDSA P-256 key, TDX TEE type), whatever its version: a quote of a
    version this verifier does not read is a quote that does not parse, not a file of an unknown
    format; a short one fails its parse the same way."""
    if len(data) < 8:
        return False
    key_type = int.from_bytes(data[2:4], "little")
    tee_type = int.from_bytes(data[4:8], "little")
    return key_type == ATT_KEY_TYPE_ECDSA_P256 and tee_type == TEE_TYPE_TDX


def describe(quote: TdxQuote) -> dict[str, object]:
    """A JSON-able decoding for ``evidence inspect``: every field, nothing judged."""
    h, b, qe = quote.header, quote.body, quote.qe_report
    body: dict[str, object] = {
        "tee_tcb_svn": b.tee_tcb_svn.hex(), "mrseam": b.mrseam.hex(), "mrsignerseam": b.mrsignerseam.hex(),
        "seam_attributes": b.seam_attributes.hex(), "td_attributes": b.td_attributes.hex(),
        "td_attributes_decoded": {"debug": b.debug, "sept_ve_disable": b.sept_ve_disable,
                                  "migratable": bool(b.td_attributes_int & TD_ATTR_MIGRATABLE),
                                  "pks": bool(b.td_attributes_int & TD_ATTR_PKS),
                                  "kl": bool(b.td_attributes_int & TD_ATTR_KL),
                                  "perfmon": bool(b.td_attributes_int & TD_ATTR_PERFMON)},
        "xfam": b.xfam.hex(), "mrtd": b.mrtd.hex(), "mrconfigid": b.mrconfigid.hex(),
        "mrowner": b.mrowner.hex(), "mrownerconfig": b.mrownerconfig.hex(),
        "rtmr0": b.rtmr0.hex(), "rtmr1": b.rtmr1.hex(), "rtmr2": b.rtmr2.hex(), "rtmr3": b.rtmr3.hex(),
        "report_data": b.report_data.hex(),
    }
    if b.tee_tcb_svn2 is not None:
        body["tee_tcb_svn2"] = b.tee_tcb_svn2.hex()
    if b.mrservicetd is not None:
        body["mrservicetd"] = b.mrservicetd.hex()
    return {
        "format": f"Intel TDX quote v{h.version}, body type {int(quote.body_type)} (TDX {quote.tdx_version})",
        "header": {"version": h.version, "att_key_type": h.att_key_type, "tee_type": f"{h.tee_type:#x}",
                   "qe_vendor_id": h.qe_vendor_id.hex(), "user_data": h.user_data.hex()},
        "body": body,
        "signature": quote.signature.hex(),
        "attestation_key": quote.attestation_key.hex(),
        "qe_report": {"cpusvn": qe.cpusvn.hex(), "miscselect": qe.miscselect.hex(),
                      "attributes": qe.attributes.hex(), "mrenclave": qe.mrenclave.hex(),
                      "mrsigner": qe.mrsigner.hex(), "isvprodid": qe.isvprodid, "isvsvn": qe.isvsvn,
                      "report_data": qe.report_data.hex()},
        "qe_report_signature": quote.qe_report_signature.hex(),
        "qe_auth_data": quote.qe_auth_data.hex(),
        "pck_chain_pem": quote.pck_chain_pem.rstrip(b"\x00").decode("ascii", "replace"),
        "size": len(quote.raw),
        "trailing_bytes": {"length": len(quote.trailing), "kind": str(trailing_kind(quote.trailing))},
    }
