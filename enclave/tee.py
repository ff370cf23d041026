"""Simulated SEV-SNP hardware (INSECURE DEMO): launch measurement, reports, and their VCEK signature.

A real AMD-SP measures the guest's initial memory and signs reports with a VCEK derived from the
chip's secrets; here a P-384 key made at start-up stands in for the VCEK and the "measurement" is
SHA-384 over the enclave's code (the image digest) and its configuration, so that a different
upstream is a different measurement, as docs/protocol.md requires.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from enclave import demo_roots
from verifier.evidence.sev_snp import (
    POLICY_RESERVED_ONE,
    POLICY_SMT,
    SnpReport,
    TcbVersion,
    empty_report,
    pack_report,
    with_signature,
)
from verifier.evidence.sev_snp import Product as SnpProduct
from verifier.providers.native.bundle import canonical_json

MEASUREMENT_LABEL = b"enclave-chat demo launch v1"
PLATFORM_ALIAS_CHECK_AND_TSME = 0b100010
GENOA_CPUID = (0x19, 0x11, 0x01)


def image_digest(root: Path | None = None) -> str:
    """``sha256:`` over the enclave package's source files (sorted path, NUL, content hash)."""
    base = root or Path(__file__).parent
    h = hashlib.sha256()
    for path in sorted(p for p in base.rglob("*.py") if "__pycache__" not in p.parts):
        h.update(path.relative_to(base).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return "sha256:" + h.hexdigest()


def launch_measurement(image: str, config: Mapping[str, Any]) -> bytes:
    """MEASUREMENT = SHA-384(label || image digest bytes || SHA-256(canonical config))."""
    return hashlib.sha384(
        MEASUREMENT_LABEL + bytes.fromhex(image.removeprefix("sha256:"))
        + hashlib.sha256(canonical_json(config)).digest()
    ).digest()


@dataclass
class SimulatedSnp:
    """One simulated chip: its VCEK, its TCB, and the launch measurement of the guest it runs."""

    measurement: bytes
    tcb: demo_roots.Tcb = field(default_factory=demo_roots.Tcb)
    chip_id: bytes = field(default_factory=lambda: secrets.token_bytes(64))
    vcek_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP384R1()))
    _vcek: x509.Certificate | None = None

    @property
    def vcek(self) -> x509.Certificate:
        if self._vcek is None:
            self._vcek = demo_roots.issue_vcek(self.vcek_key.public_key(), self.chip_id, self.tcb)
        return self._vcek

    def certificates(self) -> list[bytes]:
        """DER certificates as the bundle carries them: VCEK, ASK, ARK."""
        return [demo_roots.der_bytes(c) for c in
                (self.vcek, demo_roots.ask_certificate(), demo_roots.ark_certificate())]

    def report(self, report_data: bytes, *, measurement: bytes | None = None,
               key: ec.EllipticCurvePrivateKey | None = None) -> bytes:
        """A signed version-3 report, as SNP_GUEST_REQUEST(MSG_REPORT_REQ) returns it at VMPL 0."""
        tcb = TcbVersion.encode(SnpProduct.GENOA, bootloader=self.tcb.bootloader, tee=self.tcb.tee,
                                snp=self.tcb.snp, microcode=self.tcb.microcode).raw
        fam, mod, step = GENOA_CPUID
        report: SnpReport = empty_report(
            version=3, guest_svn=1, policy=POLICY_RESERVED_ONE | POLICY_SMT,
            vmpl=0, current_tcb_raw=tcb, reported_tcb_raw=tcb, committed_tcb_raw=tcb,
            launch_tcb_raw=tcb, platform_info=PLATFORM_ALIAS_CHECK_AND_TSME,
            report_data=report_data, measurement=measurement or self.measurement,
            report_id=secrets.token_bytes(32), chip_id=self.chip_id,
            cpuid_fam_id=fam, cpuid_mod_id=mod, cpuid_step=step,
            current_major=1, current_minor=55, current_build=21,
            committed_major=1, committed_minor=55, committed_build=21,
        )
        return sign_report(report, key or self.vcek_key)


def sign_report(report: SnpReport, key: ec.EllipticCurvePrivateKey) -> bytes:
    """ECDSA P-384 / SHA-384 over bytes 0x000-0x29F; r and s little-endian (ABI spec §7.3)."""
    signed = pack_report(report)[:0x2A0]
    r, s = decode_dss_signature(key.sign(signed, ec.ECDSA(hashes.SHA384())))
    return pack_report(with_signature(replace(report), r, s))
