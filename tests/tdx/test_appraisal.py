"""appraise_tdx: each vector set's stated outcome, the negatives, the policy, and hostile input."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import struct
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.tdx.conftest import (
    ALL_QUOTES,
    AUTHENTIC_AT,
    GO_TDX_AT,
    JAN_2026_AT,
    go_tdx_collateral,
    policy,
    read,
    tinfoil_collateral,
)
from tests.tdx.forge import (
    FakeIntel,
    make_collateral,
    make_quote,
    qe_identity_inner,
    signed_body,
    tcb_info_inner,
    td_body,
)
from verifier.appraisal.policy import Policy
from verifier.appraisal.tdx import TdxAppraisal, appraise_tdx
from verifier.endorsements.fetch import CollateralFetcher
from verifier.endorsements.intel_collateral import TdxCollateral
from verifier.errors import PolicyError
from verifier.evidence.tdx import (
    TD_ATTR_DEBUG,
    TD_ATTR_MIGRATABLE,
    TD_ATTR_SEPT_VE_DISABLE,
    parse_quote,
)
from verifier.result import Status

AUTHENTICITY = ("tdx.parse", "tdx.pck.chain", "tdx.pck.root_pinned", "tdx.qe.report_signature",
                "tdx.qe.binding", "tdx.quote.signature")
ORDER = ("tdx.parse", "tdx.quote.trailing_bytes", "tdx.quote.qe_vendor", "tdx.pck.chain", "tdx.pck.root_pinned",
         "tdx.pck.extensions", "tdx.pck.fmspc",
         "tdx.qe.report_signature", "tdx.qe.binding", "tdx.quote.signature", "tdx.collateral.root_crl",
         "tdx.collateral.pck_crl", "tdx.pck.revocation", "tdx.collateral.tcb_info", "tdx.collateral.qe_identity",
         "tdx.td.debug", "tdx.td.sept_ve_disable", "tdx.td.migratable", "tdx.td.service_td",
         "tdx.td.attributes", "tdx.td.attributes_fixed", "tdx.td.xfam", "tdx.td.xfam_fixed",
         "tdx.td.seam_attributes", "tdx.qe.identity", "tdx.tcb.module", "tdx.tcb.status", "tdx.tcb.minimum",
         "tdx.td.mrseam", "tdx.td.mrsignerseam", "tdx.td.mrtd", "tdx.td.rtmr0",
         "tdx.td.rtmr1", "tdx.td.rtmr2", "tdx.td.rtmr3", "tdx.td.mrconfigid", "tdx.td.mrowner",
         "tdx.td.mrownerconfig", "tdx.td.mrservicetd", "tdx.report_data")
DEFAULT = policy()
THROUGH_TCB = ORDER[:ORDER.index("tdx.tcb.status") + 1]
UNSET_BY_DEFAULT = ("tdx.pck.fmspc", "tdx.td.xfam", "tdx.td.attributes_fixed", "tdx.td.xfam_fixed",
                    "tdx.td.seam_attributes")
"""Checks whose policy keys the default leaves out: optional skips."""


def status(a: TdxAppraisal, id: str) -> Status:
    check = a.check(id)
    assert check is not None, f"{id} missing"
    return check.status


def first_failure(a: TdxAppraisal) -> str | None:
    return next((c.id for c in a.checks if c.status is Status.FAIL), None)


def verified(a: TdxAppraisal) -> bool:
    return a.authentic and not any(c.status is Status.FAIL or (c.status is Status.SKIP and c.required)
                                   for c in a.checks)


# -- the vectors README, set by set ----------------------------------------------------------------
@pytest.mark.parametrize("name", ALL_QUOTES)
def test_every_quote_is_authentic_at_2026_06_01(vectors: Path, name: str) -> None:
    a = appraise_tdx(read(vectors, name), policy=DEFAULT, at=AUTHENTIC_AT, expected_report_data=None)
    assert a.authentic
    assert [c.id for c in a.checks if c.authenticity] == list(AUTHENTICITY)
    assert tuple(c.id for c in a.checks) == ORDER
    # no collateral: the collateral checks are skipped (required by default), so not verified
    assert status(a, "tdx.tcb.status") is Status.SKIP and not verified(a)


def test_v5_sample_is_up_to_date_with_the_january_2026_collateral(vectors: Path) -> None:
    quote = read(vectors, "tdx/go-tdx-guest/quote_v5_sample.dat")
    report_data = parse_quote(quote).body.report_data
    a = appraise_tdx(quote, policy=DEFAULT, at=JAN_2026_AT, expected_report_data=report_data,
                     collateral=tinfoil_collateral(vectors, "90c06f000000"))
    assert a.claims["tcb_status"] == "UpToDate"
    assert a.claims["tdx_module_identity"] == "TDX_01" and a.claims["fmspc"] == "90c06f000000"
    assert verified(a), [c for c in a.checks if c.status is not Status.PASS and c.required]
    assert all(status(a, i) is Status.PASS for i in THROUGH_TCB if i not in UNSET_BY_DEFAULT)


def test_trustee_quote_6_is_out_of_date(vectors: Path) -> None:
    a = appraise_tdx(read(vectors, "tdx/trustee/tdx_quote_6.dat"), policy=DEFAULT, at=JAN_2026_AT,
                     expected_report_data=None, collateral=tinfoil_collateral(vectors, "00a06d080000"))
    assert a.authentic and a.claims["tcb_status"] == "OutOfDate"
    assert first_failure(a) == "tdx.tcb.status"
    assert a.claims["pcesvn"] == 11  # the level it misses needs PCESVN 13
    accepting = policy('accepted_tcb_status = ["UpToDate", "OutOfDate"]')
    b = appraise_tdx(read(vectors, "tdx/trustee/tdx_quote_6.dat"), policy=accepting, at=JAN_2026_AT,
                     expected_report_data=None, collateral=tinfoil_collateral(vectors, "00a06d080000"))
    assert status(b, "tdx.tcb.status") is Status.PASS


def test_go_tdx_guest_v4_has_no_matching_tcb_level(vectors: Path) -> None:
    a = appraise_tdx(read(vectors, "tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat"), policy=DEFAULT, at=GO_TDX_AT,
                     expected_report_data=None, collateral=go_tdx_collateral(vectors))
    assert a.authentic
    for id in ("tdx.collateral.root_crl", "tdx.collateral.pck_crl", "tdx.pck.revocation",
               "tdx.collateral.tcb_info", "tdx.collateral.qe_identity", "tdx.qe.identity", "tdx.tcb.module"):
        assert status(a, id) is Status.PASS, id
    check = a.check("tdx.tcb.status")
    assert check is not None and check.status is Status.FAIL and "no matching TCB level" in check.detail
    assert a.claims["tcb_status"] == "NotSupported"


def test_go_tdx_guest_collateral_expired_after_july_2023(vectors: Path) -> None:
    a = appraise_tdx(read(vectors, "tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat"), policy=DEFAULT,
                     at=dt.datetime(2023, 7, 9, tzinfo=dt.UTC), expected_report_data=None,
                     collateral=go_tdx_collateral(vectors))
    assert status(a, "tdx.collateral.pck_crl") is Status.FAIL  # nextUpdate 2023-07-08
    assert status(a, "tdx.collateral.qe_identity") is Status.FAIL
    assert status(a, "tdx.collateral.tcb_info") is Status.PASS  # next update 2023-07-18


def test_trustee_tcb_info_is_refused_for_its_expired_signer(vectors: Path) -> None:
    coll = TdxCollateral(tcb_info=read(vectors, "tdx/trustee/tcbInfo.json"),
                         tcb_info_chain=read(vectors, "tdx/go-tdx-guest/tcbInfoIssuerChain.pem"),
                         qe_identity=read(vectors, "tdx/trustee/enclaveIdentity.json"),
                         qe_identity_chain=read(vectors, "tdx/go-tdx-guest/qeIdentityIssuerChain.pem"))
    a = appraise_tdx(read(vectors, "tdx/trustee/tdx_quote_6.dat"), policy=DEFAULT,
                     at=dt.datetime(2025, 11, 1, tzinfo=dt.UTC), expected_report_data=None, collateral=coll)
    check = a.check("tdx.collateral.tcb_info")
    assert check is not None and check.status is Status.FAIL and "expired 2025-05-21" in check.detail
    assert status(a, "tdx.collateral.qe_identity") is Status.FAIL
    assert status(a, "tdx.tcb.status") is Status.SKIP and not verified(a)


@pytest.mark.parametrize("name", ["tdx/openpcc/test_azure_tdx_report.bin", "tdx/go-tdx-guest/report.dat"])
def test_tdreports_are_refused_as_not_quotes(vectors: Path, name: str) -> None:
    a = appraise_tdx(read(vectors, name), policy=DEFAULT, at=AUTHENTIC_AT, expected_report_data=None)
    assert not a.authentic and a.quote is None
    assert [c.id for c in a.checks] == ["tdx.parse"]
    assert "not a TDX quote" in a.checks[0].detail and "MAC" in a.checks[0].detail


def test_debug_td_is_refused_by_default(vectors: Path) -> None:
    quote = read(vectors, "tdx/trustee/tdx_quote_4.dat")  # TD_ATTRIBUTES 0x10000001: DEBUG
    a = appraise_tdx(quote, policy=DEFAULT, at=AUTHENTIC_AT, expected_report_data=None)
    assert a.authentic and status(a, "tdx.td.debug") is Status.FAIL and a.claims["debug"] is True
    b = appraise_tdx(quote, policy=policy("allow_debug = true"), at=AUTHENTIC_AT, expected_report_data=None)
    assert status(b, "tdx.td.debug") is Status.PASS


# -- negatives: one flipped bit, the check that catches it -----------------------------------------
def _offsets(quote: bytes) -> dict[str, int]:
    q = parse_quote(quote)
    sig = len(q.signed) + 4
    qe = sig + 64 + 64 + 6
    return {
        "header": 30,                     # user data
        "body": 48 + 16 + 48 * 2 + 24 + 10,  # MRTD
        "quote signature": sig + 5,
        "attestation key": sig + 64 + 7,
        "QE report": qe + 100,            # MRENCLAVE
        "QE report signature": qe + 384 + 9,
        "QE auth data": qe + 384 + 64 + 2 + 3,
    }


CAUGHT_BY = {
    "header": "tdx.quote.signature",
    "body": "tdx.quote.signature",
    "quote signature": "tdx.quote.signature",
    "attestation key": "tdx.qe.binding",
    "QE report": "tdx.qe.report_signature",
    "QE report signature": "tdx.qe.report_signature",
    "QE auth data": "tdx.qe.binding",
}


@pytest.mark.parametrize("name", ["tdx/go-tdx-guest/quote_v5_sample.dat", "tdx/trustee/tdx_quote_6.dat"])
@pytest.mark.parametrize("part", list(CAUGHT_BY))
def test_flipped_bit_is_caught(vectors: Path, name: str, part: str) -> None:
    quote = bytearray(read(vectors, name))
    quote[_offsets(bytes(quote))[part]] ^= 0x01
    a = appraise_tdx(bytes(quote), policy=DEFAULT, at=AUTHENTIC_AT, expected_report_data=None)
    assert not a.authentic
    assert next(c.id for c in a.checks if c.authenticity and c.status is Status.FAIL) == CAUGHT_BY[part]


def test_flipped_bit_in_the_pck_certificate_is_caught(vectors: Path) -> None:
    quote = read(vectors, "tdx/go-tdx-guest/quote_v5_sample.dat")
    i = quote.index(b"-----BEGIN CERTIFICATE-----") + 28 + 300  # inside the leaf's signed part
    bad = quote[:i] + bytes([quote[i] ^ 0x01]) + quote[i + 1:]
    a = appraise_tdx(bad, policy=DEFAULT, at=AUTHENTIC_AT, expected_report_data=None)
    assert not a.authentic and status(a, "tdx.pck.chain") is Status.FAIL


def test_look_alike_pck_chain_is_refused_by_the_pin(fake_intel: FakeIntel) -> None:
    a = appraise_tdx(make_quote(fake_intel), policy=DEFAULT, at=AUTHENTIC_AT, expected_report_data=None)
    assert not a.authentic
    assert [c.id for c in a.checks if c.authenticity and c.status is Status.FAIL] == ["tdx.pck.root_pinned"]
    assert status(a, "tdx.pck.chain") is Status.PASS and status(a, "tdx.quote.signature") is Status.PASS


def test_look_alike_collateral_is_refused_with_real_quote(vectors: Path, fake_intel: FakeIntel) -> None:
    forged = make_collateral(fake_intel, JAN_2026_AT, tcb_inner=tcb_info_inner(
        JAN_2026_AT - dt.timedelta(days=1), JAN_2026_AT + dt.timedelta(days=1), fmspc=bytes.fromhex("90c06f000000")))
    a = appraise_tdx(read(vectors, "tdx/go-tdx-guest/quote_v5_sample.dat"), policy=DEFAULT, at=JAN_2026_AT,
                     expected_report_data=None, collateral=forged)
    assert a.authentic
    for id in ("tdx.collateral.root_crl", "tdx.collateral.pck_crl", "tdx.collateral.tcb_info",
               "tdx.collateral.qe_identity"):
        assert status(a, id) is Status.FAIL, id
    assert status(a, "tdx.tcb.status") is Status.SKIP


# -- forged platform: everything reachable -------------------------------------------------------
def _forged(fake_intel: FakeIntel, fake_policy: Policy, *, body: bytes | None = None,
            collateral: TdxCollateral | None = None, at: dt.datetime = JAN_2026_AT,
            report_data: bytes | None = bytes(64), pol: Policy | None = None) -> TdxAppraisal:
    return appraise_tdx(make_quote(fake_intel, body), policy=pol or fake_policy, at=at,
                        expected_report_data=report_data,
                        collateral=collateral or make_collateral(fake_intel, at))


def test_forged_platform_verifies_under_its_own_pin(fake_intel: FakeIntel, fake_policy: Policy) -> None:
    a = _forged(fake_intel, fake_policy)
    assert verified(a) and a.claims["tcb_status"] == "UpToDate"


def test_collateral_with_a_broken_signature_is_refused(fake_intel: FakeIntel, fake_policy: Policy) -> None:
    good = make_collateral(fake_intel, JAN_2026_AT)
    assert good.tcb_info is not None
    i = good.tcb_info.index(b'"signature":"') + 13
    flipped = good.tcb_info[:i] + (b"1" if good.tcb_info[i:i + 1] == b"0" else b"0") + good.tcb_info[i + 1:]
    a = _forged(fake_intel, fake_policy, collateral=TdxCollateral(**{**good.__dict__, "tcb_info": flipped}))
    check = a.check("tdx.collateral.tcb_info")
    assert check is not None and check.status is Status.FAIL and "signature" in check.detail
    assert a.authentic and not verified(a)


def test_expired_collateral_is_refused(fake_intel: FakeIntel, fake_policy: Policy) -> None:
    old = make_collateral(fake_intel, JAN_2026_AT - dt.timedelta(days=60))
    a = _forged(fake_intel, fake_policy, collateral=old)
    for id in ("tdx.collateral.root_crl", "tdx.collateral.pck_crl", "tdx.collateral.tcb_info",
               "tdx.collateral.qe_identity"):
        check = a.check(id)
        assert check is not None and check.status is Status.FAIL and "expired" in check.detail, id


def test_crl_issued_after_the_verification_time_is_refused(fake_intel: FakeIntel, fake_policy: Policy) -> None:
    coll = make_collateral(fake_intel, JAN_2026_AT, crl_this_update=JAN_2026_AT + dt.timedelta(hours=1))
    a = _forged(fake_intel, fake_policy, collateral=coll)
    check = a.check("tdx.collateral.pck_crl")
    assert check is not None and check.status is Status.FAIL and "after the verification time" in check.detail
    assert status(a, "tdx.pck.revocation") is Status.SKIP and not verified(a)


def test_revoked_pck_is_not_authentic(fake_intel: FakeIntel, fake_policy: Policy) -> None:
    coll = make_collateral(fake_intel, JAN_2026_AT, pck_revoked=(fake_intel.pck.serial_number,))
    a = _forged(fake_intel, fake_policy, collateral=coll)
    check = a.check("tdx.pck.revocation")
    assert check is not None and check.status is Status.FAIL and check.authenticity
    assert not a.authentic


def test_debug_td_forged(fake_intel: FakeIntel, fake_policy: Policy) -> None:
    a = _forged(fake_intel, fake_policy, body=td_body(td_attributes=TD_ATTR_DEBUG | TD_ATTR_SEPT_VE_DISABLE))
    assert a.authentic and first_failure(a) == "tdx.td.debug"


def test_td_attribute_rules(fake_intel: FakeIntel, fake_policy: Policy) -> None:
    a = _forged(fake_intel, fake_policy, body=td_body(td_attributes=0))
    assert first_failure(a) == "tdx.td.sept_ve_disable"
    b = _forged(fake_intel, fake_policy, body=td_body(td_attributes=0), pol=policy(
        f'roots = {{ spki_sha256 = ["{fake_intel.pin}"] }}\nrequire_sept_ve_disable = false'))
    assert verified(b)
    c = _forged(fake_intel, fake_policy, body=td_body(td_attributes=TD_ATTR_SEPT_VE_DISABLE | TD_ATTR_MIGRATABLE))
    assert first_failure(c) == "tdx.td.migratable"
    d = _forged(fake_intel, fake_policy, body=td_body(td_attributes=TD_ATTR_SEPT_VE_DISABLE | (1 << 40)))
    assert first_failure(d) == "tdx.td.attributes"


def test_tcb_status_from_collateral(fake_intel: FakeIntel, fake_policy: Policy) -> None:
    body = td_body(tee_tcb_svn=bytes([2, 1, 2]) + bytes(13))  # module SVN 2: OutOfDate
    a = _forged(fake_intel, fake_policy, body=body)
    assert a.claims["tcb_status"] == "OutOfDate" and first_failure(a) == "tdx.tcb.status"
    assert a.claims["advisory_ids"] == ["INTEL-SA-99999"]


def test_qe_identity_mismatch_is_refused(fake_intel: FakeIntel, fake_policy: Policy) -> None:
    inner = qe_identity_inner(JAN_2026_AT - dt.timedelta(days=1), JAN_2026_AT + dt.timedelta(days=1))
    inner["mrsigner"] = "00" * 32
    coll = make_collateral(fake_intel, JAN_2026_AT, qe_inner=inner)
    a = _forged(fake_intel, fake_policy, collateral=coll)
    assert first_failure(a) == "tdx.qe.identity"


def test_tcb_info_for_another_platform_is_refused(fake_intel: FakeIntel, fake_policy: Policy) -> None:
    inner = tcb_info_inner(JAN_2026_AT - dt.timedelta(days=1), JAN_2026_AT + dt.timedelta(days=1),
                           fmspc=bytes.fromhex("000000000001"))
    a = _forged(fake_intel, fake_policy, collateral=make_collateral(fake_intel, JAN_2026_AT, tcb_inner=inner))
    check = a.check("tdx.collateral.tcb_info")
    assert check is not None and check.status is Status.FAIL and "FMSPC" in check.detail


def test_min_tcb_evaluation_data_number(fake_intel: FakeIntel, fake_policy: Policy) -> None:
    pol = policy(f'roots = {{ spki_sha256 = ["{fake_intel.pin}"] }}\nmin_tcb_evaluation_data_number = 19')
    a = _forged(fake_intel, fake_policy, pol=pol)
    assert first_failure(a) == "tdx.collateral.tcb_info"


def test_report_data_binding(fake_intel: FakeIntel, fake_policy: Policy) -> None:
    nonce = hashlib.sha256(b"nonce").digest()
    body = td_body(report_data=nonce + bytes(32))
    assert status(_forged(fake_intel, fake_policy, body=body, report_data=nonce), "tdx.report_data") is Status.PASS
    assert status(_forged(fake_intel, fake_policy, body=body, report_data=nonce + bytes(32)),
                  "tdx.report_data") is Status.PASS
    wrong = _forged(fake_intel, fake_policy, body=body, report_data=bytes(32))
    assert first_failure(wrong) == "tdx.report_data"
    assert status(_forged(fake_intel, fake_policy, body=body, report_data=bytes(65)), "tdx.report_data") is Status.FAIL
    unbound = _forged(fake_intel, fake_policy, body=body, report_data=None)
    check = unbound.check("tdx.report_data")
    assert check is not None and check.status is Status.SKIP and check.required and not verified(unbound)


def test_measurement_expectations(fake_intel: FakeIntel) -> None:
    base = f'roots = {{ spki_sha256 = ["{fake_intel.pin}"] }}\n'
    ok = policy(base + f'mrtd = ["{"11" * 48}"]\nrtmr0 = "{"21" * 48}"\nrtmr3 = "{"00" * 48}"\n'
                       f'mrseam = ["{"00" * 48}", "{"5e" * 48}"]\nxfam = ["e702060000000000"]\n'
                       f'mrservicetd = ["{"00" * 48}"]')
    a = _forged(fake_intel, ok, pol=ok)
    for id in ("tdx.td.mrtd", "tdx.td.rtmr0", "tdx.td.rtmr3", "tdx.td.mrseam", "tdx.td.xfam", "tdx.td.mrservicetd"):
        assert status(a, id) is Status.PASS, id
    assert status(a, "tdx.td.rtmr1") is Status.SKIP and verified(a)
    bad = policy(base + f'rtmr2 = ["{"00" * 48}"]')
    assert first_failure(_forged(fake_intel, bad, pol=bad)) == "tdx.td.rtmr2"


def test_trailing_bytes_policy(vectors: Path) -> None:
    spr = read(vectors, "tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat")
    gce = read(vectors, "tdx/openpcc/test_gce_tdx_report.bin")
    v5 = read(vectors, "tdx/go-tdx-guest/quote_v5_sample.dat")
    expect = {  # policy value -> (39-byte text trailer, GCE zero padding, nothing)
        None: (Status.FAIL, Status.PASS, Status.PASS),
        "any": (Status.PASS, Status.PASS, Status.PASS),
        "none": (Status.FAIL, Status.FAIL, Status.PASS),
    }
    for value, outcomes in expect.items():
        pol = policy(f'trailing_bytes = "{value}"') if value else DEFAULT
        got = tuple(status(appraise_tdx(q, policy=pol, at=AUTHENTIC_AT, expected_report_data=None),
                           "tdx.quote.trailing_bytes") for q in (spr, gce, v5))
        assert got == outcomes, value
    # trailing bytes never touch authenticity
    assert appraise_tdx(spr + b"more", policy=policy('trailing_bytes = "none"'), at=AUTHENTIC_AT,
                        expected_report_data=None).authentic


def test_collateral_if_available(vectors: Path) -> None:
    quote = read(vectors, "tdx/go-tdx-guest/quote_v5_sample.dat")
    pol = policy('collateral = "if-available"')
    a = appraise_tdx(quote, policy=pol, at=AUTHENTIC_AT, expected_report_data=parse_quote(quote).body.report_data)
    assert status(a, "tdx.tcb.status") is Status.SKIP and verified(a)


@pytest.mark.parametrize(("text", "match"), [
    ("colateral = 'required'", "unknown keys"),
    ("roots = 'intel'", "roots"),
    ("roots = { spki_sha256 = ['abc'] }", "64 hex"),
    ("accepted_tcb_status = ['Fine']", "unknown statuses"),
    ("mrtd = ['00']", "48 bytes"),
    ("mrtd = 5", "hex string"),
    ("trailing_bytes = 'some'", "one of"),
    ("allow_debug = 'no'", "bool"),
    ("min_tcb_evaluation_data_number = -1", "negative"),
])
def test_bad_policies_are_refused(vectors: Path, text: str, match: str) -> None:
    with pytest.raises(PolicyError, match=match):
        appraise_tdx(b"", policy=policy(text), at=AUTHENTIC_AT, expected_report_data=None)


# -- fetching from PCS through the shared fetcher --------------------------------------------------
def _pcs_transport(vectors: Path, seen: list[str]) -> httpx.MockTransport:
    c = vectors / "tinfoil/verifier/attestation/collateral"

    def handler(request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        seen.append(url)
        if "/tdx/certification/v4/tcb?fmspc=90c06f000000" in url:
            return httpx.Response(200, content=(c / "tcb_info_90c06f000000.json").read_bytes(), headers={
                "TCB-Info-Issuer-Chain": (c / "tcb_info_90c06f000000_chain.txt").read_text().strip()})
        if url.endswith("/tdx/certification/v4/qe/identity"):
            return httpx.Response(200, content=(c / "qe_identity.json").read_bytes(), headers={
                "SGX-Enclave-Identity-Issuer-Chain": (c / "qe_identity_chain.txt").read_text().strip()})
        if "/sgx/certification/v4/pckcrl?ca=platform&encoding=der" in url:
            return httpx.Response(200, content=(c / "pck_crl_platform.crl").read_bytes(), headers={
                "SGX-PCK-CRL-Issuer-Chain": (c / "pck_crl_platform_chain.txt").read_text().strip()})
        if url == "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der":
            return httpx.Response(200, content=(c / "root_ca.crl").read_bytes())
        return httpx.Response(404)

    return httpx.MockTransport(handler)


def test_collateral_fetched_from_pcs(vectors: Path, tmp_path: Path) -> None:
    seen: list[str] = []
    fetcher = CollateralFetcher(tmp_path, client=httpx.Client(transport=_pcs_transport(vectors, seen)))
    quote = read(vectors, "tdx/go-tdx-guest/quote_v5_sample.dat")
    a = appraise_tdx(quote, policy=DEFAULT, at=JAN_2026_AT, expected_report_data=None, fetcher=fetcher)
    assert a.claims["tcb_status"] == "UpToDate" and status(a, "tdx.pck.revocation") is Status.PASS
    assert len(seen) == 4
    # offline, the cache answers alone
    offline = CollateralFetcher(tmp_path, offline=True)
    b = appraise_tdx(quote, policy=DEFAULT, at=JAN_2026_AT, expected_report_data=None, fetcher=offline)
    assert b.claims["tcb_status"] == "UpToDate" and len(seen) == 4


def test_offline_without_cache_skips_with_the_reason(vectors: Path, tmp_path: Path) -> None:
    fetcher = CollateralFetcher(tmp_path, offline=True)
    a = appraise_tdx(read(vectors, "tdx/go-tdx-guest/quote_v5_sample.dat"), policy=DEFAULT, at=JAN_2026_AT,
                     expected_report_data=None, fetcher=fetcher)
    check = a.check("tdx.collateral.tcb_info")
    assert check is not None and check.status is Status.SKIP and "--offline" in check.detail
    assert a.authentic and not verified(a)


# -- hostile input: never an exception -------------------------------------------------------------
@pytest.fixture(scope="module")
def forged_collateral(fake_intel: FakeIntel) -> TdxCollateral:
    return make_collateral(fake_intel, JAN_2026_AT)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_quotes_never_raise(fake_intel: FakeIntel, fake_policy: Policy, data: st.DataObject) -> None:
    original = make_quote(fake_intel)
    quote = bytearray(original)
    for _ in range(data.draw(st.integers(1, 3))):
        quote[data.draw(st.integers(0, len(quote) - 1))] ^= data.draw(st.integers(1, 255))
    a = appraise_tdx(bytes(quote), policy=fake_policy, at=JAN_2026_AT, expected_report_data=None,
                     collateral=make_collateral(fake_intel, JAN_2026_AT))
    assert a.checks
    if a.authentic:
        # The only change that leaves the quote authentic: PEM white space in the certification
        # data turned into other white space (a newline into a vertical tab): the PEM loader skips
        # it, so the certificates, all that the signatures cover there, are the same DER.
        changed = [i for i in range(len(quote)) if quote[i] != original[i]]
        assert all(chr(original[i]) in WHITE and chr(quote[i]) in WHITE for i in changed), changed


WHITE = " \t\n\r\v\f"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_collateral_never_raises(fake_intel: FakeIntel, fake_policy: Policy,
                                        forged_collateral: TdxCollateral, data: st.DataObject) -> None:
    good = forged_collateral
    name = data.draw(st.sampled_from(["tcb_info", "qe_identity", "pck_crl", "root_crl", "tcb_info_chain"]))
    blob = bytearray(getattr(good, name))
    for _ in range(data.draw(st.integers(1, 3))):
        blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(st.integers(0, 255))
    coll = TdxCollateral(**{**good.__dict__, name: bytes(blob)})
    a = _forged(fake_intel, fake_policy, collateral=coll)
    assert a.authentic  # collateral never decides the quote's own signatures


def test_json_values_of_the_wrong_type_are_failing_checks(fake_intel: FakeIntel, fake_policy: Policy) -> None:
    issue, nxt = JAN_2026_AT - dt.timedelta(days=1), JAN_2026_AT + dt.timedelta(days=1)
    for mutate in (lambda d: d.update(tcbLevels="none"), lambda d: d.update(fmspc=7),
                   lambda d: d["tcbLevels"][0]["tcb"].update(pcesvn=True),
                   lambda d: d["tcbLevels"][0].update(tcbStatus="Fine"),
                   lambda d: d.update(issueDate="yesterday"),
                   lambda d: d["tdxModuleIdentities"][0].update(tcbLevels=[7])):
        inner = tcb_info_inner(issue, nxt)
        mutate(inner)
        coll = TdxCollateral(**{**make_collateral(fake_intel, JAN_2026_AT).__dict__,
                                "tcb_info": signed_body("tcbInfo", inner, fake_intel.tcb_key)})
        a = _forged(fake_intel, fake_policy, collateral=coll)
        check = a.check("tdx.collateral.tcb_info")
        assert check is not None and check.status is Status.FAIL and "does not parse" in check.detail


def test_v5_quote_with_tdx10_body(fake_intel: FakeIntel, fake_policy: Policy) -> None:
    quote = make_quote(fake_intel, td_body(), version=5)
    assert struct.unpack_from("<H", quote, 48)[0] == 2
    a = appraise_tdx(quote, policy=fake_policy, at=JAN_2026_AT, expected_report_data=bytes(64),
                     collateral=make_collateral(fake_intel, JAN_2026_AT))
    assert verified(a) and a.claims["tdx_version"] == "1.0" and a.claims["quote_version"] == 5


# -- a real Tinfoil recording: the quote and Intel PCS's answers, replayed over HTTP ----------------
def _teep_replay(vectors: Path, seen: list[str]) -> tuple[bytes, httpx.MockTransport]:
    """teep's capture of Tinfoil's gemma4-31b TDX enclave (2026-06-29): responses/*.body and *.json."""
    directory = next((vectors / "tinfoil/teep").glob("tinfoil_v3_direct_*")) / "responses"
    recorded = {}
    for meta_path in sorted(directory.glob("*.json")):
        meta = json.loads(meta_path.read_text())
        recorded[meta["url"]] = (meta_path.with_suffix(".body").read_bytes(), meta["headers"])
    doc = json.loads(next(b for u, (b, _) in recorded.items() if "tinfoil-attestation" in u))

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        body, headers = recorded.get(str(request.url), (None, {}))
        if body is None:
            return httpx.Response(404)
        return httpx.Response(200, content=body, headers=[(k, v) for k, vs in headers.items() for v in vs])

    return base64.b64decode(doc["cpu"]["report"]), httpx.MockTransport(handler)


def test_tinfoil_recording_replayed_through_the_pcs_client(vectors: Path, tmp_path: Path) -> None:
    seen: list[str] = []
    quote, transport = _teep_replay(vectors, seen)
    fetcher = CollateralFetcher(tmp_path, client=httpx.Client(transport=transport))
    captured = dt.datetime(2026, 6, 29, 2, 13, 4, tzinfo=dt.UTC)
    a = appraise_tdx(quote, policy=DEFAULT, at=captured, expected_report_data=None, fetcher=fetcher)
    assert a.authentic and a.claims["tcb_status"] == "UpToDate" and a.claims["fmspc"] == "90c06f000000"
    assert all(status(a, id) is Status.PASS for id in THROUGH_TCB if id not in UNSET_BY_DEFAULT)
    assert len(seen) == 4 and all("trustedservices.intel.com" in u for u in seen)
