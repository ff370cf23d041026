"""TDX quote parsing: every real quote, the expected fields other projects recorded, and hostile input."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.tdx.conftest import ALL_QUOTES, read
from tests.tdx.forge import FakeIntel, make_quote, td_body
from verifier.errors import ParseError
from verifier.evidence import azure_tdx
from verifier.evidence.tdx import (
    MAX_QUOTE_BYTES,
    BodyType,
    Trailing,
    looks_like_quote,
    parse_quote,
    trailing_kind,
)

# (file, version, body type, trailing kind, trailing length): one line per real quote
LAYOUTS = [
    ("tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat", 4, BodyType.TD10, Trailing.OTHER, 39),
    ("tdx/go-tdx-guest/quote_v5_sample.dat", 5, BodyType.TD15, Trailing.NONE, 0),
    ("tdx/go-tdx-guest/cos-113-tdx-quote.dat", 4, BodyType.TD10, Trailing.ZERO_PADDING, 8000 - 4935),
    ("tdx/trustee/tdx_quote_4.dat", 4, BodyType.TD10, Trailing.NONE, 0),
    ("tdx/trustee/tdx_quote_5.dat", 5, BodyType.TD15, Trailing.NONE, 0),
    ("tdx/trustee/tdx_quote_6.dat", 4, BodyType.TD10, Trailing.ZERO_PADDING, 70),
    ("tdx/trustee/td-quote.bin", 4, BodyType.TD10, Trailing.ZERO_PADDING, 70),
    ("tdx/openpcc/test_azure_tdx_quote.bin", 4, BodyType.TD10, Trailing.ZERO_PADDING, 70),
    ("tdx/openpcc/test_gce_tdx_report.bin", 4, BodyType.TD10, Trailing.ZERO_PADDING, 8000 - 4939),
]


def test_layout_table_covers_every_quote() -> None:
    assert sorted(row[0] for row in LAYOUTS) == sorted(ALL_QUOTES)


@pytest.mark.parametrize(("name", "version", "body_type", "kind", "trailing"), LAYOUTS)
def test_real_quotes_parse(vectors: Path, name: str, version: int, body_type: BodyType, kind: Trailing,
                           trailing: int) -> None:
    data = read(vectors, name)
    q = parse_quote(data)
    assert (q.version, q.body_type, trailing_kind(q.trailing), len(q.trailing)) == (version, body_type, kind, trailing)
    assert q.raw + q.trailing == data
    assert q.signed == data[:len(q.signed)]
    assert len(q.signed) == (48 + 584 if version == 4 else 48 + 6 + (648 if body_type is BodyType.TD15 else 584))
    assert (q.body.tee_tcb_svn2 is not None) == (body_type is BodyType.TD15)
    assert q.pck_chain_pem.count(b"BEGIN CERTIFICATE") == 3
    assert looks_like_quote(data)


def test_go_tdx_guest_trailer_is_the_test_text(vectors: Path) -> None:
    q = parse_quote(read(vectors, "tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat"))
    assert q.trailing == b"\nextra bytes(only for testing purpose)\n"


def test_fields_match_tinfoil_conformance_vector(vectors: Path) -> None:
    """tinfoil-conformance 300-tdx-v4-happy recorded every body field of go-tdx-guest's v4 quote."""
    expected = json.loads(read(vectors, "tinfoil/conformance/attestation-tdx/300-expected.json"))["outputs"]
    fields = expected["body_fields"]
    q = parse_quote(read(vectors, "tinfoil/conformance/attestation-tdx/tdx_prod_quote_SPR_E4.dat"))
    b = q.body
    assert b.tee_tcb_svn.hex() == fields["tee_tcb_svn_hex"]
    assert b.mrseam.hex() == fields["mrseam_hex"]
    assert b.mrsignerseam.hex() == fields["mrsignerseam_hex"]
    assert b.seam_attributes.hex() == fields["seam_attributes_hex"]
    assert b.td_attributes.hex() == fields["td_attributes_hex"]
    assert b.xfam.hex() == fields["xfam_hex"]
    assert b.mrtd.hex() == fields["mrtd_hex"]
    assert (b.mrconfigid.hex(), b.mrowner.hex(), b.mrownerconfig.hex()) == (
        fields["mrconfigid_hex"], fields["mrowner_hex"], fields["mrownerconfig_hex"])
    assert [r.hex() for r in b.rtmrs] == fields["rtmrs_hex"]
    assert b.report_data.hex() == fields["report_data_hex"]
    assert (b.debug, b.sept_ve_disable) == (fields["td_attributes_decoded"]["tud_debug"],
                                            fields["td_attributes_decoded"]["sec_sept_ve_disable"])


def test_fields_match_trustee_expected_claims(vectors: Path) -> None:
    """trustee's parse_tdx_claims_expected.json is the parse of its tdx_quote_4.dat (a debug TD)."""
    expected = json.loads(read(vectors, "tdx/trustee/parse_tdx_claims_expected.json"))
    q = parse_quote(read(vectors, "tdx/trustee/tdx_quote_4.dat"))
    body, header = expected["quote"]["body"], expected["quote"]["header"]
    assert q.header.user_data.hex() == header["user_data"]
    assert q.header.qe_vendor_id.hex() == header["vendor_id"]
    assert q.body.mrtd.hex() == body["mr_td"]
    assert q.body.tee_tcb_svn.hex() == body["tcb_svn"]
    assert [q.body.rtmr0.hex(), q.body.rtmr1.hex(), q.body.rtmr2.hex(), q.body.rtmr3.hex()] == [
        body["rtmr_0"], body["rtmr_1"], body["rtmr_2"], body["rtmr_3"]]
    assert q.body.report_data.hex() == body["report_data"]
    assert q.body.debug is expected["td_attributes"]["debug"] is True
    assert q.body.sept_ve_disable is expected["td_attributes"]["septve_disable"]


def test_v5_body_15_fields(vectors: Path) -> None:
    q = parse_quote(read(vectors, "tdx/go-tdx-guest/quote_v5_sample.dat"))
    assert q.body.tee_tcb_svn.hex() == "0b010400000000000000000000000000"
    assert q.body.tee_tcb_svn2 is not None and q.body.tee_tcb_svn2.hex() == "0d010400000000000000000000000000"
    assert q.body.mrservicetd == bytes(48)
    q5 = parse_quote(read(vectors, "tdx/trustee/tdx_quote_5.dat"))
    assert q5.body.mrservicetd is not None and q5.body.mrservicetd != bytes(48)


def test_azure_hcl_report_is_not_a_quote(vectors: Path) -> None:
    data = read(vectors, "tdx/openpcc/test_azure_tdx_report.bin")
    with pytest.raises(ParseError, match="version"):
        parse_quote(data)
    assert azure_tdx.is_hcl_report(data)
    hcl = azure_tdx.parse_hcl_tdx_report(data)
    quote = parse_quote(read(vectors, "tdx/openpcc/test_azure_tdx_quote.bin"))
    # the quote was made from this very TDREPORT (openpcc's azure_tdx_report.txt says how)
    assert hcl.tdreport.mrtd == quote.body.mrtd
    assert hcl.tdreport.report_data == quote.body.report_data
    assert hcl.tdreport.rtmrs == quote.body.rtmrs
    assert hcl.runtime_data.startswith(b'{"keys":')


def test_raw_tdreport_is_not_a_quote(vectors: Path) -> None:
    with pytest.raises(ParseError):
        parse_quote(read(vectors, "tdx/go-tdx-guest/report.dat"))


# -- hostile input -------------------------------------------------------------------------------
def test_every_truncation_is_a_parse_error(fake_intel: FakeIntel) -> None:
    for version in (4, 5):
        quote = make_quote(fake_intel, td_body(), version=version)
        parse_quote(quote)
        for cut in range(len(quote)):
            with pytest.raises(ParseError):
                parse_quote(quote[:cut])


def _sig_offset(quote: bytes) -> int:
    version = struct.unpack_from("<H", quote)[0]
    return 48 + 584 if version == 4 else 48 + 6 + struct.unpack_from("<I", quote, 50)[0]


@pytest.mark.parametrize(("where", "field"), [
    (0, "header.version"), (2, "header.att_key_type"), (4, "header.tee_type"), (12, "header.qe_vendor_id"),
])
def test_header_fields_are_checked(fake_intel: FakeIntel, where: int, field: str) -> None:
    quote = bytearray(make_quote(fake_intel))
    quote[where] ^= 0x40
    with pytest.raises(ParseError) as e:
        parse_quote(bytes(quote))
    assert e.value.field == field


def test_declared_lengths_are_bounded(fake_intel: FakeIntel) -> None:
    quote = make_quote(fake_intel)
    off = _sig_offset(quote)
    too_long = quote[:off] + struct.pack("<I", 0xFFFFFFFF) + quote[off + 4:]
    with pytest.raises(ParseError) as e:
        parse_quote(too_long)
    assert e.value.field == "signature_data.length"
    # certification data type 6 claims one byte more than the signature data holds
    cert_size_at = off + 4 + 128 + 2
    size = struct.unpack_from("<I", quote, cert_size_at)[0]
    bad = quote[:cert_size_at] + struct.pack("<I", size + 1) + quote[cert_size_at + 4:]
    with pytest.raises(ParseError) as e:
        parse_quote(bad)
    assert e.value.field == "certification_data.size"
    with pytest.raises(ParseError, match="more than"):
        parse_quote(quote + bytes(MAX_QUOTE_BYTES))


def test_v5_body_type_and_size_are_checked(fake_intel: FakeIntel) -> None:
    quote = make_quote(fake_intel, td_body(tee_tcb_svn2=bytes(16)), version=5)
    sgx = quote[:48] + struct.pack("<H", 1) + quote[50:]
    with pytest.raises(ParseError) as e:
        parse_quote(sgx)
    assert e.value.field == "body.type"
    wrong = quote[:50] + struct.pack("<I", 584) + quote[54:]
    with pytest.raises(ParseError) as e:
        parse_quote(wrong)
    assert e.value.field == "body.size"


def test_certification_data_must_nest_the_pck_chain(fake_intel: FakeIntel) -> None:
    quote = make_quote(fake_intel)
    type_at = _sig_offset(quote) + 4 + 128
    with pytest.raises(ParseError) as e:
        parse_quote(quote[:type_at] + struct.pack("<H", 5) + quote[type_at + 2:])
    assert e.value.field == "certification_data.type"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutations_raise_only_parse_errors(fake_intel: FakeIntel, data: st.DataObject) -> None:
    quote = bytearray(make_quote(fake_intel))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(quote) - 1))
        quote[i] = data.draw(st.integers(0, 255))
    try:
        parse_quote(bytes(quote))
    except ParseError:
        pass


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tail=st.binary(max_size=4096))
def test_random_signature_data_is_refused(fake_intel: FakeIntel, tail: bytes) -> None:
    """A valid header and body followed by arbitrary bytes: a ParseError, never another exception."""
    quote = make_quote(fake_intel)
    prefix = quote[:_sig_offset(quote)]
    with pytest.raises(ParseError):
        parse_quote(prefix + struct.pack("<I", len(tail)) + tail)
