"""SPDM 1.1 GET_MEASUREMENTS parsing (DSP0274 §10.11) on real reports, and strictness on mutations."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.nvidia import nv, pki
from verifier.errors import ParseError
from verifier.evidence import nvidia as spdm

pytestmark = pytest.mark.vectors


def test_h100_matching_set_fields() -> None:
    raw, _ = nv.h100()
    r = spdm.parse_report(raw)
    assert len(raw) == 4117
    assert r.nonce == nv.H100_NONCE
    assert r.request.operation == spdm.OPERATION_ALL and r.request.attributes & 1
    assert len(r.response.blocks) == 64 and [b.index for b in r.response.blocks] == list(range(1, 65))
    assert all(len(b.value) == 48 for b in r.response.blocks)
    o = r.opaque
    assert (o.driver_version, o.vbios_version) == ("550.90.07", "96.00.9F.00.01")
    assert (o.project, o.project_sku, o.chip_sku) == ("1010", "0200", "882")
    assert o.fwid is not None and o.fwid.hex().startswith("f5c384aebb579217")
    assert o.protected_pcie_status == 0x55
    assert r.signed == raw[:-96] and r.signature == raw[-96:]


def test_parsed_fields_agree_with_nvidia_own_parser_output() -> None:
    """NVIDIA's SDK ships its parser's output for its hopperAttestationReport.txt: compare field by field."""
    import json

    raw = nv.report(nv.SDK + "hopperAttestationReport.txt")
    expected = json.loads(nv.read(nv.SDK + "spdm_parsed_output.json"))
    r = spdm.parse_report(raw)
    assert r.response.nonce.hex() == expected["Nonce"][2:]
    assert len(r.response.opaque_raw) == expected["OpaqueLength"]
    assert r.signature.hex() == expected["Signature"][2:]
    blocks = expected["MeasurementRecord"]["MeasurementBlocks"]
    for b in r.response.blocks:
        assert b.value.hex() == blocks[str(b.index)]["DMTFSpecMeasurementValue"][2:]
    req = json.loads(nv.read(nv.SDK + "spdm_req_parsed_output.json"))
    assert r.request.nonce.hex() == req["Nonce"][2:] and r.request.attributes == int(req["Param1"], 16)


@pytest.mark.parametrize("relative", [
    nv.SDK + "hopperAttestationReport.txt",
    nv.SAMPLES + "gpu/hopperAttestationReport.txt",
    nv.SAMPLES + "gpu/blackwellAttestationReport.txt",
    nv.SDK + "switchAttestationReport.txt",
    nv.SAMPLES + "gpu/hopperAttestationReportInvalidSignature.txt",
])
def test_other_real_reports_parse_and_repack(relative: str) -> None:
    raw = nv.report(relative)
    r = spdm.parse_report(raw)
    assert r.request.pack() + r.response.pack_unsigned() + r.signature == raw


def test_switch_report_has_no_gpu_fields() -> None:
    r = spdm.parse_report(nv.report(nv.SDK + "switchAttestationReport.txt"))
    assert len(r.response.blocks) == 31
    assert r.opaque.driver_version is None and r.opaque.vbios_version == "96.10.55.00.01"


def test_builder_roundtrip_and_signature_layout(device: pki.DevicePki) -> None:
    values = pki.measurements()
    raw = pki.report(device, bytes(range(32)), values)
    r = spdm.parse_report(raw)
    assert r.measurements() == values
    assert r.opaque.vbios_version == "96.00.9F.00.01" and r.opaque.fwid == device.fwid
    assert len(raw) == 37 + 8 + 64 * (4 + 3 + 48) + 32 + 2 + len(r.response.opaque_raw) + 96


def test_vbios_version_encoding_matches_real_field() -> None:
    assert spdm.encode_vbios_version("96.00.9F.00.01") == bytes.fromhex("009f009601000000")
    with pytest.raises(ValueError):
        spdm.encode_vbios_version("96.00.9F")


@pytest.mark.parametrize(("offset", "value", "field"), [
    (0, 0x10, "request.SPDMVersion"),
    (1, 0x81, "request.RequestResponseCode"),
    (2, 0x00, "request.Param1"),
    (37, 0x12, "response.SPDMVersion"),
    (38, 0xE0, "response.RequestResponseCode"),
    (37 + 4, 65, "MeasurementRecord"),      # one block more than the record holds
    (37 + 8 + 1, 0x02, "MeasurementSpecification"),
])
def test_wrong_codes_and_counts_name_the_field(offset: int, value: int, field: str) -> None:
    raw = bytearray(nv.h100()[0])
    raw[offset] = value
    with pytest.raises(ParseError) as e:
        spdm.parse_report(bytes(raw))
    assert field in str(e.value)


def test_every_truncation_and_a_trailing_byte_are_refused() -> None:
    raw = nv.h100()[0]
    for n in range(0, len(raw), 7):
        with pytest.raises(ParseError):
            spdm.parse_report(raw[:n])
    with pytest.raises(ParseError, match="follow the signature"):
        spdm.parse_report(raw + b"\0")


def test_opaque_length_over_spdm_limit_is_refused() -> None:
    raw = bytearray(nv.h100()[0])
    at = 37 + 8 + 3520 + 32
    assert struct.unpack_from("<H", raw, at)[0] < 1024
    struct.pack_into("<H", raw, at, 1025)
    with pytest.raises(ParseError, match="OpaqueLength"):
        spdm.parse_report(bytes(raw))


def test_repeated_opaque_field_is_refused(device: pki.DevicePki) -> None:
    fields = ((spdm.OpaqueField.DRIVER_VERSION, b"1\0"), (spdm.OpaqueField.DRIVER_VERSION, b"2\0"))
    raw = spdm.build_report(bytes(32), {1: bytes(48)}, opaque_fields=fields,
                            sign=spdm.p384_signer(device.leaf.key))
    with pytest.raises(ParseError, match="appears twice"):
        spdm.parse_report(raw)


def test_repeated_block_index_is_refused(device: pki.DevicePki) -> None:
    blocks = [spdm.MeasurementBlock(3, 1, 1, bytes(48)), spdm.MeasurementBlock(3, 1, 1, bytes(48))]
    raw = spdm.build_report(bytes(32), blocks, opaque_fields=(), sign=spdm.p384_signer(device.leaf.key))
    with pytest.raises(ParseError, match="repeated"):
        spdm.parse_report(raw)


def test_unsigned_request_is_refused() -> None:
    raw = bytearray(nv.h100()[0])
    raw[2] = 0
    with pytest.raises(ParseError, match="signature"):
        spdm.parse_report(bytes(raw))


def test_binary_detection_fits_only_real_layout() -> None:
    raw = nv.h100()[0]
    assert spdm.looks_binary(raw)
    assert not spdm.looks_binary(raw.hex().encode())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_never_raise_anything_but_parse_error(data: bytes) -> None:
    try:
        spdm.parse_report(data)
    except ParseError:
        pass


_REAL = None


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=4116), st.integers(min_value=1, max_value=255))
def test_single_byte_mutations_parse_or_raise_parse_error(offset: int, xor: int) -> None:
    global _REAL
    if _REAL is None:
        _REAL = nv.h100()[0]
    raw = bytearray(_REAL)
    raw[offset] ^= xor
    try:
        r = spdm.parse_report(bytes(raw))
    except ParseError:
        return
    assert r.signed + r.signature == bytes(raw)


def test_describe_is_json_and_complete() -> None:
    import json

    d = spdm.describe(spdm.parse_report(nv.h100()[0]))
    doc = json.loads(json.dumps(d))
    assert doc["request"]["nonce"] == nv.H100_NONCE.hex() and len(doc["measurements"]) == 64
    assert doc["opaque"]["DRIVER_VERSION"] == b"550.90.07\0".hex()
    assert doc["vbios_version"] == "96.00.9F.00.01"
