"""Intel collateral: signatures over the exact inner bytes, signer validity, windows, CRLs."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.tdx.conftest import JAN_2026_AT, TINFOIL_COLLATERAL, read
from tests.tdx.forge import FakeIntel, make_crl
from verifier.endorsements.intel_anchors import INTEL_ROOT_PINS
from verifier.endorsements.intel_collateral import (
    CollateralInvalid,
    check_window,
    is_revoked,
    load_crl,
    parse_qe_identity,
    parse_tcb_info,
    raw_ecdsa_verify,
    split_signed_body,
    verify_crl,
    verify_signed_body,
)
from verifier.endorsements.intel_pck import common_name, load_pck_chain, load_pem_chain
from verifier.endorsements.intel_pcs import decode_issuer_chain
from verifier.errors import ParseError
from verifier.evidence.tdx import parse_quote

C = TINFOIL_COLLATERAL + "/"


def _chain(vectors: Path, name: str) -> bytes:
    return decode_issuer_chain(read(vectors, C + name))


def test_signature_is_over_the_exact_inner_bytes(vectors: Path) -> None:
    body = read(vectors, C + "tcb_info_90c06f000000.json")
    signed = split_signed_body(body, "tcbInfo")
    assert signed.inner_raw in body and body.index(signed.inner_raw) == len(b'{"tcbInfo":')
    signer = verify_signed_body(signed, _chain(vectors, "tcb_info_90c06f000000_chain.txt"), INTEL_ROOT_PINS,
                                JAN_2026_AT)
    assert common_name(signer.subject) == "Intel SGX TCB Signing"
    info = parse_tcb_info(signed.inner)
    assert (info.fmspc.hex(), info.tcb_evaluation_data_number, len(info.tdx_module_identities)) == (
        "90c06f000000", 18, 2)


def test_reserialised_inner_object_does_not_verify(vectors: Path) -> None:
    """The same JSON value in other bytes (spaces after separators) is not what Intel signed."""
    body = read(vectors, C + "qe_identity.json")
    doc = json.loads(body)
    other = json.dumps(doc).encode()  # ", " and ": " separators
    assert json.loads(other) == doc
    with pytest.raises(CollateralInvalid, match="signature does not verify"):
        verify_signed_body(split_signed_body(other, "enclaveIdentity"), _chain(vectors, "qe_identity_chain.txt"),
                           INTEL_ROOT_PINS, JAN_2026_AT)


def test_white_space_outside_the_inner_object_is_fine(vectors: Path) -> None:
    body = read(vectors, C + "qe_identity.json")
    signed = split_signed_body(body, "enclaveIdentity")
    loose = (b'{ "signature" :\n "' + signed.signature.hex().encode() + b'" ,\n "enclaveIdentity" : '
             + signed.inner_raw + b" }\n")
    again = split_signed_body(loose, "enclaveIdentity")
    assert again.inner_raw == signed.inner_raw
    verify_signed_body(again, _chain(vectors, "qe_identity_chain.txt"), INTEL_ROOT_PINS, JAN_2026_AT)
    assert parse_qe_identity(again.inner).mrsigner.hex().startswith("dc9e2a7c")


@pytest.mark.parametrize(("body", "match"), [
    (b'{"tcbInfo":{"id":"TDX","id":"SGX"},"signature":"' + b"00" * 64 + b'"}', "twice"),
    (b'{"tcbInfo":{},"tcbInfo":{},"signature":"' + b"00" * 64 + b'"}', "twice"),
    (b'{"tcbInfo":{},"signature":"' + b"00" * 64 + b'","extra":1}', "exactly"),
    (b'{"tcbInfo":{},"signature":"00"}', "128 hex"),
    (b'{"tcbInfo":[],"signature":"' + b"00" * 64 + b'"}', "not an object"),
    (b'["tcbInfo"]', "not a JSON object"),
    (b'\xff', "not valid JSON"),
    (b'{"tcbInfo":' * 5000, "not valid JSON"),
])
def test_malformed_bodies_are_parse_errors(body: bytes, match: str) -> None:
    with pytest.raises(ParseError, match=match):
        split_signed_body(body, "tcbInfo")


def test_broken_signature_is_refused(vectors: Path) -> None:
    body = read(vectors, C + "tcb_info_00a06d080000.json")
    i = body.index(b'"signature":"') + 20
    broken = body[:i] + (b"0" if body[i:i + 1] != b"0" else b"1") + body[i + 1:]
    with pytest.raises(CollateralInvalid, match="signature does not verify"):
        verify_signed_body(split_signed_body(broken, "tcbInfo"),
                           _chain(vectors, "tcb_info_00a06d080000_chain.txt"), INTEL_ROOT_PINS, JAN_2026_AT)


def test_trustee_tcb_info_is_refused_for_its_expired_signer(vectors: Path) -> None:
    """trustee's tcbInfo.json (issued 2025-10-27) is genuine, and its signature verifies with the
    key of go-tdx-guest's TCB Signing certificate; but that certificate expired 2025-05-21, and
    Intel renewed it with the same key. Checking only the key would pass it; we check the signer."""
    at = dt.datetime(2025, 11, 1, tzinfo=dt.UTC)  # inside the TCB info's own window
    signed = split_signed_body(read(vectors, "tdx/trustee/tcbInfo.json"), "tcbInfo")
    old_chain = read(vectors, "tdx/go-tdx-guest/tcbInfoIssuerChain.pem")
    old_signer = load_pem_chain(old_chain, "x")[0]
    key = old_signer.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    assert raw_ecdsa_verify(key, signed.signature, signed.inner_raw)  # the key alone would pass it
    with pytest.raises(CollateralInvalid, match="TCB signing certificate expired 2025-05-21"):
        verify_signed_body(signed, old_chain, INTEL_ROOT_PINS, at)
    # the renewed certificate (same key, valid 2025-05-06..2032) accepts the very same bytes
    renewed = _chain(vectors, "tcb_info_00a06d080000_chain.txt")
    assert load_pem_chain(renewed, "x")[0].public_key() == key
    verify_signed_body(signed, renewed, INTEL_ROOT_PINS, at)
    check_window(parse_tcb_info(signed.inner).issue_date, parse_tcb_info(signed.inner).next_update, at, "x")


def test_collateral_window(vectors: Path) -> None:
    info = parse_tcb_info(split_signed_body(read(vectors, C + "tcb_info_90c06f000000.json"), "tcbInfo").inner)
    check_window(info.issue_date, info.next_update, JAN_2026_AT, "TCB info")
    with pytest.raises(CollateralInvalid, match="expired at its nextUpdate 2026-02-11T15:46:45Z"):
        check_window(info.issue_date, info.next_update, dt.datetime(2026, 3, 1, tzinfo=dt.UTC), "TCB info")
    with pytest.raises(CollateralInvalid, match="after the verification time"):
        check_window(info.issue_date, info.next_update, dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "TCB info")


def test_chain_ending_in_another_root_is_refused(vectors: Path, fake_intel: FakeIntel) -> None:
    signed = split_signed_body(read(vectors, C + "qe_identity.json"), "enclaveIdentity")
    with pytest.raises(CollateralInvalid, match="not pinned"):
        verify_signed_body(signed, fake_intel.tcb_chain, INTEL_ROOT_PINS, JAN_2026_AT)


# -- CRLs ----------------------------------------------------------------------------------------
def _platform_ca(vectors: Path) -> x509.Certificate:
    return load_pck_chain(parse_quote(read(vectors, "tdx/go-tdx-guest/quote_v5_sample.dat")).pck_chain_pem).intermediate


def test_real_pck_crl(vectors: Path) -> None:
    crl = load_crl(read(vectors, C + "pck_crl_platform.crl"), "PCK CRL")
    ca = _platform_ca(vectors)
    verify_crl(crl, ca, JAN_2026_AT, "PCK CRL")
    assert len(list(crl)) == 51
    revoked = next(iter(crl)).serial_number
    assert crl.get_revoked_certificate_by_serial_number(revoked) is not None
    assert not is_revoked(crl, ca)


def test_crl_issued_after_the_verification_time_is_refused(vectors: Path) -> None:
    """The PCK CRL was issued 2026-01-12T15:52:37Z; at 15:50 it says nothing about that time."""
    crl = load_crl(read(vectors, C + "pck_crl_platform.crl"), "PCK CRL")
    with pytest.raises(CollateralInvalid, match="issued 2026-01-12T15:52:37Z, after the verification time"):
        verify_crl(crl, _platform_ca(vectors), dt.datetime(2026, 1, 12, 15, 50, tzinfo=dt.UTC), "PCK CRL")


def test_expired_crl_is_refused(vectors: Path) -> None:
    crl = load_crl(read(vectors, C + "pck_crl_platform.crl"), "PCK CRL")
    with pytest.raises(CollateralInvalid, match="expired at its nextUpdate 2026-02-11T15:52:37Z"):
        verify_crl(crl, _platform_ca(vectors), dt.datetime(2026, 2, 12, tzinfo=dt.UTC), "PCK CRL")


def test_crl_with_the_wrong_issuer_is_refused(vectors: Path, fake_intel: FakeIntel) -> None:
    crl = load_crl(read(vectors, C + "root_ca.crl"), "root CA CRL")
    with pytest.raises(CollateralInvalid, match="issued by"):
        verify_crl(crl, _platform_ca(vectors), JAN_2026_AT, "root CA CRL")
    # Intel's names, another key: the signature fails
    with pytest.raises(CollateralInvalid, match="signature"):
        verify_crl(crl, fake_intel.root, JAN_2026_AT, "root CA CRL")


def test_crl_encodings(fake_intel: FakeIntel) -> None:
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    der = make_crl(fake_intel.ca, fake_intel.ca_key, at, at + dt.timedelta(days=1), (7,))
    as_pem = x509.load_der_x509_crl(der).public_bytes(serialization.Encoding.PEM)
    for data in (der, as_pem, der.hex().encode(), der.hex().upper().encode() + b"\n"):
        crl = load_crl(data, "PCK CRL")
        verify_crl(crl, fake_intel.ca, at, "PCK CRL")
        assert is_revoked(crl, fake_intel.pck)
    with pytest.raises(ParseError, match="does not parse"):
        load_crl(b"not a crl", "PCK CRL")
