"""Intel's TCB evaluation, status by status, on TCB info shaped like PCS's (see forge.tcb_info_inner).

The forged platform has all 16 CPUSVN components at 4 and PCESVN 13 unless a test says otherwise.
Level 1 needs SGX 4 / PCESVN 13 / TDX (0, 0, 2) and is UpToDate; level 2 needs 3 / 11 / (0, 0, 1)
and is OutOfDate. TDX module identity TDX_01 has ISVSVN 3 UpToDate and 2 OutOfDate.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.tdx.forge import (
    FakeIntel,
    make_quote,
    qe_identity_inner,
    qe_report,
    sgx_extension,
    tcb_info_inner,
    tcb_level,
    td_body,
    tdx_svn,
)
from verifier.endorsements.intel_collateral import parse_qe_identity, parse_tcb_info
from verifier.endorsements.intel_pck import parse_sgx_extension
from verifier.endorsements.intel_status import MODULE_MISMATCH, NOT_SUPPORTED, RELAUNCH_ADVISED
from verifier.endorsements.intel_tcb import evaluate_qe, evaluate_tcb
from verifier.evidence.tdx import parse_enclave_report, parse_quote

T = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def _eval(fake_intel: FakeIntel, *, tee: bytes = bytes([3, 1, 2]) + bytes(13), pcesvn: int = 13,
          comp: int = 4, levels: list[dict[str, Any]] | None = None,
          module_levels: list[dict[str, Any]] | None = None, qe_status: str | None = None,
          body: bytes | None = None, version: int = 4, mrsignerseam: bytes = bytes(48)) -> Any:
    ext = parse_sgx_extension(sgx_extension(pcesvn=pcesvn, comps=(comp,) * 16))
    info = parse_tcb_info(tcb_info_inner(T - DAY, T + DAY, levels=levels, module_levels=module_levels))
    quote = parse_quote(make_quote(fake_intel, body or td_body(tee_tcb_svn=tee, mrsignerseam=mrsignerseam),
                                   version=version))
    return evaluate_tcb(quote, ext, info, qe_status)


def test_up_to_date(fake_intel: FakeIntel) -> None:
    ev = _eval(fake_intel)
    assert ev.status == "UpToDate" and ev.module.status == "UpToDate"
    assert ev.platform_level is not None and ev.platform_level.pcesvn == 13


def test_lower_pcesvn_falls_to_the_next_level(fake_intel: FakeIntel) -> None:
    ev = _eval(fake_intel, pcesvn=11)
    assert ev.status == "OutOfDate" and ev.advisory_ids == ("INTEL-SA-00001",)


def test_cpusvn_below_every_level_is_no_matching_level(fake_intel: FakeIntel) -> None:
    ev = _eval(fake_intel, comp=2)
    assert ev.status == NOT_SUPPORTED and "no matching TCB level" in ev.reason
    assert "CPUSVN" in ev.reason


def test_tee_tcb_svn_below_every_level_is_no_matching_level(fake_intel: FakeIntel) -> None:
    ev = _eval(fake_intel, tee=bytes([3, 1, 0]) + bytes(13))
    assert ev.status == NOT_SUPPORTED and "TEE_TCB_SVN" in ev.reason


def test_bytes_0_and_1_are_left_to_the_module_identity(fake_intel: FakeIntel) -> None:
    """With a non-zero module major version, TDX components 0 and 1 are not compared (QVL)."""
    levels = [tcb_level(4, 13, tdx_svn(9, 9, 2), "UpToDate")]
    assert _eval(fake_intel, levels=levels).status == "UpToDate"
    # with major version 0 every byte counts, and the top-level tdxModule applies
    assert _eval(fake_intel, levels=levels, tee=bytes([3, 0, 2]) + bytes(13)).status == NOT_SUPPORTED
    ok = [tcb_level(4, 13, tdx_svn(3, 0, 2), "UpToDate")]
    ev = _eval(fake_intel, levels=ok, tee=bytes([3, 0, 2]) + bytes(13))
    assert ev.status == "UpToDate" and ev.module.identity is not None and ev.module.identity.id == ""


@pytest.mark.parametrize(("platform", "module_svn", "expected"), [
    ("UpToDate", 2, "OutOfDate"),
    ("SWHardeningNeeded", 2, "OutOfDate"),
    ("ConfigurationNeeded", 2, "OutOfDateConfigurationNeeded"),
    ("ConfigurationAndSWHardeningNeeded", 2, "OutOfDateConfigurationNeeded"),
    ("SWHardeningNeeded", 3, "SWHardeningNeeded"),
    ("ConfigurationNeeded", 3, "ConfigurationNeeded"),
    ("Revoked", 3, "Revoked"),
])
def test_module_status_converges(fake_intel: FakeIntel, platform: str, module_svn: int, expected: str) -> None:
    levels = [tcb_level(4, 13, tdx_svn(0, 0, 2), platform)]
    ev = _eval(fake_intel, levels=levels, tee=bytes([module_svn, 1, 2]) + bytes(13))
    assert ev.status == expected


def test_revoked_module(fake_intel: FakeIntel) -> None:
    mod = [{"tcb": {"isvsvn": 1}, "tcbDate": "2024-01-01T00:00:00Z", "tcbStatus": "Revoked"}]
    assert _eval(fake_intel, module_levels=mod).status == "Revoked"


def test_module_svn_below_its_levels(fake_intel: FakeIntel) -> None:
    ev = _eval(fake_intel, tee=bytes([1, 1, 2]) + bytes(13))
    assert ev.status == NOT_SUPPORTED and ev.module.status == NOT_SUPPORTED


def test_unknown_module_version_is_a_mismatch(fake_intel: FakeIntel) -> None:
    ev = _eval(fake_intel, tee=bytes([3, 2, 2]) + bytes(13))
    assert ev.status == MODULE_MISMATCH and "TDX_02" in ev.module.reason


def test_mrsignerseam_must_match(fake_intel: FakeIntel) -> None:
    ev = _eval(fake_intel, mrsignerseam=b"\x01" * 48)
    assert ev.status == MODULE_MISMATCH and "MRSIGNERSEAM" in ev.module.reason


@pytest.mark.parametrize(("platform", "qe", "expected"), [
    ("UpToDate", "OutOfDate", "OutOfDate"),
    ("ConfigurationNeeded", "OutOfDate", "OutOfDateConfigurationNeeded"),
    ("UpToDate", "Revoked", "Revoked"),
    ("OutOfDate", "UpToDate", "OutOfDate"),
    ("UpToDate", NOT_SUPPORTED, NOT_SUPPORTED),
])
def test_qe_status_converges(fake_intel: FakeIntel, platform: str, qe: str, expected: str) -> None:
    levels = [tcb_level(4, 13, tdx_svn(0, 0, 2), platform)]
    assert _eval(fake_intel, levels=levels, qe_status=qe).status == expected


def test_td_relaunch_advised(fake_intel: FakeIntel) -> None:
    """TDX 1.5: launched on an out-of-date module (TEE_TCB_SVN 2.1) that was since updated in place
    to the latest (TEE_TCB_SVN2 3.1): Intel advises relaunching the TD rather than OutOfDate."""
    levels = [tcb_level(4, 13, tdx_svn(0, 0, 2), "UpToDate"), tcb_level(4, 13, tdx_svn(0, 0, 1), "OutOfDate")]
    body = td_body(tee_tcb_svn=bytes([2, 1, 1]) + bytes(13), tee_tcb_svn2=bytes([3, 1, 2]) + bytes(13))
    assert _eval(fake_intel, levels=levels, body=body, version=5).status == RELAUNCH_ADVISED
    stale = td_body(tee_tcb_svn=bytes([2, 1, 1]) + bytes(13), tee_tcb_svn2=bytes([2, 1, 1]) + bytes(13))
    assert _eval(fake_intel, levels=levels, body=stale, version=5).status == "OutOfDate"
    # a QE that is itself out of date rules the relaunch out
    assert _eval(fake_intel, levels=levels, body=body, version=5, qe_status="OutOfDate").status == "OutOfDate"


# -- QE identity ---------------------------------------------------------------------------------
def _qe(**kwargs: Any) -> Any:
    identity = parse_qe_identity(qe_identity_inner(T - DAY, T + DAY, levels=[
        {"tcb": {"isvsvn": 8}, "tcbDate": "2025-01-01T00:00:00Z", "tcbStatus": "UpToDate"},
        {"tcb": {"isvsvn": 4}, "tcbDate": "2024-01-01T00:00:00Z", "tcbStatus": "OutOfDate"}]))
    return evaluate_qe(parse_enclave_report(qe_report(bytes(64), **kwargs)), identity)


def test_qe_levels() -> None:
    assert _qe(isvsvn=9).status == "UpToDate"
    assert _qe(isvsvn=5).status == "OutOfDate"
    below = _qe(isvsvn=3)
    assert below.matches and below.status == NOT_SUPPORTED


@pytest.mark.parametrize(("kwargs", "word"), [
    ({"mrsigner": bytes(32)}, "MRSIGNER"),
    ({"isvprodid": 1}, "ISVPRODID"),
    ({"miscselect": b"\x01\x00\x00\x00"}, "MISCSELECT"),
    ({"attributes": bytes(16)}, "ATTRIBUTES"),
])
def test_qe_identity_mismatch(kwargs: dict[str, Any], word: str) -> None:
    ev = _qe(isvsvn=9, **kwargs)
    assert not ev.matches and word in ev.reason


def test_qe_attributes_mask_ignores_masked_bits() -> None:
    """attributesMask FBFF... clears bit 2 of byte 0 (the KSS bit): a QE with it set still matches."""
    attrs = bytes([0x11 | 0x04]) + bytes(15)
    assert _qe(isvsvn=9, attributes=attrs).matches
    assert not _qe(isvsvn=9, attributes=bytes([0x10]) + bytes(15)).matches
