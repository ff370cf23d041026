"""INSECURE DEMO roots: a demo AMD-style ARK -> ASK -> VCEK chain for the simulated SEV-SNP hardware.

The shapes follow AMD's (VCEK spec 57230): RSA-4096 ARK and ASK signing with RSASSA-PSS SHA-384
(MGF1-SHA-384, salt 48), the ARK self-signed, a P-384 VCEK signed by the ASK and carrying AMD's
extensions (OIDs 1.3.6.1.4.1.3704.1.*). The names end in "(INSECURE DEMO)" so that nobody mistakes
them for AMD's. The private keys are committed in ``enclave/demo_keys``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from enclave import der
from verifier.endorsements.amd import (
    OID_BL_SPL,
    OID_HWID,
    OID_PRODUCT_NAME,
    OID_SNP_SPL,
    OID_STRUCT_VERSION,
    OID_TEE_SPL,
    OID_UCODE_SPL,
)

KEYS = Path(__file__).parent / "demo_keys"
PRODUCT = "Genoa"
NOT_BEFORE = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
NOT_AFTER = dt.datetime(2050, 1, 1, tzinfo=dt.UTC)

PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48)



def amd_style_name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Engineering"),
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.LOCALITY_NAME, "Santa Clara"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "CA"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Advanced Micro Devices"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


ARK_NAME = amd_style_name(f"ARK-{PRODUCT} (INSECURE DEMO)")
ASK_NAME = amd_style_name(f"SEV-{PRODUCT} (INSECURE DEMO)")
VCEK_NAME = amd_style_name("SEV-VCEK (INSECURE DEMO)")


def _load(name: str) -> object:
    return serialization.load_pem_private_key((KEYS / name).read_bytes(), password=None)


@cache
def ark_key() -> rsa.RSAPrivateKey:
    key = _load("ark-INSECURE-DEMO.pem")
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


@cache
def ask_key() -> rsa.RSAPrivateKey:
    key = _load("ask-INSECURE-DEMO.pem")
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


@cache
def publisher_key() -> Ed25519PrivateKey:
    key = _load("publisher-INSECURE-DEMO.pem")
    assert isinstance(key, Ed25519PrivateKey)
    return key


def _ca_cert(subject: x509.Name, issuer: x509.Name, public: rsa.RSAPublicKey,
             signer: rsa.RSAPrivateKey, serial: int, path_length: int) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(issuer).public_key(public)
        .serial_number(serial).not_valid_before(NOT_BEFORE).not_valid_after(NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=True, crl_sign=True,
                                     encipher_only=False, decipher_only=False), critical=True)
        .sign(signer, hashes.SHA384(), rsa_padding=PSS)
    )


@cache
def ark_certificate() -> x509.Certificate:
    return _ca_cert(ARK_NAME, ARK_NAME, ark_key().public_key(), ark_key(), 0x20000, 1)


@cache
def ask_certificate() -> x509.Certificate:
    return _ca_cert(ASK_NAME, ARK_NAME, ask_key().public_key(), ark_key(), 0x20002, 0)


@dataclass(frozen=True)
class Tcb:
    bootloader: int = 10
    tee: int = 0
    snp: int = 23
    microcode: int = 84


def issue_vcek(vcek_public: ec.EllipticCurvePublicKey, chip_id: bytes, tcb: Tcb,
               *, signer: rsa.RSAPrivateKey | None = None,
               issuer: x509.Name = ASK_NAME) -> x509.Certificate:
    """A VCEK for ``chip_id`` at ``tcb``, with AMD's extensions, signed by the demo ASK
    (or by ``signer``, which attack modes use to make a VCEK that does not chain)."""
    def ext(oid: str, value: bytes) -> x509.UnrecognizedExtension:
        return x509.UnrecognizedExtension(x509.ObjectIdentifier(oid), value)

    builder = (
        x509.CertificateBuilder()
        .subject_name(VCEK_NAME).issuer_name(issuer).public_key(vcek_public)
        .serial_number(1).not_valid_before(NOT_BEFORE).not_valid_after(NOT_AFTER)
    )
    for oid, value in (
        (OID_STRUCT_VERSION, der.integer(1)),
        (OID_PRODUCT_NAME, der.ia5string(PRODUCT)),
        (OID_BL_SPL, der.integer(tcb.bootloader)),
        (OID_TEE_SPL, der.integer(tcb.tee)),
        (OID_SNP_SPL, der.integer(tcb.snp)),
        (OID_UCODE_SPL, der.integer(tcb.microcode)),
        (OID_HWID, der.octet_string(chip_id)),
    ):
        builder = builder.add_extension(ext(oid, value), critical=False)
    return builder.sign(signer or ask_key(), hashes.SHA384(), rsa_padding=PSS)


def der_bytes(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)
