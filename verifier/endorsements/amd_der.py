"""The few DER structures the AMD chain needs read by hand (ITU-T X.690 §8, §10; RFC 5280 §4.1).

Why by hand: the signatures on AMD certificates are checked over the exact ``tbsCertificate`` bytes
taken from the original DER, and the RSASSA-PSS parameters (RFC 4055 §3.1) are compared field by
field, so the verification does not depend on how ``cryptography`` re-encodes or tolerates a
certificate. Real VCEKs carry serial number 0, which RFC 5280 §4.1.2.2 forbids and a future
``cryptography`` will refuse to load (see :mod:`verifier.endorsements.amd`).

Strict DER only: definite lengths, minimal length octets, no data past the end. Every failure is a
:class:`verifier.errors.ParseError`.
"""

from __future__ import annotations

from dataclasses import dataclass

from verifier.endorsements.der import (
    TAG_BIT_STRING,
    TAG_IA5STRING,
    TAG_INTEGER,
    TAG_NULL,
    TAG_OCTET_STRING,
    TAG_OID,
    TAG_SEQUENCE,
    Tlv,
    children,
    read_tlv,
)
from verifier.errors import ParseError

__all__ = ["TAG_BIT_STRING", "TAG_IA5STRING", "TAG_INTEGER", "TAG_NULL", "TAG_OCTET_STRING", "TAG_OID",
           "TAG_SEQUENCE", "Tlv", "children", "read_tlv"]

# OIDs (DER content bytes) for RSASSA-PSS with SHA-384 (RFC 4055 §3.1, RFC 5754 §2)
OID_RSASSA_PSS = bytes.fromhex("2a864886f70d01010a")  # 1.2.840.113549.1.1.10
OID_SHA384 = bytes.fromhex("608648016503040202")  # 2.16.840.1.101.3.4.2.2
OID_MGF1 = bytes.fromhex("2a864886f70d010108")  # 1.2.840.113549.1.1.8


def expect(tlv: Tlv, tag: int, what: str) -> Tlv:
    if tlv.tag != tag:
        raise ParseError(f"expected tag 0x{tag:02x}, found 0x{tlv.tag:02x}", field=what)
    return tlv


def decode_integer(content: bytes, what: str) -> int:
    """A DER INTEGER's content as a Python int (X.690 §8.3), refusing non-minimal encodings."""
    if not content:
        raise ParseError("empty INTEGER", field=what)
    if len(content) > 1 and ((content[0] == 0 and content[1] < 0x80)
                             or (content[0] == 0xFF and content[1] >= 0x80)):
        raise ParseError("INTEGER is not minimally encoded", field=what)
    return int.from_bytes(content, "big", signed=True)


def single(data: bytes, tag: int, what: str) -> bytes:
    """``data`` must be exactly one element with ``tag``; return its content."""
    tlv = read_tlv(data, 0, what=what)
    if tlv.end != len(data):
        raise ParseError("trailing bytes after the element", field=what)
    expect(tlv, tag, what)
    return data[tlv.content:tlv.end]


@dataclass(frozen=True)
class SignedParts:
    """The three parts of a signed X.509 object (RFC 5280 §4.1.1, §5.1.1), as raw bytes."""

    tbs: bytes  # the whole tbsCertificate / tbsCertList element, tag and length included
    algorithm: bytes  # the whole signatureAlgorithm AlgorithmIdentifier element
    signature: bytes  # the BIT STRING's bits (unused-bits octet removed; must be 0)
    serial: int | None  # certificate serial number (None for a CRL)
    issuer: bytes = b""  # the issuer Name, exact DER
    subject: bytes = b""  # the subject Name, exact DER (certificates only)


def split_signed(der: bytes, *, certificate: bool, what: str = "certificate") -> SignedParts:
    """Split a certificate or CRL into ``tbs``, ``signatureAlgorithm`` and signature bits."""
    outer = read_tlv(der, 0, what=what)
    if outer.end != len(der):
        raise ParseError("trailing bytes after the outer SEQUENCE", field=what)
    expect(outer, TAG_SEQUENCE, what)
    parts = children(der, outer, what=what)
    if len(parts) != 3:
        raise ParseError("a signed object has exactly three parts", field=what)
    tbs, alg, sig = parts
    expect(tbs, TAG_SEQUENCE, what)
    expect(alg, TAG_SEQUENCE, what)
    expect(sig, TAG_BIT_STRING, what)
    bits = der[sig.content:sig.end]
    if not bits or bits[0] != 0:
        raise ParseError("signature BIT STRING has unused bits", field=what)
    serial: int | None = None
    fields = children(der, tbs, what=what)
    subject = b""
    if certificate:
        # tbsCertificate: [0] version, serialNumber, signature, issuer, validity, subject, ...
        index = 1 if fields and fields[0].tag == 0xA0 else 0
        if len(fields) < index + 5:
            raise ParseError("tbsCertificate is missing fields", field=what)
        number = expect(fields[index], TAG_INTEGER, f"{what}.serialNumber")
        serial = decode_integer(der[number.content:number.end], f"{what}.serialNumber")
        issuer = expect(fields[index + 2], TAG_SEQUENCE, f"{what}.issuer")
        name = expect(fields[index + 4], TAG_SEQUENCE, f"{what}.subject")
        subject = der[name.start:name.end]
    else:
        # tbsCertList: version (optional), signature, issuer, thisUpdate, ...
        index = 1 if fields and fields[0].tag == TAG_INTEGER else 0
        if len(fields) < index + 3:
            raise ParseError("tbsCertList is missing fields", field=what)
        issuer = expect(fields[index + 1], TAG_SEQUENCE, f"{what}.issuer")
    return SignedParts(der[tbs.start:tbs.end], der[alg.start:alg.end], bits[1:], serial,
                       der[issuer.start:issuer.end], subject)


def _hash_alg_is_sha384(data: bytes, tlv: Tlv, what: str) -> bool:
    """AlgorithmIdentifier for SHA-384, parameters NULL or absent (RFC 5754 §2)."""
    parts = children(data, expect(tlv, TAG_SEQUENCE, what), what=what)
    if not parts or parts[0].tag != TAG_OID or data[parts[0].content:parts[0].end] != OID_SHA384:
        return False
    if len(parts) == 1:
        return True
    return len(parts) == 2 and parts[1].tag == TAG_NULL and parts[1].content == parts[1].end


def is_rsassa_pss_sha384_salt48(algorithm: bytes) -> bool:
    """True when ``algorithm`` is RSASSA-PSS, SHA-384, MGF1 with SHA-384, salt 48, trailer 1.

    The parameters are RSASSA-PSS-params (RFC 4055 §3.1): [0] hashAlgorithm, [1] maskGenAlgorithm,
    [2] saltLength, [3] trailerField (default 1). AMD signs every ARK, ASK, ASVK, VCEK, VLEK and CRL
    this way (VCEK spec 57230, §2.3).
    """
    what = "signatureAlgorithm"
    try:
        top = read_tlv(algorithm, 0, what=what)
        if top.end != len(algorithm) or top.tag != TAG_SEQUENCE:
            return False
        parts = children(algorithm, top, what=what)
        if len(parts) != 2 or parts[0].tag != TAG_OID:
            return False
        if algorithm[parts[0].content:parts[0].end] != OID_RSASSA_PSS:
            return False
        params = children(algorithm, expect(parts[1], TAG_SEQUENCE, what), what=what)
        seen: dict[int, Tlv] = {}
        for p in params:
            if p.tag not in (0xA0, 0xA1, 0xA2, 0xA3) or p.tag in seen:
                return False
            if seen and p.tag < max(seen):
                return False
            seen[p.tag] = p
        if 0xA0 not in seen or 0xA1 not in seen or 0xA2 not in seen:
            return False  # the defaults (SHA-1, MGF1-SHA-1, salt 20) are not AMD's
        (hash_alg,) = children(algorithm, seen[0xA0], what=what)
        if not _hash_alg_is_sha384(algorithm, hash_alg, what):
            return False
        (mgf,) = children(algorithm, seen[0xA1], what=what)
        mgf_parts = children(algorithm, expect(mgf, TAG_SEQUENCE, what), what=what)
        if (len(mgf_parts) != 2 or mgf_parts[0].tag != TAG_OID
                or algorithm[mgf_parts[0].content:mgf_parts[0].end] != OID_MGF1
                or not _hash_alg_is_sha384(algorithm, mgf_parts[1], what)):
            return False
        (salt,) = children(algorithm, seen[0xA2], what=what)
        expect(salt, TAG_INTEGER, what)
        if decode_integer(algorithm[salt.content:salt.end], what) != 48:
            return False
        if 0xA3 in seen:
            (trailer,) = children(algorithm, seen[0xA3], what=what)
            expect(trailer, TAG_INTEGER, what)
            if decode_integer(algorithm[trailer.content:trailer.end], what) != 1:
                return False
        return True
    except (ParseError, ValueError):
        return False
