"""The native protocol's evidence bundle, version 1 (docs/protocol.md §Evidence bundle).

``GET /.well-known/attestation?nonce=<64 hex>`` answers this JSON document. Binary values are
standard padded base64; every hash is over the decoded bytes. This module parses it strictly
(bounded sizes, exact types) and computes the REPORT_DATA binding; it does not judge it.

An Azure CVM (``cpu.platform`` ``azure-snp-vtpm`` or ``azure-tdx-vtpm``) carries its HCL report
as ``cpu.report`` and, beside it, the vTPM quote (``cpu.tpm_quote``) and on TDX the TD quote
(``cpu.td_quote``); there the binding value travels as the runtime claims' ``user-data`` and the
quote's qualifying data instead of REPORT_DATA (docs/protocol.md §Azure confidential VMs).

A TD quote's bundle (``tdx``, ``azure-tdx-vtpm``) may carry Intel's collateral for it as
``cpu.collateral.tdx`` (docs/protocol.md §TDX collateral in the bundle), parsed here and used only
where the policy's ``[tdx] collateral_from_bundle`` says so.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import rfc8785

from verifier.appraisal.azure import TpmQuote
from verifier.appraisal.cpu import VtpmEvidence
from verifier.errors import ParseError
from verifier.evidence.encoding import b64decode_field, b64encode
from verifier.kinds import cpu_platforms
from verifier.strict_json import load_strict_json

if TYPE_CHECKING:
    from verifier.endorsements.intel_collateral import TdxCollateral

BUNDLE_VERSION = 1
MAX_BUNDLE_BYTES = 2 * 1024 * 1024
MAX_GPUS = 16
MAX_CERTIFICATES = 8
MAX_RIMS_PER_GPU = 4
BINDING_LABEL = b"attested-ohttp/v1"
_NONCE_HEX = re.compile(r"[0-9a-f]{64}")
VTPM_PLATFORMS: dict[str, bool] = {"azure-snp-vtpm": False, "azure-tdx-vtpm": True}
"""The Azure CVM platforms, which carry ``cpu.tpm_quote``; True: and ``cpu.td_quote``."""
PCR_COUNT = 24
MAX_QUOTE_MESSAGE = 1024
MAX_QUOTE_SIGNATURE = 512
MAX_TD_QUOTE = 64 * 1024
TDX_COLLATERAL_PLATFORMS = ("tdx", "azure-tdx-vtpm")
"""The platforms whose ``cpu.collateral.tdx`` is read (their CPU evidence is a TD quote)."""
TDX_COLLATERAL_MEMBERS = {
    "tcb_info": "tcb_info", "tcb_info_issuer_chain": "tcb_info_chain",
    "qe_identity": "qe_identity", "qe_identity_issuer_chain": "qe_identity_chain",
    "pck_crl": "pck_crl", "pck_crl_issuer_chain": "pck_crl_chain", "root_ca_crl": "root_crl",
}
"""``cpu.collateral.tdx``'s members (all required) and the :class:`TdxCollateral` fields they fill."""
MAX_COLLATERAL_MEMBER = 256 * 1024


@dataclass(frozen=True)
class CpuEvidence:
    platform: str
    report: bytes
    certificates: tuple[bytes, ...]
    collateral: Mapping[str, Any]
    vtpm: VtpmEvidence | None = None
    """An Azure CVM's vTPM quote (and TD quote); None on every other platform."""
    tdx_collateral: TdxCollateral | None = None
    """``cpu.collateral.tdx`` of a TD quote's bundle, unverified (it authenticates itself under
    the pinned Intel root); None when absent or on another platform."""


@dataclass(frozen=True)
class GpuEvidence:
    """One GPU's evidence. ``rims`` are optional signed reference values (NVIDIA RIMs) served with
    it; they authenticate themselves under the pinned RIM root, so they are not in ``G``."""

    arch: str
    report: bytes
    certificate_chain: bytes
    rims: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class EvidenceBundle:
    version: int
    nonce: bytes
    key_config: bytes
    cpu: CpuEvidence
    gpus: tuple[GpuEvidence, ...]
    release: Mapping[str, Any] | None
    config: Mapping[str, Any]
    expires: dt.datetime
    raw: bytes

    def digests(self) -> dict[str, str]:
        """SHA-256 of each piece of evidence, for the result's audit fields."""
        out = {
            "bundle": hashlib.sha256(self.raw).hexdigest(),
            "key_config": hashlib.sha256(self.key_config).hexdigest(),
            "cpu.report": hashlib.sha256(self.cpu.report).hexdigest(),
        }
        if self.cpu.vtpm is not None:
            out["cpu.tpm_quote"] = hashlib.sha256(self.cpu.vtpm.quote.message).hexdigest()
            if self.cpu.vtpm.td_quote is not None:
                out["cpu.td_quote"] = hashlib.sha256(self.cpu.vtpm.td_quote).hexdigest()
        for i, gpu in enumerate(self.gpus):
            out[f"gpus[{i}].report"] = hashlib.sha256(gpu.report).hexdigest()
        return out


def _obj(value: object, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ParseError("must be a JSON object", field=field)
    return value


def _str(value: object, field: str, limit: int = 4096) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise ParseError(f"must be a string of at most {limit} characters", field=field)
    return value


def _sized(value: object, field: str, limit: int, exact: bool = False) -> bytes:
    raw = b64decode_field(value, field)
    if (len(raw) != limit) if exact else not 0 < len(raw) <= limit:
        raise ParseError(f"is {len(raw)} bytes; it must be {'exactly' if exact else '1 to'} {limit}", field=field)
    return raw


def _vtpm(cpu_doc: dict[str, Any], with_td_quote: bool) -> VtpmEvidence:
    """``cpu.tpm_quote`` (and ``cpu.td_quote``) of an Azure CVM, strictly."""
    q = _obj(cpu_doc.get("tpm_quote"), "cpu.tpm_quote")
    pcrs = q.get("pcrs")
    if not isinstance(pcrs, list) or len(pcrs) != PCR_COUNT:
        raise ParseError(f"must be a list of the {PCR_COUNT} SHA-256 PCR values, PCR 0 first", field="cpu.tpm_quote.pcrs")
    quote = TpmQuote(_sized(q.get("message"), "cpu.tpm_quote.message", MAX_QUOTE_MESSAGE),
                     _sized(q.get("signature"), "cpu.tpm_quote.signature", MAX_QUOTE_SIGNATURE),
                     tuple(_sized(v, f"cpu.tpm_quote.pcrs[{i}]", 32, exact=True) for i, v in enumerate(pcrs)))
    td_quote = _sized(cpu_doc.get("td_quote"), "cpu.td_quote", MAX_TD_QUOTE) if with_td_quote else None
    return VtpmEvidence(quote, td_quote)


def _tdx_collateral(collateral: Mapping[str, Any]) -> TdxCollateral | None:
    """``cpu.collateral.tdx``, strictly: an object of exactly the seven members, each base64 of
    1 to 256 KiB (PCS's answers: the JSON bodies and DER CRLs as served, the chains as PEM)."""
    from verifier.endorsements.intel_collateral import TdxCollateral

    if "tdx" not in collateral:
        return None
    doc = _obj(collateral["tdx"], "cpu.collateral.tdx")
    unknown = sorted(set(doc) - set(TDX_COLLATERAL_MEMBERS))
    if unknown:
        raise ParseError(f"has unknown members {unknown}", field="cpu.collateral.tdx")
    pieces = {attr: _sized(doc.get(name), f"cpu.collateral.tdx.{name}", MAX_COLLATERAL_MEMBER)
              for name, attr in TDX_COLLATERAL_MEMBERS.items()}
    return TdxCollateral(**pieces, source="the bundle's cpu.collateral.tdx")


def parse_bundle(data: bytes) -> EvidenceBundle:
    """Parse a version-1 bundle; any deviation is a :class:`ParseError` naming the field."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise ParseError(f"is larger than {MAX_BUNDLE_BYTES} bytes", field="bundle")
    doc = _obj(load_strict_json(data, "bundle"), "bundle")
    version = doc.get("version")
    if type(version) is not int or version != BUNDLE_VERSION:
        raise ParseError(f"is {version!r}, this client speaks version {BUNDLE_VERSION}", field="version")
    nonce_hex = _str(doc.get("nonce"), "nonce", 64)
    if not _NONCE_HEX.fullmatch(nonce_hex):
        raise ParseError("must be 64 lowercase hex digits, as the client sent it", field="nonce")
    nonce = bytes.fromhex(nonce_hex)
    key_config = b64decode_field(doc.get("key_config"), "key_config")
    cpu_doc = _obj(doc.get("cpu"), "cpu")
    platform = _str(cpu_doc.get("platform"), "cpu.platform", 32)
    platforms = cpu_platforms()
    if platform not in platforms:
        raise ParseError(f"{platform!r} is not one of {', '.join(platforms)}", field="cpu.platform")
    certs = cpu_doc.get("certificates", [])
    if not isinstance(certs, list) or len(certs) > MAX_CERTIFICATES:
        raise ParseError(f"must be a list of at most {MAX_CERTIFICATES}", field="cpu.certificates")
    collateral = _obj(cpu_doc.get("collateral", {}), "cpu.collateral")
    cpu = CpuEvidence(
        platform,
        b64decode_field(cpu_doc.get("report"), "cpu.report"),
        tuple(b64decode_field(c, f"cpu.certificates[{i}]") for i, c in enumerate(certs)),
        collateral,
        _vtpm(cpu_doc, VTPM_PLATFORMS[platform]) if platform in VTPM_PLATFORMS else None,
        _tdx_collateral(collateral) if platform in TDX_COLLATERAL_PLATFORMS else None,
    )
    gpus_doc = doc.get("gpus", [])
    if not isinstance(gpus_doc, list) or len(gpus_doc) > MAX_GPUS:
        raise ParseError(f"must be a list of at most {MAX_GPUS}", field="gpus")
    gpus = []
    for i, g in enumerate(gpus_doc):
        g = _obj(g, f"gpus[{i}]")
        rims = g.get("rims", [])
        if not isinstance(rims, list) or len(rims) > MAX_RIMS_PER_GPU:
            raise ParseError(f"must be a list of at most {MAX_RIMS_PER_GPU}", field=f"gpus[{i}].rims")
        gpus.append(GpuEvidence(
            _str(g.get("arch"), f"gpus[{i}].arch", 32),
            b64decode_field(g.get("report"), f"gpus[{i}].report"),
            b64decode_field(g.get("certificate_chain"), f"gpus[{i}].certificate_chain"),
            tuple(b64decode_field(r, f"gpus[{i}].rims[{j}]") for j, r in enumerate(rims)),
        ))
    release = doc.get("release")
    if release is not None:
        release = _obj(release, "release")
    config = _obj(doc.get("config"), "config")
    try:
        canonical_json(config)
    except ValueError as e:  # rfc8785.CanonicalizationError
        raise ParseError(f"has no canonical JSON form ({e})", field="config") from None
    expires_text = _str(doc.get("expires"), "expires", 64)
    try:
        expires = dt.datetime.fromisoformat(expires_text.replace("Z", "+00:00"))
    except ValueError:
        raise ParseError("must be an ISO-8601 time", field="expires") from None
    if expires.tzinfo is None:
        raise ParseError("must carry a time zone", field="expires")
    try:  # compared and shown in UTC: a zone that pushes it past year 1..9999 is no time at all
        expires = expires.astimezone(dt.UTC)
    except OverflowError:
        raise ParseError("is out of range in UTC", field="expires") from None
    return EvidenceBundle(BUNDLE_VERSION, nonce, key_config, cpu, tuple(gpus), release, config,
                          expires, bytes(data))


def canonical_json(value: Mapping[str, Any]) -> bytes:
    """RFC 8785 canonical form, the exact bytes that are hashed for ``C``."""
    return bytes(rfc8785.dumps(value))


def gpu_digest(gpus: Sequence[GpuEvidence]) -> bytes:
    """``G``: SHA-256 over SHA-256(report) || SHA-256(certificate_chain) per GPU, in bundle order."""
    h = hashlib.sha256()
    for gpu in gpus:
        h.update(hashlib.sha256(gpu.report).digest())
        h.update(hashlib.sha256(gpu.certificate_chain).digest())
    return h.digest()


def report_data_binding(nonce: bytes, key_config: bytes, gpus: Sequence[GpuEvidence],
                        config: Mapping[str, Any]) -> bytes:
    """REPORT_DATA (64 bytes) = SHA-256(label || nonce || SHA-256(key_config) || G || C) || 32 zero bytes."""
    h = hashlib.sha256()
    h.update(BINDING_LABEL)
    h.update(nonce)
    h.update(hashlib.sha256(key_config).digest())
    h.update(gpu_digest(gpus))
    h.update(hashlib.sha256(canonical_json(config)).digest())
    return h.digest() + bytes(32)


def encode_bundle(*, nonce: bytes, key_config: bytes, platform: str, report: bytes,
                  certificates: Sequence[bytes], gpus: Sequence[GpuEvidence],
                  release: Mapping[str, Any] | None, config: Mapping[str, Any],
                  expires: dt.datetime, collateral: Mapping[str, Any] | None = None,
                  vtpm: VtpmEvidence | None = None) -> bytes:
    """The JSON bytes of a bundle (the reference enclave's side of :func:`parse_bundle`);
    ``vtpm``: an Azure CVM's vTPM quote and TD quote, written as ``cpu.tpm_quote`` / ``cpu.td_quote``."""
    doc: dict[str, Any] = {
        "version": BUNDLE_VERSION,
        "nonce": nonce.hex(),
        "key_config": b64encode(key_config),
        "cpu": {"platform": platform, "report": b64encode(report),
                "certificates": [b64encode(c) for c in certificates],
                "collateral": dict(collateral or {})},
        "gpus": [{"arch": g.arch, "report": b64encode(g.report),
                  "certificate_chain": b64encode(g.certificate_chain),
                  **({"rims": [b64encode(r) for r in g.rims]} if g.rims else {})} for g in gpus],
        "config": dict(config),
        "expires": expires.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
    }
    if vtpm is not None:
        doc["cpu"]["tpm_quote"] = {"message": b64encode(vtpm.quote.message),
                                   "signature": b64encode(vtpm.quote.signature),
                                   "pcrs": [b64encode(v) for v in vtpm.quote.pcrs]}
        if vtpm.td_quote is not None:
            doc["cpu"]["td_quote"] = b64encode(vtpm.td_quote)
    if release is not None:
        doc["release"] = dict(release)
    return json.dumps(doc, indent=1).encode()
