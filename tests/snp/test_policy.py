"""The ``[snp]`` policy table: each key, its default, and its refusal, on an otherwise passing report."""

from __future__ import annotations

import hashlib

import pytest

from tests.snp.builder import Pki, Platform
from tests.snp.conftest import AT, pinned_policy
from verifier.appraisal.policy import parse_policy
from verifier.appraisal.sev_snp import DEFAULT_MIN_TCB, SnpAppraisal, SnpPolicy, appraise_snp
from verifier.errors import PolicyError
from verifier.evidence.sev_snp import (
    POLICY_CXL_ALLOW,
    POLICY_DEBUG,
    POLICY_MEM_AES_256_XTS,
    POLICY_MIGRATE_MA,
    POLICY_PAGE_SWAP_DISABLE,
    POLICY_RESERVED_ONE,
    POLICY_SINGLE_SOCKET,
    POLICY_SMT,
    Product,
    TcbVersion,
)
from verifier.result import Status

RD = hashlib.sha512(b"policy").digest()
BASE = POLICY_RESERVED_ONE | POLICY_SMT


def run(pki: Pki, platform: Platform, extra: str = "", **fields: object) -> SnpAppraisal:
    return appraise_snp(platform.report(RD, **fields), platform.certificates(),
                        policy=pinned_policy(pki, extra), at=AT, expected_report_data=RD)


def fails(a: SnpAppraisal) -> list[str]:
    return [c.id for c in a.checks if c.status is Status.FAIL]


def test_default_rules_pass_the_test_platform(pki: Pki, platform: Platform) -> None:
    a = run(pki, platform)
    assert a.authentic and fails(a) == []
    ids = [c.id for c in a.checks]
    assert ids == [
        "snp.parse", "snp.chain.certificates", "snp.chain.ark_pinned", "snp.chain.ask", "snp.chain.vcek",
        "snp.chain.validity", "snp.vcek.extensions", "snp.report.signature", "snp.revocation",
        "snp.product", "snp.signing_key", "snp.policy.debug", "snp.policy.migrate_ma", "snp.policy.smt",
        "snp.policy.single_socket", "snp.policy.cxl", "snp.policy.aes_256_xts", "snp.policy.page_swap",
        "snp.policy.abi", "snp.vmpl", "snp.guest_svn", "snp.platform.alias_check", "snp.platform.smt",
        "snp.platform.tsme", "snp.platform.features", "snp.platform.reserved", "snp.tcb.committed",
        "snp.tcb.reported", "snp.tcb.minimum", "snp.firmware", "snp.mitigation.launch",
        "snp.mitigation.current", "snp.measurement", "snp.host_data", "snp.family_id", "snp.image_id",
        "snp.report_id", "snp.id_key", "snp.author_key", "snp.id_block", "snp.report_data",
    ]
    assert [c.id for c in a.checks if c.authenticity] == ids[:8]


@pytest.mark.parametrize(("bit", "check", "allow"), [
    (POLICY_DEBUG, "snp.policy.debug", "allow_debug = true"),
    (POLICY_MIGRATE_MA, "snp.policy.migrate_ma", "allow_migration_agent = true"),
])
def test_debug_and_migration_agent_refused_unless_allowed(pki: Pki, platform: Platform, bit: int,
                                                           check: str, allow: str) -> None:
    assert fails(run(pki, platform, policy=BASE | bit)) == [check]
    assert fails(run(pki, platform, allow, policy=BASE | bit)) == []


@pytest.mark.parametrize(("rule", "policy_bits", "check"), [
    ("allow_smt = false", BASE, "snp.policy.smt"),
    ("allow_cxl = false", BASE | POLICY_CXL_ALLOW, "snp.policy.cxl"),
    ("require_single_socket = true", BASE, "snp.policy.single_socket"),
    ("require_aes_256_xts = true", BASE, "snp.policy.aes_256_xts"),
    ("require_page_swap_disable = true", BASE, "snp.policy.page_swap"),
])
def test_guest_policy_expectations(pki: Pki, platform: Platform, rule: str, policy_bits: int, check: str) -> None:
    assert fails(run(pki, platform, rule, policy=policy_bits)) == [check]


def test_guest_policy_requirements_met(pki: Pki, platform: Platform) -> None:
    bits = POLICY_RESERVED_ONE | POLICY_SINGLE_SOCKET | POLICY_MEM_AES_256_XTS | POLICY_PAGE_SWAP_DISABLE
    rules = ("allow_smt = false\nallow_cxl = false\nrequire_single_socket = true\n"
             "require_aes_256_xts = true\nrequire_page_swap_disable = true")
    assert fails(run(pki, platform, rules, policy=bits)) == []


def test_vmpl(pki: Pki, platform: Platform) -> None:
    assert fails(run(pki, platform, vmpl=2)) == ["snp.vmpl"]
    assert fails(run(pki, platform, "vmpl = [0, 2]", vmpl=2)) == []


def test_alias_check_required_from_v3(pki: Pki, platform: Platform) -> None:
    assert fails(run(pki, platform, platform_info=0b000011)) == ["snp.platform.alias_check"]
    assert fails(run(pki, platform, "require_alias_check = false", platform_info=0b000011)) == []
    v2 = run(pki, platform, version=2, cpuid_fam_id=0, cpuid_mod_id=0, cpuid_step=0, platform_info=0b11)
    check = v2.check("snp.platform.alias_check")
    assert check is not None and check.status is Status.SKIP and not check.required


def test_platform_smt_and_tsme(pki: Pki, platform: Platform) -> None:
    assert fails(run(pki, platform, "allow_platform_smt = false")) == ["snp.platform.smt"]
    assert fails(run(pki, platform, "require_tsme = true", platform_info=0b100001)) == ["snp.platform.tsme"]


def test_provisional_firmware(pki: Pki, platform: Platform) -> None:
    newer = TcbVersion.encode(Product.GENOA, bootloader=10, tee=0, snp=24, microcode=84).raw
    assert fails(run(pki, platform, current_tcb_raw=newer)) == ["snp.tcb.committed"]
    assert fails(run(pki, platform, "allow_provisional_firmware = true", current_tcb_raw=newer)) == []


def test_minimum_tcb_per_component_and_per_tcb(pki: Pki, platform: Platform) -> None:
    old = TcbVersion.encode(Product.GENOA, bootloader=10, tee=0, snp=22, microcode=84).raw
    a = run(pki, platform, launch_tcb_raw=old)
    assert fails(a) == ["snp.tcb.minimum"]
    assert "launch snp 22" in a.check("snp.tcb.minimum").detail  # type: ignore[union-attr]
    flat = run(pki, platform, "min_tcb = { bootloader = 0, tee = 0, snp = 20, microcode = 0 }", launch_tcb_raw=old)
    assert fails(flat) == []
    per = run(pki, platform, "[snp.min_tcb.Genoa]\nmicrocode = 85")
    assert fails(per) == ["snp.tcb.minimum"]


def test_firmware_minimum(pki: Pki, platform: Platform) -> None:
    assert fails(run(pki, platform, 'min_firmware = "1.55.22"')) == ["snp.firmware"]
    assert fails(run(pki, platform, 'min_firmware = "1.55"')) == []


def test_allow_lists(pki: Pki, platform: Platform) -> None:
    m = bytes(range(48))
    ok = run(pki, platform, f'measurements = ["{m.hex()}"]', measurement=m)
    assert ok.check("snp.measurement").status is Status.PASS  # type: ignore[union-attr]
    bad = run(pki, platform, f'measurements = ["{m.hex()}"]\nhost_data = ["{"00" * 31}01"]\n'
                             f'id_key_digests = ["{"11" * 48}"]\nauthor_key_digests = ["{"22" * 48}"]')
    assert fails(bad) == ["snp.measurement", "snp.host_data", "snp.id_key", "snp.author_key"]


def test_products_and_signing_keys(pki: Pki, platform: Platform) -> None:
    assert fails(run(pki, platform, 'products = ["Milan"]')) == ["snp.product"]
    assert fails(run(pki, platform, 'signing_keys = ["vlek"]')) == ["snp.signing_key"]


def test_report_data_absent_is_a_required_skip(pki: Pki, platform: Platform) -> None:
    a = appraise_snp(platform.report(RD), platform.certificates(), policy=pinned_policy(pki), at=AT,
                     expected_report_data=None)
    check = a.check("snp.report_data")
    assert check is not None and check.status is Status.SKIP and check.required
    short = appraise_snp(platform.report(RD), platform.certificates(), policy=pinned_policy(pki), at=AT,
                         expected_report_data=RD[:32])
    assert short.check("snp.report_data").status is Status.FAIL  # type: ignore[union-attr]


def test_pin_lists_and_case(pki: Pki, platform: Platform) -> None:
    policy = parse_policy(f'name = "t"\n[snp]\nroots = {{ genoa = ["{"ab" * 32}", "{pki.ark_pin.upper()}"] }}\n'.encode())
    a = appraise_snp(platform.report(RD), platform.certificates(), policy=policy, at=AT, expected_report_data=RD)
    assert a.authentic


@pytest.mark.parametrize("body", [
    "alow_debug = true",
    'roots = "amd"',
    'roots = { Genoa = "abc" }',
    'roots = { Rome = "' + "ab" * 32 + '" }',
    'products = ["Rome"]',
    "vmpl = [4]",
    'revocation = "sometimes"',
    'signing_keys = ["vcek", "cek"]',
    "min_tcb = { bootloader = 256 }",
    "min_tcb = { ucode = 1 }",
    'min_firmware = "one"',
    'measurements = ["abcd"]',
    "allow_debug = 1",
])
def test_bad_policies_are_refused(body: str) -> None:
    with pytest.raises(PolicyError):
        SnpPolicy.from_policy(parse_policy(f'name = "t"\n[snp]\n{body}\n'.encode()))


def test_defaults() -> None:
    rules = SnpPolicy.from_policy(parse_policy(b'name = "t"\n'))
    assert rules.products == {Product.MILAN, Product.GENOA, Product.TURIN}
    assert not rules.allow_debug and not rules.allow_migration_agent and rules.vmpl == {0}
    assert not rules.allow_provisional_firmware and rules.require_alias_check
    assert rules.revocation == "if-available" and rules.signing_keys == {"vcek"}
    assert rules.min_tcb[Product.MILAN] == DEFAULT_MIN_TCB[Product.MILAN]
    assert rules.roots[Product.GENOA] == {"429a69c9422aa258ee4d8db5fcda9c6470ef15f8cd5a9cebd6cbc7d90b863831"}


def test_the_shipped_policies_parse() -> None:
    from pathlib import Path

    from verifier.appraisal.policy import load_policy

    for path in sorted((Path(__file__).parents[2] / "policies").glob("*.toml")):
        SnpPolicy.from_policy(load_policy(path))
