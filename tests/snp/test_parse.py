"""Strict parsing: SEV-SNP reports (ABI spec 56860 Table 23) and Azure HCL reports."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from tests.snp.builder import Pki, Platform
from tests.vectors import vector
from verifier.appraisal.policy import parse_policy
from verifier.appraisal.sev_snp import appraise_snp
from verifier.errors import ParseError
from verifier.evidence.azure_hcl import is_hcl_report, parse_hcl_report
from verifier.evidence.encoding import decode_evidence
from verifier.evidence.sev_snp import (
    POLICY_DEBUG,
    POLICY_RESERVED_ONE,
    REPORT_SIZE,
    Product,
    SigningKey,
    empty_report,
    is_report_sized,
    pack_report,
    parse_report,
)
from verifier.result import Status

REAL = ["snp/go-sev-guest/attestation.bin", "snp/trustee/test-report.bin", "snp/trustee/test-vlek-report.bin",
        "snp/trustee/e2e-report-rebuilt.bin", "snp/openpcc/test_gce_sevsnp_report.bin"]


def with_bytes(report: bytes, offset: int, value: bytes) -> bytes:
    return report[:offset] + value + report[offset + len(value):]


@pytest.mark.vectors
@pytest.mark.parametrize("name", REAL)
def test_real_reports_round_trip(name: str) -> None:
    data = vector(name).read_bytes()
    assert pack_report(parse_report(data)) == data


@pytest.mark.vectors
def test_real_report_fields() -> None:
    vlek = parse_report(vector("snp/trustee/test-vlek-report.bin").read_bytes())
    assert vlek.version == 3 and vlek.vmpl == 1 and vlek.signing_key is SigningKey.VLEK
    assert vlek.product is Product.MILAN and vlek.chip_id == bytes(64)
    assert vlek.tcb("current").microcode == 0xDC and vlek.tcb("committed").microcode == 0xDB
    assert vlek.platform_flags()["alias_check_complete"] is True
    gce = parse_report(vector("snp/openpcc/test_gce_sevsnp_report.bin").read_bytes())
    assert gce.version == 4 and gce.product is Product.MILAN
    v2 = parse_report(vector("snp/go-sev-guest/attestation.bin").read_bytes())
    assert v2.product is Product.UNKNOWN and v2.debug and v2.firmware("current") == (1, 49, 3)


def test_sizes_are_strict() -> None:
    good = pack_report(empty_report())
    for size in (0, REPORT_SIZE - 1, REPORT_SIZE + 1, 2 * REPORT_SIZE):
        data = (good * 2)[:size]
        with pytest.raises(ParseError, match="1184 bytes"):
            parse_report(data)
    assert is_report_sized(good) and not is_report_sized(good + b"\0")


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda r: replace(r, version=1), "version"),
    (lambda r: replace(r, version=6), "version"),
    (lambda r: replace(r, policy=0), "policy"),
    (lambda r: replace(r, policy=POLICY_RESERVED_ONE | (1 << 26)), "policy"),
    (lambda r: replace(r, policy=POLICY_RESERVED_ONE | (1 << 63)), "policy"),
    (lambda r: replace(r, signature_algo=2), "signature_algo"),
    (lambda r: replace(r, key_info=1 << 5), "key_info"),
    (lambda r: replace(r, key_info=2 << 2), "key_info"),
])
def test_field_rules(mutate: object, field: str) -> None:
    report = mutate(empty_report())  # type: ignore[operator]
    with pytest.raises(ParseError) as e:
        parse_report(pack_report(report))
    assert e.value.field == field


@pytest.mark.parametrize("offset", [0x04C, 0x18B, 0x19F, 0x1EB, 0x1EF, 0x208, 0x29F, 0x330, 0x49F])
def test_reserved_bytes_must_be_zero(offset: int) -> None:
    data = with_bytes(pack_report(empty_report()), offset, b"\x01")
    with pytest.raises(ParseError) as e:
        parse_report(data)
    assert e.value.field == "reserved"


def test_cpuid_is_reserved_in_v2_and_mit_vectors_before_v5() -> None:
    v2 = pack_report(empty_report(version=2, cpuid_fam_id=0x19))
    with pytest.raises(ParseError):
        parse_report(v2)
    v4 = pack_report(empty_report(version=4, launch_mit_vector=1))
    with pytest.raises(ParseError):
        parse_report(v4)
    v5 = parse_report(pack_report(empty_report(version=5, launch_mit_vector=3, current_mit_vector=1)))
    assert (v5.launch_mit_vector, v5.current_mit_vector) == (3, 1)


@pytest.mark.parametrize(("family", "model", "product"), [
    (0x19, 0x01, Product.MILAN), (0x19, 0x11, Product.GENOA), (0x19, 0xA0, Product.GENOA),
    (0x1A, 0x02, Product.TURIN), (0x17, 0x31, Product.UNKNOWN),
])
def test_product_from_cpuid(family: int, model: int, product: Product) -> None:
    report = parse_report(pack_report(empty_report(cpuid_fam_id=family, cpuid_mod_id=model)))
    assert report.product is product


def test_policy_and_platform_flags() -> None:
    report = empty_report(policy=POLICY_RESERVED_ONE | POLICY_DEBUG | 0x0102, platform_info=0b100011)
    flags = report.policy_flags()
    assert flags["debug"] and not flags["smt"] and (flags["abi_major"], flags["abi_minor"]) == (1, 2)
    assert report.platform_flags() == {"smt_en": True, "tsme_en": True, "ecc_en": False, "rapl_dis": False,
                                       "ciphertext_hiding_en": False, "alias_check_complete": True,
                                       "iommu_write_safe": False, "tio_en": False}


def test_product_comes_from_cpuid_and_must_agree_with_the_chain(pki: Pki, platform: Platform) -> None:
    """CPUID names the product (v3+); a CPUID this verifier does not know falls back to the pinned
    chain's product; a CPUID naming another known product is refused."""
    import hashlib

    from tests.snp.builder import sign_report

    rd = hashlib.sha512(b"p").digest()
    policy = parse_policy(f'name = "t"\n[snp]\nroots = {{ Genoa = "{pki.ark_pin}", Milan = "{pki.ark_pin}" }}\n'.encode())
    at = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)
    unknown = sign_report(replace(platform.report_fields(rd), cpuid_fam_id=0x17), platform.key)
    a = appraise_snp(unknown, platform.certificates(), policy=policy, at=at, expected_report_data=rd)
    assert a.authentic and a.claims["product"] == "Genoa"
    milan = sign_report(replace(platform.report_fields(rd), cpuid_fam_id=0x19, cpuid_mod_id=0x01), platform.key)
    b = appraise_snp(milan, platform.certificates(), policy=policy, at=at, expected_report_data=rd)
    assert not b.authentic
    assert b.check("snp.vcek.extensions").status is Status.FAIL  # type: ignore[union-attr]


class TestAzureHcl:
    @pytest.mark.vectors
    def test_real_hcl_report(self) -> None:
        data = vector("snp/openpcc/test_azure_sevsnp_report.bin").read_bytes()
        assert is_hcl_report(data)
        hcl = parse_hcl_report(data)
        assert hcl.version == 2 and hcl.hash_name == "sha256"
        assert b'"HCLAkPub"' in hcl.runtime_data
        assert hcl.snp.product is Product.GENOA and hcl.report_data_binds_runtime_data()
        raw, encoding = decode_evidence(data, is_hcl_report)
        assert encoding == "binary" and raw == data

    @pytest.mark.vectors
    def test_altered_runtime_data_is_refused_but_the_report_stays_authentic(self) -> None:
        data = bytearray(vector("snp/openpcc/test_azure_sevsnp_report.bin").read_bytes())
        start = data.index(b"HCLAkPub")
        data[start] = ord("X")
        certs = [vector("snp/openpcc/test_vcek.pem").read_bytes(),
                 vector("snp/trustee/genoa_ask_ark_asvk.pem").read_bytes()]
        a = appraise_snp(bytes(data), certs, policy=parse_policy(b'name = "t"\n[snp]\n'),
                         at=dt.datetime(2025, 7, 1, tzinfo=dt.UTC), expected_report_data=None)
        assert a.authentic
        assert a.check("snp.hcl.runtime_data").status is Status.FAIL  # type: ignore[union-attr]

    @pytest.mark.vectors
    @pytest.mark.parametrize(("offset", "value", "field"), [
        (0, b"XCLA", "hcl.signature"),
        (4, b"\x07\x00\x00\x00", "hcl.version"),
        (16, b"\x01\x00\x00\x00", "hcl.status"),
        (8, b"\xff\xff\x00\x00", "hcl.report_size"),
        (0x4C0 + 8, b"\x04\x00\x00\x00", "hcl.report_type"),
        (0x4C0 + 12, b"\x09\x00\x00\x00", "hcl.hash_type"),
        (0x4C0, b"\x00\x00\x00\x00", "hcl.data_size"),
        (2599, b"\x01", "hcl.padding"),
    ])
    def test_hcl_fields_are_strict(self, offset: int, value: bytes, field: str) -> None:
        data = with_bytes(vector("snp/openpcc/test_azure_sevsnp_report.bin").read_bytes(), offset, value)
        with pytest.raises(ParseError) as e:
            parse_hcl_report(data)
        assert e.value.field == field

    @pytest.mark.vectors
    def test_truncated_hcl(self) -> None:
        data = vector("snp/openpcc/test_azure_sevsnp_report.bin").read_bytes()
        with pytest.raises(ParseError):
            parse_hcl_report(data[:0x4C0])
        with pytest.raises(ParseError):
            parse_hcl_report(data[:2000])
