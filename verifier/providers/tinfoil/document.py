"""Tinfoil's attestation documents, parsed strictly and sans-IO: the v3 document in its June 2026
layout and the older v2 one (the current v3 layout, Tinfoil's envelope, is
:mod:`verifier.providers.tinfoil.envelope`; :func:`detect_layout` tells the two v3 layouts apart).

Sources (in the vectors: ``tinfoil/teep/tinfoil_support.md`` "V3 Attestation Format", "REPORTDATA
Layout", "Envelope Integrity Verification"; ``tinfoil/PROVENANCE.md`` for v2 and the ATC bundle):

**v3** (``GET /.well-known/tinfoil-attestation?nonce=<64 hex>``), a JSON object::

    {"format": "https://tinfoil.sh/predicate/attestation/v3",
     "report_data": {"tls_key_fp", "hpke_key", "nonce", "gpu_evidence_hash"?, "nvswitch_evidence_hash"?},
     "cpu": {"platform": "sev-snp" | "tdx", "report": base64},
     "gpu": {"evidences": [{"arch", "certificate": base64, "evidence": base64, "nonce": hex}]}?,
     "nvswitch": {"evidences": [...]}?,
     "certificate": PEM, "signature": base64 DER ECDSA}

``REPORT_DATA[0:32] = SHA-256(tls_key_fp || hpke_key || nonce [|| gpu_evidence_hash
[|| nvswitch_evidence_hash]])`` over the hex-decoded values, ``[32:64]`` zero; the GPU (NVSwitch)
hash is over the exact bytes of the ``gpu`` (``nvswitch``) value as served. The envelope signature
is ECDSA by the ``certificate``'s key over SHA-256 of the served body with the ``signature`` value
replaced by ``""`` and the trailing newline removed. This module finds those byte spans itself
(:func:`member_spans`): re-serialising the JSON would change the bytes.

**v2** (the same endpoint without a nonce, and Tinfoil's ATC "attestation bundle"):
``{"format": ".../sev-snp-guest/v2" | ".../tdx-guest/v2", "body": base64(gzip(report))}``, with
``REPORT_DATA[0:32]`` the SHA-256 of the TLS key's SubjectPublicKeyInfo and ``[32:64]`` the HPKE
key. An ATC bundle wraps it as ``enclaveAttestationReport`` with ``domain``, ``digest``,
``sigstoreBundle``, ``vcek`` (base64 DER) and ``enclaveCert`` (PEM), whose DNS names carry the HPKE
key (``NN<base32>.hpke.<domain>``) and the hex SHA-256 of ``format || body``
(``NN<base32>.hatt.<domain>``), each split over labels numbered ``00``, ``01``, ...
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from verifier import strict_json
from verifier.errors import ParseError

FORMAT_V3 = "https://tinfoil.sh/predicate/attestation/v3"
FORMAT_V2 = {"https://tinfoil.sh/predicate/sev-snp-guest/v2": "sev-snp",
             "https://tinfoil.sh/predicate/tdx-guest/v2": "tdx"}
PLATFORMS = ("sev-snp", "tdx")
DOCUMENT_DEPTH = 64
"""Tinfoil documents nest a few levels; deeper input is refused, not recursed into."""
MAX_DOCUMENT = 4 * 1024 * 1024
MAX_REPORT = 256 * 1024
MAX_DEVICES = 64
MAX_DEVICE_BLOB = 256 * 1024
MAX_RIMS = 4
V3_MEMBERS = ("format", "report_data", "cpu", "gpu", "nvswitch", "certificate", "signature")
REPORT_DATA_MEMBERS = ("tls_key_fp", "hpke_key", "nonce", "gpu_evidence_hash", "nvswitch_evidence_hash")
JUNE_ONLY = ("report_data", "cpu", "gpu", "nvswitch", "certificate", "signature")
"""Top-level members only the June 2026 v3 layout has."""
CURRENT_ONLY = ("challenge", "cpu_evidence", "crypto_material", "device_evidence", "collateral")
"""Top-level members only Tinfoil's current v3 envelope has (:mod:`verifier.providers.tinfoil.envelope`)."""
_HEX64 = re.compile(r"\A[0-9a-fA-F]{64}\Z")
_SAN_LABEL = re.compile(r"\A([0-9]{2})([a-z2-7]+)\Z")


@dataclass(frozen=True)
class DeviceEvidence:
    """One GPU's (or NVSwitch's) evidence: declared architecture, SPDM report, certificate chain."""

    arch: str
    evidence: bytes
    certificate: bytes
    nonce: bytes | None
    rims: tuple[bytes, ...] = ()
    """Signed reference values served with the evidence: an enclave-chat extension (``rims``, base64
    RIM XML) the reference enclave's demo mode uses; they authenticate themselves under the pinned
    CoRIM root, and Tinfoil's documents leave them to NVIDIA's RIM service."""


@dataclass(frozen=True)
class V3Document:
    """A parsed v3 document. ``raw`` is the body exactly as served; the ``*_raw`` members are the
    exact bytes of the ``gpu``/``nvswitch`` values (None when absent)."""

    raw: bytes
    tls_key_fp: bytes
    hpke_key: bytes
    nonce: bytes
    gpu_evidence_hash: bytes | None
    nvswitch_evidence_hash: bytes | None
    platform: str
    report: bytes
    gpu_raw: bytes | None
    nvswitch_raw: bytes | None
    gpus: tuple[DeviceEvidence, ...]
    nvswitches: tuple[DeviceEvidence, ...]
    nvswitch_problem: str | None
    certificate_pem: bytes
    signature: bytes
    signed_payload: bytes
    """The body with the ``signature`` value replaced by ``""`` and the trailing newline removed."""
    unknown_members: tuple[str, ...] = ()

    def report_data_preimage(self, *, nonce: bytes, gpu_hash: bytes | None,
                             nvswitch_hash: bytes | None) -> bytes:
        """``tls_key_fp || hpke_key || nonce [|| gpu_hash [|| nvswitch_hash]]``."""
        return self.tls_key_fp + self.hpke_key + nonce + (gpu_hash or b"") + (nvswitch_hash or b"")

    def expected_report_data(self, *, nonce: bytes, gpu_hash: bytes | None,
                             nvswitch_hash: bytes | None) -> bytes:
        """``SHA-256(preimage) || 32 zero bytes``."""
        return hashlib.sha256(self.report_data_preimage(
            nonce=nonce, gpu_hash=gpu_hash, nvswitch_hash=nvswitch_hash)).digest() + bytes(32)


@dataclass(frozen=True)
class V2Document:
    """A parsed v2 document, alone (``bundle`` False) or inside an ATC bundle (``bundle`` True)."""

    raw: bytes
    format: str
    platform: str
    body: str
    report: bytes
    bundle: bool = False
    domain: str | None = None
    digest: str | None = None
    sigstore_bundle: bytes | None = None
    vcek: bytes | None = None
    enclave_cert_pem: bytes | None = None

    @property
    def attestation_hash(self) -> str:
        """The hex SHA-256 of ``format || body`` that an enclave certificate's ``hatt`` names carry."""
        return hashlib.sha256((self.format + self.body).encode()).hexdigest()


@dataclass(frozen=True)
class CertificateNames:
    """What a Tinfoil TLS certificate's DNS names encode (v2 binding): HPKE key, attestation hash."""

    hpke_key: bytes | None
    attestation_hash: str | None
    problems: tuple[str, ...] = field(default_factory=tuple)


# -- JSON with byte spans ---------------------------------------------------------------------------

def member_spans(raw: bytes) -> tuple[dict[str, Any], dict[str, tuple[int, int]]]:
    """The top-level object of ``raw`` and, per member, the byte span ``[start, end)`` of its value.

    Duplicate members (at any depth), NaN/Infinity and trailing garbage are refused: a document
    that different parsers could read differently is not one to hash or sign."""
    return strict_json.member_spans(raw, "document", max_depth=DOCUMENT_DEPTH)


# -- field readers ------------------------------------------------------------------------------------

def _hex32(value: object, where: str) -> bytes:
    if not isinstance(value, str) or not _HEX64.match(value):
        raise ParseError("must be 64 hex digits (32 bytes)", field=where)
    return bytes.fromhex(value)


def _b64(value: object, where: str, limit: int) -> bytes:
    if not isinstance(value, str):
        raise ParseError("must be a base64 string", field=where)
    if len(value) > limit * 4 // 3 + 4:
        raise ParseError(f"is larger than {limit} bytes", field=where)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ParseError("is not base64", field=where) from None


def _object(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ParseError("must be a JSON object", field=where)
    return value


def _device(item: object, where: str) -> DeviceEvidence:
    entry = _object(item, where)
    arch = entry.get("arch", "")
    if not isinstance(arch, str) or len(arch) > 64:
        raise ParseError("must be a short string", field=f"{where}.arch")
    nonce = entry.get("nonce")
    rims = entry.get("rims", [])
    if not isinstance(rims, list) or len(rims) > MAX_RIMS:
        raise ParseError(f"must be a list of at most {MAX_RIMS} base64 RIMs", field=f"{where}.rims")
    return DeviceEvidence(
        arch,
        _b64(entry.get("evidence"), f"{where}.evidence", MAX_DEVICE_BLOB),
        _b64(entry.get("certificate"), f"{where}.certificate", MAX_DEVICE_BLOB),
        _hex32(nonce, f"{where}.nonce") if nonce is not None else None,
        tuple(_b64(r, f"{where}.rims[{i}]", MAX_DEVICE_BLOB) for i, r in enumerate(rims)),
    )


def _devices(value: object, where: str) -> tuple[DeviceEvidence, ...]:
    items = _object(value, where).get("evidences")
    if not isinstance(items, list) or len(items) > MAX_DEVICES:
        raise ParseError(f"must be a list of at most {MAX_DEVICES} evidences", field=f"{where}.evidences")
    return tuple(_device(item, f"{where}.evidences[{i}]") for i, item in enumerate(items))


# -- the documents ----------------------------------------------------------------------------------

def detect_layout(doc: Mapping[str, Any]) -> str:
    """Which v3 layout ``doc`` (a v3-format object) is, by its members, never guessed: ``"june"``
    (the June 2026 layout: any of :data:`JUNE_ONLY`) or ``"current"`` (Tinfoil's current envelope:
    any of :data:`CURRENT_ONLY`). Members of both, or of neither, are a :class:`ParseError` with
    ``reason="layout"`` (``tinfoil.layout``)."""
    june = sorted(m for m in doc if m in JUNE_ONLY)
    current = sorted(m for m in doc if m in CURRENT_ONLY)
    if june and current:
        raise ParseError(f"mixes the June 2026 layout's members {june} with the current layout's {current}",
                         field="document", reason="layout")
    if not june and not current:
        raise ParseError("carries the members of neither v3 layout (June 2026: report_data, cpu, certificate, "
                         "signature; current: challenge, cpu_evidence, crypto_material, device_evidence, collateral)",
                         field="document", reason="layout")
    return "june" if june else "current"


def parse_document(raw: bytes) -> V3Document | V2Document:
    """A served attestation document in the June 2026 v3 layout, or v2 (a legacy answer or an ATC
    bundle). A document in the current v3 layout is refused here: :func:`verifier.providers.
    tinfoil.envelope.parse_any` reads every layout."""
    if len(raw) > MAX_DOCUMENT:
        raise ParseError(f"is larger than {MAX_DOCUMENT} bytes", field="document")
    doc, spans = member_spans(raw)
    return parse_members(raw, doc, spans)


def parse_members(raw: bytes, doc: Mapping[str, Any], spans: Mapping[str, tuple[int, int]]) -> V3Document | V2Document:
    """:func:`parse_document` for an object already read by :func:`member_spans`."""
    fmt = doc.get("format")
    if fmt == FORMAT_V3:
        if detect_layout(doc) != "june":
            raise ParseError("is in the current v3 layout, which this parser does not read", field="document",
                             reason="layout")
        if "body" in doc:
            raise ParseError("a v3 document must not carry the legacy v2 body", field="body")
        return _parse_v3(raw, doc, spans)
    if isinstance(fmt, str) and fmt in FORMAT_V2:
        return _parse_v2(raw, doc, bundle=False)
    if "enclaveAttestationReport" in doc:
        return _parse_v2(raw, doc, bundle=True)
    raise ParseError(f"is {str(fmt)[:80]!r}, not {FORMAT_V3} (nor a v2 format)", field="format")


def _parse_v3(raw: bytes, doc: Mapping[str, Any], spans: Mapping[str, tuple[int, int]]) -> V3Document:
    rd = _object(doc.get("report_data"), "report_data")
    unknown_rd = sorted(set(rd) - set(REPORT_DATA_MEMBERS))
    if unknown_rd:
        raise ParseError(f"has unknown members {unknown_rd}", field="report_data")
    tls = _hex32(rd.get("tls_key_fp"), "report_data.tls_key_fp")
    hpke = _hex32(rd.get("hpke_key"), "report_data.hpke_key")
    nonce = _hex32(rd.get("nonce"), "report_data.nonce")
    gpu_hash = _hex32(rd["gpu_evidence_hash"], "report_data.gpu_evidence_hash") if "gpu_evidence_hash" in rd else None
    nvs_hash = (_hex32(rd["nvswitch_evidence_hash"], "report_data.nvswitch_evidence_hash")
                if "nvswitch_evidence_hash" in rd else None)
    if nvs_hash is not None and gpu_hash is None:
        raise ParseError("names an NVSwitch evidence hash without a GPU evidence hash", field="report_data")
    cpu = _object(doc.get("cpu"), "cpu")
    platform = cpu.get("platform")
    if platform not in PLATFORMS:
        raise ParseError(f"must be one of {', '.join(PLATFORMS)}", field="cpu.platform")
    report = _b64(cpu.get("report"), "cpu.report", MAX_REPORT)
    if not report:
        raise ParseError("is empty", field="cpu.report")
    gpu_raw = raw[slice(*spans["gpu"])] if "gpu" in spans else None
    gpus = _devices(doc["gpu"], "gpu") if "gpu" in doc else ()
    if (gpu_raw is None) != (gpu_hash is None):
        raise ParseError("gpu evidence and report_data.gpu_evidence_hash must come together", field="gpu")
    nvs_raw = raw[slice(*spans["nvswitch"])] if "nvswitch" in spans else None
    if (nvs_raw is None) != (nvs_hash is None):
        raise ParseError("nvswitch evidence and report_data.nvswitch_evidence_hash must come together",
                         field="nvswitch")
    nvswitches: tuple[DeviceEvidence, ...] = ()
    nvs_problem = None
    if "nvswitch" in doc:
        try:
            nvswitches = _devices(doc["nvswitch"], "nvswitch")
        except ParseError as e:
            nvs_problem = str(e)
    cert = doc.get("certificate")
    if not isinstance(cert, str) or "-----BEGIN CERTIFICATE-----" not in cert:
        raise ParseError("must be a PEM certificate", field="certificate")
    signature = _b64(doc.get("signature"), "signature", 1024)
    if not signature:
        raise ParseError("is empty", field="signature")
    start, end = spans["signature"]
    payload = raw[:start] + b'""' + raw[end:]
    payload = payload[:-1] if payload.endswith(b"\n") else payload
    return V3Document(
        raw=raw, tls_key_fp=tls, hpke_key=hpke, nonce=nonce, gpu_evidence_hash=gpu_hash,
        nvswitch_evidence_hash=nvs_hash, platform=str(platform), report=report, gpu_raw=gpu_raw,
        nvswitch_raw=nvs_raw, gpus=gpus, nvswitches=nvswitches, nvswitch_problem=nvs_problem,
        certificate_pem=cert.encode(), signature=signature, signed_payload=payload,
        unknown_members=tuple(sorted(set(doc) - set(V3_MEMBERS))),
    )


def _gunzip(data: bytes, limit: int = MAX_REPORT) -> bytes:
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(data, limit + 1)
    except zlib.error as e:
        raise ParseError(f"is not gzip ({e})", field="body") from None
    if len(out) > limit or d.unconsumed_tail:
        raise ParseError(f"decompresses to more than {limit} bytes", field="body")
    if not d.eof:
        raise ParseError("is a truncated gzip stream", field="body")
    return out


def _parse_v2(raw: bytes, doc: Mapping[str, Any], *, bundle: bool) -> V2Document:
    inner = _object(doc.get("enclaveAttestationReport"), "enclaveAttestationReport") if bundle else doc
    fmt = inner.get("format")
    if not isinstance(fmt, str) or fmt not in FORMAT_V2:
        raise ParseError(f"must be one of {', '.join(FORMAT_V2)}", field="format")
    body = inner.get("body")
    report = _gunzip(_b64(body, "body", MAX_REPORT))
    assert isinstance(body, str)
    if not bundle:
        return V2Document(raw, fmt, FORMAT_V2[fmt], body, report)
    domain, digest, cert = doc.get("domain"), doc.get("digest"), doc.get("enclaveCert")
    if not isinstance(domain, str) or not domain:
        raise ParseError("must be the enclave's host name", field="domain")
    if not isinstance(digest, str) or not _HEX64.match(digest):
        raise ParseError("must be 64 hex digits", field="digest")
    if not isinstance(cert, str) or "-----BEGIN CERTIFICATE-----" not in cert:
        raise ParseError("must be a PEM certificate", field="enclaveCert")
    sigstore = doc.get("sigstoreBundle")
    if not isinstance(sigstore, dict):
        raise ParseError("must be a Sigstore bundle object", field="sigstoreBundle")
    vcek = _b64(doc["vcek"], "vcek", 16 * 1024) if doc.get("vcek") is not None else None
    return V2Document(raw, fmt, FORMAT_V2[fmt], body, report, True, domain, digest.lower(),
                      json.dumps(sigstore).encode(), vcek, cert.encode())


# -- certificates -----------------------------------------------------------------------------------

def load_certificate(pem: bytes, where: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError as e:
        raise ParseError(f"is not a PEM certificate ({e})", field=where) from None


def spki_sha256(cert: x509.Certificate) -> bytes:
    """SHA-256 of the certificate's DER SubjectPublicKeyInfo (the ``tls_key_fp`` form)."""
    der = cert.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).digest()


def certificate_names(cert: x509.Certificate) -> CertificateNames:
    """Decode the ``hpke`` and ``hatt`` values spread over a Tinfoil certificate's DNS names."""
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = []
    parts: dict[str, dict[int, str]] = {"hpke": {}, "hatt": {}}
    problems: list[str] = []
    for name in names:
        labels = name.lower().split(".")
        if len(labels) < 3 or labels[1] not in parts:
            continue
        m = _SAN_LABEL.match(labels[0])
        if m is None:
            problems.append(f"{name} is not an indexed base32 label")
            continue
        index = int(m.group(1))
        if index in parts[labels[1]]:
            problems.append(f"{labels[1]} part {index} appears twice")
        parts[labels[1]][index] = m.group(2)
    decoded: dict[str, bytes | None] = {}
    for kind, chunks in parts.items():
        if not chunks:
            decoded[kind] = None
            continue
        if sorted(chunks) != list(range(len(chunks))):
            problems.append(f"{kind} parts are not numbered 00..{len(chunks) - 1:02d}")
            decoded[kind] = None
            continue
        text = "".join(chunks[i] for i in range(len(chunks))).upper()
        try:
            decoded[kind] = base64.b32decode(text + "=" * (-len(text) % 8))
        except (binascii.Error, ValueError):
            problems.append(f"{kind} is not base32")
            decoded[kind] = None
    hatt = decoded["hatt"]
    hatt_text = None
    if hatt is not None:
        try:
            hatt_text = hatt.decode("ascii").lower()
        except UnicodeDecodeError:
            problems.append("hatt is not hex text")
    return CertificateNames(decoded["hpke"], hatt_text, tuple(problems))
