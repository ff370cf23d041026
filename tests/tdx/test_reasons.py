"""The structured ``reason`` of failing TDX checks (docs/tdx.md, "Reasons of failing checks") and the
policy keys the conformance adapter needs (``fmspc``, ``qe_vendor_id``, ``td_attributes``,
``seam_attributes``, ``mrsignerseam``), on the forged platform."""

from __future__ import annotations

import datetime as dt
import struct

import pytest

from enclave import der
from tests.tdx.conftest import JAN_2026_AT, policy
from tests.tdx.forge import (
    FakeIntel,
    _pair,
    make_collateral,
    make_quote,
    qe_identity_inner,
    sgx_extension,
    signed_body,
    td_body,
)
from verifier.appraisal.policy import Policy
from verifier.appraisal.tdx import TdxAppraisal, appraise_tdx
from verifier.endorsements.intel_anchors import SGX_EXTENSION_OID
from verifier.endorsements.intel_collateral import TdxCollateral
from verifier.endorsements.intel_pck import _der_items, parse_sgx_extension
from verifier.errors import PolicyError
from verifier.evidence.tdx import TD_ATTR_DEBUG, TD_ATTR_SEPT_VE_DISABLE
from verifier.result import Check, Status


def appraise(pki: FakeIntel, pol: Policy, quote: bytes | None = None, *, at: dt.datetime = JAN_2026_AT,
             collateral: TdxCollateral | None = None) -> TdxAppraisal:
    return appraise_tdx(quote if quote is not None else make_quote(pki), policy=pol, at=at,
                        expected_report_data=bytes(64), collateral=collateral or make_collateral(pki, at))


def fails(a: TdxAppraisal) -> list[tuple[str, str | None]]:
    return [(c.id, c.reason) for c in a.checks if c.status is Status.FAIL]


def pinned(pki: FakeIntel, extra: str = "") -> Policy:
    return policy(f'roots = {{ spki_sha256 = ["{pki.pin}"] }}\n{extra}')


@pytest.mark.parametrize(("mutate", "reason"), [
    (lambda q: struct.pack("<H", 3) + q[2:], "version"),
    (lambda q: q[:2] + struct.pack("<H", 3) + q[4:], "key_type"),
    (lambda q: q[:4] + bytes(4) + q[8:], "tee_type"),
    (lambda q: q[:12] + bytes(16) + q[28:], "qe_vendor"),
    (lambda q: q[:64], "truncated"),
    (lambda q: q[:3], "truncated"),
])
def test_parse_reasons(fake_intel: FakeIntel, fake_policy: Policy, mutate: object, reason: str) -> None:
    quote = mutate(make_quote(fake_intel))  # type: ignore[operator]
    assert fails(appraise(fake_intel, fake_policy, quote)) == [("tdx.parse", reason)]


def test_expiry_is_its_own_reason(fake_intel: FakeIntel, fake_policy: Policy) -> None:
    old = make_collateral(fake_intel, JAN_2026_AT - dt.timedelta(days=60))
    a = appraise(fake_intel, fake_policy, collateral=old)
    assert fails(a)[:4] == [("tdx.collateral.root_crl", "expired"), ("tdx.collateral.pck_crl", "expired"),
                            ("tdx.collateral.tcb_info", "expired"), ("tdx.collateral.qe_identity", "expired")]
    later = appraise(fake_intel, fake_policy, at=dt.datetime(2100, 1, 1, tzinfo=dt.UTC))
    assert fails(later)[0] == ("tdx.pck.chain", "expired")


def test_revocation_and_signature_reasons(fake_intel: FakeIntel, fake_policy: Policy) -> None:
    coll = make_collateral(fake_intel, JAN_2026_AT, pck_revoked=(fake_intel.pck.serial_number,))
    assert fails(appraise(fake_intel, fake_policy, collateral=coll)) == [("tdx.pck.revocation", "revoked")]
    good = make_collateral(fake_intel, JAN_2026_AT)
    assert good.qe_identity is not None
    i = good.qe_identity.index(b'"signature":"') + 13
    flipped = good.qe_identity[:i] + (b"1" if good.qe_identity[i:i + 1] == b"0" else b"0") + good.qe_identity[i + 1:]
    a = appraise(fake_intel, fake_policy, collateral=TdxCollateral(**{**good.__dict__, "qe_identity": flipped}))
    assert ("tdx.collateral.qe_identity", "signature") in fails(a)
    no_chain = TdxCollateral(**{**good.__dict__, "tcb_info_chain": None})
    assert ("tdx.collateral.tcb_info", "no_issuer_chain") in fails(appraise(fake_intel, fake_policy,
                                                                            collateral=no_chain))


def test_qe_identity_version_3_is_refused_by_reason(fake_intel: FakeIntel, fake_policy: Policy) -> None:
    issue, nxt = JAN_2026_AT - dt.timedelta(days=1), JAN_2026_AT + dt.timedelta(days=30)
    for change, reason in (({"version": 3}, "version"), ({"id": "QE"}, "id")):
        inner = {**qe_identity_inner(issue, nxt), **change}
        good = make_collateral(fake_intel, JAN_2026_AT)
        coll = TdxCollateral(**{**good.__dict__, "qe_identity": signed_body("enclaveIdentity", inner,
                                                                             fake_intel.tcb_key)})
        assert ("tdx.collateral.qe_identity", reason) in fails(appraise(fake_intel, fake_policy, collateral=coll))


def test_td_attribute_reasons(fake_intel: FakeIntel, fake_policy: Policy) -> None:
    debug = make_quote(fake_intel, td_body(td_attributes=TD_ATTR_DEBUG | TD_ATTR_SEPT_VE_DISABLE))
    assert fails(appraise(fake_intel, fake_policy, debug)) == [("tdx.td.debug", "debug")]
    tud = make_quote(fake_intel, td_body(td_attributes=(1 << 7) | TD_ATTR_SEPT_VE_DISABLE))
    assert fails(appraise(fake_intel, fake_policy, tud)) == [("tdx.td.debug", "tud_reserved")]
    reserved = make_quote(fake_intel, td_body(td_attributes=(1 << 40) | TD_ATTR_SEPT_VE_DISABLE))
    assert fails(appraise(fake_intel, fake_policy, reserved)) == [("tdx.td.attributes", "reserved")]
    other = pinned(fake_intel, 'td_attributes = "0000000000000000"')
    assert fails(appraise(fake_intel, other)) == [("tdx.td.attributes", "not_listed")]
    exact = pinned(fake_intel, f'td_attributes = "{TD_ATTR_SEPT_VE_DISABLE.to_bytes(8, "little").hex()}"')
    assert fails(appraise(fake_intel, exact)) == []


def test_fixed_bit_reasons(fake_intel: FakeIntel) -> None:
    forbidden = pinned(fake_intel, 'xfam_fixed0 = "0300000000000000"')  # the quote's XFAM is e702...
    assert fails(appraise(fake_intel, forbidden)) == [("tdx.td.xfam_fixed", "forbidden_bit_set")]
    required = pinned(fake_intel, 'xfam_fixed1 = "0000000000000080"')
    assert fails(appraise(fake_intel, required)) == [("tdx.td.xfam_fixed", "required_bit_clear")]


def test_tcb_status_reasons(fake_intel: FakeIntel, fake_policy: Policy) -> None:
    out_of_date = make_quote(fake_intel, td_body(tee_tcb_svn=bytes([2, 1, 2]) + bytes(13)))
    assert fails(appraise(fake_intel, fake_policy, out_of_date)) == [("tdx.tcb.status", "not_accepted")]
    below = make_quote(fake_intel, td_body(tee_tcb_svn=bytes([3, 1, 0]) + bytes(13)))
    assert ("tdx.tcb.status", "no_tcb_level") in fails(appraise(fake_intel, fake_policy, below))
    floor = pinned(fake_intel, f'min_tee_tcb_svn = "{"ff" * 16}"')
    assert fails(appraise(fake_intel, floor)) == [("tdx.tcb.minimum", "tee_tcb_svn")]


def test_qe_identity_names_the_field(fake_intel: FakeIntel, fake_policy: Policy) -> None:
    quote = make_quote(fake_intel, qe_kwargs={"mrsigner": bytes(32)})
    assert fails(appraise(fake_intel, fake_policy, quote)) == [("tdx.qe.identity", "mrsigner")]
    quote = make_quote(fake_intel, qe_kwargs={"isvprodid": 3})
    assert fails(appraise(fake_intel, fake_policy, quote)) == [("tdx.qe.identity", "isvprodid")]


@pytest.mark.parametrize(("key", "good", "bad", "check"), [
    ("fmspc", "AABBCC000000", "000000000000", "tdx.pck.fmspc"),
    ("seam_attributes", "0000000000000000", "0100000000000000", "tdx.td.seam_attributes"),
    ("mrsignerseam", "00" * 48, "aa" * 48, "tdx.td.mrsignerseam"),
    ("qe_vendor_id", "939a7233f79c4ca9940a0db3957f0607", "00" * 16, "tdx.quote.qe_vendor"),
])
def test_new_pins(fake_intel: FakeIntel, key: str, good: str, bad: str, check: str) -> None:
    a = appraise(fake_intel, pinned(fake_intel, f'{key} = ["{good}"]'))
    passed = a.check(check)
    assert fails(a) == [] and passed is not None and passed.status is Status.PASS
    assert [i for i, _ in fails(appraise(fake_intel, pinned(fake_intel, f'{key} = "{bad}"')))] == [check]


def test_unset_pins_are_optional_skips(fake_intel: FakeIntel, fake_policy: Policy) -> None:
    a = appraise(fake_intel, fake_policy)
    for id in ("tdx.pck.fmspc", "tdx.td.seam_attributes", "tdx.td.mrsignerseam"):
        check: Check | None = a.check(id)
        assert check is not None and check.status is Status.SKIP and not check.required, id
    vendor = a.check("tdx.quote.qe_vendor")
    assert vendor is not None and vendor.status is Status.PASS  # Intel's, by default


@pytest.mark.parametrize("text", ['fmspc = "00"', 'seam_attributes = []', 'qe_vendor_id = "939a"',
                                  'td_attributes = ["zz"]'])
def test_new_keys_are_checked(text: str) -> None:
    from verifier.appraisal.tdx import TdxPolicy

    with pytest.raises(PolicyError):
        TdxPolicy.from_policy(policy(text))


def test_a_pck_certificate_without_sgx_type_decodes(fake_intel: FakeIntel, fake_policy: Policy) -> None:
    base = SGX_EXTENSION_OID
    full = sgx_extension()
    content = _der_items(full, "sgx_extension")[0][1]
    without = der.sequence(content.replace(_pair(f"{base}.5", der.enumerated(0)), b""))
    assert len(without) < len(full)
    assert parse_sgx_extension(full).sgx_type == 0
    assert parse_sgx_extension(without).sgx_type is None
    pki = fake_intel.with_pck(without)
    a = appraise(pki, fake_policy)
    assert fails(a) == [] and a.claims["sgx_type"] is None
