"""NVIDIA GPU and NVSwitch attestation reports: SPDM 1.1 GET_MEASUREMENTS request || MEASUREMENTS response.

Sans-IO: bytes in, a frozen :class:`SpdmReport` out; :func:`build_report` is the inverse, used by the
reference enclave's simulated GPU and by tests that build mutations.

Layout (DMTF DSP0274 SPDM 1.1.x):

* GET_MEASUREMENTS request (§10.11, Table 41 "GET_MEASUREMENTS request message format"): SPDMVersion,
  RequestResponseCode 0xE0, Param1 (bit 0: signature requested), Param2 (measurement operation, 0xFF =
  all), Nonce (32 bytes, present when a signature is requested), SlotIDParam (1 byte, SPDM 1.1+).
  NVIDIA devices receive the 37-byte form with a signature requested.
* MEASUREMENTS response (§10.11, Table 43 "Successful MEASUREMENTS response message format"):
  SPDMVersion, RequestResponseCode 0x60, Param1, Param2 (bits 3:0 slot id), NumberOfBlocks,
  MeasurementRecordLength (3 bytes little-endian), MeasurementRecord, Nonce (32), OpaqueLength (2, LE),
  OpaqueData, Signature.
* Each measurement block (§10.11.1, Table 45 "Measurement block format"): Index, MeasurementSpecification
  (bit 0 = DMTF), MeasurementSize (2, LE), Measurement; a DMTF measurement (Table 46) is
  DMTFSpecMeasurementValueType, DMTFSpecMeasurementValueSize (2, LE), DMTFSpecMeasurementValue.
* The signature covers request || response-without-signature (SPDM 1.1 §10.11.2, L1/L2 for a single
  GET_MEASUREMENTS exchange) with the negotiated asymmetric algorithm; NVIDIA uses
  TPM_ALG_ECDSA_ECC_NIST_P384 with SHA-384, written as r || s, each 48 bytes big-endian (§14, "Signature").
* NVIDIA's OpaqueData is a sequence of (type: u16 LE, size: u16 LE, value) fields; the field ids
  (:class:`OpaqueField`) are NVIDIA's published ones (driver version, VBIOS version, FWID, ...).

Everything here is strict: a wrong code, a length that runs past the end, an opaque field that runs past
its length, or a trailing byte is a :class:`verifier.errors.ParseError` naming the field.
"""

from __future__ import annotations

import enum
import functools
import struct
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from verifier.errors import ParseError
from verifier.evidence.encoding import is_text
from verifier.evidence.reader import Reader
from verifier.memo import BoundedCache

SPDM_VERSION_11 = 0x11
GET_MEASUREMENTS = 0xE0
MEASUREMENTS = 0x60
REQUEST_SIZE = 37
"""SPDM 1.1 GET_MEASUREMENTS with a signature requested: 4 header bytes, 32-byte nonce, slot id."""
NONCE_SIZE = 32
SIGNATURE_SIZE = 96
"""ECDSA P-384: r || s, 48 bytes each."""
ATTR_SIGNATURE_REQUESTED = 0x01
OPERATION_ALL = 0xFF
MEASUREMENT_SPEC_DMTF = 0x01
MAX_REPORT_SIZE = 1 << 20
"""Real reports are 4-5 KB; anything above a megabyte is refused before parsing."""
MAX_OPAQUE_SIZE = 1024
"""DSP0274 §10.11: OpaqueLength shall not exceed 1024."""


class OpaqueField(enum.IntEnum):
    """NVIDIA's opaque data field ids (the ``OPAQUE_FIELD_ID_*`` names of NVIDIA's verifiers)."""

    CERT_ISSUER_NAME = 1
    CERT_AUTHORITY_KEY_IDENTIFIER = 2
    DRIVER_VERSION = 3
    GPU_INFO = 4
    SKU = 5
    VBIOS_VERSION = 6
    MANUFACTURER_ID = 7
    TAMPER_DETECTION = 8
    SMC = 9
    VPR = 10
    NVDEC0_STATUS = 11
    MSRSCNT = 12
    CPRINFO = 13
    BOARD_ID = 14
    CHIP_SKU = 15
    CHIP_SKU_MOD = 16
    PROJECT = 17
    PROJECT_SKU = 18
    PROJECT_SKU_MOD = 19
    FWID = 20
    PROTECTED_PCIE_STATUS = 21
    SWITCH_PDI = 22
    FLOORSWEPT_PORTS = 23
    POSITION_ID = 24
    LOCK_SWITCH_STATUS = 25
    SWITCH_GPU_PDIS = 26
    """An NVSwitch's GPUs: 8 PDIs of 8 bytes, then its ports (an NVSwitch's field 22, SWITCH_PDI, is
    its own PDI, ``OPAQUE_FIELD_ID_DEVICE_PDI`` in nvtrust's switch verifier)."""
    GPU_LINK_CONN = 32
    SYS_ENABLE_STATUS = 33
    OPAQUE_DATA_VERSION = 34
    CHIP_INFO = 35
    FEATURE_FLAG = 36
    INVALID = 255


NVDEC0_DISABLED = 0x55
""":attr:`OpaqueField.NVDEC0_STATUS` when the GPU's video decoder NVDEC0 is disabled: its
measurement (RIM index 35, SPDM block 36) is then not compared (nvtrust's ``is_msr_35_valid``)."""
NVDEC0_INDEX = 35
"""The RIM measurement index NVDEC0's state leaves uncompared when it is disabled."""


class FeatureFlag(enum.IntEnum):
    """Value of :attr:`OpaqueField.FEATURE_FLAG` (Blackwell and later): the GPU's multi-GPU mode."""

    SPT = 0
    """single GPU passthrough"""
    MPT = 1
    """multi GPU passthrough"""
    PPCIE = 2
    """protected PCIe"""


@dataclass(frozen=True)
class MeasurementRequest:
    """GET_MEASUREMENTS (DSP0274 §10.11, Table 41)."""

    version: int
    attributes: int
    operation: int
    nonce: bytes
    slot_id: int

    def pack(self) -> bytes:
        return (bytes([self.version, GET_MEASUREMENTS, self.attributes, self.operation])
                + self.nonce + bytes([self.slot_id]))


@dataclass(frozen=True)
class MeasurementBlock:
    """One measurement block with a DMTF-format measurement (DSP0274 Tables 45 and 46).

    ``index`` is SPDM's 1-based index; NVIDIA's RIMs number the same measurements from 0.
    ``value_type`` bit 7 set means a raw bit stream rather than a digest.
    """

    index: int
    spec: int
    value_type: int
    value: bytes

    @property
    def raw_bit_stream(self) -> bool:
        return bool(self.value_type & 0x80)

    def pack(self) -> bytes:
        dmtf = struct.pack("<BH", self.value_type, len(self.value)) + self.value
        return struct.pack("<BBH", self.index, self.spec, len(dmtf)) + dmtf


@dataclass(frozen=True)
class OpaqueData:
    """NVIDIA's opaque data: fields in the order they came, each ``(type, value)``.

    A type may repeat in principle; the accessors read the first occurrence and :func:`parse_opaque`
    refuses a repeated type, so there is no ambiguity about which one is meant.
    """

    fields: tuple[tuple[int, bytes], ...]

    @functools.cached_property
    def _first(self) -> dict[int, bytes]:
        first: dict[int, bytes] = {}
        for t, v in self.fields:
            first.setdefault(t, v)
        return first

    def get(self, field: OpaqueField) -> bytes | None:
        return self._first.get(field)

    def text(self, field: OpaqueField) -> str | None:
        """A NUL-padded ASCII field (driver version, project, SKUs), decoded; None when absent."""
        value = self.get(field)
        if value is None:
            return None
        return value.split(b"\0", 1)[0].decode("ascii", "replace")

    @functools.cached_property
    def driver_version(self) -> str | None:
        return self.text(OpaqueField.DRIVER_VERSION)

    @functools.cached_property
    def vbios_version(self) -> str | None:
        """VBIOS version as NVIDIA writes it, e.g. ``96.00.9F.00.01``.

        A GPU's field holds two little-endian 32-bit words: the first gives the four leading bytes
        of the version (most significant first), the low byte of the second gives the fifth. An
        NVSwitch writes the version as text (``96.10.55.00.01``).
        """
        value = self.get(OpaqueField.VBIOS_VERSION)
        if value is None:
            return None
        if len(value) != 8:
            text = value.split(b"\0", 1)[0]
            return text.decode("ascii") if text and all(0x20 < b < 0x7F for b in text) else None
        major = int.from_bytes(value[0:4], "little")
        minor = int.from_bytes(value[4:8], "little") & 0xFF
        digits = f"{major:08X}{minor:02X}"
        return ".".join(digits[i:i + 2] for i in range(0, 10, 2))

    @property
    def fwid(self) -> bytes | None:
        return self.get(OpaqueField.FWID)

    @functools.cached_property
    def project(self) -> str | None:
        return self.text(OpaqueField.PROJECT)

    @functools.cached_property
    def project_sku(self) -> str | None:
        return self.text(OpaqueField.PROJECT_SKU)

    @functools.cached_property
    def chip_sku(self) -> str | None:
        return self.text(OpaqueField.CHIP_SKU)

    @property
    def protected_pcie_status(self) -> int | None:
        value = self.get(OpaqueField.PROTECTED_PCIE_STATUS)
        return value[0] if value else None

    @property
    def nvdec0_disabled(self) -> bool:
        """NVDEC0_STATUS is the one byte 0x55 (:data:`NVDEC0_DISABLED`)."""
        return self.get(OpaqueField.NVDEC0_STATUS) == bytes([NVDEC0_DISABLED])

    @property
    def feature_flag(self) -> int | None:
        value = self.get(OpaqueField.FEATURE_FLAG)
        return value[0] if value else None

    @property
    def measurement_counts(self) -> tuple[int, ...] | None:
        """OpaqueField.MSRSCNT: one little-endian u32 per measurement index."""
        value = self.get(OpaqueField.MSRSCNT)
        if value is None or len(value) % 4:
            return None
        return tuple(v for (v,) in struct.iter_unpack("<I", value))

    def pack(self) -> bytes:
        return b"".join(struct.pack("<HH", t, len(v)) + v for t, v in self.fields)


@dataclass(frozen=True)
class MeasurementResponse:
    """MEASUREMENTS (DSP0274 §10.11, Table 43)."""

    version: int
    param1: int
    param2: int
    blocks: tuple[MeasurementBlock, ...]
    nonce: bytes
    opaque: OpaqueData
    opaque_raw: bytes
    signature: bytes

    @property
    def slot_id(self) -> int:
        return self.param2 & 0x0F

    def block(self, index: int) -> MeasurementBlock | None:
        return next((b for b in self.blocks if b.index == index), None)

    def pack_unsigned(self) -> bytes:
        record = b"".join(b.pack() for b in self.blocks)
        return (bytes([self.version, MEASUREMENTS, self.param1, self.param2, len(self.blocks)])
                + len(record).to_bytes(3, "little") + record + self.nonce
                + struct.pack("<H", len(self.opaque_raw)) + self.opaque_raw)


@dataclass(frozen=True)
class SpdmReport:
    """A parsed GPU/NVSwitch attestation report.

    ``signed`` is exactly the bytes the signature covers (request || response without signature).
    """

    request: MeasurementRequest
    response: MeasurementResponse
    signed: bytes

    @property
    def nonce(self) -> bytes:
        """The requester's nonce: the one a verifier chose (the native protocol's client nonce)."""
        return self.request.nonce

    @property
    def signature(self) -> bytes:
        return self.response.signature

    @property
    def opaque(self) -> OpaqueData:
        return self.response.opaque

    def measurements(self) -> dict[int, bytes]:
        """SPDM index -> DMTF measurement value."""
        return {b.index: b.value for b in self.response.blocks}


# -- parsing -------------------------------------------------------------------------------------


def _header(data: bytes, where: str, code: int, name: str) -> Reader:
    """SPDMVersion 1.1 and the expected RequestResponseCode (DSP0274 §9 message header); a reader
    positioned after them."""
    r = Reader(data)
    version = r.u8(f"{where}.SPDMVersion")
    if version != SPDM_VERSION_11:
        raise ParseError(f"is {version:#04x}, expected {SPDM_VERSION_11:#04x} (SPDM 1.1)",
                         field=f"{where}.SPDMVersion")
    found = r.u8(f"{where}.RequestResponseCode")
    if found != code:
        raise ParseError(f"is {found:#04x}, expected {code:#04x} ({name})",
                         field=f"{where}.RequestResponseCode")
    return r


def parse_request(data: bytes) -> MeasurementRequest:
    """GET_MEASUREMENTS request, SPDM 1.1 with a signature requested (DSP0274 §10.11, Table 41)."""
    r = _header(data, "request", GET_MEASUREMENTS, "GET_MEASUREMENTS")
    attributes = r.u8("request.Param1")
    if not attributes & ATTR_SIGNATURE_REQUESTED:
        raise ParseError("does not request a signature; an unsigned report proves nothing",
                         field="request.Param1")
    operation = r.u8("request.Param2")
    nonce = r.take(NONCE_SIZE, "request.Nonce")
    slot = r.u8("request.SlotIDParam")
    if r.remaining:
        raise ParseError(f"has {r.remaining} bytes past the 37-byte request", field="request")
    return MeasurementRequest(SPDM_VERSION_11, attributes, operation, nonce, slot)


def parse_opaque(data: bytes) -> OpaqueData:
    """NVIDIA opaque data: (type u16 LE, size u16 LE, value) fields filling the whole length."""
    r = Reader(data)
    fields: list[tuple[int, bytes]] = []
    seen: set[int] = set()
    while r.remaining:
        kind = r.u16("OpaqueData.DataType")
        size = r.u16(f"OpaqueData[{kind}].DataSize")
        value = r.take(size, f"OpaqueData[{kind}].Data")
        if kind in seen:
            raise ParseError(f"field type {kind} appears twice", field="OpaqueData")
        seen.add(kind)
        fields.append((kind, value))
    return OpaqueData(tuple(fields))


def _parse_blocks(r: Reader, count: int) -> tuple[MeasurementBlock, ...]:
    blocks: list[MeasurementBlock] = []
    indices: set[int] = set()
    for n in range(count):
        where = f"MeasurementRecord.block[{n}]"
        index = r.u8(f"{where}.Index")
        spec = r.u8(f"{where}.MeasurementSpecification")
        size = r.u16(f"{where}.MeasurementSize")
        body = Reader(r.take(size, f"{where}.Measurement"))
        if spec != MEASUREMENT_SPEC_DMTF:
            raise ParseError(f"is {spec:#04x}; only the DMTF format (0x01) is known",
                             field=f"{where}.MeasurementSpecification")
        value_type = body.u8(f"{where}.DMTFSpecMeasurementValueType")
        value_size = body.u16(f"{where}.DMTFSpecMeasurementValueSize")
        value = body.take(value_size, f"{where}.DMTFSpecMeasurementValue")
        if body.remaining:
            raise ParseError(f"MeasurementSize {size} exceeds its DMTF measurement by {body.remaining} bytes",
                             field=f"{where}.MeasurementSize")
        if index == 0 or index == 0xFF or index in indices:
            raise ParseError(f"index {index} is reserved or repeated", field=f"{where}.Index")
        indices.add(index)
        blocks.append(MeasurementBlock(index, spec, value_type, value))
    return tuple(blocks)


RECORDS: BoundedCache[tuple[MeasurementBlock, ...]] = BoundedCache("SPDM measurement records", 128)
"""Measurement records read before, by their block count and exact bytes; OPAQUE: opaque data read
before, by its exact bytes. A device sends the same record and opaque data in every report (only
the nonces and the signature, never remembered, differ); what does not read is refused every time."""
OPAQUE: BoundedCache[OpaqueData] = BoundedCache("SPDM opaque data", 128)


def _parse_record(data: bytes, count: int) -> tuple[MeasurementBlock, ...]:
    record = Reader(data)
    blocks = _parse_blocks(record, count)
    if record.remaining:
        raise ParseError(f"{record.remaining} bytes follow the {count} blocks",
                         field="response.MeasurementRecordLength")
    return blocks


def parse_response(data: bytes) -> MeasurementResponse:
    """MEASUREMENTS response with a P-384 signature (DSP0274 §10.11, Tables 43, 45, 46)."""
    r = _header(data, "response", MEASUREMENTS, "MEASUREMENTS")
    param1 = r.u8("response.Param1")
    param2 = r.u8("response.Param2")
    count = r.u8("response.NumberOfBlocks")
    record_length = r.u24("response.MeasurementRecordLength")
    record = r.take(record_length, "response.MeasurementRecord")
    blocks = RECORDS.through((count, record), lambda: _parse_record(record, count))
    nonce = r.take(NONCE_SIZE, "response.Nonce")
    opaque_length = r.u16("response.OpaqueLength")
    if opaque_length > MAX_OPAQUE_SIZE:
        raise ParseError(f"is {opaque_length}, more than the {MAX_OPAQUE_SIZE} SPDM allows",
                         field="response.OpaqueLength")
    opaque_raw = r.take(opaque_length, "response.OpaqueData")
    opaque = OPAQUE.through(opaque_raw, lambda: parse_opaque(opaque_raw))
    signature = r.take(SIGNATURE_SIZE, "response.Signature")
    if r.remaining:
        raise ParseError(f"{r.remaining} bytes follow the signature", field="response")
    return MeasurementResponse(SPDM_VERSION_11, param1, param2, blocks, nonce, opaque, opaque_raw, signature)


def parse_report(data: bytes) -> SpdmReport:
    """Parse request || response as the GPU (or NVSwitch) and its driver hand them over."""
    if len(data) > MAX_REPORT_SIZE:
        raise ParseError(f"is {len(data)} bytes, more than {MAX_REPORT_SIZE}", field="report")
    if len(data) < REQUEST_SIZE:
        raise ParseError(f"is {len(data)} bytes, shorter than the {REQUEST_SIZE}-byte request",
                         field="report")
    request = parse_request(data[:REQUEST_SIZE])
    response = parse_response(data[REQUEST_SIZE:])
    return SpdmReport(request, response, data[:-SIGNATURE_SIZE])


def looks_binary(data: bytes) -> bool:
    """Whether a file's bytes are a raw report (for :func:`verifier.evidence.encoding.decode_evidence`)."""
    return (len(data) > REQUEST_SIZE + 1 and data[1] == GET_MEASUREMENTS
            and data[REQUEST_SIZE + 1] == MEASUREMENTS and not is_text(data))


# -- building (the reference enclave's simulated GPU, and test mutations) ------------------------

Signer = Callable[[bytes], bytes]
"""Takes the signed bytes, returns the 96-byte r || s signature (see :func:`p384_signer`)."""


def encode_vbios_version(text: str) -> bytes:
    """Inverse of :attr:`OpaqueData.vbios_version`: ``96.00.9F.00.01`` -> the 8-byte field."""
    parts = text.split(".")
    if len(parts) != 5 or not all(len(p) == 2 for p in parts):
        raise ValueError(f"VBIOS version {text!r} is not five two-digit hex groups")
    major = int("".join(parts[:4]), 16)
    minor = int(parts[4], 16)
    return major.to_bytes(4, "little") + minor.to_bytes(4, "little")


def nvidia_opaque_fields(*, driver_version: str, vbios_version: str, fwid: bytes,
                         project: str = "1010", project_sku: str = "0200", chip_sku: str = "882",
                         extra: Mapping[int, bytes] | None = None) -> tuple[tuple[int, bytes], ...]:
    """The opaque fields a Hopper GPU reports, in its order, with NUL-terminated strings."""

    def z(text: str, size: int | None = None) -> bytes:
        raw = text.encode("ascii") + b"\0"
        return raw.ljust(size, b"\0") if size else raw

    fields: list[tuple[int, bytes]] = [
        (OpaqueField.DRIVER_VERSION, z(driver_version)),
        (OpaqueField.VBIOS_VERSION, encode_vbios_version(vbios_version)),
        (OpaqueField.PROJECT, z(project)),
        (OpaqueField.PROJECT_SKU, z(project_sku)),
        (OpaqueField.CHIP_SKU, z(chip_sku, 9)),
        (OpaqueField.FWID, fwid),
    ]
    for kind, value in (extra or {}).items():
        fields.append((int(kind), value))
    return tuple((int(k), v) for k, v in fields)


def build_request(nonce: bytes, *, slot_id: int = 0) -> bytes:
    """The 37-byte SPDM 1.1 GET_MEASUREMENTS request for all measurements, signature requested."""
    if len(nonce) != NONCE_SIZE:
        raise ValueError(f"the SPDM nonce is {NONCE_SIZE} bytes, not {len(nonce)}")
    return MeasurementRequest(SPDM_VERSION_11, ATTR_SIGNATURE_REQUESTED, OPERATION_ALL, nonce,
                              slot_id).pack()


def build_measurements_response(measurements: Mapping[int, bytes] | Iterable[MeasurementBlock], *,
                                responder_nonce: bytes, opaque_fields: Iterable[tuple[int, bytes]],
                                request: bytes, sign: Signer, param2: int = 0) -> bytes:
    """A MEASUREMENTS response signed over ``request`` || the response without its signature.

    ``measurements`` maps SPDM index (1-based) to a digest (type 0x01, "mutable firmware", as NVIDIA
    GPUs report every block) or is a sequence of ready blocks.
    """
    if len(responder_nonce) != NONCE_SIZE:
        raise ValueError(f"the SPDM nonce is {NONCE_SIZE} bytes, not {len(responder_nonce)}")
    if isinstance(measurements, Mapping):
        blocks = tuple(MeasurementBlock(i, MEASUREMENT_SPEC_DMTF, 0x01, v)
                       for i, v in sorted(measurements.items()))
    else:
        blocks = tuple(measurements)
    opaque = OpaqueData(tuple(opaque_fields))
    unsigned = MeasurementResponse(SPDM_VERSION_11, 0, param2, blocks, responder_nonce, opaque,
                                   opaque.pack(), b"").pack_unsigned()
    signature = sign(request + unsigned)
    if len(signature) != SIGNATURE_SIZE:
        raise ValueError(f"the signer returned {len(signature)} bytes, not {SIGNATURE_SIZE}")
    return unsigned + signature


def build_report(nonce: bytes, measurements: Mapping[int, bytes] | Iterable[MeasurementBlock], *,
                 opaque_fields: Iterable[tuple[int, bytes]], sign: Signer,
                 responder_nonce: bytes | None = None) -> bytes:
    """request || response, as :func:`parse_report` reads it. ``nonce`` is the verifier's nonce."""
    request = build_request(nonce)
    response = build_measurements_response(
        measurements, responder_nonce=responder_nonce if responder_nonce is not None else bytes(32),
        opaque_fields=opaque_fields, request=request, sign=sign)
    return request + response


def p384_signer(private_key: object) -> Signer:
    """A :data:`Signer` from a ``cryptography`` EC P-384 private key (SPDM's r || s encoding)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    if not isinstance(private_key, ec.EllipticCurvePrivateKey) or private_key.curve.name != "secp384r1":
        raise TypeError("an SPDM P-384 signer needs an EC secp384r1 private key")
    key = private_key

    def sign(message: bytes) -> bytes:
        r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA384())))
        return r.to_bytes(48, "big") + s.to_bytes(48, "big")

    return sign


def describe(report: SpdmReport) -> dict[str, object]:
    """A JSON-able decoding for ``evidence inspect``: every field, nothing judged."""
    o = report.opaque
    names = {f.value: f.name for f in OpaqueField}
    return {
        "format": "SPDM 1.1 GET_MEASUREMENTS request + MEASUREMENTS response",
        "request": {"version": f"{report.request.version:#04x}", "attributes": report.request.attributes,
                    "operation": report.request.operation, "nonce": report.request.nonce.hex(),
                    "slot_id": report.request.slot_id},
        "response": {"version": f"{report.response.version:#04x}", "param1": report.response.param1,
                     "param2": report.response.param2, "nonce": report.response.nonce.hex(),
                     "signature": report.signature.hex()},
        "measurements": {str(b.index): {"type": b.value_type, "value": b.value.hex()}
                         for b in report.response.blocks},
        "opaque": {names.get(t, f"field_{t}"): v.hex() for t, v in o.fields},
        "driver_version": o.driver_version,
        "vbios_version": o.vbios_version,
        "project": o.project,
        "project_sku": o.project_sku,
        "chip_sku": o.chip_sku,
        "fwid": o.fwid.hex() if o.fwid is not None else None,
    }
