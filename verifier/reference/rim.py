"""NVIDIA reference integrity manifests (RIMs): TCG SWID tags with an enveloped XML signature.

A RIM is an ISO/IEC 19770-2 SoftwareIdentity document following the TCG PC Client Reference Integrity
Manifest information model (``Meta`` with ``colloquialVersion`` and the ``rim:`` binding attributes;
``Payload`` with one ``Resource type="Measurement"`` per measurement index, ``active``,
``alternatives`` and ``HashN`` attributes in the SHA-384 namespace). NVIDIA signs it with an enveloped
XML signature (W3C XMLDSig 1.1: ECDSA P-384, SHA-384, C14N 1.1) whose KeyInfo carries the signer's
chain up to the NVIDIA CoRIM signing Root CA.

Verification is in three steps, each its own function so that each can be its own check:

1. :func:`load_rim` parses the document with a hardened parser (no DTD, no entities, no network, size
   bounded) and collects the certificates of KeyInfo; nothing else is read from the unsigned document.
2. :func:`verify_rim_chain` validates that chain ourselves to the pinned root at the verification time
   (:mod:`verifier.endorsements.nvidia_chain`); signxml's own CA path rejects NVIDIA's real chain.
3. :func:`verify_rim_signature` has signxml check the signature against that leaf only
   (``XMLVerifier().verify(data, x509_cert=leaf)``) with the algorithms pinned, and reads the version
   and the measurements **only from the signed data signxml returns** -- which is what stops
   signature-wrapping (an unsigned copy of ``Payload`` beside the signed one is never looked at).

Steps 1 and 3 remember their successes by the RIM's exact bytes (:data:`DOCUMENTS`,
:data:`VERIFIED_RIMS`); step 2, which checks validity at the verification time, runs every time.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from cryptography import x509
from lxml import etree

from verifier.endorsements.nvidia_chain import PathError, ValidPath, der_of, validate_path
from verifier.errors import VerifierError
from verifier.memo import BoundedCache, PerObject
from verifier.result import utc

MAX_RIM_BYTES = 2 * 1024 * 1024
MAX_INDEX = 255
MAX_ALTERNATIVES = 16

NS_SWID = "http://standards.iso.org/iso/19770/-2/2015/schema.xsd"
NS_RIM = "https://trustedcomputinggroup.org/resource/tcg-reference-integrity-manifest-rim-information-model/"
NS_SHA384 = "http://www.w3.org/2001/04/xmlenc#sha384"
NS_DSIG = "http://www.w3.org/2000/09/xmldsig#"

_HASH_ATTR = re.compile(r"\A\{" + re.escape(NS_SHA384) + r"\}Hash(\d+)\Z")
_HEX = re.compile(r"\A[0-9a-fA-F]*\Z")
_DIGITS = re.compile(r"\A[0-9]{1,4}\Z")
_VBIOS_VERSION = re.compile(r"\A[0-9A-Fa-f]{2}(\.[0-9A-Fa-f]{2}){4}\Z")


class RimError(VerifierError):
    """A RIM that cannot be used. ``reason``: ``format``, ``chain``, ``signature`` or ``content``."""

    def __init__(self, message: str, *, reason: str) -> None:
        self.reason = reason
        super().__init__(message)


@dataclass(frozen=True)
class RimDocument:
    """A RIM as received: its bytes, the KeyInfo certificates and the version it claims.

    All of this is unsigned. The certificates only propose a path (validated to the pin);
    ``claimed_version`` only routes the RIM to the check that will report on it (driver or VBIOS,
    and which GPU); no decision rests on it. Decisions read :class:`Rim`, the signed content.
    """

    data: bytes
    certificates: tuple[x509.Certificate, ...]
    claimed_version: str

    @property
    def claimed_kind(self) -> str:
        return version_kind(self.claimed_version)


def version_kind(version: str) -> str:
    """``vbios`` for a firmware version (five two-digit hex groups, 96.00.9F.00.01), else ``driver``."""
    return "vbios" if _VBIOS_VERSION.match(version) else "driver"


@dataclass(frozen=True)
class RimMeasurement:
    """One ``Resource type="Measurement"``: RIM indices count from 0 (SPDM index - 1)."""

    index: int
    active: bool
    alternatives: tuple[bytes, ...]
    size: int
    name: str


@dataclass(frozen=True)
class Rim:
    """The signed content of a RIM, read from signxml's verified output only."""

    tag_id: str
    name: str
    version: str
    product: str
    manufacturer_id: str
    measurements: tuple[RimMeasurement, ...]
    signer: x509.Certificate
    platform_model: str = ""
    """The signed Meta's ``rim:PlatformModel`` (TCG RIM IM): the chip, ``GH100``, in NVIDIA's RIMs."""
    edition: str = ""
    """The signed Meta's ``edition``: ``GPU`` or ``SWITCH`` in NVIDIA's RIMs."""

    @property
    def kind(self) -> str:
        """``vbios`` for a firmware RIM (version like 96.00.9F.00.01), else ``driver``."""
        return version_kind(self.version)

    def active(self) -> Mapping[int, RimMeasurement]:
        """The active measurements by index (read once: a verified RIM is remembered and reused)."""
        return self._active

    @functools.cached_property
    def _active(self) -> Mapping[int, RimMeasurement]:
        return MappingProxyType({m.index: m for m in self.measurements if m.active})


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           remove_blank_text=False)


DOCUMENTS: BoundedCache[RimDocument] = BoundedCache("NVIDIA RIM documents", 32)
"""RIMs read before, by their exact bytes (a :class:`RimDocument` is immutable)."""
VERIFIED_RIMS: BoundedCache[Rim] = BoundedCache("NVIDIA verified RIMs", 32)
"""The signed content of RIMs whose XML signature verified, by the RIM's bytes and the signer's DER."""
document_digest: PerObject[RimDocument, bytes] = PerObject(
    "NVIDIA RIM digests", 32, lambda doc: hashlib.sha256(doc.data).digest())
"""SHA-256 of a RIM's exact bytes, remembered for the document object (:data:`DOCUMENTS` hands
out the same one for the same bytes)."""


def load_rim(data: bytes) -> RimDocument:
    """Parse the document and read KeyInfo's certificates (step 1); a RIM read before is served from
    :data:`DOCUMENTS`, one that does not read is refused every time."""
    return DOCUMENTS.through(bytes(data), lambda: _load_rim(data))


def _load_rim(data: bytes) -> RimDocument:
    if len(data) > MAX_RIM_BYTES:
        raise RimError(f"the RIM is {len(data)} bytes, more than {MAX_RIM_BYTES}", reason="format")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise RimError("the RIM has a document type declaration; RIMs have none", reason="format")
    try:
        root = etree.fromstring(data, parser=_parser())
    except (etree.LxmlError, ValueError) as e:
        raise RimError(f"the RIM is not well-formed XML: {e}", reason="format") from None
    if root.tag != f"{{{NS_SWID}}}SoftwareIdentity":
        raise RimError(f"the root element is {root.tag}, not a SWID SoftwareIdentity", reason="format")
    signatures = root.findall(f"{{{NS_DSIG}}}Signature")
    if len(signatures) != 1:
        raise RimError(f"the RIM has {len(signatures)} enveloped signatures, expected exactly one",
                       reason="format")
    certs: list[x509.Certificate] = []
    for el in signatures[0].iterfind(f"{{{NS_DSIG}}}KeyInfo/{{{NS_DSIG}}}X509Data/{{{NS_DSIG}}}X509Certificate"):
        try:
            certs.append(x509.load_der_x509_certificate(base64.b64decode("".join((el.text or "").split()),
                                                                        validate=True)))
        except (ValueError, binascii.Error) as e:
            raise RimError(f"a KeyInfo certificate does not decode: {e}", reason="format") from None
    if not certs:
        raise RimError("the signature's KeyInfo has no X509Certificate", reason="format")
    meta = root.find(f"{{{NS_SWID}}}Meta")
    claimed = (meta.get("colloquialVersion") if meta is not None else None) or ""
    return RimDocument(data, tuple(certs), claimed)


def verify_rim_chain(doc: RimDocument, *, pin: str, at: dt.datetime) -> ValidPath:
    """Validate KeyInfo's chain (leaf first, as NVIDIA orders it) to the pinned root (step 2)."""
    try:
        return validate_path(doc.certificates, pin=pin, at=at, anchor_name="the pinned RIM root")
    except PathError as e:
        raise RimError(str(e), reason="chain") from None


def verify_rim_signature(doc: RimDocument, signer: x509.Certificate, *, at: dt.datetime) -> Rim:
    """Check the XML signature with ``signer`` only, then read the signed content (step 3).

    The content of a RIM whose signature verified is remembered (:data:`VERIFIED_RIMS`, by the RIM's
    exact bytes and the signer's DER) and served again while ``at`` is inside the signer's validity,
    which signxml checks too; a RIM that did not verify is checked again every time."""
    key = (document_digest(doc), der_of(signer))
    hit = VERIFIED_RIMS.get(key)
    if hit is not None and signer.not_valid_before_utc <= utc(at) <= signer.not_valid_after_utc:
        return hit
    rim = _verify_rim_signature(doc, signer, at=at)
    VERIFIED_RIMS.put(key, rim)
    return rim


def _verify_rim_signature(doc: RimDocument, signer: x509.Certificate, *, at: dt.datetime) -> Rim:
    from signxml.algorithms import DigestAlgorithm, SignatureMethod
    from signxml.exceptions import SignXMLException
    from signxml.verifier import SignatureConfiguration, XMLVerifier

    config = SignatureConfiguration(
        location="./",
        expect_references=1,
        signature_methods=frozenset({SignatureMethod.ECDSA_SHA384}),
        digest_algorithms=frozenset({DigestAlgorithm.SHA384}),
        verification_time=at,
    )
    try:
        result: Any = XMLVerifier().verify(doc.data, x509_cert=signer, expect_config=config,
                                           parser=_parser())
    except (SignXMLException, etree.LxmlError, ValueError, TypeError) as e:
        raise RimError(f"the XML signature does not verify: {e}", reason="signature") from None
    except Exception as e:  # hostile XML must end as a refusal, never a traceback
        raise RimError(f"the XML signature cannot be checked ({type(e).__name__}: {e})",
                       reason="signature") from None
    signed = result.signed_xml
    if signed is None or signed.tag != f"{{{NS_SWID}}}SoftwareIdentity":
        raise RimError("the signature does not cover the whole SoftwareIdentity", reason="signature")
    return _read_signed(signed, signer)


def _read_signed(root: Any, signer: x509.Certificate) -> Rim:
    metas = root.findall(f"{{{NS_SWID}}}Meta")
    payloads = root.findall(f"{{{NS_SWID}}}Payload")
    if len(metas) != 1 or len(payloads) != 1:
        raise RimError(f"the signed RIM has {len(metas)} Meta and {len(payloads)} Payload elements, "
                       "expected one each", reason="content")
    meta = metas[0]
    version = meta.get("colloquialVersion")
    if not version:
        raise RimError("the signed Meta has no colloquialVersion", reason="content")
    measurements: list[RimMeasurement] = []
    seen: set[int] = set()
    for res in payloads[0].iterfind(f"{{{NS_SWID}}}Resource"):
        if res.get("type") != "Measurement":
            continue
        measurements.append(_measurement(res, seen))
    if not measurements:
        raise RimError("the signed Payload has no measurements", reason="content")
    return Rim(
        tag_id=root.get("tagId", ""),
        name=root.get("name", ""),
        version=version,
        product=meta.get("product", ""),
        manufacturer_id=meta.get(f"{{{NS_RIM}}}PlatformManufacturerId", ""),
        measurements=tuple(measurements),
        signer=signer,
        platform_model=meta.get(f"{{{NS_RIM}}}PlatformModel", ""),
        edition=meta.get("edition", ""),
    )


def _measurement(res: Any, seen: set[int]) -> RimMeasurement:
    def integer(attr: str, low: int, high: int) -> int:
        raw = res.get(attr)
        if raw is None or not _DIGITS.match(raw) or not low <= int(raw) <= high:
            raise RimError(f"a Resource has {attr}={raw!r}, expected {low}..{high}", reason="content")
        return int(raw)

    index = integer("index", 0, MAX_INDEX)
    if index in seen:
        raise RimError(f"index {index} appears twice", reason="content")
    seen.add(index)
    active_text = res.get("active")
    if active_text not in ("True", "False", "true", "false"):
        raise RimError(f"index {index} has active={active_text!r}", reason="content")
    count = integer("alternatives", 1, MAX_ALTERNATIVES)
    size = integer("size", 1, 64)
    hashes: dict[int, bytes] = {}
    for key, value in res.attrib.items():
        m = _HASH_ATTR.match(key)
        if m is None:
            continue
        if not _HEX.match(value) or len(value) != 2 * size:
            raise RimError(f"index {index} Hash{m.group(1)} is not {size} bytes of hex", reason="content")
        hashes[int(m.group(1))] = bytes.fromhex(value)
    if sorted(hashes) != list(range(count)):
        raise RimError(f"index {index} declares {count} alternatives but has Hash "
                       f"{sorted(hashes)}", reason="content")
    return RimMeasurement(index, active_text.lower() == "true", tuple(hashes[i] for i in range(count)),
                          size, res.get("name", ""))


def verify_rim(data: bytes, *, pin: str, at: dt.datetime) -> tuple[Rim, ValidPath]:
    """All three steps; raises :class:`RimError` with the reason of the first that fails."""
    doc = load_rim(data)
    path = verify_rim_chain(doc, pin=pin, at=at)
    return verify_rim_signature(doc, path.leaf, at=at), path


def driver_rim_id(arch: str, driver_version: str, chip_info: str | None = None) -> str:
    """NVIDIA RIM service id of a driver RIM: Hopper ``NV_GPU_DRIVER_GH100_<version>``, Blackwell
    ``NV_GPU_CC_DRIVER_<chip, from opaque CHIP_INFO, else GB100>_<version>``."""
    if arch.upper() == "BLACKWELL":
        return f"NV_GPU_CC_DRIVER_{chip_info or 'GB100'}_{driver_version}"
    return f"NV_GPU_DRIVER_GH100_{driver_version}"


def vbios_rim_id(project: str, project_sku: str, chip_sku: str, vbios_version: str) -> str:
    """``NV_GPU_VBIOS_<PROJECT>_<PROJECT_SKU>_<CHIP_SKU>_<VERSION without dots, upper case>``."""
    return f"NV_GPU_VBIOS_{project}_{project_sku}_{chip_sku}_{vbios_version.replace('.', '').upper()}".upper()



# -- building (the reference enclave's demo RIMs, and tests) ------------------------------------


def build_rim(*, version: str, measurements: dict[int, Sequence[bytes]], product: str = "GH100",
              indices: int = 64, manufacturer_id: str = "5703", tag_id: str | None = None,
              platform_model: str | None = None, edition: str = "GPU") -> bytes:
    """An unsigned RIM in NVIDIA's layout: ``measurements`` maps each *active* RIM index (0-based)
    to its alternatives (48-byte SHA-384 values); every other index up to ``indices`` is inactive.
    ``product`` and ``platform_model`` (``rim:PlatformModel``, left out when None) name the chip the
    RIM is for, ``edition`` its kind of device (``GPU``, ``SWITCH``)."""
    swid = f"{{{NS_SWID}}}"
    root = etree.Element(swid + "SoftwareIdentity", nsmap={None: NS_SWID, "ns2": NS_SHA384})
    root.set("corpus", "false")
    root.set("name", product)
    root.set("patch", "false")
    root.set("supplemental", "false")
    root.set("tagId", tag_id or hashlib.sha384(f"{product}/{version}".encode()).hexdigest())
    root.set("version", "1.0")
    root.set("tagVersion", "0")
    entity = etree.SubElement(root, swid + "Entity")
    entity.set("name", "NVIDIA Corporation")
    entity.set("role", "softwareCreator tagCreator")
    meta = etree.SubElement(root, swid + "Meta", nsmap={"ns1": NS_RIM})
    meta.set("colloquialVersion", version)
    meta.set("edition", edition)
    meta.set("product", product)
    meta.set(f"{{{NS_RIM}}}PlatformManufacturerId", manufacturer_id)
    if platform_model is not None:
        meta.set(f"{{{NS_RIM}}}PlatformModel", platform_model)
    payload = etree.SubElement(root, swid + "Payload")
    for index in range(indices):
        alternatives = list(measurements.get(index, [bytes(48)]))
        res = etree.SubElement(payload, swid + "Resource")
        res.set("type", "Measurement")
        res.set("index", str(index))
        res.set("active", "True" if index in measurements else "False")
        res.set("alternatives", str(len(alternatives)))
        for n, value in enumerate(alternatives):
            res.set(f"{{{NS_SHA384}}}Hash{n}", value.hex())
        res.set("name", f"Measurement_{index}")
        res.set("size", str(len(alternatives[0])))
    out: bytes = etree.tostring(root)
    return out


def sign_rim(xml: bytes, key: object, chain: Sequence[x509.Certificate]) -> bytes:
    """Sign a RIM as NVIDIA does: enveloped XMLDSig, ECDSA P-384/SHA-384, C14N 1.1, the signer's
    chain (leaf first) in KeyInfo/X509Data."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
    from signxml.signer import XMLSigner

    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TypeError("a RIM signer needs an EC private key")
    signer = XMLSigner(signature_algorithm=SignatureMethod.ECDSA_SHA384,
                       digest_algorithm=DigestAlgorithm.SHA384,
                       c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_1)
    signed = signer.sign(etree.fromstring(xml, parser=_parser()), key=key, cert=list(chain))
    out: bytes = etree.tostring(signed)
    return out
