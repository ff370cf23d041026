"""Vendor trust anchors, pinned by the SHA-256 of their DER SubjectPublicKeyInfo.

The certificates themselves arrive with the evidence or from the vendor's service; only these
fingerprints are trusted. A policy names ``"vendor"`` to use them, or lists its own (the demo policy
lists the INSECURE demo roots, and nothing else does).
"""

from __future__ import annotations

import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import serialization

AMD_ARK_SPKI_SHA256: dict[str, str] = {
    # ARK-Milan, serial 0x10000 (AMD KDS /vcek/v1/Milan/cert_chain)
    "Milan": "9f056bee44377e29308cb5ffa895bdfb62d18881fa6bed8d6f075b0204089cb9",
    # ARK-Genoa, serial 0x20000 (AMD KDS /vcek/v1/Genoa/cert_chain)
    "Genoa": "429a69c9422aa258ee4d8db5fcda9c6470ef15f8cd5a9cebd6cbc7d90b863831",
    # ARK-Turin, serial 0x30000 (AMD KDS /vcek/v1/Turin/cert_chain)
    "Turin": "4f125410563a2ab9a50356f9243f6fe0b6f73de98603f53f90339c70e9d7ad08",
}
"""AMD Root Keys, one per product line; the VLEK chain (ASVK) hangs off the same ARK."""


def spki_sha256(cert: x509.Certificate) -> str:
    """Hex SHA-256 of the certificate's DER SubjectPublicKeyInfo: the pin we compare."""
    der = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()
