"""Test-only AMD look-alike PKI: ARK -> ASK/ASVK -> VCEK/VLEK, CRLs, and signed SEV-SNP reports.

Names, sizes and algorithms follow AMD's (VCEK spec 57230): RSA-4096 ARK and ASK signing with
RSASSA-PSS SHA-384 (MGF1-SHA-384, salt 48), P-384 VCEKs with the 1.3.6.1.4.1.3704.1.* extensions.
The keys are the tests' own, so a chain with AMD's exact names is a "look-alike" that the pin must
refuse, and the same chain is accepted when a policy pins the test ARK (the demo-policy path).
RSA-4096 key generation is slow: the keys are made once per session (tests/snp/conftest.py).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from verifier.endorsements import amd_der
from verifier.endorsements.anchors import spki_sha256
from verifier.evidence.sev_snp import (
    POLICY_RESERVED_ONE,
    POLICY_SMT,
    SIGNED_SIZE,
    Product,
    SnpReport,
    TcbVersion,
    empty_report,
    pack_report,
    with_signature,
)

PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48)
NOT_BEFORE = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
NOT_AFTER = dt.datetime(2045, 1, 1, tzinfo=dt.UTC)
AT = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)
CPUID = {Product.MILAN: (0x19, 0x01, 0x01), Product.GENOA: (0x19, 0x11, 0x01),
         Product.TURIN: (0x1A, 0x02, 0x00)}
DEFAULT_TCB = {"bootloader": 10, "tee": 0, "snp": 23, "microcode": 84}


def amd_name(common_name: str) -> x509.Name:
    """AMD's name layout (OU, C, L, ST, O, CN), as on the real KDS certificates."""
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Engineering"),
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.LOCALITY_NAME, "Santa Clara"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "CA"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Advanced Micro Devices"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    octets = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(octets)]) + octets + body


def der_integer(value: int) -> bytes:
    return _tlv(0x02, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def der_ia5(value: str) -> bytes:
    return _tlv(0x16, value.encode("ascii"))


def der_octets(value: bytes) -> bytes:
    return _tlv(0x04, value)


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def with_serial_zero(cert_der: bytes, signer: rsa.RSAPrivateKey) -> bytes:
    """Re-issue ``cert_der`` (serial 1) with serial number 0, as AMD's VCEKs have, re-signed.

    ``cryptography``'s builder refuses serial 0, so the tbsCertificate is patched (same length)
    and signed again over the new bytes.
    """
    parts = amd_der.split_signed(cert_der, certificate=True)
    assert parts.serial == 1
    outer = amd_der.read_tlv(cert_der, 0)
    tbs_tlv, _alg_tlv, sig_tlv = amd_der.children(cert_der, outer)
    fields = amd_der.children(cert_der, tbs_tlv)
    number = fields[1] if fields[0].tag == 0xA0 else fields[0]
    out = bytearray(cert_der)
    out[number.content] = 0
    tbs = bytes(out[tbs_tlv.start:tbs_tlv.end])
    signature = signer.sign(tbs, PSS, hashes.SHA384())
    assert len(signature) == sig_tlv.end - sig_tlv.content - 1
    out[sig_tlv.content + 1:sig_tlv.end] = signature
    return bytes(out)


@dataclass
class Pki:
    """One look-alike hierarchy for one product; the RSA keys are shared across the session."""

    ark_key: rsa.RSAPrivateKey
    ask_key: rsa.RSAPrivateKey
    product: Product = Product.GENOA
    suffix: str = " (TEST)"

    @property
    def ark_name(self) -> x509.Name:
        return amd_name(f"ARK-{self.product.value}{self.suffix}")

    @property
    def ask_name(self) -> x509.Name:
        return amd_name(f"SEV-{self.product.value}{self.suffix}")

    @property
    def asvk_name(self) -> x509.Name:
        return amd_name(f"SEV-VLEK-{self.product.value}{self.suffix}")

    def _ca(self, subject: x509.Name, issuer: x509.Name, public: rsa.RSAPublicKey,
            signer: rsa.RSAPrivateKey, serial: int, *, not_before: dt.datetime = NOT_BEFORE,
            not_after: dt.datetime = NOT_AFTER, hash_alg: hashes.HashAlgorithm | None = None,
            rsa_padding: padding.AsymmetricPadding | None = PSS) -> x509.Certificate:
        return (
            x509.CertificateBuilder()
            .subject_name(subject).issuer_name(issuer).public_key(public)
            .serial_number(serial).not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(signer, hash_alg or hashes.SHA384(), rsa_padding=rsa_padding)
        )

    def ark(self, **kw: object) -> x509.Certificate:
        return self._ca(self.ark_name, self.ark_name, self.ark_key.public_key(), self.ark_key,
                        0x20000, **kw)  # type: ignore[arg-type]

    def ask(self, *, signer: rsa.RSAPrivateKey | None = None, serial: int = 0x20002,
            **kw: object) -> x509.Certificate:
        return self._ca(self.ask_name, self.ark_name, self.ask_key.public_key(),
                        signer or self.ark_key, serial, **kw)  # type: ignore[arg-type]

    def asvk(self, *, serial: int = 0x20101, **kw: object) -> x509.Certificate:
        return self._ca(self.asvk_name, self.ark_name, self.ask_key.public_key(), self.ark_key,
                        serial, **kw)  # type: ignore[arg-type]

    @property
    def ark_pin(self) -> str:
        return spki_sha256(self.ark())

    def leaf(self, public: ec.EllipticCurvePublicKey, *, chip_id: bytes,
             tcb: dict[str, int] | None = None, vlek: bool = False, csp_id: str = "test-csp",
             hwid: bytes | None = None, hwid_form: str = "raw", product_name: str | None = None,
             serial_zero: bool = True, signer: rsa.RSAPrivateKey | None = None,
             issuer: x509.Name | None = None, not_before: dt.datetime = NOT_BEFORE,
             not_after: dt.datetime = NOT_AFTER, drop: Iterable[str] = ()) -> bytes:
        """A VCEK (or VLEK) in DER, serial 0 by default (like AMD's)."""
        spl = dict(tcb or DEFAULT_TCB)
        name = product_name if product_name is not None else (
            self.product.value if vlek or self.product is not Product.MILAN else "Milan-B0")
        exts: list[tuple[str, bytes]] = [
            ("1.3.6.1.4.1.3704.1.1", der_integer(1 if self.product is Product.TURIN else 0)),
            ("1.3.6.1.4.1.3704.1.2", der_ia5(name)),
            ("1.3.6.1.4.1.3704.1.3.1", der_integer(spl["bootloader"])),
            ("1.3.6.1.4.1.3704.1.3.2", der_integer(spl["tee"])),
            ("1.3.6.1.4.1.3704.1.3.3", der_integer(spl["snp"])),
            ("1.3.6.1.4.1.3704.1.3.8", der_integer(spl["microcode"])),
        ]
        if "fmc" in spl:
            exts.append(("1.3.6.1.4.1.3704.1.3.9", der_integer(spl["fmc"])))
        for n in (4, 5, 6, 7):  # the reserved spl_4..spl_7 (.3.4-.3.7), as real VCEKs carry them
            if f"spl{n}" in spl:
                exts.append((f"1.3.6.1.4.1.3704.1.3.{n}", der_integer(spl[f"spl{n}"])))
        if vlek:
            exts.append(("1.3.6.1.4.1.3704.1.5", der_ia5(csp_id)))
        else:
            value = hwid if hwid is not None else (
                chip_id[:8] if self.product is Product.TURIN else chip_id)
            exts.append(("1.3.6.1.4.1.3704.1.4", der_octets(value) if hwid_form == "octet" else value))
        subject = amd_name(f"SEV-{'VLEK' if vlek else 'VCEK'}{self.suffix}")
        default_issuer = self.asvk_name if vlek else self.ask_name
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject).issuer_name(issuer or default_issuer).public_key(public)
            .serial_number(1).not_valid_before(not_before).not_valid_after(not_after)
        )
        for oid, value in exts:
            if oid not in drop:
                builder = builder.add_extension(
                    x509.UnrecognizedExtension(x509.ObjectIdentifier(oid), value), critical=False)
        key = signer or self.ask_key
        cert = der(builder.sign(key, hashes.SHA384(), rsa_padding=PSS))
        return with_serial_zero(cert, key) if serial_zero else cert

    def crl(self, revoked: Iterable[int] = (), *, last: dt.datetime = dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
            nxt: dt.datetime = dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            signer: rsa.RSAPrivateKey | None = None) -> bytes:
        builder = (x509.CertificateRevocationListBuilder().issuer_name(self.ark_name)
                   .last_update(last).next_update(nxt))
        for serial in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial)
                .revocation_date(dt.datetime(2024, 6, 1, tzinfo=dt.UTC)).build())
        crl = builder.sign(signer or self.ark_key, hashes.SHA384(), rsa_padding=PSS)
        return crl.public_bytes(serialization.Encoding.DER)


def sign_report(report: SnpReport, key: ec.EllipticCurvePrivateKey) -> bytes:
    """ECDSA P-384 / SHA-384 over bytes 0x000-0x29F; r and s little-endian (ABI spec 56860)."""
    signed = pack_report(report)[:SIGNED_SIZE]
    r, s = decode_dss_signature(key.sign(signed, ec.ECDSA(hashes.SHA384())))
    return pack_report(with_signature(report, r, s))


@dataclass
class Platform:
    """A simulated chip: VCEK key, CHIP_ID and TCB; makes signed reports and its certificates."""

    pki: Pki
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP384R1()))
    chip_id: bytes = b""
    tcb: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_TCB))
    vlek: bool = False

    def __post_init__(self) -> None:
        if not self.chip_id:
            if self.vlek:
                self.chip_id = bytes(64)
            elif self.pki.product is Product.TURIN:
                self.chip_id = secrets.token_bytes(8) + bytes(56)
            else:
                self.chip_id = secrets.token_bytes(64)
        if self.pki.product is Product.TURIN:
            self.tcb.setdefault("fmc", 1)

    def leaf(self, **kw: object) -> bytes:
        return self.pki.leaf(self.key.public_key(), chip_id=self.chip_id, tcb=self.tcb,
                             vlek=self.vlek, **kw)  # type: ignore[arg-type]

    def certificates(self, **kw: object) -> list[bytes]:
        mid = self.pki.asvk() if self.vlek else self.pki.ask()
        return [self.leaf(**kw), der(mid), der(self.pki.ark())]

    def report_fields(self, report_data: bytes = bytes(64), **overrides: object) -> SnpReport:
        tcb = TcbVersion.encode(self.pki.product, bootloader=self.tcb["bootloader"],
                                tee=self.tcb["tee"], snp=self.tcb["snp"],
                                microcode=self.tcb["microcode"], fmc=self.tcb.get("fmc", 0)).raw
        fam, mod, step = CPUID[self.pki.product]
        report = empty_report(
            version=3, guest_svn=1, policy=POLICY_RESERVED_ONE | POLICY_SMT, vmpl=0,
            current_tcb_raw=tcb, reported_tcb_raw=tcb, committed_tcb_raw=tcb, launch_tcb_raw=tcb,
            platform_info=0b100011, key_info=(1 << 2) if self.vlek else 0,
            report_data=report_data, measurement=secrets.token_bytes(48),
            chip_id=self.chip_id, cpuid_fam_id=fam, cpuid_mod_id=mod, cpuid_step=step,
            current_major=1, current_minor=55, current_build=21,
            committed_major=1, committed_minor=55, committed_build=21,
        )
        return replace(report, **overrides)  # type: ignore[arg-type]

    def report(self, report_data: bytes = bytes(64), **overrides: object) -> bytes:
        return sign_report(self.report_fields(report_data, **overrides), self.key)
