"""Where go-sev-guest's ``validate``/``verify`` refuses, we refuse too (issue 13, points 2-4, 6, 11).

Forged reports under the test roots, one rule at a time, on an otherwise passing report. The
"compared with the reference" table of docs/sev-snp.md names these tests; ``test_reference_table``
keeps the table and this file in step.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import httpx
import pytest

from tests.snp.builder import Pki, Platform
from tests.snp.conftest import AT, pinned_policy
from verifier.appraisal.policy import parse_policy
from verifier.appraisal.sev_snp import SnpAppraisal, SnpPolicy, appraise_snp
from verifier.endorsements.fetch import CollateralFetcher
from verifier.endorsements.kds import crl_url
from verifier.errors import PolicyError
from verifier.evidence.sev_snp import POLICY_RESERVED_ONE, POLICY_SMT, Product, TcbVersion
from verifier.result import Status

RD = hashlib.sha512(b"reference").digest()
BASE = POLICY_RESERVED_ONE | POLICY_SMT
INFO = 0b100011  # SMT_EN, TSME_EN, ALIAS_CHECK_COMPLETE: the test platform's PLATFORM_INFO


def run(pki: Pki, platform: Platform, extra: str = "", *, crls: tuple[bytes, ...] = (),
        vlek_crls: tuple[bytes, ...] = (), **fields: object) -> SnpAppraisal:
    more = {"vlek_crls": list(vlek_crls)} if vlek_crls else {}
    return appraise_snp(platform.report(RD, **fields), platform.certificates(),
                        policy=pinned_policy(pki, extra), at=AT, expected_report_data=RD,
                        crls=list(crls), **more)  # type: ignore[arg-type]


def fails(a: SnpAppraisal) -> list[str]:
    return [c.id for c in a.checks if c.status is Status.FAIL]


def rules(body: str) -> SnpPolicy:
    return SnpPolicy.from_policy(parse_policy(f'name = "t"\n[snp]\n{body}\n'.encode()))


# -- point 2: PLATFORM_INFO ------------------------------------------------------------------------
@pytest.mark.parametrize("bit", [8, 9, 31, 63])
def test_platform_info_reserved_bits_are_refused(pki: Pki, platform: Platform, bit: int) -> None:
    a = run(pki, platform, platform_info=INFO | (1 << bit))
    assert fails(a) == ["snp.platform.reserved"]
    # No policy key accepts them.
    assert fails(run(pki, platform, "refuse_platform = []", platform_info=INFO | (1 << bit))) == ["snp.platform.reserved"]


def test_sev_tio_is_refused_by_default(pki: Pki, platform: Platform) -> None:
    a = run(pki, platform, platform_info=INFO | (1 << 7))
    assert fails(a) == ["snp.platform.features"]
    assert "tio" in a.check("snp.platform.features").detail  # type: ignore[union-attr]
    assert fails(run(pki, platform, "refuse_platform = []", platform_info=INFO | (1 << 7))) == []


def test_platform_features_can_be_required(pki: Pki, platform: Platform) -> None:
    want = 'require_platform = ["ecc", "rapl_disabled", "ciphertext_hiding", "iommu_write_safe"]'
    a = run(pki, platform, want)
    assert fails(a) == ["snp.platform.features"]
    detail = a.check("snp.platform.features").detail  # type: ignore[union-attr]
    assert all(n in detail for n in ("ecc", "rapl_disabled", "ciphertext_hiding", "iommu_write_safe"))
    assert fails(run(pki, platform, want, platform_info=0x7F)) == []
    # The real Oak Turin report's 0x67: bit 6 (IOMMU write safe) is a known bit, not a reserved one.
    assert fails(run(pki, platform, 'require_platform = ["iommu_write_safe", "ecc"]', platform_info=0x67)) == []


def test_platform_features_can_be_refused(pki: Pki, platform: Platform) -> None:
    assert fails(run(pki, platform, 'refuse_platform = ["tio", "smt"]')) == ["snp.platform.features"]


@pytest.mark.parametrize("body", [
    'require_platform = ["ecc", "bogus"]',
    'refuse_platform = ["tio", "tio2"]',
    'require_platform = ["ecc"]\nrefuse_platform = ["ecc"]',
    "require_platform = [6]",
])
def test_bad_platform_lists(body: str) -> None:
    with pytest.raises(PolicyError):
        rules(body)


# -- point 3: REPORTED_TCB above CURRENT_TCB --------------------------------------------------------
def test_reported_tcb_above_current_is_refused(pki: Pki) -> None:
    chip = Platform(pki, tcb={"bootloader": 10, "tee": 0, "snp": 24, "microcode": 84})
    lower = TcbVersion.encode(Product.GENOA, bootloader=10, tee=0, snp=23, microcode=84).raw
    a = run(pki, chip, current_tcb_raw=lower, committed_tcb_raw=lower, launch_tcb_raw=lower)
    assert a.authentic
    assert fails(a) == ["snp.tcb.reported"]
    # Provisional firmware does not change it: the reported TCB may never exceed the current one.
    assert fails(run(pki, chip, "allow_provisional_firmware = true", current_tcb_raw=lower,
                     committed_tcb_raw=lower, launch_tcb_raw=lower)) == ["snp.tcb.reported"]


# -- point 4: committed firmware version and build ------------------------------------------------
@pytest.mark.parametrize("field", [{"committed_build": 20}, {"committed_minor": 54},
                                   {"committed_major": 0}])
def test_committed_firmware_must_equal_current(pki: Pki, platform: Platform, field: dict[str, int]) -> None:
    a = run(pki, platform, **field)  # type: ignore[arg-type]
    assert fails(a) == ["snp.tcb.committed"]
    assert fails(run(pki, platform, "allow_provisional_firmware = true", **field)) == []  # type: ignore[arg-type]


def test_committed_above_current_is_refused_even_when_provisional_is_allowed(pki: Pki, platform: Platform) -> None:
    higher = TcbVersion.encode(Product.GENOA, bootloader=10, tee=0, snp=24, microcode=84).raw
    allow = "allow_provisional_firmware = true"
    assert fails(run(pki, platform, allow, committed_build=22)) == ["snp.tcb.committed"]
    assert fails(run(pki, platform, allow, committed_tcb_raw=higher)) == ["snp.tcb.committed"]


# -- point 6: the missing policy keys -------------------------------------------------------------
def test_min_guest_svn(pki: Pki, platform: Platform) -> None:
    assert fails(run(pki, platform, "min_guest_svn = 2")) == ["snp.guest_svn"]
    assert fails(run(pki, platform, "min_guest_svn = 1")) == []
    unset = run(pki, platform).check("snp.guest_svn")
    assert unset is not None and unset.status is Status.SKIP and not unset.required


def test_min_policy_abi(pki: Pki, platform: Platform) -> None:
    assert fails(run(pki, platform, 'min_policy_abi = "1.55"')) == ["snp.policy.abi"]
    assert fails(run(pki, platform, 'min_policy_abi = "1.55"', policy=BASE | (1 << 8) | 55)) == []
    assert fails(run(pki, platform, 'min_policy_abi = "1.55"', policy=BASE | (2 << 8))) == []
    assert fails(run(pki, platform, 'min_policy_abi = "1.56"', policy=BASE | (1 << 8) | 55)) == ["snp.policy.abi"]


@pytest.mark.parametrize("body", ['min_policy_abi = "1"', 'min_policy_abi = "1.256"', "min_policy_abi = 1",
                                  "min_guest_svn = -1", "min_guest_svn = true",
                                  "min_launch_mitigation_vector = -1", 'min_current_mitigation_vector = "x"',
                                  "family_ids = []", 'image_ids = ["00"]', 'report_ids = ["' + "00" * 16 + '"]',
                                  "require_id_block = true", "require_author_key = true",
                                  'require_author_key = true\nid_key_digests = ["' + "11" * 48 + '"]'])
def test_bad_new_keys(body: str) -> None:
    with pytest.raises(PolicyError):
        rules(body)


def test_family_image_and_report_id_allow_lists(pki: Pki, platform: Platform) -> None:
    fam, img, rid = bytes(range(16)), bytes(range(16, 32)), bytes(range(32))
    lists = f'family_ids = ["{fam.hex()}"]\nimage_ids = ["{img.hex()}"]\nreport_ids = ["{rid.hex()}"]'
    assert fails(run(pki, platform, lists)) == ["snp.family_id", "snp.image_id", "snp.report_id"]
    assert fails(run(pki, platform, lists, family_id=fam, image_id=img, report_id=rid)) == []


def test_mitigation_vectors(pki: Pki, platform: Platform) -> None:
    v5 = {"version": 5, "launch_mit_vector": 0b11, "current_mit_vector": 0b01}
    assert fails(run(pki, platform, "min_launch_mitigation_vector = 0b10", **v5)) == []
    assert fails(run(pki, platform, "min_current_mitigation_vector = 0b10", **v5)) == ["snp.mitigation.current"]
    assert fails(run(pki, platform, "min_launch_mitigation_vector = 0b100", **v5)) == ["snp.mitigation.launch"]
    # A report before version 5 has no mitigation vector: a minimum cannot be met.
    assert fails(run(pki, platform, "min_current_mitigation_vector = 1")) == ["snp.mitigation.current"]
    unset = run(pki, platform, **v5).check("snp.mitigation.launch")
    assert unset is not None and unset.status is Status.SKIP and not unset.required


def test_require_id_block_trusted_id_key(pki: Pki, platform: Platform) -> None:
    idk, other = b"\x11" * 48, b"\x22" * 48
    body = f'require_id_block = true\nid_key_digests = ["{idk.hex()}"]'
    assert fails(run(pki, platform, body, id_key_digest=idk)) == []
    assert fails(run(pki, platform, body, id_key_digest=other)) == ["snp.id_block"]
    no_block = run(pki, platform, body)
    assert "snp.id_block" in fails(no_block)


def test_require_id_block_trusted_author_key_vouches_for_any_id_key(pki: Pki, platform: Platform) -> None:
    """go-sev-guest: an ID key is trusted when listed, or when a trusted author key signed it."""
    idk, author = b"\x11" * 48, b"\x33" * 48
    body = f'require_id_block = true\nid_key_digests = ["{"44" * 48}"]\nauthor_key_digests = ["{author.hex()}"]'
    assert fails(run(pki, platform, body, id_key_digest=idk, author_key_digest=author, key_info=1)) == []
    # AUTHOR_KEY_EN clear: the digest does not count, and the ID key is not listed.
    assert fails(run(pki, platform, body, id_key_digest=idk, author_key_digest=author, key_info=0)) == ["snp.id_block"]


def test_require_author_key(pki: Pki, platform: Platform) -> None:
    idk, author = b"\x11" * 48, b"\x33" * 48
    body = (f'require_author_key = true\nid_key_digests = ["{idk.hex()}"]\n'
            f'author_key_digests = ["{author.hex()}"]')
    assert fails(run(pki, platform, body, id_key_digest=idk, author_key_digest=author, key_info=1)) == []
    # A trusted ID key is not enough: the author key is required (and implies the ID block).
    assert fails(run(pki, platform, body, id_key_digest=idk)) == ["snp.id_block"]
    assert fails(run(pki, platform, body, id_key_digest=idk, author_key_digest=b"\x55" * 48,
                     key_info=1)) == ["snp.id_block"]


# -- point 11: VLEK revocation, spl_4..7 ----------------------------------------------------------
def test_vlek_revocation_does_not_pass_on_a_vcek_crl(pki: Pki) -> None:
    chip = Platform(pki, vlek=True)
    vlek = 'signing_keys = ["vlek"]\nvlek_csp_ids = ["test-csp"]\nrevocation = "if-available"'
    given = run(pki, chip, vlek, crls=(pki.crl(),))
    check = given.check("snp.revocation")
    assert check is not None and check.status is Status.SKIP, check
    assert "/vlek/v1/Genoa/crl" in check.detail
    ok = run(pki, chip, vlek, vlek_crls=(pki.crl(),))
    assert ok.check("snp.revocation").status is Status.PASS  # type: ignore[union-attr]
    # A revocation found in any ARK-signed CRL still refuses.
    revoked = run(pki, chip, vlek, crls=(pki.crl([0x20101]),))
    assert revoked.check("snp.revocation").status is Status.FAIL and not revoked.authentic  # type: ignore[union-attr]
    # And a VLEK CRL does not pass a VCEK's chain.
    vcek = run(pki, Platform(pki), vlek_crls=(pki.crl(),))
    assert vcek.check("snp.revocation").status is Status.SKIP  # type: ignore[union-attr]


def test_vlek_revocation_is_fetched_from_the_asvk_distribution_point(pki: Pki, tmp_path: Path) -> None:
    chip = Platform(pki, vlek=True)
    asked: list[str] = []
    routes = {crl_url(Product.GENOA, "vcek"): pki.crl(), crl_url(Product.GENOA, "vlek"): pki.crl()}

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        body = routes.get(str(request.url))
        return httpx.Response(200, content=body) if body else httpx.Response(404)

    fetcher = CollateralFetcher(tmp_path, client=httpx.Client(transport=httpx.MockTransport(answer)))
    policy = pinned_policy(pki, 'signing_keys = ["vlek"]\nvlek_csp_ids = ["test-csp"]\nrevocation = "required"')
    a = appraise_snp(chip.report(RD), chip.certificates(), policy=policy, at=AT,
                     expected_report_data=RD, fetcher=fetcher, crls=[pki.crl()])
    assert a.check("snp.revocation").status is Status.PASS  # type: ignore[union-attr]
    assert asked == [crl_url(Product.GENOA, "vlek")]


def test_vcek_reserved_spls_are_compared_with_the_report(pki: Pki) -> None:
    # Genoa TCB bytes 2-5 are spl_4..spl_7; a report with byte 2 set needs a VCEK with spl_4 = 1.
    tcb = TcbVersion.encode(Product.GENOA, bootloader=10, tee=0, snp=23, microcode=84).raw | (1 << 16)
    fields = {"current_tcb_raw": tcb, "reported_tcb_raw": tcb, "committed_tcb_raw": tcb, "launch_tcb_raw": tcb}
    plain = Platform(pki)
    a = run(pki, plain, **fields)  # type: ignore[arg-type]
    assert not a.authentic and "snp.vcek.extensions" in fails(a)
    assert "spl_4" in a.check("snp.vcek.extensions").detail  # type: ignore[union-attr]
    chip = Platform(pki, tcb={"bootloader": 10, "tee": 0, "snp": 23, "microcode": 84, "spl4": 1})
    assert run(pki, chip, **fields).authentic  # type: ignore[arg-type]
    wrong = Platform(pki, tcb={"bootloader": 10, "tee": 0, "snp": 23, "microcode": 84, "spl5": 2})
    b = run(pki, wrong)
    assert not b.authentic and "spl_5" in b.check("snp.vcek.extensions").detail  # type: ignore[union-attr]
    zero = Platform(pki, tcb={"bootloader": 10, "tee": 0, "snp": 23, "microcode": 84,
                              "spl4": 0, "spl5": 0, "spl6": 0, "spl7": 0})
    assert run(pki, zero).authentic


# -- the docs table ---------------------------------------------------------------------------------
def test_reference_table() -> None:
    """Each row of docs/sev-snp.md's "compared with the reference" table names a test of this file
    (or of test_vectors.py) that exists, and a check id of the catalogue."""
    from verifier.appraisal.sev_snp.checks import CATALOGUE

    doc = (Path(__file__).parents[2] / "docs" / "sev-snp.md").read_text()
    section = doc.split("## Compared with the reference", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `snp.")]
    assert len(rows) >= 12
    here = Path(__file__).read_text() + (Path(__file__).parent / "test_vectors.py").read_text()
    for row in rows:
        cid = row.split("`")[1]
        assert cid in CATALOGUE, row
        for test in re.findall(r"`(test_[a-z0-9_]+)`", row):
            assert f"def {test}(" in here, (test, row)
