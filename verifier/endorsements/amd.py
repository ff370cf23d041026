"""AMD's SEV-SNP certificate hierarchy: ARK -> ASK (or ASVK) -> VCEK (or VLEK), and the ARK's CRL.

Facts from AMD's "Versioned Chip Endorsement Key (VCEK) Certificate and KDS Interface
Specification" (57230) and "Versioned Loaded Endorsement Key (VLEK) Certificate" (58369):

- ARK (AMD Root Key) and ASK (AMD SEV Key, or ASVK for VLEKs) are RSA-4096 certificates; the ARK
  is self-signed and signs the ASK/ASVK and the CRL (57230 §2.1, §2.3).
- VCEK and VLEK are ECDSA P-384 keys in certificates signed by the ASK/ASVK (57230 §2.2).
- Every signature is RSASSA-PSS with SHA-384, MGF1-SHA-384 and a 48-byte salt (57230 §2.3).
- VCEK extensions under 1.3.6.1.4.1.3704.1 (57230 §3.1, Table 8): structVersion (.1),
  productName1 (.2), blSPL (.3.1), teeSPL (.3.2), snpSPL (.3.3), spl_4..7 (.3.4-.3.7),
  ucodeSPL (.3.8), fmcSPL (.3.9, Turin), hwID (.4: the CHIP_ID, 64 bytes; 8 on Turin), and on
  VLEKs cspID (.5, an IA5String naming the cloud provider) instead of a hwID.

Serial number 0: every real VCEK and VLEK has serial number 0, which RFC 5280 §4.1.2.2 forbids;
``cryptography`` 50 loads such certificates with a ``CryptographyDeprecationWarning`` and says a
future release will refuse them. This module handles that on purpose: it reads the serial number,
``tbsCertificate`` and signature from the DER itself (:mod:`verifier.endorsements.amd_der`),
silences exactly that warning for serial-0 certificates, and, should ``cryptography`` refuse one,
loads a copy whose serial octet is 1 only to read names, validity, extensions and the key. The
signature is always verified over the original ``tbsCertificate`` bytes, so the copy can never make
a forged certificate pass.
"""

from __future__ import annotations

import base64
import binascii
import enum
import functools
import hashlib
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID

from verifier.endorsements import amd_der
from verifier.errors import ParseError
from verifier.memo import VerifiedCache

# -- 57230 §3.1 Table 8: VCEK/VLEK extension OIDs -------------------------------------------------
OID_STRUCT_VERSION = "1.3.6.1.4.1.3704.1.1"
OID_PRODUCT_NAME = "1.3.6.1.4.1.3704.1.2"
OID_BL_SPL = "1.3.6.1.4.1.3704.1.3.1"
OID_TEE_SPL = "1.3.6.1.4.1.3704.1.3.2"
OID_SNP_SPL = "1.3.6.1.4.1.3704.1.3.3"
OID_UCODE_SPL = "1.3.6.1.4.1.3704.1.3.8"
OID_FMC_SPL = "1.3.6.1.4.1.3704.1.3.9"
OID_RESERVED_SPLS = {n: f"1.3.6.1.4.1.3704.1.3.{n}" for n in (4, 5, 6, 7)}
OID_HWID = "1.3.6.1.4.1.3704.1.4"
OID_CSP_ID = "1.3.6.1.4.1.3704.1.5"

MAX_CERT_BYTES = 64 * 1024
MAX_CERTS = 16
AMD_RSA_BITS = 4096
PSS_SALT = 48
DEMO_SUFFIX = " (INSECURE DEMO)"

_X509_ERRORS = (ValueError, TypeError, NotImplementedError, UnsupportedAlgorithm,
                x509.InvalidVersion, x509.DuplicateExtension, x509.UnsupportedGeneralNameType,
                x509.AttributeNotFound)
"""What ``cryptography`` raises on malformed certificates and CRLs (not all are ValueErrors)."""

_PEM_BLOCK = re.compile(
    rb"-----BEGIN ([A-Z0-9 ]+)-----\s*([A-Za-z0-9+/=\s]*?)\s*-----END \1-----", re.S)
_CN_PRODUCT = re.compile(r"^(ARK|SEV|SEV-VLEK)-(Milan|Genoa|Turin)(?:\s|$)")


class Role(enum.StrEnum):
    """Where a certificate sits in AMD's hierarchy (57230 §2)."""

    ARK = "ARK"
    ASK = "ASK"
    ASVK = "ASVK"
    VCEK = "VCEK"
    VLEK = "VLEK"
    OTHER = "other"


@dataclass(frozen=True)
class VcekExtensions:
    """The AMD extensions of a VCEK or VLEK certificate (57230 §3.1 Table 8)."""

    struct_version: int | None
    product_name: str | None  # e.g. "Milan-B0", "Genoa", "Turin"
    bootloader: int | None
    tee: int | None
    snp: int | None
    microcode: int | None
    fmc: int | None
    hwid: bytes | None
    csp_id: str | None
    reserved_spls: Mapping[int, int] = field(default_factory=dict)
    """spl_4..spl_7 (1.3.6.1.4.1.3704.1.3.4-.7), the reserved TCB bytes, by number; absent ones are not keys."""

    @property
    def product_line(self) -> str | None:
        """productName1 without the stepping ("Milan-B0" -> "Milan")."""
        if self.product_name is None:
            return None
        return self.product_name.split("-", 1)[0]

    def spls(self) -> dict[str, int | None]:
        out = {"bootloader": self.bootloader, "tee": self.tee, "snp": self.snp,
               "microcode": self.microcode}
        if self.fmc is not None:
            out["fmc"] = self.fmc
        return out


@dataclass(frozen=True)
class AmdCertificate:
    """One certificate, with the raw parts its signature covers and its role in the hierarchy."""

    der: bytes
    cert: x509.Certificate = field(repr=False)
    tbs: bytes = field(repr=False)
    algorithm: bytes = field(repr=False)
    signature: bytes = field(repr=False)
    serial: int
    role: Role
    product: str | None  # from the CN (ARK-/SEV-/SEV-VLEK-<product>) or productName1
    spki_sha256: str
    subject_der: bytes = field(repr=False)  # names compare by their exact DER (AMD's never vary)
    issuer_der: bytes = field(repr=False)
    common_name: str = ""

    @property
    def subject(self) -> x509.Name:
        return self.cert.subject

    @property
    def issuer(self) -> x509.Name:
        return self.cert.issuer

    @functools.cached_property
    def _extensions(self) -> VcekExtensions:
        return vcek_extensions(self.cert)

    def extensions(self) -> VcekExtensions:
        """The AMD extensions (decoded once; a malformed one raises ParseError every time)."""
        return self._extensions

    def describe(self) -> str:
        return f"{self.role} {self.common_name!r} (serial {self.serial})"


def _common_name(name: x509.Name) -> str:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = values[0].value if values else ""
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _load_x509(der: bytes, serial: int) -> x509.Certificate:
    """Load with ``cryptography``; serial 0 on purpose (see the module docstring)."""
    if serial > 0:
        return x509.load_der_x509_certificate(der)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning,
                                message=".*serial number.*")
        try:
            return x509.load_der_x509_certificate(der)
        except ValueError:
            if serial != 0:
                raise
    # A cryptography that refuses serial 0: read a copy whose serial INTEGER content is 1 (same
    # length). Only names, validity, extensions and the key are read from it; signatures are
    # checked over the original tbsCertificate.
    outer = amd_der.read_tlv(der, 0)
    tbs = amd_der.children(der, outer)[0]
    fields = amd_der.children(der, tbs)
    number = fields[1] if fields[0].tag == 0xA0 else fields[0]
    patched = bytearray(der)
    patched[number.content] = 0x01
    return x509.load_der_x509_certificate(bytes(patched))


def _role_and_product(cert: x509.Certificate) -> tuple[Role, str | None]:
    cn = _common_name(cert.subject)
    key = cert.public_key()
    match = _CN_PRODUCT.match(cn)
    if isinstance(key, rsa.RSAPublicKey):
        if cert.subject == cert.issuer:
            return Role.ARK, match.group(2) if match else None
        if match and match.group(1) == "SEV-VLEK":
            return Role.ASVK, match.group(2)
        return Role.ASK, match.group(2) if match else None
    if isinstance(key, ec.EllipticCurvePublicKey):
        oids = {e.oid.dotted_string for e in cert.extensions}  # a ValueError: load_certificate
        product: str | None = None
        try:
            product = vcek_extensions(cert).product_line
        except ParseError:
            product = None
        if cn.startswith("SEV-VLEK") or OID_CSP_ID in oids:
            return Role.VLEK, product
        if cn.startswith("SEV-VCEK") or OID_HWID in oids:
            return Role.VCEK, product
    return Role.OTHER, None


def load_certificate(der: bytes) -> AmdCertificate:
    """One DER certificate as an :class:`AmdCertificate`; a malformed one is a ParseError."""
    if len(der) > MAX_CERT_BYTES:
        raise ParseError(f"is larger than {MAX_CERT_BYTES} bytes", field="certificate")
    parts = amd_der.split_signed(der, certificate=True)
    assert parts.serial is not None
    try:
        cert = _load_x509(der, parts.serial)
        # cryptography decodes these lazily: decode each once here, so that a malformed field
        # is this ParseError and not an exception later, deep in the appraisal.
        _ = (cert.subject, cert.issuer, cert.not_valid_before_utc, cert.not_valid_after_utc,
             list(cert.extensions), cert.signature_algorithm_oid)
        role, product = _role_and_product(cert)
        spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
    except _X509_ERRORS as e:
        raise ParseError(f"is not a certificate this verifier can read ({e})",
                         field="certificate") from None
    return AmdCertificate(der, cert, parts.tbs, parts.algorithm, parts.signature, parts.serial,
                          role, product, hashlib.sha256(spki).hexdigest(),
                          parts.subject, parts.issuer, _common_name(cert.subject))


def pem_blocks(data: bytes, label: str) -> list[bytes]:
    """DER bodies of every ``-----BEGIN <label>-----`` block in ``data``."""
    out: list[bytes] = []
    for m in _PEM_BLOCK.finditer(data):
        if m.group(1).decode() != label:
            continue
        try:
            out.append(base64.b64decode(b"".join(m.group(2).split()), validate=True))
        except (binascii.Error, ValueError):
            raise ParseError(f"a PEM {label} block is not valid base64", field="certificate") from None
    return out


def _load_blob(blob: bytes) -> tuple[AmdCertificate, ...]:
    if b"-----BEGIN" in blob:
        ders = pem_blocks(blob, "CERTIFICATE")
        if not ders:
            raise ParseError("a PEM blob holds no CERTIFICATE block", field="certificate")
    else:
        ders = [blob]
    if len(ders) > MAX_CERTS:
        raise ParseError(f"more than {MAX_CERTS} certificates", field="certificate")
    return tuple(load_certificate(der) for der in ders)


_cached_blob = functools.lru_cache(maxsize=128)(_load_blob)
CACHEABLE_BLOB = 64 * 1024
"""Parsed certificates are remembered by their exact bytes (an :class:`AmdCertificate` is
immutable); the same VCEK and chain arrive with every attestation of a service."""


def load_certificates(blobs: Iterable[bytes]) -> list[AmdCertificate]:
    """Certificates from DER or PEM blobs (each PEM blob may hold many), in the order given."""
    out: list[AmdCertificate] = []
    for blob in blobs:
        data = bytes(blob)
        out.extend(_cached_blob(data) if len(data) <= CACHEABLE_BLOB else _load_blob(data))
        if len(out) > MAX_CERTS:
            raise ParseError(f"more than {MAX_CERTS} certificates", field="certificate")
    return out


# -- extensions ----------------------------------------------------------------------------------
def _ext_int(value: bytes, what: str) -> int:
    number = amd_der.decode_integer(amd_der.single(value, amd_der.TAG_INTEGER, what), what)
    if not 0 <= number <= 0xFF:
        raise ParseError(f"{number} is not a one-byte security patch level", field=what)
    return number


def _ext_ia5(value: bytes, what: str) -> str:
    raw = amd_der.single(value, amd_der.TAG_IA5STRING, what)
    if any(b > 0x7F for b in raw):
        raise ParseError("IA5String holds a non-ASCII byte", field=what)
    return raw.decode("ascii")


def hwid_value(value: bytes) -> bytes:
    """The hwID extension's bytes.

    AMD's KDS puts the raw CHIP_ID (64 bytes; 8 on Turin) directly in extnValue; other issuers
    wrap it in an OCTET STRING. A value of exactly 8 or 64 bytes is raw; otherwise it must be one
    OCTET STRING of 8 or 64 bytes.
    """
    if len(value) in (8, 64):
        return value
    inner = amd_der.single(value, amd_der.TAG_OCTET_STRING, "hwID")
    if len(inner) not in (8, 64):
        raise ParseError(f"is {len(inner)} bytes, not 8 or 64", field="hwID")
    return inner


def vcek_extensions(cert: x509.Certificate) -> VcekExtensions:
    """Decode the AMD extensions of a VCEK/VLEK (57230 §3.1 Table 8); absent ones are None."""
    raw: dict[str, bytes] = {}
    try:
        extensions = list(cert.extensions)
    except _X509_ERRORS as e:
        raise ParseError(f"the extensions are malformed ({e})", field="certificate") from None
    for ext in extensions:
        value = ext.value
        if isinstance(value, x509.UnrecognizedExtension):
            raw[ext.oid.dotted_string] = value.value

    def integer(oid: str, name: str) -> int | None:
        return _ext_int(raw[oid], name) if oid in raw else None

    return VcekExtensions(
        struct_version=(amd_der.decode_integer(
            amd_der.single(raw[OID_STRUCT_VERSION], amd_der.TAG_INTEGER, "structVersion"),
            "structVersion") if OID_STRUCT_VERSION in raw else None),
        product_name=_ext_ia5(raw[OID_PRODUCT_NAME], "productName1") if OID_PRODUCT_NAME in raw else None,
        bootloader=integer(OID_BL_SPL, "blSPL"),
        tee=integer(OID_TEE_SPL, "teeSPL"),
        snp=integer(OID_SNP_SPL, "snpSPL"),
        microcode=integer(OID_UCODE_SPL, "ucodeSPL"),
        fmc=integer(OID_FMC_SPL, "fmcSPL"),
        hwid=hwid_value(raw[OID_HWID]) if OID_HWID in raw else None,
        csp_id=_ext_ia5(raw[OID_CSP_ID], "cspID") if OID_CSP_ID in raw else None,
        reserved_spls={n: _ext_int(raw[oid], f"spl_{n}") for n, oid in OID_RESERVED_SPLS.items() if oid in raw},
    )


# -- signatures ----------------------------------------------------------------------------------
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=PSS_SALT)

VERIFIED = VerifiedCache("AMD RSA-PSS signatures", 256)
"""Process-wide memory of verified RSA-PSS signatures (ARK self-signature, ASK, VCEK, CRL), keyed
by the issuer's SubjectPublicKeyInfo SHA-256 and the signed object's full DER: a hit means exactly
these bytes verified under exactly this key before (:mod:`verifier.memo`). Validity
times, pins and revocation are checked every time."""


def pss_signature_problem(tbs: bytes, algorithm: bytes, signature: bytes, signed_der: bytes,
                          issuer: AmdCertificate) -> str | None:
    """None when ``signature`` over ``tbs`` verifies under ``issuer``'s RSA key, AMD's way.

    AMD's way is RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48, from an RSA-4096 key (57230 §2.3);
    anything else is named in the returned sentence.
    """
    cache_key = VERIFIED.key(bytes.fromhex(issuer.spki_sha256), signed_der)
    if VERIFIED.hit(cache_key):  # these exact bytes passed every test below under this key
        return None
    if not amd_der.is_rsassa_pss_sha384_salt48(algorithm):
        return "the signature algorithm is not RSASSA-PSS with SHA-384, MGF1-SHA-384 and salt 48"
    key = issuer.cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        return f"the issuer {issuer.common_name!r} does not have an RSA key"
    if key.key_size != AMD_RSA_BITS:
        return f"the issuer's RSA key has {key.key_size} bits, not {AMD_RSA_BITS}"
    try:
        key.verify(signature, tbs, _PSS, hashes.SHA384())
    except InvalidSignature:
        return f"the signature does not verify under the key of {issuer.common_name!r}"
    VERIFIED.add(cache_key)
    return None


def certificate_signature_problem(child: AmdCertificate, issuer: AmdCertificate) -> str | None:
    """None when ``child`` names ``issuer`` as its issuer and ``issuer`` signed it, AMD's way."""
    if child.issuer_der != issuer.subject_der:
        return (f"{child.common_name!r} names issuer {_common_name(child.issuer)!r}, "
                f"not {issuer.common_name!r}")
    return pss_signature_problem(child.tbs, child.algorithm, child.signature, child.der, issuer)


def validity_problem(cert: AmdCertificate, at: datetime) -> str | None:
    """None when ``at`` lies within the certificate's notBefore..notAfter (RFC 5280 §4.1.2.5)."""
    start, end = cert.cert.not_valid_before_utc, cert.cert.not_valid_after_utc
    if at < start:
        return f"{cert.common_name!r} is not valid before {start.isoformat()}"
    if at > end:
        return f"{cert.common_name!r} expired at {end.isoformat()}"
    return None


# -- CRLs ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AmdCrl:
    """An ARK-signed CRL from AMD KDS (57230 §4.2: ``/vcek/v1/{product}/crl``, DER)."""

    der: bytes
    crl: x509.CertificateRevocationList = field(repr=False)
    tbs: bytes = field(repr=False)
    algorithm: bytes = field(repr=False)
    signature: bytes = field(repr=False)
    issuer_der: bytes = field(repr=False, default=b"")

    @property
    def issuer(self) -> x509.Name:
        return self.crl.issuer

    def entry(self, serial: int) -> x509.RevokedCertificate | None:
        """The CRL entry for ``serial`` (any integer, even the negative ones of hostile input)."""
        return next((r for r in self.crl if r.serial_number == serial), None)

    def revoked(self, serial: int) -> bool:
        return self.entry(serial) is not None


def load_crls(blobs: Iterable[bytes]) -> list[AmdCrl]:
    """CRLs from DER or PEM (``X509 CRL``) blobs."""
    out: list[AmdCrl] = []
    for blob in blobs:
        ders = pem_blocks(blob, "X509 CRL") if b"-----BEGIN" in blob else [blob]
        if not ders:
            raise ParseError("a PEM blob holds no X509 CRL block", field="crl")
        for der in ders:
            if len(der) > 1024 * 1024:
                raise ParseError("is larger than 1 MiB", field="crl")
            parts = amd_der.split_signed(der, certificate=False, what="crl")
            try:
                crl = x509.load_der_x509_crl(der)
                # decoded lazily by cryptography: decode every field used, once, here
                _ = (crl.issuer, crl.last_update_utc, crl.next_update_utc, list(crl.extensions),
                     [(r.serial_number, r.revocation_date_utc, list(r.extensions)) for r in crl])
            except _X509_ERRORS as e:
                raise ParseError(f"is not a CRL this verifier can read ({e})", field="crl") from None
            out.append(AmdCrl(der, crl, parts.tbs, parts.algorithm, parts.signature, parts.issuer))
    return out


def crl_signature_problem(crl: AmdCrl, ark: AmdCertificate) -> str | None:
    if crl.issuer_der != ark.subject_der:
        return f"the CRL is issued by {_common_name(crl.issuer)!r}, not {ark.common_name!r}"
    return pss_signature_problem(crl.tbs, crl.algorithm, crl.signature, crl.der, ark)


# -- roles ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Chain:
    """The certificates picked, by role, for one report: leaf, intermediate and root."""

    leaf: AmdCertificate | None
    intermediate: AmdCertificate | None
    ark: AmdCertificate | None

    def missing(self, leaf_role: Role) -> list[str]:
        want = {Role.VCEK: (Role.VCEK, Role.ASK), Role.VLEK: (Role.VLEK, Role.ASVK)}[leaf_role]
        out = []
        if self.leaf is None:
            out.append(want[0].value)
        if self.intermediate is None:
            out.append(want[1].value)
        if self.ark is None:
            out.append(Role.ARK.value)
        return out


def pick_chain(certs: Sequence[AmdCertificate], leaf_role: Role,
               chip_id: bytes | None = None) -> Chain:
    """Pick the leaf of ``leaf_role`` and the issuers it names, from certificates in any order.

    Among several leaves, the one whose hwID matches ``chip_id`` wins, then the first.
    Issuers are matched by name (the signature is checked later).
    """
    mid_role = Role.ASK if leaf_role is Role.VCEK else Role.ASVK
    leaves = [c for c in certs if c.role is leaf_role]
    leaf: AmdCertificate | None = None
    if leaves:
        leaf = leaves[0]
        if chip_id is not None and any(chip_id):
            for c in leaves:
                try:
                    hwid = c.extensions().hwid
                except ParseError:
                    continue
                if hwid is not None and hwid == chip_id[:len(hwid)]:
                    leaf = c
                    break
    mids = [c for c in certs if c.role is mid_role]
    mid = next((c for c in mids if leaf is not None and c.subject_der == leaf.issuer_der),
               None if leaf is not None else (mids[0] if mids else None))
    arks = [c for c in certs if c.role is Role.ARK]
    ark = next((c for c in arks if mid is not None and c.subject_der == mid.issuer_der),
               None if mid is not None else (arks[0] if arks else None))
    return Chain(leaf, mid, ark)
