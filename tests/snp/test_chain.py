"""The AMD chain against a test look-alike PKI: the same code path as real AMD chains and the demo.

The test PKI has AMD's names, sizes and algorithms but its own keys (tests/snp/builder.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import replace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from tests.snp.builder import Pki, Platform, der, pem, sign_report
from tests.snp.conftest import AT, pinned_policy, snp_policy_text
from verifier.appraisal.sev_snp import SnpAppraisal, appraise_snp
from verifier.endorsements import amd
from verifier.evidence.sev_snp import Product, TcbVersion, parse_report
from verifier.result import Status

RD = hashlib.sha512(b"nonce").digest()


def appraise(report: bytes, certs: list[bytes], policy_pki: Pki, extra: str = "",
             **kw: object) -> SnpAppraisal:
    return appraise_snp(report, certs, policy=pinned_policy(policy_pki, extra), at=AT,
                        expected_report_data=kw.pop("expected", RD), **kw)  # type: ignore[arg-type]


def status(a: SnpAppraisal, cid: str) -> Status:
    check = a.check(cid)
    assert check is not None, cid
    return check.status


def first_failure(a: SnpAppraisal) -> str:
    return next(c.id for c in a.checks if c.status is Status.FAIL)


def test_pinned_test_root_gives_a_verified_result(pki: Pki, platform: Platform) -> None:
    a = appraise(platform.report(RD), platform.certificates(), pki)
    assert a.authentic
    assert not [c for c in a.checks if c.status is Status.FAIL], [c for c in a.checks if c.status is Status.FAIL]
    assert not [c for c in a.checks if c.status is Status.SKIP and c.required]
    assert a.claims["product"] == "Genoa"


def test_look_alike_with_amds_exact_names_is_refused_by_the_pin(make_pki: Callable[..., Pki]) -> None:
    fake = make_pki(Product.GENOA, suffix="")
    chip = Platform(fake)
    certs = chip.certificates()
    assert amd.load_certificate(certs[2]).common_name == "ARK-Genoa"
    a = appraise_snp(chip.report(RD), certs, policy=snp_policy_text(""), at=AT,
                     expected_report_data=RD)
    assert not a.authentic
    assert first_failure(a) == "snp.chain.ark_pinned"
    assert "look-alike" in a.check("snp.chain.ark_pinned").detail  # type: ignore[union-attr]
    # Everything else about the fake chain is consistent: only the pin refuses it.
    assert status(a, "snp.chain.ask") is Status.PASS
    assert status(a, "snp.report.signature") is Status.PASS


def test_the_leads_demo_chain_is_accepted_by_the_demo_policy() -> None:
    tee = pytest.importorskip("enclave.tee")
    from enclave_chat.paths import resolve_policy

    sim = tee.SimulatedSnp(measurement=bytes(48))
    a = appraise_snp(sim.report(RD), sim.certificates(), policy=resolve_policy("demo"),
                     at=dt.datetime.now(dt.UTC), expected_report_data=RD)
    assert a.authentic, [c for c in a.checks if c.status is not Status.PASS]
    assert not [c for c in a.checks if c.status is Status.FAIL or (c.status is Status.SKIP and c.required)]
    vendor = appraise_snp(sim.report(RD), sim.certificates(), policy=snp_policy_text(""),
                          at=dt.datetime.now(dt.UTC), expected_report_data=RD)
    assert not vendor.authentic and first_failure(vendor) == "snp.chain.ark_pinned"


def test_vcek_tcb_extension_differs_from_report(pki: Pki, platform: Platform) -> None:
    certs = platform.certificates()
    certs[0] = platform.leaf()  # same key, same chip
    low = dict(platform.tcb, snp=platform.tcb["snp"] - 1)
    certs[0] = pki.leaf(platform.key.public_key(), chip_id=platform.chip_id, tcb=low)
    a = appraise(platform.report(RD), certs, pki)
    assert not a.authentic
    assert first_failure(a) == "snp.vcek.extensions"
    assert "snp 22 vs REPORTED_TCB 23" in a.check("snp.vcek.extensions").detail  # type: ignore[union-attr]
    assert status(a, "snp.report.signature") is Status.PASS


@pytest.mark.parametrize("form", ["raw", "octet"])
def test_hwid_in_either_encoding_is_accepted(pki: Pki, platform: Platform, form: str) -> None:
    certs = platform.certificates(hwid_form=form)
    assert appraise(platform.report(RD), certs, pki).authentic


def test_hwid_mismatch_and_absence_are_refused(pki: Pki, platform: Platform) -> None:
    other = bytes(64 - 1) + b"\x01"
    a = appraise(platform.report(RD), platform.certificates(hwid=other), pki)
    assert first_failure(a) == "snp.vcek.extensions" and "hwID" in a.check("snp.vcek.extensions").detail  # type: ignore[union-attr]
    b = appraise(platform.report(RD), platform.certificates(drop=["1.3.6.1.4.1.3704.1.4"]), pki)
    assert first_failure(b) == "snp.vcek.extensions"


def test_wrong_product_name_is_refused(pki: Pki, platform: Platform) -> None:
    a = appraise(platform.report(RD), platform.certificates(product_name="Milan-B0"), pki)
    assert first_failure(a) == "snp.vcek.extensions"
    assert "Milan" in a.check("snp.vcek.extensions").detail  # type: ignore[union-attr]


def test_masked_chip_id_skips_only_the_hwid_comparison(pki: Pki, platform: Platform) -> None:
    report = sign_report(replace(platform.report_fields(RD), chip_id=bytes(64)), platform.key)
    a = appraise(report, platform.certificates(), pki)
    assert a.authentic
    assert any("masked" in note for note in a.claims["collateral"])  # type: ignore[union-attr]


def test_unsigned_report_is_not_authentic(pki: Pki, platform: Platform) -> None:
    report = sign_report(replace(platform.report_fields(RD), key_info=7 << 2), platform.key)
    a = appraise(report, platform.certificates(), pki)
    assert not a.authentic and first_failure(a) == "snp.chain.certificates"
    assert "not signed" in a.checks[1].detail


def test_report_signed_by_another_key_is_refused(pki: Pki, platform: Platform) -> None:
    other = Platform(pki, chip_id=platform.chip_id)
    a = appraise(other.report(RD), platform.certificates(), pki)
    assert not a.authentic and first_failure(a) == "snp.report.signature"


class TestSignatures:
    def test_ask_signed_by_a_key_other_than_the_ark(self, pki: Pki, platform: Platform) -> None:
        certs = platform.certificates()
        certs[1] = der(pki.ask(signer=pki.ask_key))
        a = appraise(platform.report(RD), certs, pki)
        assert first_failure(a) == "snp.chain.ask"
        assert "does not verify" in a.check("snp.chain.ask").detail  # type: ignore[union-attr]

    @pytest.mark.parametrize("scheme", ["pss-salt-32", "pkcs1v15", "pss-sha256"])
    def test_other_rsa_signature_schemes_are_refused(self, pki: Pki, platform: Platform, scheme: str) -> None:
        kw: dict[str, object] = {
            "pss-salt-32": {"rsa_padding": padding.PSS(padding.MGF1(hashes.SHA384()), 32)},
            "pkcs1v15": {"rsa_padding": padding.PKCS1v15()},
            "pss-sha256": {"rsa_padding": padding.PSS(padding.MGF1(hashes.SHA256()), 32), "hash_alg": hashes.SHA256()},
        }[scheme]  # type: ignore[assignment]
        certs = platform.certificates()
        certs[1] = der(pki.ask(**kw))
        a = appraise(platform.report(RD), certs, pki)
        assert first_failure(a) == "snp.chain.ask"
        assert "RSASSA-PSS with SHA-384" in a.check("snp.chain.ask").detail  # type: ignore[union-attr]

    def test_vcek_signed_by_the_ark_instead_of_the_ask(self, pki: Pki, platform: Platform) -> None:
        certs = platform.certificates(signer=pki.ark_key)
        a = appraise(platform.report(RD), certs, pki)
        assert first_failure(a) == "snp.chain.vcek"

    def test_tampered_vcek_body_is_refused(self, pki: Pki, platform: Platform) -> None:
        certs = platform.certificates()
        leaf = bytearray(certs[0])
        index = leaf.find(platform.chip_id[:16])
        leaf[index] ^= 1  # the hwID inside the signed tbsCertificate
        certs[0] = bytes(leaf)
        a = appraise(platform.report(RD), certs, pki)
        assert status(a, "snp.chain.vcek") is Status.FAIL
        assert not a.authentic

    def test_issuer_name_mismatch(self, pki: Pki, platform: Platform) -> None:
        certs = platform.certificates(issuer=x509.Name.from_rfc4514_string("CN=SEV-Genoa (other)"))
        a = appraise(platform.report(RD), certs, pki)
        assert first_failure(a) == "snp.chain.certificates"
        assert "ASK" in a.checks[1].detail


class TestValidity:
    def test_expired_vcek(self, pki: Pki, platform: Platform) -> None:
        certs = platform.certificates(not_after=dt.datetime(2025, 6, 30, tzinfo=dt.UTC))
        a = appraise(platform.report(RD), certs, pki)
        assert first_failure(a) == "snp.chain.validity"
        assert "expired" in a.check("snp.chain.validity").detail  # type: ignore[union-attr]

    def test_not_yet_valid_ark(self, pki: Pki, platform: Platform) -> None:
        certs = platform.certificates()
        certs[2] = der(pki.ark(not_before=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
        a = appraise(platform.report(RD), certs, pki)
        assert status(a, "snp.chain.validity") is Status.FAIL
        assert not a.authentic


class TestSerialZero:
    def test_builder_makes_serial_zero_like_amd(self, platform: Platform) -> None:
        leaf = amd.load_certificate(platform.leaf())
        assert leaf.serial == 0 and leaf.role is amd.Role.VCEK

    def test_future_cryptography_refusing_serial_zero(self, monkeypatch: pytest.MonkeyPatch,
                                                      pki: Pki, platform: Platform) -> None:
        """Simulate the announced refusal: the chain still verifies, over the original bytes."""
        real = x509.load_der_x509_certificate
        refused: list[int] = []

        def strict_loader(data: bytes) -> x509.Certificate:
            parts = amd.amd_der.split_signed(data, certificate=True)
            if parts.serial == 0:
                refused.append(0)
                raise ValueError("serial number must be positive")
            return real(data)

        monkeypatch.setattr(amd.x509, "load_der_x509_certificate", strict_loader)
        a = appraise(platform.report(RD), platform.certificates(), pki)
        assert refused and a.authentic
        assert a.claims["certificates"]["leaf"]["serial"] == 0  # type: ignore[index]
        # A serial-0 VCEK altered after signing is still refused on that path.
        certs = platform.certificates()
        leaf = bytearray(certs[0])
        leaf[leaf.find(platform.chip_id[:16])] ^= 1
        b = appraise(platform.report(RD), [bytes(leaf), *certs[1:]], pki)
        assert status(b, "snp.chain.vcek") is Status.FAIL

    def test_serial_one_vcek_is_also_accepted(self, pki: Pki, platform: Platform) -> None:
        """The demo VCEK has serial 1: nothing depends on serial 0."""
        a = appraise(platform.report(RD), platform.certificates(serial_zero=False), pki)
        assert a.authentic


class TestRevocation:
    def test_revoked_ask_serial_in_a_test_ark_crl_is_refused(self, pki: Pki, platform: Platform) -> None:
        crl = pki.crl([0x20001, 0x20002])
        a = appraise(platform.report(RD), platform.certificates(), pki, 'revocation = "required"',
                     crls=[crl])
        check = a.check("snp.revocation")
        assert check is not None and check.status is Status.FAIL and "revoked" in check.detail
        assert not a.authentic

    def test_other_serials_revoked_pass(self, pki: Pki, platform: Platform) -> None:
        a = appraise(platform.report(RD), platform.certificates(), pki, 'revocation = "required"',
                     crls=[pki.crl([0x20001])])
        assert status(a, "snp.revocation") is Status.PASS

    def test_vcek_serial_zero_in_a_crl_does_not_matter(self, pki: Pki, platform: Platform) -> None:
        """An ARK CRL lists ASK/ASVK serials; every VCEK has serial 0 and is issued by the ASK."""
        a = appraise(platform.report(RD), platform.certificates(), pki, 'revocation = "required"',
                     crls=[pki.crl([1])])
        assert status(a, "snp.revocation") is Status.PASS

    def test_crl_not_signed_by_the_ark(self, pki: Pki, platform: Platform) -> None:
        forged = pki.crl([], signer=pki.ask_key)
        a = appraise(platform.report(RD), platform.certificates(), pki, 'revocation = "if-available"',
                     crls=[forged])
        check = a.check("snp.revocation")
        assert check is not None and check.status is Status.FAIL and "not signed" in check.detail

    def test_pem_crl_and_garbage_crl(self, pki: Pki, platform: Platform) -> None:
        from cryptography.hazmat.primitives.serialization import Encoding

        pem_crl = x509.load_der_x509_crl(pki.crl()).public_bytes(Encoding.PEM)
        ok = appraise(platform.report(RD), platform.certificates(), pki, 'revocation = "required"',
                      crls=[pem_crl])
        assert status(ok, "snp.revocation") is Status.PASS
        bad = appraise(platform.report(RD), platform.certificates(), pki, 'revocation = "required"',
                       crls=[b"\x30\x03\x02\x01\x00"])
        assert status(bad, "snp.revocation") is Status.FAIL


class TestVlek:
    def test_vlek_chain_with_asvk(self, pki: Pki) -> None:
        chip = Platform(pki, vlek=True)
        policy = 'signing_keys = ["vlek"]\nvlek_csp_ids = ["test-csp"]'
        a = appraise(chip.report(RD), chip.certificates(), pki, policy)
        assert a.authentic and not [c for c in a.checks if c.status is Status.FAIL]
        assert a.claims["csp_id"] == "test-csp"

    def test_vlek_with_a_hwid_is_refused(self, pki: Pki) -> None:
        chip = Platform(pki, vlek=True)
        certs = chip.certificates()
        certs[0] = pki.leaf(chip.key.public_key(), chip_id=bytes(64), tcb=chip.tcb, vlek=True,
                            drop=())
        leaf_with_hwid = pki.leaf(chip.key.public_key(), chip_id=bytes(64), tcb=chip.tcb, vlek=False,
                                  product_name="Genoa")
        # A VCEK-shaped leaf cannot stand in for the VLEK: it has the wrong role and name.
        a = appraise(chip.report(RD), [leaf_with_hwid, *certs[1:]], pki, 'signing_keys = ["vlek"]')
        assert not a.authentic and first_failure(a) == "snp.chain.certificates"

    def test_vlek_without_csp_id_is_refused(self, pki: Pki) -> None:
        chip = Platform(pki, vlek=True)
        certs = chip.certificates(drop=["1.3.6.1.4.1.3704.1.5"])
        a = appraise(chip.report(RD), certs, pki, 'signing_keys = ["vlek"]')
        assert first_failure(a) == "snp.vcek.extensions"
        assert "cspID" in a.check("snp.vcek.extensions").detail  # type: ignore[union-attr]


class TestTurin:
    @pytest.fixture
    def turin(self, make_pki: Callable[..., Pki]) -> tuple[Pki, Platform]:
        t = make_pki(Product.TURIN)
        return t, Platform(t, tcb={"bootloader": 1, "tee": 1, "snp": 4, "microcode": 82, "fmc": 1})

    def test_turin_eight_byte_hwid_and_fmc(self, turin: tuple[Pki, Platform]) -> None:
        t, chip = turin
        report = chip.report(RD)
        parsed = parse_report(report)
        assert parsed.product is Product.TURIN
        assert parsed.tcb("reported").fmc == 1
        a = appraise(report, chip.certificates(), t)
        assert a.authentic, [c for c in a.checks if c.status is not Status.PASS]
        assert a.claims["tcb"]["reported"]["fmc"] == 1  # type: ignore[index]

    def test_turin_fmc_mismatch_and_missing(self, turin: tuple[Pki, Platform]) -> None:
        t, chip = turin
        wrong = t.leaf(chip.key.public_key(), chip_id=chip.chip_id, tcb={**chip.tcb, "fmc": 2})
        a = appraise(chip.report(RD), [wrong, *chip.certificates()[1:]], t)
        assert first_failure(a) == "snp.vcek.extensions" and "fmc" in a.check("snp.vcek.extensions").detail  # type: ignore[union-attr]
        none = chip.certificates(drop=["1.3.6.1.4.1.3704.1.3.9"])
        b = appraise(chip.report(RD), none, t)
        assert first_failure(b) == "snp.vcek.extensions"

    def test_turin_chip_id_with_bytes_past_eight_is_refused(self, turin: tuple[Pki, Platform]) -> None:
        t, chip = turin
        report = sign_report(replace(chip.report_fields(RD), chip_id=chip.chip_id[:8] + b"\x01" + bytes(55)), chip.key)
        a = appraise(report, chip.certificates(), t)
        assert first_failure(a) == "snp.vcek.extensions"

    def test_turin_tcb_layout(self) -> None:
        tcb = TcbVersion.encode(Product.TURIN, bootloader=1, tee=2, snp=3, microcode=4, fmc=5)
        assert tcb.raw.to_bytes(8, "little") == bytes([5, 1, 2, 3, 0, 0, 0, 4])
        genoa = TcbVersion.encode(Product.GENOA, bootloader=1, tee=2, snp=3, microcode=4)
        assert genoa.raw.to_bytes(8, "little") == bytes([1, 2, 0, 0, 0, 0, 3, 4])


class TestInputs:
    def test_garbage_certificate_blob_refuses_even_with_a_good_chain(self, pki: Pki, platform: Platform) -> None:
        a = appraise(platform.report(RD), [*platform.certificates(), b"not a certificate"], pki)
        assert not a.authentic and first_failure(a) == "snp.chain.certificates"
        assert "unreadable" in a.checks[1].detail

    def test_one_pem_blob_with_the_whole_chain(self, pki: Pki, platform: Platform) -> None:
        certs = [x509.load_der_x509_certificate(c) for c in platform.certificates(serial_zero=False)]
        a = appraise(platform.report(RD), [pem(*reversed(certs))], pki)
        assert a.authentic

    def test_several_vceks_pick_the_one_for_this_chip(self, pki: Pki, platform: Platform) -> None:
        other = Platform(pki)
        certs = [other.leaf(), *platform.certificates()]
        assert appraise(platform.report(RD), certs, pki).authentic

    def test_truncated_report_fails_parse_only(self, pki: Pki, platform: Platform) -> None:
        a = appraise(platform.report(RD)[:-1], platform.certificates(), pki)
        assert [c.id for c in a.checks] == ["snp.parse"]
        assert a.checks[0].status is Status.FAIL and a.report is None and not a.authentic
