"""Test-only PKI: look-alike NVIDIA device and RIM chains, OCSP answers and reports under fresh keys.

Keys are generated once per test session (see conftest.py). Nothing here is trusted by a real policy:
a policy trusts these roots only by naming their SPKI pins in ``[gpu] roots``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from verifier.endorsements.anchors import spki_sha256
from verifier.endorsements.nvidia_chain import OID_TCG_DICE_TCB_INFO, encode_tcb_info
from verifier.evidence import nvidia as spdm

NOT_BEFORE = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
NOT_AFTER = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
AT = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)
"""The verification time the synthetic tests use: inside every synthetic certificate."""


def name(cn: str, o: str = "NVIDIA Corporation") -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, o),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


@dataclass(frozen=True)
class Issued:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def issue(subject: x509.Name, issuer: Issued | None, *, role: str, key: ec.EllipticCurvePrivateKey | None = None,
          path_len: int | None = None, not_before: dt.datetime = NOT_BEFORE,
          not_after: dt.datetime = NOT_AFTER, extra: tuple[x509.ExtensionType, ...] = (),
          serial: int | None = None) -> Issued:
    """role: ``ca`` (keyCertSign), ``leaf`` (digitalSignature), ``ocsp`` (id-kp-OCSPSigning),
    ``plain`` (digitalSignature, no EKU)."""
    key = key or ec.generate_private_key(ec.SECP384R1())
    signer_key = issuer.key if issuer else key
    issuer_name = issuer.cert.subject if issuer else subject
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name)
         .public_key(key.public_key()).serial_number(serial or x509.random_serial_number())
         .not_valid_before(not_before).not_valid_after(not_after))
    if role == "ca":
        b = b.add_extension(x509.BasicConstraints(ca=True, path_length=path_len), critical=True)
        b = b.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                            critical=True)
    else:
        b = b.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        b = b.add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                            critical=True)
        if role == "ocsp":
            b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False)
    for ext in extra:
        b = b.add_extension(ext, critical=False)
    return Issued(b.sign(signer_key, hashes.SHA384()), key)


@dataclass(frozen=True)
class DevicePki:
    """Root -> identity -> provisioner ICA -> BROM -> FMC leaf, named like NVIDIA's Hopper chain."""

    root: Issued
    identity: Issued
    ica: Issued
    brom: Issued
    leaf: Issued
    fwid: bytes

    @property
    def chain(self) -> tuple[Issued, ...]:
        return (self.leaf, self.brom, self.ica, self.identity, self.root)

    @property
    def chain_pem(self) -> bytes:
        return b"".join(i.pem for i in self.chain)

    @property
    def chain_der(self) -> bytes:
        return b"".join(i.cert.public_bytes(serialization.Encoding.DER) for i in self.chain)

    @property
    def pin(self) -> str:
        return spki_sha256(self.root.cert)


def device_pki(fwid: bytes = bytes(range(48))) -> DevicePki:
    root = issue(name("NVIDIA Device Identity CA", "NVIDIA"), None, role="ca")
    identity = issue(name("NVIDIA GH100 Identity"), root, role="ca")
    ica = issue(name("NVIDIA GH100 Provisioner ICA 1"), identity, role="ca")
    brom = issue(name("GH100 A01 GSP BROM"), ica, role="ca")
    tcb = x509.UnrecognizedExtension(x509.ObjectIdentifier(OID_TCG_DICE_TCB_INFO), encode_tcb_info(fwid))
    leaf = issue(name("GH100 A01 GSP FMC LF"), brom, role="leaf", extra=(tcb,))
    return DevicePki(root, identity, ica, brom, leaf, fwid)


@dataclass(frozen=True)
class RimPki:
    """CoRIM root -> L2 "Reference Value GH100 CA" -> L3 (pathlen 0) -> L4 signer."""

    root: Issued
    l2: Issued
    l3: Issued
    l4: Issued

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        return (self.l4.cert, self.l3.cert, self.l2.cert, self.root.cert)

    @property
    def pin(self) -> str:
        return spki_sha256(self.root.cert)


def rim_pki(signer_not_after: dt.datetime = NOT_AFTER) -> RimPki:
    root = issue(name("NVIDIA CoRIM signing Root CA", "NVIDIA"), None, role="ca")
    l2 = issue(name("NVIDIA Reference Value GH100 CA"), root, role="ca")
    l3 = issue(name("NVIDIA Reference Value L3 GH100 002"), l2, role="ca", path_len=0)
    l4 = issue(name("HCC RIM L4 Signer"), l3, role="leaf", not_after=signer_not_after)
    return RimPki(root, l2, l3, l4)


def ocsp_answer(cert: x509.Certificate, issuer: Issued, *, responder: Issued | None = None,
                status: str = "good", this_update: dt.datetime = AT - dt.timedelta(hours=1),
                next_update: dt.datetime | None = AT + dt.timedelta(hours=23),
                nonce: bytes | None = None, include_responder: bool = True) -> bytes:
    """A DER OCSP answer about ``cert``, signed by ``responder`` (default: the issuer itself)."""
    signer = responder or issuer
    cert_status = {"good": ocsp.OCSPCertStatus.GOOD, "revoked": ocsp.OCSPCertStatus.REVOKED,
                   "unknown": ocsp.OCSPCertStatus.UNKNOWN}[status]
    b = ocsp.OCSPResponseBuilder().add_response(
        cert=cert, issuer=issuer.cert, algorithm=hashes.SHA384(), cert_status=cert_status,
        this_update=this_update, next_update=next_update,
        revocation_time=this_update - dt.timedelta(days=1) if status == "revoked" else None,
        revocation_reason=x509.ReasonFlags.key_compromise if status == "revoked" else None,
    ).responder_id(ocsp.OCSPResponderEncoding.HASH, signer.cert)
    if responder is not None and include_responder:
        b = b.certificates([responder.cert])
    if nonce is not None:
        b = b.add_extension(x509.OCSPNonce(nonce), critical=False)
    return b.sign(signer.key, hashes.SHA384()).public_bytes(serialization.Encoding.DER)


def measurements(n: int = 64, seed: int = 7) -> dict[int, bytes]:
    """SPDM index (1-based) -> a distinct 48-byte value."""
    return {i: bytes([(i * 31 + seed + k) % 256 for k in range(48)]) for i in range(1, n + 1)}


def report(pki: DevicePki, nonce: bytes, values: dict[int, bytes], *, driver: str = "550.90.07",
           vbios: str = "96.00.9F.00.01", fwid: bytes | None = None,
           extra: dict[int, bytes] | None = None) -> bytes:
    """A report signed by ``pki``'s leaf; ``extra``: more opaque fields (id -> value), after the usual."""
    fields = spdm.nvidia_opaque_fields(driver_version=driver, vbios_version=vbios,
                                       fwid=pki.fwid if fwid is None else fwid, extra=extra)
    return spdm.build_report(nonce, values, opaque_fields=fields, sign=spdm.p384_signer(pki.leaf.key))


def policy_text(device_pin: str, rim_pin: str, **gpu: object) -> bytes:
    lines = ['name = "test-demo"', "[gpu]", f'roots = {{ device = "{device_pin}", rim = "{rim_pin}" }}']
    for k, v in gpu.items():
        lines.append(f"{k} = {v!r}" if not isinstance(v, str) else f'{k} = "{v}"')
    return "\n".join(lines).encode()
