"""Certificate paths for NVIDIA device identities and RIM signers, validated by hand to a pinned key.

NVIDIA's chains are short and fixed (GPU: leaf "FMC LF" -> "BROM" -> provisioner ICA -> "GH100
Identity" -> NVIDIA Device Identity CA; RIM: "HCC RIM L4 Signer" -> L3 -> L2 "Reference Value GH100 CA"
-> NVIDIA CoRIM signing Root CA). Their certificates do not fit the Web PKI profile that general
validators enforce (signxml's, for one, rejects them for their key usage), so the path is checked here,
step by step, as RFC 5280 §6.1 describes it for a path whose order is given:

* the top certificate's key is the pinned anchor (SHA-256 of the SubjectPublicKeyInfo);
* each certificate names the next as issuer and carries its signature (§6.1.3 (a)(1), (a)(4));
* each is valid at the verification time (§6.1.3 (a)(2));
* each issuer is a CA (basicConstraints cA, keyUsage keyCertSign) within its pathLenConstraint
  (§6.1.4 (k), (l), (n)); the leaf may sign (keyUsage digitalSignature);
* no certificate has a critical extension this module does not understand (§6.1.4 (o)).

What does not change between attestations of a device is remembered by its exact bytes
(:mod:`verifier.memo`; docs/nvidia.md, "Caching"): parsed chains, certificate signatures that
verified (:data:`LINKS`), paths whose names, signatures and constraints held (:data:`PATHS`). The
pin and the validity at the verification time are checked on every call.

The leaf's FWID comes from its TCG DICE TcbInfo extension (TCG DICE Attestation Architecture §6.1.1,
``tcg-dice-TcbInfo`` 2.23.133.5.4.1; Blackwell uses 2.23.133.5.4.1.1; Hopper's leaf carries an earlier
form, SEQUENCE { version, SubjectPublicKeyInfo, FWID }).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID

from verifier.endorsements import der
from verifier.endorsements.anchors import spki_sha256
from verifier.errors import ParseError, VerifierError
from verifier.memo import BoundedCache, PerObject, VerifiedCache
from verifier.result import iso

MAX_CHAIN_CERTS = 8
MAX_CHAIN_BYTES = 64 * 1024

OID_TCG_DICE_TCB_INFO = "2.23.133.5.4.1"
OID_TCG_DICE_TCB_INFO_BLACKWELL = "2.23.133.5.4.1.1"
OID_SHA384 = "2.16.840.1.101.3.4.2.2"

_UNDERSTOOD_EXTENSIONS = frozenset({
    ExtensionOID.BASIC_CONSTRAINTS.dotted_string,
    ExtensionOID.KEY_USAGE.dotted_string,
    ExtensionOID.EXTENDED_KEY_USAGE.dotted_string,
    ExtensionOID.SUBJECT_KEY_IDENTIFIER.dotted_string,
    ExtensionOID.AUTHORITY_KEY_IDENTIFIER.dotted_string,
    ExtensionOID.SUBJECT_ALTERNATIVE_NAME.dotted_string,
    ExtensionOID.CRL_DISTRIBUTION_POINTS.dotted_string,
    ExtensionOID.AUTHORITY_INFORMATION_ACCESS.dotted_string,
    ExtensionOID.OCSP_NO_CHECK.dotted_string,
    OID_TCG_DICE_TCB_INFO,
    OID_TCG_DICE_TCB_INFO_BLACKWELL,
})

_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", re.DOTALL)


class PathError(VerifierError):
    """A certificate path does not hold. ``reason`` is one of ``format``, ``pin``, ``incomplete``,
    ``issuer``, ``signature``, ``validity``, ``ca``, ``usage``, ``extension``; ``position`` counts
    from the leaf."""

    def __init__(self, message: str, *, reason: str, position: int | None = None) -> None:
        self.reason = reason
        self.position = position
        super().__init__(message)


@dataclass(frozen=True)
class ValidPath:
    """A path that held: its certificates, leaf first, and the span in which every one is valid."""

    certificates: tuple[x509.Certificate, ...]
    not_before: dt.datetime
    not_after: dt.datetime

    @property
    def leaf(self) -> x509.Certificate:
        return self.certificates[0]


CHAINS: BoundedCache[tuple[x509.Certificate, ...]] = BoundedCache("NVIDIA parsed chains", 128)
"""Chains parsed before, by their exact bytes (a device gives the same chain with every report)."""
der_of: PerObject[x509.Certificate, bytes] = PerObject(
    "NVIDIA certificate encodings", 256, lambda cert: cert.public_bytes(serialization.Encoding.DER))
"""A certificate's DER, remembered for the certificate object (those of remembered chains, RIMs
and responders recur with every attestation)."""
validity: PerObject[x509.Certificate, tuple[dt.datetime, dt.datetime]] = PerObject(
    "NVIDIA certificate validity", 256, lambda cert: (cert.not_valid_before_utc, cert.not_valid_after_utc))
"""A certificate's notBefore and notAfter, read once for the certificate object (the verification
time is compared with them every time)."""
CERTIFICATES: BoundedCache[x509.Certificate] = BoundedCache("NVIDIA certificates", 128)
"""Single certificates read before (OCSP responders'), by their DER."""
key_pin: PerObject[x509.Certificate, str] = PerObject("NVIDIA certificate key pins", 256, spki_sha256)
""":func:`~verifier.endorsements.anchors.spki_sha256` of a certificate (what pins are compared with,
every time), read once for the certificate object."""
LINKS = VerifiedCache("NVIDIA certificate signatures", 512)
"""Certificate signatures that verified, by the exact DER of the certificate and of its issuer."""
PATHS = VerifiedCache("NVIDIA certificate paths", 256)
"""Paths (their certificates' DER, in order) whose names, signatures and CA constraints held: all
that :func:`validate_path` checks but the pin and the validity times, which it checks every time."""


def load_chain(data: bytes) -> tuple[x509.Certificate, ...]:
    """Certificates as a device or a file gives them: PEM blocks, or DER certificates back to back.

    A chain read before is served from :data:`CHAINS` (certificates are immutable); one that does not
    read is refused every time."""
    return CHAINS.through(bytes(data), lambda: _load_chain(data))


def _load_chain(data: bytes) -> tuple[x509.Certificate, ...]:
    if len(data) > MAX_CHAIN_BYTES:
        raise PathError(f"the chain is {len(data)} bytes, more than {MAX_CHAIN_BYTES}", reason="format")
    blobs: list[bytes] = []
    if b"-----BEGIN" in data:
        blobs = [m.group(0) for m in _PEM.finditer(data)]
        loader = x509.load_pem_x509_certificate
    else:
        pos = 0
        while pos < len(data):
            try:
                _, _, end = der_element(data, pos)
            except ValueError as e:
                raise PathError(f"certificate {len(blobs)} is not DER: {e}", reason="format") from None
            blobs.append(data[pos:end])
            pos = end
        loader = x509.load_der_x509_certificate
    if not blobs:
        raise PathError("no certificate found", reason="format")
    if len(blobs) > MAX_CHAIN_CERTS:
        raise PathError(f"{len(blobs)} certificates, more than {MAX_CHAIN_CERTS}", reason="format")
    out: list[x509.Certificate] = []
    for n, blob in enumerate(blobs):
        try:
            out.append(loader(blob))
        except ValueError as e:
            raise PathError(f"certificate {n} does not decode: {e}", reason="format",
                            position=n) from None
    return tuple(out)


def validate_path(chain: Sequence[x509.Certificate], *, pin: str, at: dt.datetime,
                  anchor_name: str = "the pinned root") -> ValidPath:
    """Check an ordered path (leaf first) to the key pinned by ``pin`` at time ``at``.

    The checks run in a fixed order so that the first problem named is the most telling: the pin
    first (a chain to someone else's root is not worth reading further), then names and signatures,
    then validity, then CA constraints. A certificate whose fields do not decode (``cryptography``
    reads names and extensions lazily) is a ``format`` error wherever it is met.
    """
    try:
        return _validate_path(chain, pin=pin, at=at, anchor_name=anchor_name)
    except (ValueError, UnsupportedAlgorithm, x509.DuplicateExtension,
            x509.UnsupportedGeneralNameType) as e:
        raise PathError(f"a certificate does not decode: {e}", reason="format") from None


def _validate_path(chain: Sequence[x509.Certificate], *, pin: str, at: dt.datetime,
                   anchor_name: str) -> ValidPath:
    if not chain:
        raise PathError("the chain is empty", reason="format")
    if len(chain) > MAX_CHAIN_CERTS:
        raise PathError(f"{len(chain)} certificates, more than {MAX_CHAIN_CERTS}", reason="format")
    top = chain[-1]
    shape = chain_shape(chain) if isinstance(chain, tuple) else _chain_shape(tuple(chain))
    ders = shape.ders
    try:
        top_pin = key_pin(top)
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        raise PathError(f"the top certificate's key cannot be read: {e}", reason="format",
                        position=len(chain) - 1) from None
    if top_pin != pin:
        raise PathError(
            f"the chain ends at {_name(top)} with key SHA-256 {top_pin[:16]}…, not {anchor_name} "
            f"({pin[:16]}…)", reason="pin", position=len(chain) - 1)
    if len(chain) == 1:
        raise PathError(f"the chain is {_name(top)} alone: no certificate below {anchor_name}, so "
                        "nothing it vouches for signed the evidence", reason="incomplete", position=0)
    known = PATHS.hit(ders)    # these exact certificates, in this order, held but for time and pin
    if not known:
        _check_signatures(chain, ders)
    windows = shape.windows
    for i, (cert, (not_before, not_after)) in enumerate(zip(chain, windows, strict=True)):
        if not not_before <= at <= not_after:
            state = "not yet valid" if at < not_before else "expired"
            raise PathError(
                f"certificate {i} ({_name(cert)}) is {state} at {iso(at)}: valid "
                f"{iso(not_before)}..{iso(not_after)}", reason="validity", position=i)
    if not known:
        for i, cert in enumerate(chain):
            try:
                _check_extensions(cert, i, is_issuer=i > 0, intermediates_below=max(i - 1, 0))
            except (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType) as e:
                raise PathError(f"certificate {i} has malformed extensions: {e}", reason="format",
                                position=i) from None
        PATHS.add(ders)
    return ValidPath(tuple(chain), shape.not_before, shape.not_after)


@dataclass(frozen=True)
class ChainShape:
    """What :func:`validate_path` reads from a chain's certificates before judging it: their DER and
    validity windows, and the span in which all of them are valid (latest notBefore, earliest
    notAfter)."""

    ders: tuple[bytes, ...]
    windows: tuple[tuple[dt.datetime, dt.datetime], ...]
    not_before: dt.datetime
    not_after: dt.datetime


def _chain_shape(chain: tuple[x509.Certificate, ...]) -> ChainShape:
    windows = tuple(validity(c) for c in chain)
    return ChainShape(tuple(der_of(c) for c in chain), windows, max(w[0] for w in windows),
                      min(w[1] for w in windows))


chain_shape: PerObject[tuple[x509.Certificate, ...], ChainShape] = PerObject(
    "NVIDIA chain shapes", 128, _chain_shape)
""":func:`_chain_shape`, read once for the chain object (a remembered chain, :data:`CHAINS`, is the
same tuple every time); the verification time is compared with the windows every time."""


def _check_signatures(chain: Sequence[x509.Certificate], ders: Sequence[bytes]) -> None:
    """Each certificate names the next as issuer and carries its signature; a self-issued top
    certificate is signed by its own key (each signature remembered in :data:`LINKS`)."""
    top = chain[-1]
    for i in range(len(chain) - 1):
        child, issuer = chain[i], chain[i + 1]
        if child.issuer != issuer.subject:
            raise PathError(f"certificate {i} ({_name(child)}) names issuer {child.issuer.rfc4514_string()!r}, "
                            f"but the next certificate is {_name(issuer)}", reason="issuer", position=i)
        try:
            verify_link(child, issuer, ders[i], ders[i + 1])
        except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError) as e:
            raise PathError(f"certificate {i} ({_name(child)}) is not signed by {_name(issuer)}"
                            f"{': ' + str(e) if str(e) else ''}", reason="signature", position=i) from None
    if top.issuer == top.subject:
        try:
            verify_link(top, top, ders[-1], ders[-1])
        except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):
            raise PathError(f"the root {_name(top)} is not self-signed by its key", reason="signature",
                            position=len(chain) - 1) from None


def remembered(cert: x509.Certificate) -> x509.Certificate:
    """The certificate read before with exactly ``cert``'s bytes (its key already loaded, which
    makes a signature check with it cheaper), else ``cert``, remembered in :data:`CERTIFICATES`."""
    return CERTIFICATES.through(cert.public_bytes(serialization.Encoding.DER), lambda: cert)


def verify_link(child: x509.Certificate, issuer: x509.Certificate, child_der: bytes | None = None,
                issuer_der: bytes | None = None) -> None:
    """``child.verify_directly_issued_by(issuer)``, remembered in :data:`LINKS` when it passes.

    Raises what that method raises (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError);
    a failure is not remembered. A hit means these exact two certificates verified before: the
    signature and names only, never validity, constraints, pins or revocation, which the callers check
    every time. The DER of either may be given when the caller has it."""
    key = (child_der if child_der is not None else der_of(child),
           issuer_der if issuer_der is not None else der_of(issuer))
    if LINKS.hit(key):
        return
    child.verify_directly_issued_by(issuer)
    LINKS.add(key)


def _check_extensions(cert: x509.Certificate, i: int, *, is_issuer: bool,
                      intermediates_below: int) -> None:
    for ext in cert.extensions:
        if ext.critical and ext.oid.dotted_string not in _UNDERSTOOD_EXTENSIONS:
            raise PathError(f"certificate {i} ({_name(cert)}) has an unknown critical extension "
                            f"{ext.oid.dotted_string}", reason="extension", position=i)
    try:
        bc: x509.BasicConstraints | None = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        bc = None
    try:
        ku: x509.KeyUsage | None = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        ku = None
    if is_issuer:
        if bc is None or not bc.ca:
            raise PathError(f"certificate {i} ({_name(cert)}) issues certificates but is not a CA",
                            reason="ca", position=i)
        if ku is not None and not ku.key_cert_sign:
            raise PathError(f"certificate {i} ({_name(cert)}) issues certificates without keyCertSign",
                            reason="ca", position=i)
        if bc.path_length is not None and intermediates_below > bc.path_length:
            raise PathError(f"certificate {i} ({_name(cert)}) allows {bc.path_length} CA certificates "
                            f"below it, the chain has {intermediates_below}", reason="ca", position=i)
    elif ku is not None and not ku.digital_signature:
        raise PathError(f"the leaf ({_name(cert)}) may not sign (no digitalSignature key usage)",
                        reason="usage", position=i)


def ocsp_url(cert: x509.Certificate) -> str | None:
    """The OCSP responder the certificate's authorityInfoAccess names (RFC 5280 §4.2.2.1)."""
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except (x509.ExtensionNotFound, ValueError):
        return None
    for desc in aia:
        if desc.access_method == AuthorityInformationAccessOID.OCSP and isinstance(
                desc.access_location, x509.UniformResourceIdentifier):
            return desc.access_location.value
    return None


def _leaf_fwids(cert: x509.Certificate) -> tuple[bytes, ...] | None:
    """The FWID digests of the leaf's TCG DICE TcbInfo extension, in order; None without one
    (:data:`leaf_fwids` remembers them for the certificate object; they are compared with the
    report every time).

    Two encodings occur: the standard DiceTcbInfo (TCG DICE Attestation Architecture §6.1.1), whose
    ``fwids [6] IMPLICIT FWIDLIST`` lists SEQUENCE { hashAlg OID, digest OCTET STRING }, and Hopper's
    earlier SEQUENCE { INTEGER, SubjectPublicKeyInfo, FWID }. Either way, the FWIDs are the
    (OID, OCTET STRING) pairs at the top of the structure or inside its [6] element.
    """
    ext = None
    for oid in (OID_TCG_DICE_TCB_INFO, OID_TCG_DICE_TCB_INFO_BLACKWELL):
        try:
            ext = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier(oid))
            break
        except x509.ExtensionNotFound:
            continue
        except (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType):
            return None
    if ext is None or not isinstance(ext.value, x509.UnrecognizedExtension):
        return None
    data = ext.value.value
    try:
        tag, start, end = der_element(data, 0)
        if tag != 0x30 or end != len(data):
            return None
        out: list[bytes] = []
        for tag, s, e in der_children(data, start, end):
            if tag == 0x30:
                fwid = _fwid(data, s, e)
                if fwid is not None:
                    out.append(fwid)
            elif tag == 0xA6:
                for t2, s2, e2 in der_children(data, s, e):
                    fwid = _fwid(data, s2, e2) if t2 == 0x30 else None
                    if fwid is not None:
                        out.append(fwid)
        return tuple(out)
    except ValueError:
        return None


def _fwid(data: bytes, start: int, end: int) -> bytes | None:
    """SEQUENCE { OID, OCTET STRING } -> the digest, when the OID is SHA-384; else None."""
    children = list(der_children(data, start, end))
    if len(children) != 2 or children[0][0] != 0x06 or children[1][0] != 0x04:
        return None
    oid = _decode_oid(data[children[0][1]:children[0][2]])
    if oid != OID_SHA384:
        return None
    return data[children[1][1]:children[1][2]]


def _decode_oid(raw: bytes) -> str:
    if not raw:
        raise ValueError("empty OID")
    arcs: list[int] = []
    value = 0
    for b in raw:
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            arcs.append(value)
            value = 0
    first = arcs[0]
    head = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    return ".".join(str(a) for a in head + arcs[1:])


leaf_fwids: PerObject[x509.Certificate, tuple[bytes, ...] | None] = PerObject("NVIDIA leaf FWIDs", 128, _leaf_fwids)
""":func:`_leaf_fwids`, read once for the certificate object."""


def der_element(data: bytes, pos: int) -> tuple[int, int, int]:
    """One DER TLV at ``pos`` (the one strict reader, :mod:`.der`): (tag, value start, end).
    A malformed element is a ValueError, as the callers expect."""
    try:
        tlv = der.read_tlv(data, pos)
    except ParseError as e:
        raise ValueError(str(e)) from None
    return tlv.tag, tlv.content, tlv.end


def der_children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    out: list[tuple[int, int, int]] = []
    pos = start
    while pos < end:
        tag, s, e = der_element(data[:end], pos)
        out.append((tag, s, e))
        pos = e
    return out


def _name(cert: x509.Certificate) -> str:
    try:
        cn = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        return repr(str(cn[0].value)) if cn else repr(cert.subject.rfc4514_string())
    except ValueError:
        return "<unreadable name>"


common_name: PerObject[x509.Certificate, str] = PerObject(
    "NVIDIA certificate names", 256, lambda cert: _name(cert).strip("'"))
"""The subject CN, or the whole subject when it has none (remembered for the certificate object)."""



# -- building (the reference enclave's demo device chain, and tests) -----------------------------

_SHA384_OID_DER = bytes.fromhex("0609608648016503040202")


def _der(tag: int, value: bytes) -> bytes:
    n = len(value)
    if n < 0x80:
        return bytes([tag, n]) + value
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + value


def encode_tcb_info(fwid: bytes) -> bytes:
    """A DiceTcbInfo holding one SHA-384 FWID (TCG DICE Attestation Architecture §6.1.1):
    SEQUENCE { fwids [6] IMPLICIT SEQUENCE OF SEQUENCE { hashAlg, digest } }. Put it in an
    extension with OID :data:`OID_TCG_DICE_TCB_INFO`; :func:`leaf_fwids` reads it back."""
    one = _der(0x30, _SHA384_OID_DER + _der(0x04, fwid))
    return _der(0x30, _der(0xA6, one))
