"""PCK certificate chains and the Intel SGX extension of PCK certificates.

Follows the *Intel SGX PCK Certificate and Certificate Revocation List Profile Specification*:
the chain is PCK leaf ("Intel SGX PCK Certificate") <- "Intel SGX PCK Platform CA" or "Intel SGX
PCK Processor CA" <- "Intel SGX Root CA", every key ECDSA P-256, every signature ECDSA with SHA-256.
The SGX extension (OID 1.2.840.113741.1.13.1) carries PPID, the TCB (16 CPU SVN components,
PCESVN, CPUSVN), PCE-ID, FMSPC, SGX type and, for the Platform CA, the platform instance ID and
configuration; it is decoded here with a small bounded DER reader.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, SignatureAlgorithmOID

from verifier.endorsements import der
from verifier.endorsements.anchors import spki_sha256
from verifier.endorsements.intel_anchors import (
    OID_CACHED_KEYS,
    OID_CONFIGURATION,
    OID_CPUSVN,
    OID_DYNAMIC_PLATFORM,
    OID_FMSPC,
    OID_PCE_ID,
    OID_PCESVN,
    OID_PLATFORM_INSTANCE_ID,
    OID_PPID,
    OID_SGX_TYPE,
    OID_SMT_ENABLED,
    OID_TCB,
    PCK_CA_BY_CN,
    PCK_LEAF_CN,
    ROOT_CA_CN,
    SGX_EXTENSION_OID,
)
from verifier.errors import ParseError

MAX_CHAIN_CERTS = 4

CERT_DECODE_ERRORS: tuple[type[Exception], ...] = (
    ValueError, UnsupportedAlgorithm, x509.DuplicateExtension, x509.UnsupportedGeneralNameType)
"""What ``cryptography`` raises when a lazily decoded field of a hostile certificate or CRL is bad."""


class ChainError(Exception):
    """A certificate path does not hold; the message is one sentence for a check's detail.

    ``reason`` (structured, for a check's ``reason``): ``expired``, ``not_yet_valid``,
    ``signature``, ``name``, ``algorithm``, ``not_ca``, ``length`` or ``format``."""

    def __init__(self, message: str, *, reason: str = "format") -> None:
        super().__init__(message)
        self.reason = reason


# -- certificate paths --------------------------------------------------------------------------
_PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----\s.*?-----END CERTIFICATE-----", re.S)


def load_pem_chain(pem: bytes, field: str, *, max_certs: int = MAX_CHAIN_CERTS) -> list[x509.Certificate]:
    """Certificates of a PEM chain, in order. Only PEM blocks, white space and NUL (quotes end their
    chain with a NUL byte) are allowed; anything else is a :class:`ParseError`."""
    blocks = _PEM_BLOCK.findall(pem)
    rest = _PEM_BLOCK.sub(b"", pem)
    if rest.strip(b" \t\r\n\x00"):
        raise ParseError("holds bytes that are not PEM certificates", field=field)
    if not blocks:
        raise ParseError("holds no certificate", field=field)
    if len(blocks) > max_certs:
        raise ParseError(f"holds {len(blocks)} certificates, more than {max_certs}", field=field)
    certs = []
    for i, block in enumerate(blocks):
        try:
            certs.append(x509.load_pem_x509_certificate(block))
        except (ValueError, x509.InvalidVersion) as e:
            raise ParseError(f"certificate {i} does not parse: {e}", field=field) from None
    return certs


def common_name(name: x509.Name) -> str:
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = attrs[0].value if attrs else ""
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def subject_cn(cert: x509.Certificate) -> str | None:
    """The subject's common name, or None when the name does not decode (``cryptography`` decodes
    names lazily and raises ValueError or TypeError on a malformed one, found by fuzzing)."""
    try:
        return common_name(cert.subject)
    except (TypeError, ValueError):
        return None


def _check_p256_sha256(cert: x509.Certificate, role: str) -> None:
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ChainError(f"the {role} certificate's key is not ECDSA P-256", reason="algorithm")
    if cert.signature_algorithm_oid != SignatureAlgorithmOID.ECDSA_WITH_SHA256:
        raise ChainError(f"the {role} certificate is not signed with ECDSA-SHA256", reason="algorithm")


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    return bc.ca


def check_validity(cert: x509.Certificate, at: dt.datetime, role: str) -> None:
    """The certificate's own validity window must hold at the verification time."""
    if at < cert.not_valid_before_utc:
        raise ChainError(f"the {role} certificate is not valid before {cert.not_valid_before_utc:%Y-%m-%dT%H:%M:%SZ}",
                         reason="not_yet_valid")
    if at > cert.not_valid_after_utc:
        raise ChainError(f"the {role} certificate expired {cert.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}",
                         reason="expired")


def verify_path(certs: Sequence[x509.Certificate], roles: Sequence[str], names: Sequence[tuple[str, ...]],
                at: dt.datetime) -> None:
    """Verify a leaf-first path (see :func:`_verify_path`); a certificate whose fields do not parse
    (the library decodes some lazily) is a :class:`ChainError` too."""
    try:
        _verify_path(certs, roles, names, at)
    except CERT_DECODE_ERRORS as e:
        raise ChainError(f"a certificate of the chain does not parse: {e}") from None


def _verify_path(certs: Sequence[x509.Certificate], roles: Sequence[str], names: Sequence[tuple[str, ...]],
                 at: dt.datetime) -> None:
    """Verify a leaf-first path ending in a self-signed root, at time ``at``.

    ``names[i]`` lists the subject common names accepted for ``certs[i]``. Each issuer name must be
    its parent's subject and each signature must verify with the parent's key; every certificate
    above the leaf must be a CA; every certificate must be valid at ``at``. The root's *key* is
    checked separately against the pins (:func:`root_pinned`).
    """
    if len(certs) != len(roles):
        raise ChainError(f"the chain holds {len(certs)} certificates, {len(roles)} expected "
                         f"({' <- '.join(roles)})", reason="length")
    for cert, role, accepted in zip(certs, roles, names, strict=True):
        cn = subject_cn(cert)
        if cn is None:
            raise ChainError(f"the {role} certificate's subject name is malformed", reason="name")
        if cn not in accepted:
            raise ChainError(f"the {role} certificate is {cn!r}, not {' or '.join(map(repr, accepted))}",
                             reason="name")
        _check_p256_sha256(cert, role)
    for i, cert in enumerate(certs):
        parent = certs[i + 1] if i + 1 < len(certs) else cert
        try:
            cert.verify_directly_issued_by(parent)
        except InvalidSignature:
            raise ChainError(f"the {roles[i]} certificate's signature does not verify with the "
                             f"{roles[min(i + 1, len(roles) - 1)]} key", reason="signature") from None
        except (ValueError, TypeError) as e:
            raise ChainError(f"the {roles[i]} certificate is not issued by the "
                             f"{roles[min(i + 1, len(roles) - 1)]}: {e}", reason="name") from None
        if i > 0 and not _is_ca(cert):
            raise ChainError(f"the {roles[i]} certificate is not a CA", reason="not_ca")
    for cert, role in zip(certs, roles, strict=True):
        check_validity(cert, at, role)


def root_pinned(root: x509.Certificate, pins: Sequence[str]) -> bool:
    try:
        return spki_sha256(root) in pins
    except CERT_DECODE_ERRORS:
        return False


@dataclass(frozen=True)
class PckChain:
    """The three certificates of certification data type 5, leaf first."""

    leaf: x509.Certificate
    intermediate: x509.Certificate
    root: x509.Certificate

    @property
    def ca(self) -> str:
        """``platform`` or ``processor`` (the PCS ``ca`` parameter), from the intermediate's name."""
        return PCK_CA_BY_CN.get(subject_cn(self.intermediate) or "", "unknown")


def load_pck_chain(pem: bytes) -> PckChain:
    certs = load_pem_chain(pem, "pck_chain")
    if len(certs) != 3:
        raise ParseError(f"holds {len(certs)} certificates; a PCK chain has 3 (leaf, CA, root)",
                         field="pck_chain", reason="incomplete" if len(certs) < 3 else "format")
    return PckChain(*certs)


def verify_pck_chain(chain: PckChain, at: dt.datetime) -> None:
    """Names, signatures, CA flags and validity of leaf <- PCK CA <- root (raises :class:`ChainError`)."""
    verify_path([chain.leaf, chain.intermediate, chain.root],
                ["PCK leaf", "PCK CA", "root CA"],
                [(PCK_LEAF_CN,), tuple(PCK_CA_BY_CN), (ROOT_CA_CN,)], at)


# -- the SGX extension (bounded DER) -------------------------------------------------------------
_SEQUENCE, _INTEGER, _OCTET_STRING, _OID, _ENUMERATED, _BOOLEAN = 0x30, 0x02, 0x04, 0x06, 0x0A, 0x01


def _der_items(data: bytes, field: str) -> list[tuple[int, bytes]]:
    """Split DER content into (tag, value) items (the one strict reader, :mod:`.der`)."""
    return der.items(data, what=field)


def _decode_oid(value: bytes, field: str) -> str:
    if not value or value[-1] & 0x80:
        raise ParseError("bad OBJECT IDENTIFIER", field=field)
    arcs: list[int] = []
    acc = 0
    for b in value:
        acc = (acc << 7) | (b & 0x7F)
        if not b & 0x80:
            arcs.append(acc)
            acc = 0
    first = arcs[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(a) for a in head + arcs[1:])


def _pairs(data: bytes, field: str) -> dict[str, tuple[int, bytes]]:
    """A SEQUENCE OF SEQUENCE { OID, value } as {oid: (tag, value)}; a repeated OID is an error."""
    out: dict[str, tuple[int, bytes]] = {}
    for tag, inner in _der_items(data, field):
        if tag != _SEQUENCE:
            raise ParseError("expected SEQUENCE { OID, value }", field=field)
        parts = _der_items(inner, field)
        if len(parts) != 2 or parts[0][0] != _OID:
            raise ParseError("expected SEQUENCE { OID, value }", field=field)
        oid = _decode_oid(parts[0][1], field)
        if oid in out:
            raise ParseError(f"OID {oid} appears twice", field=field)
        out[oid] = parts[1]
    return out


def _uint(item: tuple[int, bytes], tags: tuple[int, ...], limit: int, field: str) -> int:
    tag, value = item
    if tag not in tags or not value or value[0] & 0x80:
        raise ParseError("expected a non-negative INTEGER", field=field)
    n = int.from_bytes(value, "big")
    if n > limit:
        raise ParseError(f"{n} is larger than {limit}", field=field)
    return n


def _octets(item: tuple[int, bytes], size: int | None, field: str) -> bytes:
    tag, value = item
    if tag != _OCTET_STRING or (size is not None and len(value) != size):
        raise ParseError(f"expected an OCTET STRING of {size} bytes", field=field)
    return value


def _bool(item: tuple[int, bytes], field: str) -> bool:
    tag, value = item
    if tag != _BOOLEAN or len(value) != 1 or value[0] not in (0x00, 0xFF):
        raise ParseError("expected a DER BOOLEAN", field=field)
    return value[0] == 0xFF


@dataclass(frozen=True)
class PckExtensions:
    """The SGX extension of a PCK certificate (PCK Certificate Profile §1.3.5)."""

    ppid: bytes
    cpusvn_components: tuple[int, ...]
    pcesvn: int
    cpusvn: bytes
    pce_id: bytes
    fmspc: bytes
    sgx_type: int | None
    """Standard, Scalable or ScalableWithIntegrity; None when the certificate leaves it out (no
    check reads it: the TCB evaluation uses the FMSPC, PCE-ID, CPUSVN components and PCESVN)."""
    platform_instance_id: bytes | None = None
    dynamic_platform: bool | None = None
    cached_keys: bool | None = None
    smt_enabled: bool | None = None


def parse_sgx_extension(der: bytes) -> PckExtensions:
    """Decode the extension's DER value (a SEQUENCE of {OID, value} pairs).

    PPID, TCB, PCE-ID and FMSPC are required. SGX Type is required by Intel's profile but read by
    no check, so a certificate without it decodes (``sgx_type`` None), as go-tdx-guest and dcap-qvl
    read it (Tinfoil's conformance suite signs such PCK certificates under its synthetic root).
    """
    top = _der_items(der, "sgx_extension")
    if len(top) != 1 or top[0][0] != _SEQUENCE:
        raise ParseError("is not one SEQUENCE", field="sgx_extension")
    items = _pairs(top[0][1], "sgx_extension")
    for oid in (OID_PPID, OID_TCB, OID_PCE_ID, OID_FMSPC):
        if oid not in items:
            raise ParseError(f"lacks {oid}", field="sgx_extension")
    tcb_tag, tcb_der = items[OID_TCB]
    if tcb_tag != _SEQUENCE:
        raise ParseError("TCB is not a SEQUENCE", field="sgx_extension.tcb")
    tcb = _pairs(tcb_der, "sgx_extension.tcb")
    comps = []
    for i in range(1, 17):
        oid = f"{OID_TCB}.{i}"
        if oid not in tcb:
            raise ParseError(f"lacks component {i}", field="sgx_extension.tcb")
        comps.append(_uint(tcb[oid], (_INTEGER,), 255, f"sgx_extension.tcb.comp{i:02d}"))
    if OID_PCESVN not in tcb or OID_CPUSVN not in tcb:
        raise ParseError("lacks PCESVN or CPUSVN", field="sgx_extension.tcb")
    pcesvn = _uint(tcb[OID_PCESVN], (_INTEGER,), 0xFFFF, "sgx_extension.tcb.pcesvn")
    cpusvn = _octets(tcb[OID_CPUSVN], 16, "sgx_extension.tcb.cpusvn")
    config: dict[str, tuple[int, bytes]] = {}
    if OID_CONFIGURATION in items:
        ctag, cder = items[OID_CONFIGURATION]
        if ctag != _SEQUENCE:
            raise ParseError("is not a SEQUENCE", field="sgx_extension.configuration")
        config = _pairs(cder, "sgx_extension.configuration")

    def flag(oid: str) -> bool | None:
        return _bool(config[oid], "sgx_extension.configuration") if oid in config else None

    pid = items.get(OID_PLATFORM_INSTANCE_ID)
    return PckExtensions(
        ppid=_octets(items[OID_PPID], 16, "sgx_extension.ppid"),
        cpusvn_components=tuple(comps),
        pcesvn=pcesvn,
        cpusvn=cpusvn,
        pce_id=_octets(items[OID_PCE_ID], 2, "sgx_extension.pce_id"),
        fmspc=_octets(items[OID_FMSPC], 6, "sgx_extension.fmspc"),
        sgx_type=(_uint(items[OID_SGX_TYPE], (_ENUMERATED,), 255, "sgx_extension.sgx_type")
                  if OID_SGX_TYPE in items else None),
        platform_instance_id=_octets(pid, 16, "sgx_extension.platform_instance_id") if pid else None,
        dynamic_platform=flag(OID_DYNAMIC_PLATFORM),
        cached_keys=flag(OID_CACHED_KEYS),
        smt_enabled=flag(OID_SMT_ENABLED),
    )


def pck_extensions(leaf: x509.Certificate) -> PckExtensions:
    """The SGX extension of a PCK leaf, or a :class:`ParseError` naming what is wrong."""
    try:
        ext = leaf.extensions.get_extension_for_oid(x509.ObjectIdentifier(SGX_EXTENSION_OID))
    except x509.ExtensionNotFound:
        raise ParseError("the PCK certificate has no SGX extension", field="sgx_extension") from None
    except CERT_DECODE_ERRORS as e:
        raise ParseError(f"the PCK certificate's extensions do not parse: {e}", field="sgx_extension") from None
    value = ext.value
    if not isinstance(value, x509.UnrecognizedExtension):
        raise ParseError("unexpected extension type", field="sgx_extension")
    return parse_sgx_extension(value.value)
