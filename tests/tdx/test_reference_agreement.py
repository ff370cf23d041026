"""Issue 13, TDX: the default policy refuses what the references refuse, and the knobs they have.

Each test forges a quote (tests/tdx/forge.py, test roots) that the current reference refuses (or
names the reference's option) and shows which of our check ids refuses it. The dcap-qvl verdicts
on the same forged evidence are in ``test_dcap_qvl_differential.py``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.tdx.conftest import AUTHENTIC_AT, JAN_2026_AT, policy, read
from tests.tdx.forge import (
    FakeIntel,
    make_collateral,
    make_quote,
    qe_identity_inner,
    tcb_info_inner,
    td_body,
)
from tests.tdx.test_appraisal import first_failure, status, verified
from verifier.appraisal.policy import Policy
from verifier.appraisal.tdx import TdxAppraisal, TdxPolicy, appraise_tdx
from verifier.errors import PolicyError
from verifier.evidence.tdx import TD_ATTR_PKS, TD_ATTR_SEPT_VE_DISABLE
from verifier.result import Status


def _pol(fake_intel: FakeIntel, extra: str = "") -> Policy:
    return policy(f'roots = {{ spki_sha256 = ["{fake_intel.pin}"] }}\n{extra}')


def _appraise(fake_intel: FakeIntel, body: bytes | None = None, extra: str = "", *, version: int = 4,
              **coll: object) -> TdxAppraisal:
    return appraise_tdx(make_quote(fake_intel, body, version=version), policy=_pol(fake_intel, extra),
                        at=JAN_2026_AT, expected_report_data=bytes(64),
                        collateral=make_collateral(fake_intel, JAN_2026_AT, **coll))  # type: ignore[arg-type]


# -- point 1: a bound service TD -------------------------------------------------------------------
def test_a_bound_service_td_is_refused_by_default(fake_intel: FakeIntel) -> None:
    """dcap-qvl: "Invalid MR service TD" unless ``allow_service_td``."""
    bound = td_body(mrservicetd=b"\x5d" * 48)
    a = _appraise(fake_intel, bound, version=5)
    assert a.authentic and first_failure(a) == "tdx.td.service_td"
    assert verified(_appraise(fake_intel, bound, "allow_service_td = true", version=5))
    # no service TD bound: a pass, for a TDX 1.5 body and a 1.0 one alike
    for body, version in ((td_body(mrservicetd=bytes(48)), 5), (None, 4)):
        b = _appraise(fake_intel, body, version=version)
        assert status(b, "tdx.td.service_td") is Status.PASS and verified(b)


def test_an_expected_non_zero_mrservicetd_needs_allow_service_td(fake_intel: FakeIntel) -> None:
    with pytest.raises(PolicyError, match="allow_service_td"):
        TdxPolicy.from_policy(_pol(fake_intel, f'mrservicetd = "{"5d" * 48}"'))
    ok = _appraise(fake_intel, td_body(mrservicetd=b"\x5d" * 48),
                   f'allow_service_td = true\nmrservicetd = "{"5d" * 48}"', version=5)
    assert verified(ok) and status(ok, "tdx.td.mrservicetd") is Status.PASS


# -- point 10: TCB info tcbType, SEAMATTRIBUTES outside the mask -----------------------------------
def test_tcb_info_of_an_unknown_tcb_type_is_refused(fake_intel: FakeIntel) -> None:
    """PCS v4 defines tcbType 0 only (go-tdx-guest and Open Enclave refuse others; dcap-qvl 0.7 does not)."""
    inner = tcb_info_inner(JAN_2026_AT - dt.timedelta(days=1), JAN_2026_AT + dt.timedelta(days=30))
    inner["tcbType"] = 1
    a = _appraise(fake_intel, tcb_inner=inner)
    check = a.check("tdx.collateral.tcb_info")
    assert check is not None and check.status is Status.FAIL and "tcbType" in check.detail
    assert first_failure(a) == "tdx.collateral.tcb_info" and not verified(a)


@pytest.mark.parametrize("major", [0, 1])
def test_seam_attributes_outside_the_mask_are_refused(fake_intel: FakeIntel, major: int) -> None:
    """dcap-qvl: "SEAMATTRIBUTES has bits set outside mask" (a TDX module identity mismatch)."""
    inner = tcb_info_inner(JAN_2026_AT - dt.timedelta(days=1), JAN_2026_AT + dt.timedelta(days=30))
    inner["tdxModule"]["attributesMask"] = "FEFFFFFFFFFFFFFF"
    inner["tdxModuleIdentities"][0]["attributesMask"] = "FEFFFFFFFFFFFFFF"
    body = td_body(tee_tcb_svn=bytes([3, major, 2]) + bytes(13), seam_attributes=b"\x01" + bytes(7))
    a = _appraise(fake_intel, body, tcb_inner=inner)
    check = a.check("tdx.tcb.module")
    assert check is not None and check.status is Status.FAIL and "outside" in check.detail
    assert first_failure(a) == "tdx.tcb.module"
    assert verified(_appraise(fake_intel, td_body(tee_tcb_svn=bytes([3, major, 2]) + bytes(13)), tcb_inner=inner))


# -- point 10: exact fixed bits for TD_ATTRIBUTES and XFAM -----------------------------------------
SEPT = TD_ATTR_SEPT_VE_DISABLE.to_bytes(8, "little").hex()
PKS_SEPT = (TD_ATTR_SEPT_VE_DISABLE | TD_ATTR_PKS).to_bytes(8, "little").hex()


@pytest.mark.parametrize(("extra", "attrs", "outcome"), [
    ("", TD_ATTR_SEPT_VE_DISABLE, Status.SKIP),
    (f'td_attributes_fixed0 = "{SEPT}"\ntd_attributes_fixed1 = "{SEPT}"', TD_ATTR_SEPT_VE_DISABLE, Status.PASS),
    (f'td_attributes_fixed0 = "{SEPT}"', TD_ATTR_SEPT_VE_DISABLE | TD_ATTR_PKS, Status.FAIL),  # PKS must be 0
    (f'td_attributes_fixed1 = "{PKS_SEPT}"', TD_ATTR_SEPT_VE_DISABLE, Status.FAIL),  # PKS must be 1
    (f'td_attributes_fixed0 = "{PKS_SEPT}"\ntd_attributes_fixed1 = "{SEPT}"', TD_ATTR_SEPT_VE_DISABLE | TD_ATTR_PKS,
     Status.PASS),
])
def test_td_attributes_fixed_bits(fake_intel: FakeIntel, extra: str, attrs: int, outcome: Status) -> None:
    a = _appraise(fake_intel, td_body(td_attributes=attrs), extra)
    assert status(a, "tdx.td.attributes_fixed") is outcome
    assert verified(a) is (outcome is not Status.FAIL)
    if outcome is Status.FAIL:
        assert first_failure(a) == "tdx.td.attributes_fixed"


@pytest.mark.parametrize(("extra", "outcome"), [
    ('xfam_fixed0 = "ffffffffffffffff"\nxfam_fixed1 = "0300000000000000"', Status.PASS),  # x87, SSE set
    ('xfam_fixed0 = "e700000000000000"', Status.FAIL),  # forged XFAM e702060000000000: AMX bits set
    ('xfam_fixed1 = "0300000000000800"', Status.FAIL),  # a bit required set is clear
])
def test_xfam_fixed_bits(fake_intel: FakeIntel, extra: str, outcome: Status) -> None:
    a = _appraise(fake_intel, None, extra)
    assert status(a, "tdx.td.xfam_fixed") is outcome
    if outcome is Status.FAIL:
        assert first_failure(a) == "tdx.td.xfam_fixed"


def test_contradictory_fixed_masks_are_a_policy_error(fake_intel: FakeIntel) -> None:
    with pytest.raises(PolicyError, match="no value can pass"):
        TdxPolicy.from_policy(_pol(fake_intel, 'xfam_fixed0 = "0100000000000000"\nxfam_fixed1 = "0300000000000000"'))


# -- point 10: minimum TEE_TCB_SVN, QE SVN, PCE SVN --------------------------------------------------
@pytest.mark.parametrize(("extra", "outcome", "word"), [
    ("", Status.SKIP, ""),
    (f'min_tee_tcb_svn = "{bytes([3, 1, 2]).hex()}{"00" * 13}"\nmin_qe_svn = 4\nmin_pce_svn = 13', Status.PASS, ""),
    (f'min_tee_tcb_svn = "{bytes([3, 1, 3]).hex()}{"00" * 13}"', Status.FAIL, "TEE_TCB_SVN"),  # component 2
    (f'min_tee_tcb_svn = "{bytes([2, 1, 2]).hex()}{"00" * 12}01"', Status.FAIL, "TEE_TCB_SVN"),  # component 15
    ("min_qe_svn = 5", Status.FAIL, "QE ISVSVN"),
    ("min_pce_svn = 14", Status.FAIL, "PCESVN"),
])
def test_tcb_minimums(fake_intel: FakeIntel, extra: str, outcome: Status, word: str) -> None:
    """go-tdx-guest's MinimumTeeTcbSvn (component-wise), MinimumQeSvn and MinimumPceSvn."""
    a = _appraise(fake_intel, None, extra)
    check = a.check("tdx.tcb.minimum")
    assert check is not None and check.status is outcome and word in check.detail
    assert verified(a) is (outcome is not Status.FAIL)


@pytest.mark.parametrize(("text", "match"), [
    ('min_tee_tcb_svn = "0301"', "16 bytes"),
    ("min_qe_svn = -1", "between"),
    ("min_pce_svn = 65536", "between"),
    ('td_attributes_fixed0 = "zz"', "not hex"),
    ("allow_service_td = 1", "allow_service_td"),
])
def test_new_keys_are_typed(fake_intel: FakeIntel, text: str, match: str) -> None:
    with pytest.raises(PolicyError, match=match):
        TdxPolicy.from_policy(_pol(fake_intel, text))


# -- the QE identity's version ---------------------------------------------------------------------
def test_qe_identity_version_3_stays_refused(fake_intel: FakeIntel) -> None:
    """Tinfoil's conformance vector attestation-tdx/349 requires it; dcap-qvl 0.7 accepts it."""
    inner = qe_identity_inner(JAN_2026_AT - dt.timedelta(days=1), JAN_2026_AT + dt.timedelta(days=30))
    inner["version"] = 3
    a = _appraise(fake_intel, qe_inner=inner)
    check = a.check("tdx.collateral.qe_identity")
    assert check is not None and check.status is Status.FAIL and "version 2" in check.detail
    assert not verified(a)


# -- Oak's GCP TDX quote: an 8000-byte buffer ----------------------------------------------------------
def test_oak_gcp_quote_is_authentic_with_its_8000_byte_buffer(vectors: Path) -> None:
    raw = read(vectors, "tdx/oak/tdx_quote.bin")
    assert len(raw) == 8000
    a = appraise_tdx(raw, policy=policy(), at=AUTHENTIC_AT, expected_report_data=None)
    assert a.authentic and a.claims["trailing_bytes"] == {"length": 3065, "kind": "zero-padding"}
    assert a.claims["fmspc"] == "00806f050000"
    assert status(a, "tdx.quote.trailing_bytes") is Status.PASS
    assert status(a, "tdx.tcb.status") is Status.SKIP  # no TCB info for its FMSPC here
    for id in ("tdx.td.service_td", "tdx.td.debug", "tdx.td.attributes"):
        assert status(a, id) is Status.PASS, id
    strict = appraise_tdx(raw, policy=policy('trailing_bytes = "none"'), at=AUTHENTIC_AT, expected_report_data=None)
    assert strict.authentic and status(strict, "tdx.quote.trailing_bytes") is Status.FAIL
