"""NVIDIA trust anchors and service addresses, pinned by the SHA-256 of the DER SubjectPublicKeyInfo.

Two roots matter for GPU attestation:

* the **NVIDIA Device Identity CA**, root of every GPU's and NVSwitch's device certificate chain. NVIDIA
  publishes two self-signed certificates under that name (serial 2d3670b1…, notBefore 2021-11-05,
  certificate SHA-256 102BF659…7B48, shipped in nv-local-gpu-verifier as ``verifier_device_root.pem``;
  and serial 3aaf87db…, notBefore 2020-01-01, certificate SHA-256 8805700F…AD96, "Root-CA-L1B", from
  https://docs.ndis.nvidia.com/certs/identity-root/). Both carry the same key, so one pin covers both.
* the **NVIDIA CoRIM signing Root CA**, root of the certificate chains that sign the reference
  integrity manifests (RIMs) on NVIDIA's RIM service (certificate SHA-256 12977B51…F5D1, shipped as
  ``verifier_RIM_root.pem``).

The certificates themselves arrive with the evidence (the GPU's chain ends with its own copy of the
root) or inside the RIM's XML signature; only the keys pinned here are trusted. The GPU's copy of its
root is never the anchor: a chain is accepted only when its top key equals the pin.

A policy's ``[gpu] roots`` is ``"vendor"`` (these pins) or a table ``{device = "hex", rim = "hex"}``
naming other SPKI pins (read by :mod:`verifier.appraisal.nvidia`); only the demo policy names the
INSECURE demo roots that way.
"""

from __future__ import annotations

from dataclasses import dataclass

DEVICE_IDENTITY_CA_SPKI_SHA256 = "a90c4eb5acfd3e3d03a25db6a26b84f720ad0503196c627c21ddd48dd85b06a4"
"""NVIDIA Device Identity CA (both published certificates; P-384 key)."""

CORIM_ROOT_SPKI_SHA256 = "dec1dc316477aa851eebdf51327ae9f864bc8d89254657ed1e7eb9168af1e1a3"
"""NVIDIA CoRIM signing Root CA (P-384 key)."""

OCSP_URL = "http://ocsp.ndis.nvidia.com"
"""NVIDIA's OCSP responder, as the authorityInfoAccess of NVIDIA's device and RIM certificates names
it; used when a certificate names none (OCSP answers are signed, so plain HTTP is what RFC 6960 uses)."""

RIM_SERVICE_URL = "https://rim.attestation.nvidia.com/v1/rim/"
"""NVIDIA's RIM service: ``GET <url><RIM id>`` answers JSON whose ``rim`` member is the base64 RIM."""


@dataclass(frozen=True)
class GpuAnchors:
    """The SPKI pins one appraisal trusts: ``device`` for the GPU chain, ``rim`` for RIM chains."""

    device: str
    rim: str
    vendor: bool

    @property
    def label(self) -> str:
        return "NVIDIA" if self.vendor else "policy-pinned (not NVIDIA's)"


VENDOR_ANCHORS = GpuAnchors(DEVICE_IDENTITY_CA_SPKI_SHA256, CORIM_ROOT_SPKI_SHA256, vendor=True)

