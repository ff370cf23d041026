"""Simulated NVIDIA H100 in confidential-computing mode (INSECURE DEMO): SPDM reports, the device
certificate chain, and signed reference values (RIMs), all under demo roots.

A real Hopper GPU answers an SPDM 1.1 GET_MEASUREMENTS request carrying the verifier's nonce with a
MEASUREMENTS response (64 SHA-384 firmware measurements, NVIDIA's opaque data, an ECDSA P-384
signature by its GSP FMC key) and hands over its five-certificate identity chain, leaf first:
``GH100 A01 GSP FMC LF`` -> ``GH100 A01 GSP BROM`` -> ``NVIDIA GH100 Provisioner ICA 1`` ->
``NVIDIA GH100 Identity`` -> ``NVIDIA Device Identity CA``. NVIDIA publishes the expected
measurements as driver and VBIOS RIMs signed under its CoRIM root. This module does all of that
with keys committed in ``enclave/demo_keys/gpu``, so the evidence proves nothing: only
``policies/demo.toml`` trusts these roots (:func:`demo_gpu_policy_table` gives its ``[gpu]``
table), and the default policy refuses them at ``gpu.N.chain.root_pinned``. Every certificate name
ends in "(INSECURE DEMO)".

Shapes follow docs/nvidia.md and the verifier in :mod:`verifier.appraisal.nvidia`: the chain is
PEM back to back, leaf first, as NVML gives it; the leaf carries the FWID in a TCG DICE TcbInfo
extension (Hopper's OID) equal to the report's opaque FWID; the opaque fields are the ones an H100
in CC mode reports, in its order, for the driver and VBIOS versions of NVIDIA's published H100
matching set; the RIMs activate the same indices as NVIDIA's RIMs for those versions (VBIOS 0-6 and
8-12, driver 7 and 21-40), some with several alternatives.

Certificates are built once per process (:func:`functools.cache`) with deterministic ECDSA, so the
chain's bytes are the same on every machine; each report has a fresh responder nonce, as a real
GPU's does.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from enclave import demo_roots
from verifier.endorsements.anchors import spki_sha256
from verifier.endorsements.nvidia_chain import OID_TCG_DICE_TCB_INFO, encode_tcb_info
from verifier.evidence.nvidia import (
    REQUEST_SIZE,
    OpaqueField,
    build_report,
    encode_vbios_version,
    p384_signer,
    parse_report,
)
from verifier.providers.native.bundle import GpuEvidence
from verifier.reference.rim import build_rim, sign_rim

KEYS = Path(__file__).parent / "demo_keys" / "gpu"
ARCH = "HOPPER"
PRODUCT = "GH100"
DRIVER_VERSION = "550.90.07"
VBIOS_VERSION = "96.00.9F.00.01"
PROJECT = "1010"
PROJECT_SKU = "0200"
CHIP_SKU = "882"
MEASUREMENT_COUNT = 64
NOT_BEFORE = demo_roots.NOT_BEFORE
NOT_AFTER = demo_roots.NOT_AFTER

VBIOS_RIM_INDICES: tuple[int, ...] = (*range(0, 7), *range(8, 13))
"""RIM indices (SPDM index - 1) the demo VBIOS RIM activates, as NVIDIA's H100 VBIOS RIM does."""
DRIVER_RIM_INDICES: tuple[int, ...] = (7, *range(21, 41))
"""RIM indices the demo driver RIM activates, as NVIDIA's GH100 driver RIM does."""
ALTERNATIVES: Mapping[int, int] = {12: 4, 23: 2, 24: 2, 32: 2, 34: 2, 35: 4, 36: 2}
"""RIM index -> how many alternatives it lists (the simulated value is the last one)."""

MEASUREMENT_LABEL = b"enclave-chat demo GH100 measurement v1"
FWID_LABEL = b"enclave-chat demo GH100 GSP FMC firmware v1"
DEMO_MARK = " (INSECURE DEMO)"
PROTECTED_PCIE_OFF = 0x55
"""What an H100 in single-GPU passthrough reports as PROTECTED_PCIE_STATUS (0xAA would be PPCIe)."""


# -- keys and certificates -------------------------------------------------------------------------


@cache
def _key(name: str) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key((KEYS / f"{name}-INSECURE-DEMO.pem").read_bytes(),
                                             password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp384r1":
        raise ValueError(f"demo key {name} is not an EC P-384 key")
    return key


def device_key(index: int = 0) -> ec.EllipticCurvePrivateKey:
    """The GSP FMC key of simulated GPU ``index``: signs its SPDM reports (the leaf of
    :func:`device_chain`). GPU 0's is committed; the others' are made once per process, so that
    N simulated GPUs present N device keys (``gpu.distinct``)."""
    return _key("gsp-fmc-leaf") if index == 0 else _extra_leaf_key(index)


@cache
def _extra_leaf_key(index: int) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


def rim_signer_key() -> ec.EllipticCurvePrivateKey:
    """The demo "HCC RIM L4 Signer" key: signs the demo RIMs (the leaf of :func:`rim_chain`)."""
    return _key("rim-signer")


def _name(common_name: str, organization: str = "NVIDIA Corporation") -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name + DEMO_MARK),
    ])


def _serial(key: ec.EllipticCurvePublicKey) -> int:
    """A stable positive serial (at most 20 octets) derived from the subject's key."""
    spki = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return int.from_bytes(hashlib.sha256(spki).digest()[:19], "big") | 1


def _issue(subject: x509.Name, subject_key: ec.EllipticCurvePrivateKey,
           issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None, *, ca: bool,
           path_length: int | None = None,
           extra: tuple[x509.ExtensionType, ...] = ()) -> x509.Certificate:
    issuer_name, issuer_key = issuer if issuer is not None else (subject, subject_key)
    public = subject_key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(issuer_name).public_key(public)
        .serial_number(_serial(public)).not_valid_before(NOT_BEFORE).not_valid_after(NOT_AFTER)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                       critical=False)
    )
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=path_length),
                                        critical=True)
    builder = builder.add_extension(x509.KeyUsage(
        digital_signature=not ca, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
        encipher_only=False, decipher_only=False), critical=True)
    for ext in extra:
        builder = builder.add_extension(ext, critical=False)
    return builder.sign(issuer_key, hashes.SHA384(), ecdsa_deterministic=True)


def demo_fwid() -> bytes:
    """The simulated GSP FMC firmware's FWID (SHA-384), in the leaf certificate and the report."""
    return hashlib.sha384(FWID_LABEL).digest()


@cache
def device_chain(index: int = 0) -> tuple[x509.Certificate, ...]:
    """The demo device identity chain of simulated GPU ``index``, leaf first: FMC leaf (its own
    key), BROM, provisioner ICA, GH100 identity, Device Identity CA (self-signed)."""
    root_name = _name("NVIDIA Device Identity CA", "NVIDIA")
    identity_name = _name("NVIDIA GH100 Identity")
    ica_name = _name("NVIDIA GH100 Provisioner ICA 1")
    brom_name = _name("GH100 A01 GSP BROM")
    root_key, identity_key, ica_key, brom_key = (
        _key("device-identity-ca"), _key("gh100-identity"), _key("provisioner-ica"), _key("gsp-brom"))
    root = _issue(root_name, root_key, None, ca=True)
    identity = _issue(identity_name, identity_key, (root_name, root_key), ca=True)
    ica = _issue(ica_name, ica_key, (identity_name, identity_key), ca=True)
    brom = _issue(brom_name, brom_key, (ica_name, ica_key), ca=True)
    tcb_info = x509.UnrecognizedExtension(x509.ObjectIdentifier(OID_TCG_DICE_TCB_INFO),
                                          encode_tcb_info(demo_fwid()))
    leaf = _issue(_name("GH100 A01 GSP FMC LF"), device_key(index), (brom_name, brom_key), ca=False,
                  extra=(tcb_info,))
    return (leaf, brom, ica, identity, root)


@cache
def device_chain_pem(index: int = 0) -> bytes:
    """:func:`device_chain` as the GPU hands it over: PEM certificates back to back, leaf first."""
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in device_chain(index))


@cache
def rim_chain() -> tuple[x509.Certificate, ...]:
    """The demo RIM signing chain, leaf first: L4 signer, L3 (pathlen 0), L2 "Reference Value GH100
    CA", CoRIM root (self-signed). It travels inside each RIM's XML signature (KeyInfo)."""
    root_name = _name("NVIDIA CoRIM signing Root CA", "NVIDIA")
    l2_name = _name("NVIDIA Reference Value GH100 CA")
    l3_name = _name("NVIDIA Reference Value L3 GH100 002")
    root_key, l2_key, l3_key = _key("corim-root"), _key("rim-ca"), _key("rim-l3")
    root = _issue(root_name, root_key, None, ca=True)
    l2 = _issue(l2_name, l2_key, (root_name, root_key), ca=True)
    l3 = _issue(l3_name, l3_key, (l2_name, l2_key), ca=True, path_length=0)
    l4 = _issue(_name("HCC RIM L4 Signer"), rim_signer_key(), (l3_name, l3_key), ca=False)
    return (l4, l3, l2, root)


def device_root_pin() -> str:
    """SHA-256 of the demo Device Identity CA's SubjectPublicKeyInfo (``[gpu] roots.device``)."""
    return spki_sha256(device_chain()[-1])


def rim_root_pin() -> str:
    """SHA-256 of the demo CoRIM root's SubjectPublicKeyInfo (``[gpu] roots.rim``)."""
    return spki_sha256(rim_chain()[-1])


def demo_gpu_policy_table() -> str:
    """The ``[gpu]`` table of ``policies/demo.toml``, comments included, with the demo pins."""
    return (
        "[gpu]\n"
        "# The simulated H100's INSECURE demo roots (enclave/demo_keys/gpu), pinned by the SHA-256 of\n"
        "# their public keys: the demo Device Identity CA and the demo CoRIM signing root.\n"
        f'roots = {{ device = "{device_root_pin()}", rim = "{rim_root_pin()}" }}\n'
        "# The reference enclave simulates one GPU.\n"
        "count = 1\n"
        "# There is no demo OCSP responder: revocation of the demo device and RIM chains is not checked.\n"
        'ocsp = "off"\n'
        'rim_ocsp = "off"\n'
        "# The bundle carries the demo driver and VBIOS RIMs; without them the GPU is not verified.\n"
        'rims = "required"\n'
    )


# -- measurements, reference values ----------------------------------------------------------------


@cache
def demo_measurements() -> Mapping[int, bytes]:
    """SPDM index (1..64) -> the simulated firmware's SHA-384 measurement (read-only mapping)."""
    return MappingProxyType({i: hashlib.sha384(MEASUREMENT_LABEL + bytes([i])).digest()
                             for i in range(1, MEASUREMENT_COUNT + 1)})


def _alternatives(rim_index: int, value: bytes) -> list[bytes]:
    """The RIM's alternatives for ``rim_index``: stand-ins for other firmware builds, then ``value``."""
    others = [hashlib.sha384(MEASUREMENT_LABEL + b"/alternative" + bytes([rim_index, n])).digest()
              for n in range(ALTERNATIVES.get(rim_index, 1) - 1)]
    return [*others, value]


@cache
def demo_rims() -> tuple[bytes, bytes]:
    """The demo driver and VBIOS RIMs (TCG SWID XML, enveloped XML signature by the demo L4 signer
    with :func:`rim_chain` in KeyInfo) whose active values are :func:`demo_measurements`."""
    values = demo_measurements()

    def rim(version: str, indices: tuple[int, ...]) -> bytes:
        xml = build_rim(version=version, product=PRODUCT, indices=MEASUREMENT_COUNT,
                        measurements={i: _alternatives(i, values[i + 1]) for i in indices})
        return sign_rim(xml, rim_signer_key(), rim_chain())

    return rim(DRIVER_VERSION, DRIVER_RIM_INDICES), rim(VBIOS_VERSION, VBIOS_RIM_INDICES)


def opaque_fields(*, driver_version: str = DRIVER_VERSION, vbios_version: str = VBIOS_VERSION,
                  fwid: bytes | None = None) -> tuple[tuple[int, bytes], ...]:
    """The opaque data fields an H100 in CC mode reports, in the order it reports them."""
    def z(text: str, size: int = 0) -> bytes:
        return (text.encode("ascii") + b"\0").ljust(size, b"\0")

    f = OpaqueField
    return (
        (f.VBIOS_VERSION, encode_vbios_version(vbios_version)),
        (f.BOARD_ID, bytes.fromhex("b1030000")),
        (f.CHIP_SKU, z(CHIP_SKU, 9)),
        (f.CHIP_SKU_MOD, z("0", 5)),
        (f.PROJECT, z(PROJECT)),
        (f.PROJECT_SKU, z(PROJECT_SKU)),
        (f.PROJECT_SKU_MOD, z("", 2)),
        (f.DRIVER_VERSION, z(driver_version)),
        (f.GPU_INFO, bytes.fromhex("8001000000000000")),
        (f.MSRSCNT, struct.pack(f"<{MEASUREMENT_COUNT}I", *([1] * MEASUREMENT_COUNT))),
        (f.CPRINFO, bytes.fromhex("00c00100")),
        (f.NVDEC0_STATUS, bytes([0x55])),
        (f.FWID, demo_fwid() if fwid is None else fwid),
        (f.PROTECTED_PCIE_STATUS, bytes([PROTECTED_PCIE_OFF])),
    )


# -- tampering -------------------------------------------------------------------------------------


class Tamper(enum.Enum):
    """Ways :meth:`SimulatedGpu.evidence` can be made wrong, for attack modes and tests."""

    MEASUREMENT = "measurement"
    """A measurement byte flipped after signing: ``gpu.N.signature`` fails."""
    NONCE = "nonce"
    """Honestly signed, but for another nonce (stale or replayed evidence): ``gpu.N.nonce`` fails."""


def flip_measurement_byte(report: bytes, spdm_index: int = 1, offset: int = 0) -> bytes:
    """``report`` with byte ``offset`` of measurement ``spdm_index``'s value flipped (signature kept)."""
    parsed = parse_report(report)
    position = REQUEST_SIZE + 8           # SPDM header 4, NumberOfBlocks 1, MeasurementRecordLength 3
    for block in parsed.response.blocks:
        if block.index == spdm_index:
            if not 0 <= offset < len(block.value):
                raise ValueError(f"measurement {spdm_index} has {len(block.value)} bytes, no byte {offset}")
            position += 4 + 3 + offset     # block header (index, spec, size), DMTF type and size
            out = bytearray(report)
            out[position] ^= 0x01
            return bytes(out)
        position += len(block.pack())
    raise ValueError(f"the report has no measurement {spdm_index}")


def other_nonce(nonce: bytes) -> bytes:
    """A nonce that is certainly not ``nonce`` (its bitwise complement)."""
    return bytes(b ^ 0xFF for b in nonce)


# -- the device ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimulatedGpu:
    """One simulated H100 in CC mode under the INSECURE demo roots.

    ``measurements`` default to the firmware the demo RIMs describe; other values (or versions)
    simulate a GPU running firmware or a driver that NVIDIA's reference values do not cover.
    """

    measurements: Mapping[int, bytes] = field(default_factory=demo_measurements)
    driver_version: str = DRIVER_VERSION
    vbios_version: str = VBIOS_VERSION
    arch: str = ARCH
    index: int = 0
    """Which simulated GPU of the machine: each has its own device key (GPU 0's is committed)."""

    def report(self, nonce: bytes, *, tamper: Tamper | None = None) -> bytes:
        """SPDM GET_MEASUREMENTS request || signed MEASUREMENTS response for the verifier's ``nonce``."""
        signed_for = other_nonce(nonce) if tamper is Tamper.NONCE else nonce
        report = build_report(
            signed_for, dict(self.measurements),
            opaque_fields=opaque_fields(driver_version=self.driver_version,
                                        vbios_version=self.vbios_version),
            sign=p384_signer(device_key(self.index)), responder_nonce=secrets.token_bytes(32))
        if tamper is Tamper.MEASUREMENT:
            report = flip_measurement_byte(report, spdm_index=1)
        return report

    def certificate_chain(self) -> bytes:
        """The device's identity chain as it gives it: PEM, leaf first, ending with its root."""
        return device_chain_pem(self.index)

    def evidence(self, nonce: bytes, *, tamper: Tamper | None = None) -> GpuEvidence:
        """The bundle's ``gpus[i]`` entry for ``nonce`` (the client's 32-byte nonce)."""
        return GpuEvidence(self.arch, self.report(nonce, tamper=tamper), self.certificate_chain())

    def rims(self) -> list[bytes]:
        """The demo driver and VBIOS RIMs (signed XML), for ``appraise_gpus(..., rims=...)``."""
        return list(demo_rims())
