"""Long fuzzing of the TDX appraisal (``pytest -m slow``): hostile quotes and collateral never raise."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.tdx.conftest import policy
from tests.tdx.forge import FakeIntel, make_collateral, make_pki, make_quote
from verifier.appraisal.tdx import appraise_tdx
from verifier.endorsements.intel_collateral import TdxCollateral, load_crl, split_signed_body
from verifier.endorsements.intel_pck import load_pem_chain
from verifier.result import Status

AT = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
PKI: FakeIntel = make_pki()
QUOTE = make_quote(PKI)
COLLATERAL = make_collateral(PKI, AT)
POLICY = policy(f'roots = {{ spki_sha256 = ["{PKI.pin}"] }}')
CHAIN_AT = QUOTE.index(b"-----BEGIN CERTIFICATE-----")

pytestmark = pytest.mark.slow


@settings(max_examples=3000, deadline=None)
@given(data=st.data())
def test_quote_mutations(data: st.DataObject) -> None:
    quote = bytearray(QUOTE)
    start = data.draw(st.sampled_from([0, CHAIN_AT]))  # anywhere, or inside the PEM chain
    for _ in range(data.draw(st.integers(1, 6))):
        quote[data.draw(st.integers(start, len(quote) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(quote)))
    a = appraise_tdx(bytes(quote[:cut]), policy=POLICY, at=AT, expected_report_data=None,
                     collateral=COLLATERAL)
    assert a.checks
    if bytes(quote[:cut]) != QUOTE:
        assert not a.authentic or a.check("tdx.quote.trailing_bytes") is not None


@settings(max_examples=3000, deadline=None)
@given(data=st.data())
def test_collateral_mutations(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(["tcb_info", "qe_identity", "pck_crl", "root_crl", "tcb_info_chain",
                                      "qe_identity_chain"]))
    blob = bytearray(getattr(COLLATERAL, name))
    for _ in range(data.draw(st.integers(1, 6))):
        blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(st.integers(0, 255))
    coll = TdxCollateral(**{**COLLATERAL.__dict__, name: bytes(blob)})
    a = appraise_tdx(QUOTE, policy=POLICY, at=AT, expected_report_data=None, collateral=coll)
    assert a.authentic  # collateral never decides the quote's own signatures
    check = a.check(CHECK_OF[name])
    assert check is not None
    if check.status is Status.PASS:  # only a mutation that leaves the signed content alone may pass
        assert _signed_content(name, bytes(blob)) == _signed_content(name, getattr(COLLATERAL, name))


CHECK_OF = {"tcb_info": "tdx.collateral.tcb_info", "tcb_info_chain": "tdx.collateral.tcb_info",
            "qe_identity": "tdx.collateral.qe_identity", "qe_identity_chain": "tdx.collateral.qe_identity",
            "pck_crl": "tdx.collateral.pck_crl", "root_crl": "tdx.collateral.root_crl"}


def _signed_content(name: str, blob: bytes) -> object:
    if name in ("tcb_info", "qe_identity"):
        signed = split_signed_body(blob, "tcbInfo" if name == "tcb_info" else "enclaveIdentity")
        return signed.inner_raw, signed.signature
    if name.endswith("_chain"):
        return [c.public_bytes(serialization.Encoding.DER) for c in load_pem_chain(blob, name)]
    crl = load_crl(blob, name)
    return crl.tbs_certlist_bytes, crl.signature


LEAF_DER = PKI.pck.public_bytes(serialization.Encoding.DER)


def _pem(der: bytes) -> bytes:
    import base64
    import textwrap

    body = "\n".join(textwrap.wrap(base64.b64encode(der).decode(), 64))
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n".encode()


@settings(max_examples=3000, deadline=None)
@given(data=st.data())
def test_pck_certificate_der_mutations(data: st.DataObject) -> None:
    """Mutations inside the leaf's DER (valid PEM around it) reach cryptography's lazy decoding."""
    der = bytearray(LEAF_DER)
    for _ in range(data.draw(st.integers(1, 4))):
        der[data.draw(st.integers(0, len(der) - 1))] = data.draw(st.integers(0, 255))
    chain = _pem(bytes(der)) + PKI.pck_chain[PKI.pck_chain.index(b"-----END CERTIFICATE-----") + 26:]
    a = appraise_tdx(make_quote(PKI, chain=chain), policy=POLICY, at=AT, expected_report_data=None,
                     collateral=COLLATERAL)
    assert a.checks
    if a.authentic:  # then the leaf Intel signed is unchanged, whatever bytes around it moved
        leaf = x509.load_der_x509_certificate(bytes(der))
        assert (leaf.tbs_certificate_bytes, leaf.signature) == (PKI.pck.tbs_certificate_bytes, PKI.pck.signature)
