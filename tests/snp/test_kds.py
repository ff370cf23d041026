"""AMD KDS: URL shapes, and fetching through CollateralFetcher (httpx.MockTransport, no network)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from tests.snp.builder import Pki, Platform, pem, sign_report
from tests.snp.conftest import AT, pinned_policy
from verifier.appraisal.sev_snp import appraise_snp
from verifier.endorsements.fetch import CollateralFetcher
from verifier.endorsements.kds import KdsClient, cert_chain_url, crl_url, vcek_url
from verifier.errors import CollateralError, OfflineError, ParseError
from verifier.evidence.sev_snp import Product, TcbVersion
from verifier.result import Status

RD = hashlib.sha512(b"kds").digest()
CHIP = bytes(range(64))


class TestUrls:
    def test_milan_vcek_url(self) -> None:
        tcb = TcbVersion.encode(Product.MILAN, bootloader=3, tee=0, snp=8, microcode=115)
        assert vcek_url(Product.MILAN, CHIP, tcb) == (
            "https://kdsintf.amd.com/vcek/v1/Milan/" + CHIP.hex()
            + "?blSPL=03&teeSPL=00&snpSPL=08&ucodeSPL=115")

    def test_genoa_vcek_url(self) -> None:
        tcb = TcbVersion.encode(Product.GENOA, bootloader=10, tee=0, snp=23, microcode=84)
        url = vcek_url(Product.GENOA, CHIP, tcb)
        assert url.startswith("https://kdsintf.amd.com/vcek/v1/Genoa/000102")
        assert url.endswith("?blSPL=10&teeSPL=00&snpSPL=23&ucodeSPL=84")

    def test_turin_vcek_url_has_8_byte_hwid_and_fmc_first(self) -> None:
        chip = bytes.fromhex("6bb1229b7692b710") + bytes(56)
        tcb = TcbVersion.encode(Product.TURIN, bootloader=1, tee=1, snp=4, microcode=82, fmc=1)
        assert vcek_url(Product.TURIN, chip, tcb) == (
            "https://kdsintf.amd.com/vcek/v1/Turin/6bb1229b7692b710"
            "?fmcSPL=01&blSPL=01&teeSPL=01&snpSPL=04&ucodeSPL=82")

    def test_turin_chip_id_must_have_only_8_significant_bytes(self) -> None:
        tcb = TcbVersion.encode(Product.TURIN, bootloader=1, tee=1, snp=4, microcode=82, fmc=1)
        with pytest.raises(ParseError, match="8 significant bytes"):
            vcek_url(Product.TURIN, CHIP, tcb)

    def test_chain_and_crl_urls(self) -> None:
        assert cert_chain_url(Product.GENOA) == "https://kdsintf.amd.com/vcek/v1/Genoa/cert_chain"
        assert cert_chain_url(Product.MILAN, "vlek") == "https://kdsintf.amd.com/vlek/v1/Milan/cert_chain"
        assert crl_url(Product.TURIN) == "https://kdsintf.amd.com/vcek/v1/Turin/crl"
        assert crl_url(Product.GENOA, "vlek") == "https://kdsintf.amd.com/vlek/v1/Genoa/crl"
        with pytest.raises(ParseError):
            crl_url(Product.UNKNOWN)


class FakeKds:
    """Answers KDS URLs for one test platform; records every request."""

    def __init__(self, pki: Pki, platform: Platform, *, throttle: int = 0) -> None:
        self.requests: list[str] = []
        self.throttle = throttle
        ask = x509.load_der_x509_certificate(platform.certificates(serial_zero=False)[1])
        ark = x509.load_der_x509_certificate(platform.certificates(serial_zero=False)[2])
        tcb = TcbVersion.encode(pki.product, **platform.tcb)
        self.routes = {
            vcek_url(pki.product, platform.chip_id, tcb): platform.leaf(),
            cert_chain_url(pki.product): pem(ask, ark),
            crl_url(pki.product): pki.crl([0x20001]),
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        self.requests.append(url)
        if self.throttle:
            self.throttle -= 1
            return httpx.Response(429, headers={"retry-after": "2"})
        body = self.routes.get(url)
        return httpx.Response(200, content=body) if body is not None else httpx.Response(404)

    def fetcher(self, cache: Path, *, offline: bool = False,
                sleeps: list[float] | None = None) -> CollateralFetcher:
        record: list[float] = sleeps if sleeps is not None else []
        return CollateralFetcher(cache, offline=offline, client=httpx.Client(transport=httpx.MockTransport(self)),
                                 sleep=record.append)


def test_missing_vcek_and_chain_are_fetched_then_served_from_cache(pki: Pki, platform: Platform,
                                                                   tmp_path: Path) -> None:
    kds = FakeKds(pki, platform)
    policy = pinned_policy(pki, 'revocation = "required"')
    a = appraise_snp(platform.report(RD), [], policy=policy, at=AT, expected_report_data=RD,
                     fetcher=kds.fetcher(tmp_path))
    assert a.authentic
    assert a.check("snp.revocation").status is Status.PASS  # type: ignore[union-attr]
    assert sorted(kds.requests) == sorted(kds.routes)
    # offline: the same answers come from the cache, and nothing is requested
    kds.requests.clear()
    b = appraise_snp(platform.report(RD), [], policy=policy, at=AT, expected_report_data=RD,
                     fetcher=kds.fetcher(tmp_path, offline=True))
    assert b.authentic and kds.requests == []


def test_only_the_vcek_is_fetched_when_the_chain_is_given(pki: Pki, platform: Platform, tmp_path: Path) -> None:
    kds = FakeKds(pki, platform)
    a = appraise_snp(platform.report(RD), platform.certificates()[1:], policy=pinned_policy(pki), at=AT,
                     expected_report_data=RD, fetcher=kds.fetcher(tmp_path))
    assert a.authentic
    assert len(kds.requests) == 1 and "/vcek/v1/Genoa/" in kds.requests[0] and "blSPL=10" in kds.requests[0]


def test_kds_429_is_retried_with_backoff(pki: Pki, platform: Platform, tmp_path: Path) -> None:
    kds = FakeKds(pki, platform, throttle=2)
    sleeps: list[float] = []
    a = appraise_snp(platform.report(RD), platform.certificates()[1:], policy=pinned_policy(pki), at=AT,
                     expected_report_data=RD, fetcher=kds.fetcher(tmp_path, sleeps=sleeps))
    assert a.authentic
    assert sleeps == [2.0, 2.0]


def test_kds_404_is_vcek_not_available(pki: Pki, platform: Platform, tmp_path: Path) -> None:
    kds = FakeKds(pki, platform)
    kds.routes.clear()
    a = appraise_snp(platform.report(RD), [], policy=pinned_policy(pki), at=AT,
                     expected_report_data=RD, fetcher=kds.fetcher(tmp_path))
    assert not a.authentic
    assert a.checks[1].id == "snp.chain.certificates"
    assert a.checks[1].detail.startswith("VCEK not available")
    assert any("HTTP 404" in note for note in a.claims["collateral"])  # type: ignore[union-attr]


def test_offline_with_empty_cache_makes_no_request(pki: Pki, platform: Platform, tmp_path: Path) -> None:
    kds = FakeKds(pki, platform)
    a = appraise_snp(platform.report(RD), [], policy=pinned_policy(pki), at=AT,
                     expected_report_data=RD, fetcher=kds.fetcher(tmp_path, offline=True))
    assert kds.requests == [] and not a.authentic
    assert "--offline" in a.checks[1].detail


def test_v2_report_tries_each_product_the_policy_accepts(make_pki: Callable[..., Pki], tmp_path: Path) -> None:
    """A v2 report names no product (no CPUID): KDS is asked per product, in the policy's order."""
    genoa = make_pki(Product.GENOA)
    chip = Platform(genoa)
    report = sign_report(replace(chip.report_fields(RD), version=2, cpuid_fam_id=0, cpuid_mod_id=0,
                                 cpuid_step=0), chip.key)
    kds = FakeKds(genoa, chip)
    kds.routes[cert_chain_url(Product.MILAN)] = kds.routes[cert_chain_url(Product.GENOA)]
    policy = pinned_policy(genoa, 'products = ["Milan", "Genoa"]')
    a = appraise_snp(report, [], policy=policy, at=AT, expected_report_data=RD,
                     fetcher=kds.fetcher(tmp_path))
    assert a.authentic and a.claims["product"] == "Genoa"
    assert [url.split("/")[5] for url in kds.requests] == ["Milan", "Genoa", "Genoa"]
    assert kds.requests[-1] == cert_chain_url(Product.GENOA)


def test_kds_client_crl_and_errors(pki: Pki, platform: Platform, tmp_path: Path) -> None:
    kds = FakeKds(pki, platform)
    client = KdsClient(kds.fetcher(tmp_path))
    assert x509.load_der_x509_crl(client.crl(Product.GENOA)).issuer == pki.ark_name
    with pytest.raises(CollateralError):
        client.cert_chain(Product.GENOA, "vlek")
    offline = KdsClient(kds.fetcher(tmp_path / "other", offline=True))
    with pytest.raises(OfflineError):
        offline.crl(Product.GENOA)
