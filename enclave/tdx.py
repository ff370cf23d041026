"""A simulated Intel TDX machine (INSECURE DEMO): a demo Intel PKI, a demo Quoting Enclave, TD
quotes v4 and the collateral Intel's PCS would serve for them.

On a real TDX host the TDX module writes a TDREPORT (MAC-protected, checkable only on that CPU)
and Intel's Quoting Enclave turns it into a quote: the QE's attestation key signs the TD report
body, the QE report binds SHA-256(attestation key || QE authentication data) in its REPORTDATA,
and the platform's PCK key (certified by Intel: PCK <- PCK Platform CA <- Intel SGX Root CA)
signs the QE report. A verifier then checks Intel's collateral: the TCB info and QE identity
(signed by Intel's TCB signing key) and the two CRLs. Here all of it is simulated:

- the "Intel SGX Root CA" is a demo P-256 key committed in ``enclave/demo_keys/tdx`` (so that
  ``policies/demo.toml`` can pin it); every other key (PCK Platform CA, PCK, TCB signing, the QE's
  attestation key) is made once per process. The subject names carry Intel's common names, which
  the chain rules require, and the organisation ``enclave-chat INSECURE DEMO (not Intel)``;
- the PCK certificate carries the SGX extension (OID 1.2.840.113741.1.13.1) of a demo platform
  (:data:`FMSPC`), with demo CPUSVN components and PCESVN;
- the quote is laid out byte for byte per Intel's *TDX DCAP Quote Generation Library and Quote
  Verification Library* API (Appendix A, version 4, certification data type 6 around type 5);
- the TDREPORT (for the Azure TDX CVM, :mod:`enclave.azure`) per the TDX module ABI
  (TDREPORT_STRUCT), with a MAC under a demo key that nobody can check;
- the collateral (TCB info v3 ``TDX``, QE identity ``TD_QE``, PCK CRL, root CA CRL) is signed as
  Intel's PCS API v4 signs it and travels in the bundle (``cpu.collateral.tdx``, docs/protocol.md).

The measurements (MRTD, RTMR0-2) are labels hashed with the reference enclave's launch
measurement: no firmware was measured. Nothing here is protected by hardware.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import struct
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from enclave import der
from enclave.demo_roots import KEYS, NOT_AFTER, NOT_BEFORE
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
    PCK_LEAF_CN,
    PCK_PLATFORM_CA_CN,
    ROOT_CA_CN,
    SGX_EXTENSION_OID,
    TCB_SIGNING_CN,
)
from verifier.endorsements.intel_collateral import TdxCollateral
from verifier.evidence.azure_tdx import REPORTTYPE_TDX, TDREPORT_SIZE
from verifier.evidence.encoding import b64encode
from verifier.evidence.tdx import (
    ATT_KEY_TYPE_ECDSA_P256,
    CERT_DATA_PCK_CHAIN,
    CERT_DATA_QE_REPORT,
    INTEL_QE_VENDOR_ID,
    QE_REPORT_SIZE,
    TD_ATTR_SEPT_VE_DISABLE,
    TD_REPORT10_SIZE,
    TEE_TYPE_TDX,
)
from verifier.reference.release import tdx_launch_measurement

PLATFORM = "tdx"
AZURE_PLATFORM = "azure-tdx-vtpm"
PLATFORMS = (PLATFORM, AZURE_PLATFORM)
"""The simulated platforms whose CPU evidence is a TD quote (bare, or inside an Azure TDX CVM)."""
QUOTE_VERSION = 4
ORGANISATION = "enclave-chat INSECURE DEMO (not Intel)"

# -- the demo platform ------------------------------------------------------------------------------
FMSPC = bytes.fromhex("00de770de700")
"""The demo platform's FMSPC (family-model-stepping-platform-custom SKU): no Intel platform's."""
PCE_ID = bytes(2)
PCESVN = 13
CPUSVN = bytes([4] * 16)
"""The SGX TCB components (CPUSVN) of the demo platform, one byte each."""
TEE_TCB_SVN = bytes([3, 1, 2]) + bytes(13)
"""TEE_TCB_SVN: the TDX module's minor (3) and major (1) SVN and its TCB components."""
QE_SVN = 4
QE_PRODUCT_ID = 2
QE_ATTRIBUTES = bytes.fromhex("11000000000000000000000000000000")
QE_MRSIGNER = hashlib.sha256(b"enclave-chat INSECURE DEMO Quoting Enclave signer").digest()
QE_MRENCLAVE = hashlib.sha256(b"enclave-chat INSECURE DEMO Quoting Enclave").digest()
QE_AUTH_DATA = bytes(range(32))
XFAM = bytes.fromhex("e702060000000000")
"""x87, SSE, AVX, AVX-512 (opmask, ZMM), PKRU, CET: a common TD XFAM."""
TCB_EVALUATION_DATA_NUMBER = 18
MRSEAM = hashlib.sha384(b"enclave-chat INSECURE DEMO TDX module").digest()
_MAC_KEY = hashlib.sha256(b"enclave-chat INSECURE DEMO TDREPORT MAC key").digest()


def intel_style_name(common_name: str, organisation: str = ORGANISATION) -> x509.Name:
    """A subject laid out as Intel's SGX/TDX certificates name theirs (CN, O, L, ST, C)."""
    return x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
        x509.NameAttribute(NameOID.LOCALITY_NAME, "Santa Clara"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "CA"),
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
    ])


ROOT_NAME = intel_style_name(ROOT_CA_CN)
PCK_CA_NAME = intel_style_name(PCK_PLATFORM_CA_CN)


# -- keys and certificates ----------------------------------------------------------------------------
@cache
def root_key() -> ec.EllipticCurvePrivateKey:
    """INSECURE DEMO: the demo "Intel SGX Root CA" key (committed: ``policies/demo.toml`` pins it)."""
    key = serialization.load_pem_private_key((KEYS / "tdx" / "intel-root-INSECURE-DEMO.pem").read_bytes(),
                                             password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


@cache
def _process_key(role: str) -> ec.EllipticCurvePrivateKey:
    """INSECURE DEMO: the PCK Platform CA, PCK, TCB signing or attestation key, made once per process."""
    return ec.generate_private_key(ec.SECP256R1())


_INTEL_PATH_LENGTH = object()
"""``certificate``'s default path length: Intel's (1 for the root, 0 for an intermediate CA)."""


def certificate(subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey,
                signer: ec.EllipticCurvePrivateKey, *, ca: bool, serial: int,
                extension: x509.ExtensionType | None = None, path_length: object = _INTEL_PATH_LENGTH,
                content_commitment: bool | None = None, not_before: dt.datetime = NOT_BEFORE,
                not_after: dt.datetime = NOT_AFTER) -> x509.Certificate:
    """An ECDSA P-256 / SHA-256 certificate shaped like Intel's PCK and TCB signing chains:
    BasicConstraints and KeyUsage critical, subject and authority key identifiers, one optional
    extension (the SGX extension of a PCK certificate). A leaf's KeyUsage is digitalSignature and,
    unless ``content_commitment`` says otherwise, nonRepudiation, as Intel's are."""
    if path_length is _INTEL_PATH_LENGTH:
        path_length = (0 if subject != issuer else 1) if ca else None
    assert path_length is None or isinstance(path_length, int)
    commitment = (not ca) if content_commitment is None else content_commitment
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
               .public_key(key.public_key()).serial_number(serial)
               .not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=not ca, content_commitment=commitment,
                                            key_encipherment=False, data_encipherment=False,
                                            key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                                            encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
                              critical=False))
    if extension is not None:
        builder = builder.add_extension(extension, critical=False)
    return builder.sign(signer, hashes.SHA256())


@cache
def root_certificate() -> x509.Certificate:
    return certificate(ROOT_NAME, ROOT_NAME, root_key(), root_key(), ca=True, serial=0x1D)


@cache
def pck_ca_certificate() -> x509.Certificate:
    return certificate(PCK_CA_NAME, ROOT_NAME, _process_key("pck-ca"), root_key(), ca=True, serial=0x2D)


@cache
def tcb_signing_certificate() -> x509.Certificate:
    return certificate(intel_style_name(TCB_SIGNING_CN), ROOT_NAME, _process_key("tcb"), root_key(),
                        ca=False, serial=0x3D)


def sgx_extension() -> bytes:
    """The SGX extension's DER (PCK Certificate and CRL Profile §1.3.5) for the demo platform:
    PPID, TCB (16 CPUSVN components, PCESVN, CPUSVN), PCE-ID, FMSPC, SGX Type (Scalable), the
    platform instance id and configuration (a multi-package platform's fields)."""
    def pair(oid: str, value: bytes) -> bytes:
        return der.sequence(der.oid(oid), value)

    tcb = b"".join(pair(f"{OID_TCB}.{i + 1}", der.integer(c)) for i, c in enumerate(CPUSVN))
    tcb += pair(OID_PCESVN, der.integer(PCESVN)) + pair(OID_CPUSVN, der.octet_string(CPUSVN))
    configuration = (pair(OID_DYNAMIC_PLATFORM, der.boolean(False)) + pair(OID_CACHED_KEYS, der.boolean(True))
                     + pair(OID_SMT_ENABLED, der.boolean(True)))
    ppid = hashlib.sha256(b"enclave-chat INSECURE DEMO PPID").digest()[:16]
    instance = hashlib.sha256(b"enclave-chat INSECURE DEMO platform instance").digest()[:16]
    return der.sequence(
        pair(OID_PPID, der.octet_string(ppid)), pair(OID_TCB, der.tlv(0x30, tcb)),
        pair(OID_PCE_ID, der.octet_string(PCE_ID)), pair(OID_FMSPC, der.octet_string(FMSPC)),
        pair(OID_SGX_TYPE, der.enumerated(1)), pair(OID_PLATFORM_INSTANCE_ID, der.octet_string(instance)),
        pair(OID_CONFIGURATION, der.tlv(0x30, configuration)))


@cache
def pck_certificate() -> x509.Certificate:
    return certificate(intel_style_name(PCK_LEAF_CN), PCK_CA_NAME, _process_key("pck"), _process_key("pck-ca"),
                        ca=False, serial=0x4D,
                        extension=x509.UnrecognizedExtension(x509.ObjectIdentifier(SGX_EXTENSION_OID),
                                                             sgx_extension()))


def pem(*certificates: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)


def root_pin() -> str:
    """The SHA-256 of the demo root's SubjectPublicKeyInfo, as ``[tdx] roots`` pins it."""
    spki = root_key().public_key().public_bytes(serialization.Encoding.DER,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()


def raw_signature(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """ECDSA P-256 / SHA-256 as a quote carries it: r || s, 32 bytes each, big-endian."""
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def raw_public(key: ec.EllipticCurvePrivateKey) -> bytes:
    numbers = key.public_key().public_numbers()
    return numbers.x.to_bytes(32, "big") + numbers.y.to_bytes(32, "big")


# -- the TD -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TdState:
    """What the TDX module reports about one TD (TD_ATTRIBUTES little-endian, as in a quote)."""

    mrtd: bytes
    rtmrs: tuple[bytes, bytes, bytes, bytes]
    td_attributes: int = TD_ATTR_SEPT_VE_DISABLE
    xfam: bytes = XFAM
    tee_tcb_svn: bytes = TEE_TCB_SVN
    mrseam: bytes = MRSEAM
    mrsignerseam: bytes = bytes(48)
    seam_attributes: bytes = bytes(8)
    mrconfigid: bytes = bytes(48)
    mrowner: bytes = bytes(48)
    mrownerconfig: bytes = bytes(48)

    @property
    def measurement(self) -> bytes:
        """MRTD || RTMR0 || RTMR1 || RTMR2: what a TDX release entry is compared with."""
        return tdx_launch_measurement(self.mrtd, *self.rtmrs[:3])

    def body(self, report_data: bytes) -> bytes:
        """The quote's TD report body 1.0 (584 bytes, DCAP API A.3.2)."""
        body = (self.tee_tcb_svn + self.mrseam + self.mrsignerseam + self.seam_attributes
                + self.td_attributes.to_bytes(8, "little") + self.xfam + self.mrtd + self.mrconfigid
                + self.mrowner + self.mrownerconfig + b"".join(self.rtmrs) + report_data)
        assert len(body) == TD_REPORT10_SIZE
        return body

    def tdreport(self, report_data: bytes) -> bytes:
        """TDREPORT_STRUCT (TDX module ABI, 1024 bytes): REPORTMACSTRUCT (REPORTTYPE 0x81, CPUSVN,
        the SHA-384s of TEE_TCB_INFO and TDINFO, REPORTDATA, a MAC under a demo key), TEE_TCB_INFO
        (VALID, TEE_TCB_SVN, MRSEAM, MRSIGNERSEAM, ATTRIBUTES), TDINFO_STRUCT."""
        tee_tcb_info = (struct.pack("<Q", 0x0F) + self.tee_tcb_svn + self.mrseam + self.mrsignerseam
                        + self.seam_attributes + bytes(111))
        tdinfo = (self.td_attributes.to_bytes(8, "little") + self.xfam + self.mrtd + self.mrconfigid
                  + self.mrowner + self.mrownerconfig + b"".join(self.rtmrs) + bytes(48) + bytes(64))
        head = (bytes([REPORTTYPE_TDX, 0, 0, 0]) + bytes(12) + CPUSVN + hashlib.sha384(tee_tcb_info).digest()
                + hashlib.sha384(tdinfo).digest() + report_data + bytes(32))
        mac = hmac.new(_MAC_KEY, head + tee_tcb_info + tdinfo, hashlib.sha256).digest()
        report = head + mac + tee_tcb_info + bytes(17) + tdinfo
        assert len(report) == TDREPORT_SIZE
        return report


def td_state(launch: bytes) -> TdState:
    """INSECURE DEMO registers for a guest whose launch measurement is ``launch``: MRTD and RTMR0-2
    are SHA-384 of a label and ``launch`` (no firmware, kernel or command line was measured);
    RTMR3, extended at run time, is zero."""
    def register(label: bytes) -> bytes:
        return hashlib.sha384(b"enclave-chat INSECURE DEMO " + label + b"\0" + launch).digest()

    return TdState(register(b"MRTD"), (register(b"RTMR0"), register(b"RTMR1"), register(b"RTMR2"), bytes(48)))


def flipped(state: TdState) -> TdState:
    """ATTACK (``flip-measurement``): the same TD with one bit of MRTD flipped (a TD never released)."""
    mrtd = bytearray(state.mrtd)
    mrtd[0] ^= 0x01
    return replace(state, mrtd=bytes(mrtd))


def qe_report(report_data: bytes) -> bytes:
    """The demo QE's SGX REPORT body (384 bytes): CPUSVN, MISCSELECT, ATTRIBUTES, MRENCLAVE,
    MRSIGNER, ISVPRODID, ISVSVN and REPORTDATA at their offsets, the reserved bytes zero."""
    report = (CPUSVN + bytes(4) + bytes(28) + QE_ATTRIBUTES + QE_MRENCLAVE + bytes(32) + QE_MRSIGNER
              + bytes(96) + struct.pack("<HH", QE_PRODUCT_ID, QE_SVN) + bytes(60) + report_data)
    assert len(report) == QE_REPORT_SIZE
    return report


@dataclass
class SimulatedTdx:
    """One simulated TDX host running one TD (INSECURE DEMO): its quoting enclave and collateral."""

    state: TdState
    attestation_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: _process_key("attestation"))

    @property
    def measurement(self) -> bytes:
        return self.state.measurement

    def quote(self, report_data: bytes, *, state: TdState | None = None) -> bytes:
        """A TD quote v4 of ``state`` (the TD's own unless an attack names another) with
        ``report_data``: header, TD report body, the attestation key's signature over both, the
        attestation key, certification data type 6 (QE report, its PCK signature, the QE
        authentication data, type 5: the PCK chain leaf first, as PEM)."""
        body = (state or self.state).body(report_data)
        header = (struct.pack("<HHI", QUOTE_VERSION, ATT_KEY_TYPE_ECDSA_P256, TEE_TYPE_TDX) + bytes(4)
                  + INTEL_QE_VENDOR_ID + hashlib.sha256(b"enclave-chat INSECURE DEMO QE id").digest()[:16] + bytes(4))
        signed = header + body
        attestation_key = raw_public(self.attestation_key)
        qe = qe_report(hashlib.sha256(attestation_key + QE_AUTH_DATA).digest() + bytes(32))
        chain = pem(pck_certificate(), pck_ca_certificate(), root_certificate())
        certification = (qe + raw_signature(_process_key("pck"), qe) + struct.pack("<H", len(QE_AUTH_DATA))
                         + QE_AUTH_DATA + struct.pack("<HI", CERT_DATA_PCK_CHAIN, len(chain)) + chain)
        signature_data = (raw_signature(self.attestation_key, signed) + attestation_key
                          + struct.pack("<HI", CERT_DATA_QE_REPORT, len(certification)) + certification)
        return signed + struct.pack("<I", len(signature_data)) + signature_data

    def collateral(self, at: dt.datetime | None = None) -> TdxCollateral:
        """The collateral current at ``at`` (now): issued the day before, valid thirty days."""
        return collateral((at or dt.datetime.now(dt.UTC)).date())


# -- the collateral -----------------------------------------------------------------------------------
def iso_time(t: dt.datetime) -> str:
    """A time as PCS writes it (``issueDate``, ``nextUpdate``)."""
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def tcb_info(issue: dt.datetime, next_update: dt.datetime) -> dict[str, Any]:
    """TCB info v3 for TDX (PCS API v4): the demo platform's FMSPC and PCE-ID, the TDX module
    identity TDX_01, and one level, UpToDate, that the demo platform meets exactly."""
    module = {"mrsigner": "00" * 48, "attributes": "0000000000000000", "attributesMask": "FFFFFFFFFFFFFFFF"}
    date = "2025-01-01T00:00:00Z"
    return {
        "id": "TDX", "version": 3, "issueDate": iso_time(issue), "nextUpdate": iso_time(next_update),
        "fmspc": FMSPC.hex(), "pceId": PCE_ID.hex(), "tcbType": 0,
        "tcbEvaluationDataNumber": TCB_EVALUATION_DATA_NUMBER, "tdxModule": module,
        "tdxModuleIdentities": [dict(module, id="TDX_01", tcbLevels=[
            {"tcb": {"isvsvn": TEE_TCB_SVN[0]}, "tcbDate": date, "tcbStatus": "UpToDate"}])],
        "tcbLevels": [{"tcb": {"sgxtcbcomponents": [{"svn": c} for c in CPUSVN], "pcesvn": PCESVN,
                               "tdxtcbcomponents": [{"svn": c} for c in TEE_TCB_SVN]},
                       "tcbDate": date, "tcbStatus": "UpToDate"}],
    }


def qe_identity(issue: dt.datetime, next_update: dt.datetime) -> dict[str, Any]:
    """The QE identity of the demo TD_QE (PCS API v4, version 2): its MRSIGNER, ISVPRODID,
    attributes and one level, UpToDate, at its ISVSVN."""
    return {
        "id": "TD_QE", "version": 2, "issueDate": iso_time(issue), "nextUpdate": iso_time(next_update),
        "tcbEvaluationDataNumber": TCB_EVALUATION_DATA_NUMBER, "miscselect": "00000000",
        "miscselectMask": "FFFFFFFF", "attributes": QE_ATTRIBUTES.hex().upper(),
        "attributesMask": "FBFFFFFFFFFFFFFF0000000000000000", "mrsigner": QE_MRSIGNER.hex().upper(),
        "isvprodid": QE_PRODUCT_ID,
        "tcbLevels": [{"tcb": {"isvsvn": QE_SVN}, "tcbDate": "2025-01-01T00:00:00Z", "tcbStatus": "UpToDate"}],
    }


def signed_json(name: str, inner: dict[str, Any], key: ec.EllipticCurvePrivateKey | None = None) -> bytes:
    """``{"<name>":<inner>,"signature":"<r||s hex>"}`` as PCS answers it: the signature (by ``key``,
    default the demo TCB signing key) is over the exact bytes of the compact inner object."""
    raw = json.dumps(inner, separators=(",", ":")).encode()
    signature = raw_signature(key or _process_key("tcb"), raw).hex().encode()
    return b'{"' + name.encode() + b'":' + raw + b',"signature":"' + signature + b'"}'


def crl(issuer: x509.Certificate, key: ec.EllipticCurvePrivateKey, issue: dt.datetime,
        next_update: dt.datetime, revoked: tuple[int, ...] = ()) -> bytes:
    """A CRL (DER) of ``issuer`` revoking the serials ``revoked`` (none by default) since ``issue``."""
    builder = (x509.CertificateRevocationListBuilder().issuer_name(issuer.subject)
               .last_update(issue).next_update(next_update)
               .add_extension(x509.CRLNumber(1), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False))
    for serial in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(issue).build())
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


@lru_cache(maxsize=2)
def collateral(day: dt.date) -> TdxCollateral:
    """The demo collateral for ``day``: issued at the start of the day before, next update thirty
    days later (made once per day and process)."""
    issue = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) - dt.timedelta(days=1)
    next_update = issue + dt.timedelta(days=31)
    tcb_chain = pem(tcb_signing_certificate(), root_certificate())
    return TdxCollateral(
        tcb_info=signed_json("tcbInfo", tcb_info(issue, next_update)), tcb_info_chain=tcb_chain,
        qe_identity=signed_json("enclaveIdentity", qe_identity(issue, next_update)), qe_identity_chain=tcb_chain,
        pck_crl=crl(pck_ca_certificate(), _process_key("pck-ca"), issue, next_update),
        pck_crl_chain=pem(pck_ca_certificate(), root_certificate()),
        root_crl=crl(root_certificate(), root_key(), issue, next_update),
        source="the reference enclave's demo collateral (INSECURE DEMO)")


def collateral_member(c: TdxCollateral) -> dict[str, str]:
    """``cpu.collateral.tdx`` of a bundle (docs/protocol.md): each piece base64, as PCS serves it."""
    pieces = {"tcb_info": c.tcb_info, "tcb_info_issuer_chain": c.tcb_info_chain, "qe_identity": c.qe_identity,
              "qe_identity_issuer_chain": c.qe_identity_chain, "pck_crl": c.pck_crl,
              "pck_crl_issuer_chain": c.pck_crl_chain, "root_ca_crl": c.root_crl}
    return {name: b64encode(value) for name, value in pieces.items() if value is not None}
