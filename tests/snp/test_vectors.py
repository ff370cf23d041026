"""Every SEV-SNP set of ../shared/vectors/README.md, at 2025-07-01T00:00:00Z, gives its stated outcome.

Each row: report, certificates, the expected ``authentic``, the first failing check (or first
required skip), and other checks that must fail. The policy is the default ``[snp]`` table (vendor
roots, debug and migration agent off, VMPL 0, no provisional firmware, AMD-SB-3019 minimums).
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.vectors import vector
from verifier.appraisal.policy import Policy, parse_policy
from verifier.appraisal.sev_snp import SnpAppraisal, appraise_snp
from verifier.endorsements.fetch import CollateralFetcher
from verifier.evidence.encoding import decode_evidence
from verifier.evidence.sev_snp import is_report_sized
from verifier.result import AttestationResult, Status

pytestmark = pytest.mark.vectors

AT = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)
DEFAULT = parse_policy(b'name = "default-snp"\n[snp]\n')
VLEK_OK = parse_policy(b'name = "vlek"\n[snp]\nsigning_keys = ["vcek", "vlek"]\n'
                       b'vlek_csp_ids = ["CN=cc-us-east-2.amazonaws.com"]\n')
MILAN_CRL = "snp/openpcc/test_amd_milan_crl.pem"
GENOA_CRL = "snp/openpcc/test_amd_genoa_crl.pem"


def read(relative: str) -> bytes:
    return vector(relative).read_bytes()


def report_bytes(relative: str) -> bytes:
    data = read(relative)
    if data[:4] == b"HCLA":
        return data
    raw, _ = decode_evidence(data, is_report_sized)
    return raw


def run(report: str, certs: list[str], *, policy: Policy = DEFAULT, crls: tuple[str, ...] = (),
        expected: bytes | None = None, at: dt.datetime = AT,
        fetcher: CollateralFetcher | None = None) -> SnpAppraisal:
    return appraise_snp(report_bytes(report), [read(c) for c in certs], policy=policy, at=at,
                        expected_report_data=expected, fetcher=fetcher,
                        crls=[read(c) for c in crls])


def result(a: SnpAppraisal, policy: Policy = DEFAULT) -> AttestationResult:
    return AttestationResult("sev-snp", AT, None, policy.ref, a.checks, {}, a.claims)


def failing(a: SnpAppraisal) -> list[str]:
    return [c.id for c in a.checks if c.status is Status.FAIL]


@dataclass(frozen=True)
class Case:
    name: str
    report: str
    certs: tuple[str, ...]
    authentic: bool
    first: str
    also_fail: tuple[str, ...] = ()
    crls: tuple[str, ...] = ()
    claims: tuple[tuple[str, object], ...] = ()


CASES = [
    Case("milan-v2-go-sev-guest", "snp/go-sev-guest/attestation.bin",
         ("snp/go-sev-guest/vcek.testcer", "snp/go-sev-guest/ask_ark_milan.pem"),
         True, "snp.policy.debug", ("snp.tcb.minimum",), (MILAN_CRL,),
         (("policy", "0xb0000"), ("product", "Milan"), ("version", 2))),
    Case("milan-v2-virtee-hex", "snp/virtee-sev/report_milan.hex",
         ("snp/virtee-sev/vcek_milan.der", "snp/virtee-sev/cert_chain_milan"),
         True, "snp.tcb.minimum", (), (MILAN_CRL,), (("policy", "0x30000"),)),
    Case("milan-v2-trustee", "snp/trustee/test-report.bin",
         ("snp/trustee/test-vcek.der", "snp/trustee/milan_ask_ark_asvk.pem"),
         True, "snp.tcb.committed", ("snp.tcb.minimum",), (MILAN_CRL,)),
    Case("milan-v3-vlek-default-policy", "snp/trustee/test-vlek-report.bin",
         ("snp/trustee/test-vlek.der", "snp/trustee/milan_ask_ark_asvk.pem"),
         True, "snp.signing_key", ("snp.vmpl", "snp.tcb.committed"), (),
         (("signing_key", "vlek"), ("vmpl", 1), ("chip_id", "00" * 64),
          ("csp_id", "CN=cc-us-east-2.amazonaws.com"))),
    Case("genoa-v3-trustee-e2e", "snp/trustee/e2e-report-rebuilt.bin",
         ("snp/trustee/e2e-vcek.der", "snp/trustee/genoa_ask_ark_asvk.pem"),
         True, "snp.tcb.minimum", (), (GENOA_CRL,),
         (("product", "Genoa"), ("cpuid", {"family": 0x19, "model": 0xA0, "stepping": 2}))),
    Case("genoa-v3-azure-hcl", "snp/openpcc/test_azure_sevsnp_report.bin",
         ("snp/openpcc/test_vcek.pem", "snp/trustee/genoa_ask_ark_asvk.pem"),
         True, "snp.report_data", (), (GENOA_CRL,), (("azure_hcl", True), ("product", "Genoa"))),
    Case("milan-v4-gce-no-vcek", "snp/openpcc/test_gce_sevsnp_report.bin", (),
         False, "snp.chain.certificates", (), (), (("version", 4), ("product", "Milan"))),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_real_vector_outcome(case: Case) -> None:
    a = run(case.report, list(case.certs), crls=case.crls)
    r = result(a)
    assert a.report is not None
    assert r.authentic is case.authentic
    assert r.verified is False
    first = r.first_failure
    assert first is not None and first.id == case.first, r.verdict()
    for cid in case.also_fail:
        check = a.check(cid)
        assert check is not None and check.status is Status.FAIL, (cid, check)
    for key, value in case.claims:
        assert a.claims[key] == value, key
    if case.crls:
        revocation = a.check("snp.revocation")
        assert revocation is not None and revocation.status is Status.PASS, revocation


def test_go_sev_guest_lists_every_failure_after_debug() -> None:
    """Debug fails first; TCB fails too and is listed (the README: 'all listed')."""
    a = run("snp/go-sev-guest/attestation.bin",
            ["snp/go-sev-guest/vcek.testcer", "snp/go-sev-guest/ask_ark_milan.pem"])
    ids = failing(a)
    assert ids[0] == "snp.policy.debug"
    assert "snp.tcb.minimum" in ids
    assert a.claims["report_data"] == "0102030405" + "00" * 59


def test_vlek_refused_for_vmpl_and_provisional_firmware_when_vleks_are_accepted() -> None:
    a = run("snp/trustee/test-vlek-report.bin",
            ["snp/trustee/test-vlek.der", "snp/trustee/milan_ask_ark_asvk.pem"], policy=VLEK_OK)
    r = result(a, VLEK_OK)
    assert r.authentic and not r.verified
    assert a.check("snp.signing_key").status is Status.PASS  # type: ignore[union-attr]
    ids = failing(a)
    assert ids[:2] == ["snp.vmpl", "snp.tcb.committed"]
    committed = a.check("snp.tcb.committed")
    assert committed is not None and "microcode 220" in committed.detail and "microcode 219" in committed.detail
    # No VLEK CRL exists: revocation is skip, never pass.
    assert a.check("snp.revocation").status is Status.SKIP  # type: ignore[union-attr]


def test_vlek_refused_when_csp_not_listed() -> None:
    policy = parse_policy(b'name = "v"\n[snp]\nsigning_keys = ["vlek"]\nvlek_csp_ids = ["other"]\n')
    a = run("snp/trustee/test-vlek-report.bin",
            ["snp/trustee/test-vlek.der", "snp/trustee/milan_ask_ark_asvk.pem"], policy=policy)
    assert a.authentic
    check = a.check("snp.signing_key")
    assert check is not None and check.status is Status.FAIL and "cc-us-east-2" in check.detail


def test_vlek_with_vcek_only_chain_is_not_authentic() -> None:
    """A VLEK-signed report needs the ASVK; the ASK alone (go-sev-guest's Milan file) is not it."""
    a = run("snp/trustee/test-vlek-report.bin",
            ["snp/trustee/test-vlek.der", "snp/go-sev-guest/ask_ark_milan.pem"])
    assert not a.authentic
    assert failing(a)[0] == "snp.chain.certificates"
    assert "ASVK" in a.check("snp.chain.certificates").detail  # type: ignore[union-attr]


def test_azure_hcl_binds_runtime_data_but_not_a_nonce() -> None:
    a = run("snp/openpcc/test_azure_sevsnp_report.bin",
            ["snp/openpcc/test_vcek.pem", "snp/trustee/genoa_ask_ark_asvk.pem"])
    assert a.authentic
    assert a.check("snp.hcl.runtime_data").status is Status.PASS  # type: ignore[union-attr]
    skip = a.check("snp.report_data")
    assert skip is not None and skip.status is Status.SKIP and skip.required
    assert "cannot set REPORT_DATA" in skip.detail
    bound = run("snp/openpcc/test_azure_sevsnp_report.bin",
                ["snp/openpcc/test_vcek.pem", "snp/trustee/genoa_ask_ark_asvk.pem"],
                expected=bytes(64))
    assert bound.check("snp.report_data").status is Status.FAIL  # type: ignore[union-attr]


def test_report_data_binding_passes_with_the_exact_bytes() -> None:
    raw = report_bytes("snp/trustee/e2e-report-rebuilt.bin")
    expected = raw[0x50:0x90]
    a = run("snp/trustee/e2e-report-rebuilt.bin",
            ["snp/trustee/e2e-vcek.der", "snp/trustee/genoa_ask_ark_asvk.pem"], expected=expected)
    assert a.check("snp.report_data").status is Status.PASS  # type: ignore[union-attr]
    other = run("snp/trustee/e2e-report-rebuilt.bin",
                ["snp/trustee/e2e-vcek.der", "snp/trustee/genoa_ask_ark_asvk.pem"],
                expected=bytes(reversed(expected)))
    assert other.check("snp.report_data").status is Status.FAIL  # type: ignore[union-attr]


def test_genoa_verifies_under_a_policy_it_meets() -> None:
    """Authentic and every rule met: verified (the Siena part's microcode numbering differs)."""
    policy = parse_policy(b'name = "g"\n[snp]\nrevocation = "required"\n'
                          b'[snp.min_tcb.Genoa]\nbootloader = 10\ntee = 0\nsnp = 23\nmicrocode = 25\n')
    raw = report_bytes("snp/trustee/e2e-report-rebuilt.bin")
    a = run("snp/trustee/e2e-report-rebuilt.bin",
            ["snp/trustee/e2e-vcek.der", "snp/trustee/genoa_ask_ark_asvk.pem"],
            policy=policy, crls=(GENOA_CRL,), expected=raw[0x50:0x90])
    r = result(a, policy)
    assert r.verified, r.verdict()


def test_gce_v4_offline_is_vcek_not_available(tmp_path: Path) -> None:
    fetcher = CollateralFetcher(tmp_path / "cache", offline=True)
    a = run("snp/openpcc/test_gce_sevsnp_report.bin", [], fetcher=fetcher)
    assert not a.authentic
    first = a.checks[1]
    assert first.id == "snp.chain.certificates" and first.status is Status.FAIL
    assert first.detail.startswith("VCEK not available")
    assert a.check("snp.report.signature").status is Status.SKIP  # type: ignore[union-attr]


def test_gce_v4_with_the_milan_chain_alone_is_still_not_authentic() -> None:
    a = run("snp/openpcc/test_gce_sevsnp_report.bin", ["snp/go-sev-guest/ask_ark_milan.pem"])
    assert not a.authentic
    assert a.checks[1].detail.startswith("VCEK not available")


@pytest.mark.parametrize("bad", ["snp/trustee/test-vcek-invalid-legacy.der",
                                 "snp/trustee/test-vcek-invalid-new.der"])
def test_negative_vceks_are_refused(bad: str) -> None:
    a = run("snp/trustee/test-report.bin", [bad, "snp/trustee/milan_ask_ark_asvk.pem"])
    assert not a.authentic
    assert failing(a)[0] == "snp.chain.vcek"
    assert a.check("snp.report.signature").status is Status.FAIL  # type: ignore[union-attr]
    assert a.check("snp.vcek.extensions").status is Status.FAIL  # type: ignore[union-attr]


SWAPS = [
    ("snp/go-sev-guest/attestation.bin", "snp/virtee-sev/vcek_milan.der", "snp/go-sev-guest/ask_ark_milan.pem"),
    ("snp/virtee-sev/report_milan.hex", "snp/trustee/test-vcek.der", "snp/virtee-sev/cert_chain_milan"),
    ("snp/trustee/test-report.bin", "snp/go-sev-guest/vcek.testcer", "snp/trustee/milan_ask_ark_asvk.pem"),
    ("snp/trustee/e2e-report-rebuilt.bin", "snp/openpcc/test_vcek.pem", "snp/trustee/genoa_ask_ark_asvk.pem"),
    ("snp/openpcc/test_azure_sevsnp_report.bin", "snp/trustee/e2e-vcek.der", "snp/trustee/genoa_ask_ark_asvk.pem"),
    ("snp/trustee/e2e-report-rebuilt.bin", "snp/trustee/test-vcek.der", "snp/trustee/milan_ask_ark_asvk.pem"),
    ("snp/trustee/test-vlek-report.bin", "snp/go-sev-guest/vcek.testcer", "snp/trustee/milan_ask_ark_asvk.pem"),
    ("snp/openpcc/test_gce_sevsnp_report.bin", "snp/trustee/test-vcek.der", "snp/trustee/milan_ask_ark_asvk.pem"),
    ("snp/trustee/hcl-report.bin", "snp/virtee-sev/vcek_milan.der", "snp/virtee-sev/cert_chain_milan"),
]


@pytest.mark.parametrize(("report", "vcek", "chain"), SWAPS, ids=[f"{i}" for i in range(len(SWAPS))])
def test_reports_with_another_sets_vcek_are_refused(report: str, vcek: str, chain: str) -> None:
    a = run(report, [vcek, chain])
    assert not a.authentic
    assert any(c.authenticity and c.status is not Status.PASS for c in a.checks)


def test_swapped_same_product_vcek_fails_signature_and_hwid() -> None:
    a = run("snp/go-sev-guest/attestation.bin",
            ["snp/virtee-sev/vcek_milan.der", "snp/go-sev-guest/ask_ark_milan.pem"])
    assert a.check("snp.chain.vcek").status is Status.PASS  # type: ignore[union-attr]
    assert a.check("snp.vcek.extensions").status is Status.FAIL  # type: ignore[union-attr]
    assert a.check("snp.report.signature").status is Status.FAIL  # type: ignore[union-attr]


def test_certificates_in_any_order_and_form() -> None:
    """Roles are found by content: ARK first (openpcc's order), PEM and DER mixed."""
    a = run("snp/trustee/e2e-report-rebuilt.bin",
            ["snp/openpcc/test_amd_sev_genoa_root_certs.pem", "snp/trustee/e2e-vcek.der"])
    assert a.authentic
    b = run("snp/go-sev-guest/attestation.bin",
            ["snp/virtee-sev/milan_ark.pem", "snp/go-sev-guest/vcek.testcer", "snp/virtee-sev/milan_ask.pem"])
    assert b.authentic


def test_vcek_chain_in_one_pem_blob() -> None:
    """trustee's Azure vcek.pem holds VCEK, ASK and ARK in one blob."""
    a = run("snp/trustee/hcl-report.bin", ["snp/trustee/vcek.pem"])
    assert a.authentic
    assert a.claims["azure_hcl"] is True


def test_real_serial_zero_vceks_load_without_warnings() -> None:
    """Serial 0 is handled on purpose: no CryptographyDeprecationWarning reaches the caller."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        a = run("snp/trustee/test-report.bin",
                ["snp/trustee/test-vcek.der", "snp/trustee/milan_ask_ark_asvk.pem"])
    assert a.authentic
    assert not [w for w in caught if "serial" in str(w.message).lower()]
    assert a.claims["certificates"]["leaf"]["serial"] == 0  # type: ignore[index]
    assert "serial 0" in a.check("snp.chain.vcek").detail  # type: ignore[union-attr]


class TestCrls:
    def test_genoa_crl_lists_one_serial_that_is_not_the_current_ask(self) -> None:
        a = run("snp/trustee/e2e-report-rebuilt.bin",
                ["snp/trustee/e2e-vcek.der", "snp/trustee/genoa_ask_ark_asvk.pem"], crls=(GENOA_CRL,))
        check = a.check("snp.revocation")
        assert check is not None and check.status is Status.PASS
        assert "1 serial(s)" in check.detail and "0x20002" in check.detail

    def test_milan_crl_does_not_apply_to_genoa(self) -> None:
        a = run("snp/trustee/e2e-report-rebuilt.bin",
                ["snp/trustee/e2e-vcek.der", "snp/trustee/genoa_ask_ark_asvk.pem"], crls=(MILAN_CRL,))
        check = a.check("snp.revocation")
        assert check is not None and check.status is Status.SKIP and not check.required

    def test_stale_crl_is_skip_if_available_and_fail_when_required(self) -> None:
        late = dt.datetime(2025, 12, 1, tzinfo=dt.UTC)
        args = ("snp/trustee/e2e-report-rebuilt.bin",
                ["snp/trustee/e2e-vcek.der", "snp/trustee/genoa_ask_ark_asvk.pem"])
        lenient = run(*args, crls=(GENOA_CRL,), at=late)
        assert lenient.check("snp.revocation").status is Status.SKIP  # type: ignore[union-attr]
        strict = parse_policy(b'name = "s"\n[snp]\nrevocation = "required"\n')
        refused = run(*args, crls=(GENOA_CRL,), at=late, policy=strict)
        check = refused.check("snp.revocation")
        assert check is not None and check.status is Status.FAIL and "not current" in check.detail

    def test_absent_crl_required_is_a_required_skip(self) -> None:
        strict = parse_policy(b'name = "s"\n[snp]\nrevocation = "required"\n')
        a = run("snp/trustee/e2e-report-rebuilt.bin",
                ["snp/trustee/e2e-vcek.der", "snp/trustee/genoa_ask_ark_asvk.pem"], policy=strict)
        check = a.check("snp.revocation")
        assert check is not None and check.status is Status.SKIP and check.required


# -- Oak's version-5 reports (README "More AMD SEV-SNP"), at 2025-09-01 --------------------------
OAK_AT = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)


def oak(product: str, policy: Policy = DEFAULT) -> SnpAppraisal:
    return run(f"snp/oak/{product}_report.bin",
               [f"snp/oak/{product}_vcek.der", f"snp/trustee/{product}_ask_ark_asvk.pem"],
               policy=policy, at=OAK_AT)


def test_oak_turin_v5_is_authentic_and_judged_against_the_turin_floor() -> None:
    """Authentic; Turin TCB layout (fmc 0, bootloader 1, tee 0, snp 2, microcode 0x47), firmware
    1.55.61, PLATFORM_INFO 0x67 (bit 6, IOMMU write safe); the 2025 report is below the Turin floor
    (Tinfoil's 2026-09 production TCB): ``snp.tcb.minimum`` fails, never skips."""
    a = oak("turin")
    assert a.authentic, [c for c in a.checks if c.authenticity and c.status is not Status.PASS]
    assert a.claims["version"] == 5 and a.claims["product"] == "Turin"
    reported = a.claims["tcb"]["reported"]  # type: ignore[index]
    assert {k: reported[k] for k in ("fmc", "bootloader", "tee", "snp", "microcode")} == {
        "fmc": 0, "bootloader": 1, "tee": 0, "snp": 2, "microcode": 0x47}
    assert a.claims["firmware"] == {"current": "1.55.61", "committed": "1.55.61"}
    assert a.claims["platform_info"] == "0x67"
    assert a.claims["platform_flags"]["iommu_write_safe"] is True  # type: ignore[index]
    assert a.claims["platform_flags"]["tio_en"] is False  # type: ignore[index]
    assert a.claims["mit_vector"] == {"launch": "0x0", "current": "0x0"}
    assert a.claims["certificates"]["leaf"]["role"] == "VCEK"  # type: ignore[index]
    for cid in ("snp.platform.features", "snp.platform.reserved", "snp.tcb.reported", "snp.tcb.committed"):
        assert a.check(cid).status is Status.PASS, cid  # type: ignore[union-attr]
    minimum = a.check("snp.tcb.minimum")
    assert minimum is not None and minimum.status is Status.FAIL
    assert "fmc 0" in minimum.detail and "snp 2" in minimum.detail
    assert failing(a) == ["snp.tcb.minimum"]
    # The shipped policies judge it the same way (a Turin floor in each, no skip).
    from verifier.appraisal.policy import load_policy

    root = Path(__file__).parents[2] / "policies"
    for name in ("default", "strict"):
        check = oak("turin", load_policy(root / f"{name}.toml")).check("snp.tcb.minimum")
        assert check is not None and check.status is Status.FAIL, name
    # require_platform sees bit 6; a mitigation-vector minimum cannot be met by its zero vectors.
    ok = parse_policy(b'name = "t"\n[snp]\nrequire_platform = ["iommu_write_safe", "ecc", "alias_check"]\n'
                      b'min_current_mitigation_vector = 1\n')
    b = oak("turin", ok)
    assert b.check("snp.platform.features").status is Status.PASS  # type: ignore[union-attr]
    assert b.check("snp.mitigation.current").status is Status.FAIL  # type: ignore[union-attr]


def test_oak_genoa_v5_mitigation_vectors_are_decoded_and_checkable() -> None:
    a = oak("genoa")
    assert a.authentic
    assert a.claims["version"] == 5 and a.claims["product"] == "Genoa"
    assert a.claims["mit_vector"] == {"launch": "0x1", "current": "0x1"}
    assert a.check("snp.tcb.minimum").status is Status.PASS  # type: ignore[union-attr]
    assert failing(a) == []
    need = parse_policy(b'name = "t"\n[snp]\nmin_launch_mitigation_vector = 1\nmin_current_mitigation_vector = 1\n')
    b = oak("genoa", need)
    assert b.check("snp.mitigation.launch").status is Status.PASS  # type: ignore[union-attr]
    assert b.check("snp.mitigation.current").status is Status.PASS  # type: ignore[union-attr]
    more = parse_policy(b'name = "t"\n[snp]\nmin_current_mitigation_vector = 3\n')
    assert failing(oak("genoa", more)) == ["snp.mitigation.current"]


def test_vlek_revocation_does_not_pass_on_the_milan_vcek_crl() -> None:
    """The trustee VLEK with AMD's Milan /vcek CRL: not the ASVK's CRL, so a skip, never a pass."""
    a = run("snp/trustee/test-vlek-report.bin",
            ["snp/trustee/test-vlek.der", "snp/trustee/milan_ask_ark_asvk.pem"], policy=VLEK_OK,
            crls=(MILAN_CRL,))
    check = a.check("snp.revocation")
    assert check is not None and check.status is Status.SKIP, check
    assert "/vlek/v1/Milan/crl" in check.detail
