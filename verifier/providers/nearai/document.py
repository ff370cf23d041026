"""NEAR AI's ``GET /v1/attestation/report`` answer, parsed strictly (I-JSON, every member read typed).

Two forms, told apart by their members:

- **direct** (a model host, ``https://<model>.completions.near.ai``): one model attestation at the
  top level (``model_name``, ``signing_address``, ``signing_algo``, ``signing_public_key``,
  ``request_nonce``, ``intel_quote``, ``nvidia_payload``, ``event_log``, ``info``,
  ``tls_cert_fingerprint``, ``compose_manager_attestation``, ``ohttp_key_config``, optionally
  ``ohttp_attestation``) and the same again as ``all_attestations[0]``;
- **cloud** (the gateway, ``https://cloud-api.near.ai``): ``gateway_attestation`` (the gateway's own
  dstack attestation: ``signing_address``, ``signing_algo``, ``intel_quote``, ``event_log``,
  ``report_data``, ``request_nonce``, ``info``, ``vpc``, ``tls_cert_fingerprint``),
  ``model_attestations`` (one model attestation per model host) and ``tls_certificate`` (PEM).

``nvidia_payload`` is a JSON document in a string (NRAS's request shape): ``arch``, ``nonce`` and
``evidence_list`` of ``{arch, certificate, evidence[, nonce]}``, the certificate chain a base64 PEM
text, the evidence base64 SPDM bytes.

``demo_collateral`` (the reference enclave's INSECURE DEMO mode only; NEAR AI serves none) carries
what no public service has for demo roots: ``tdx``, the seven pieces Intel's PCS would serve for the
quote (docs/protocol.md's ``cpu.collateral.tdx``: each base64), and ``gpu_rims``, the demo driver and
VBIOS RIMs (base64). It is read only where ``[nearai] collateral_from_report`` says so
(:func:`parse_demo_collateral`); every piece still authenticates itself under the pinned roots.

A member of the wrong type or encoding is a
:class:`~verifier.errors.ParseError` naming it; members this parser does not read are listed in
``unknown`` (shown, never trusted).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from verifier.errors import ParseError
from verifier.strict_json import load_strict_json

if TYPE_CHECKING:
    from verifier.endorsements.intel_collateral import TdxCollateral

MAX_DOCUMENT = 4 * 1024 * 1024
MAX_GPUS = 64
MAX_ACTIONS = 4096
MAX_COLLATERAL_PIECE = 256 * 1024
MAX_RIMS = 2 * MAX_GPUS
_HEX = re.compile(r"\A(?:[0-9a-fA-F]{2})*\Z")

MODEL_KEYS = frozenset({"model_name", "signing_address", "signing_algo", "signing_public_key", "request_nonce",
                        "intel_quote", "nvidia_payload", "event_log", "info", "tls_cert_fingerprint",
                        "all_attestations", "compose_manager_attestation", "ohttp_key_config",
                        "ohttp_attestation", "demo_collateral"})
GATEWAY_KEYS = frozenset({"signing_address", "signing_algo", "intel_quote", "event_log", "report_data",
                          "request_nonce", "info", "vpc", "tls_cert_fingerprint"})


def _hex(value: object, field: str, size: int | None = None, *, prefixed: bool = False) -> bytes:
    if not isinstance(value, str):
        raise ParseError("is not a hex string", field=field)
    text = value[2:] if prefixed and value[:2] in ("0x", "0X") else value
    if not _HEX.match(text) or (size is not None and len(text) != 2 * size):
        raise ParseError(f"is not {size if size is not None else 'an even number of'} bytes of hex", field=field)
    return bytes.fromhex(text)


def _str(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ParseError("is not a string", field=field)
    return value


def _obj(value: object, field: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise ParseError("is not a JSON object", field=field)
    return value


def _b64(value: object, field: str) -> bytes:
    try:
        return base64.b64decode(_str(value, field), validate=True)
    except (binascii.Error, ValueError):
        raise ParseError("is not base64", field=field) from None


@dataclass(frozen=True)
class GpuEvidence:
    arch: str
    evidence: bytes
    certificate: bytes
    nonce: bytes | None
    """What the entry says its nonce is (06-10 on): shown and compared, never trusted."""


@dataclass(frozen=True)
class NvidiaPayload:
    arch: str
    nonce: bytes
    gpus: tuple[GpuEvidence, ...]


def parse_nvidia_payload(value: object, field: str = "nvidia_payload") -> NvidiaPayload:
    doc = _obj(load_strict_json(_str(value, field).encode(), field), field)
    listed = doc.get("evidence_list")
    if not isinstance(listed, list) or not 0 < len(listed) <= MAX_GPUS:
        raise ParseError(f"has no evidence_list of 1..{MAX_GPUS} entries", field=field)
    gpus = []
    for i, raw in enumerate(listed):
        where = f"{field}.evidence_list[{i}]"
        entry = _obj(raw, where)
        nonce = _hex(entry["nonce"], f"{where}.nonce", 32) if "nonce" in entry else None
        gpus.append(GpuEvidence(_str(entry.get("arch"), f"{where}.arch"), _b64(entry.get("evidence"), f"{where}.evidence"),
                                _b64(entry.get("certificate"), f"{where}.certificate"), nonce))
    return NvidiaPayload(_str(doc.get("arch"), f"{field}.arch"), _hex(doc.get("nonce"), f"{field}.nonce", 32),
                         tuple(gpus))


@dataclass(frozen=True)
class DemoCollateral:
    """``demo_collateral``, parsed (INSECURE DEMO: the reference enclave's; unverified here)."""

    tdx: TdxCollateral | None
    gpu_rims: tuple[bytes, ...]


def _piece(value: object, field: str) -> bytes:
    data = _b64(value, field)
    if not 0 < len(data) <= MAX_COLLATERAL_PIECE:
        raise ParseError(f"is not 1 to {MAX_COLLATERAL_PIECE} bytes", field=field)
    return data


def parse_demo_collateral(value: object, field: str = "demo_collateral") -> DemoCollateral:
    """``demo_collateral`` strictly: ``tdx`` an object of exactly the seven PCS pieces (as a native
    bundle's ``cpu.collateral.tdx``), ``gpu_rims`` a list of base64 RIMs; either may be absent."""
    from verifier.endorsements.intel_collateral import TdxCollateral
    from verifier.providers.native.bundle import TDX_COLLATERAL_MEMBERS

    doc = _obj(value, field)
    unknown = sorted(set(doc) - {"tdx", "gpu_rims"})
    if unknown:
        raise ParseError(f"has unknown members {unknown[:5]}", field=field)
    tdx = None
    if "tdx" in doc:
        pieces = _obj(doc["tdx"], f"{field}.tdx")
        if set(pieces) != set(TDX_COLLATERAL_MEMBERS):
            raise ParseError(f"must have exactly the members {sorted(TDX_COLLATERAL_MEMBERS)}", field=f"{field}.tdx")
        tdx = TdxCollateral(**{attr: _piece(pieces[name], f"{field}.tdx.{name}") for name, attr in TDX_COLLATERAL_MEMBERS.items()},
                            source="the report's demo_collateral.tdx (INSECURE DEMO)")
    rims = doc.get("gpu_rims", [])
    if not isinstance(rims, list) or len(rims) > MAX_RIMS:
        raise ParseError(f"is not a list of at most {MAX_RIMS} RIMs", field=f"{field}.gpu_rims")
    return DemoCollateral(tdx, tuple(_piece(r, f"{field}.gpu_rims[{i}]") for i, r in enumerate(rims)))


@dataclass(frozen=True)
class ComposeManager:
    """``compose_manager_attestation``: a second quote of the same TD, whose REPORT_DATA binds the
    compose-manager's deployment log (``actions``) and the client's nonce."""

    raw: dict[str, object]
    actions: tuple[dict[str, object], ...]
    actions_hash: bytes
    nonce: bytes
    nonce_source: str
    quote: object
    event_log: object
    vm_config: object
    report_data: bytes


def parse_compose_manager(value: object, field: str) -> ComposeManager:
    doc = _obj(value, field)
    actions = doc.get("actions")
    if not isinstance(actions, list) or len(actions) > MAX_ACTIONS:
        raise ParseError(f"has no list of at most {MAX_ACTIONS} actions", field=f"{field}.actions")
    typed = tuple(_obj(a, f"{field}.actions[{i}]") for i, a in enumerate(actions))
    return ComposeManager(doc, typed, _hex(doc.get("actions_hash"), f"{field}.actions_hash", 32),
                          _hex(doc.get("nonce"), f"{field}.nonce", 32), _str(doc.get("nonce_source"), f"{field}.nonce_source"),
                          doc.get("quote"), doc.get("event_log"), doc.get("vm_config"),
                          _hex(doc.get("report_data"), f"{field}.report_data", 64))


@dataclass(frozen=True)
class OhttpAttestation:
    signing_algo: str
    signing_key: bytes
    key_config: bytes
    signature: bytes


@dataclass(frozen=True)
class ModelAttestation:
    """One model host's attestation (the direct answer, or one of the gateway's ``model_attestations``)."""

    raw: dict[str, object]
    model_name: str
    signing_address: bytes
    signing_algo: str
    signing_public_key: bytes
    request_nonce: bytes
    intel_quote: object
    event_log: object
    info: dict[str, object]
    tls_cert_fingerprint: bytes
    nvidia_payload: object
    """The member as served (a JSON string); parsed by the appraisal, whose ``nearai.gpu_evidence`` says what is wrong."""
    all_attestations: tuple[dict[str, object], ...] | None
    compose_manager: object
    ohttp_key_config: bytes | None
    ohttp_attestation: OhttpAttestation | None
    unknown: tuple[str, ...]


def parse_model(value: object, field: str) -> ModelAttestation:
    doc = _obj(value, field)
    algo = _str(doc.get("signing_algo"), f"{field}.signing_algo")
    listed = doc.get("all_attestations")
    all_atts = None
    if listed is not None:
        if not isinstance(listed, list) or not listed:
            raise ParseError("is not a non-empty list", field=f"{field}.all_attestations")
        all_atts = tuple(_obj(a, f"{field}.all_attestations[{i}]") for i, a in enumerate(listed))
    ohttp = None
    if "ohttp_attestation" in doc:
        o = _obj(doc["ohttp_attestation"], f"{field}.ohttp_attestation")
        ohttp = OhttpAttestation(_str(o.get("signing_algo"), f"{field}.ohttp_attestation.signing_algo"),
                                 _hex(o.get("signing_key"), f"{field}.ohttp_attestation.signing_key", prefixed=True),
                                 _hex(o.get("key_config"), f"{field}.ohttp_attestation.key_config"),
                                 _hex(o.get("signature"), f"{field}.ohttp_attestation.signature"))
    config = _hex(doc["ohttp_key_config"], f"{field}.ohttp_key_config") if "ohttp_key_config" in doc else None
    return ModelAttestation(
        doc, _str(doc.get("model_name"), f"{field}.model_name"),
        _hex(doc.get("signing_address"), f"{field}.signing_address", prefixed=True), algo,
        _hex(doc.get("signing_public_key"), f"{field}.signing_public_key", prefixed=True),
        _hex(doc.get("request_nonce"), f"{field}.request_nonce", 32), doc.get("intel_quote"), doc.get("event_log"),
        _obj(doc.get("info"), f"{field}.info"), _hex(doc.get("tls_cert_fingerprint"), f"{field}.tls_cert_fingerprint", 32),
        doc.get("nvidia_payload"), all_atts, doc.get("compose_manager_attestation"), config, ohttp,
        tuple(sorted(k for k in doc if k not in MODEL_KEYS)))


@dataclass(frozen=True)
class Gateway:
    raw: dict[str, object]
    signing_address: bytes
    signing_algo: str
    request_nonce: bytes
    intel_quote: object
    event_log: object
    info: dict[str, object]
    tls_cert_fingerprint: bytes
    report_data: bytes
    vpc: object
    unknown: tuple[str, ...]


def parse_gateway(value: object, field: str = "gateway_attestation") -> Gateway:
    doc = _obj(value, field)
    return Gateway(doc, _hex(doc.get("signing_address"), f"{field}.signing_address", prefixed=True),
                   _str(doc.get("signing_algo"), f"{field}.signing_algo"),
                   _hex(doc.get("request_nonce"), f"{field}.request_nonce", 32), doc.get("intel_quote"),
                   doc.get("event_log"), _obj(doc.get("info"), f"{field}.info"),
                   _hex(doc.get("tls_cert_fingerprint"), f"{field}.tls_cert_fingerprint", 32),
                   _hex(doc.get("report_data"), f"{field}.report_data", 64), doc.get("vpc"),
                   tuple(sorted(k for k in doc if k not in GATEWAY_KEYS)))


@dataclass(frozen=True)
class Report:
    form: str
    """``direct`` or ``cloud``."""
    models: tuple[ModelAttestation, ...]
    gateway: Gateway | None = None
    tls_certificate: str | None = None


def parse_report(body: bytes) -> Report:
    """The answer in either form; :class:`ParseError` for anything else."""
    if len(body) > MAX_DOCUMENT:
        raise ParseError(f"is larger than {MAX_DOCUMENT} bytes", field="report")
    doc = _obj(load_strict_json(body, "attestation report"), "report")
    if "gateway_attestation" in doc:
        models = doc.get("model_attestations")
        if not isinstance(models, list) or not models:
            raise ParseError("is not a non-empty list", field="model_attestations")
        cert = doc.get("tls_certificate")
        return Report("cloud", tuple(parse_model(m, f"model_attestations[{i}]") for i, m in enumerate(models)),
                      parse_gateway(doc["gateway_attestation"]), _str(cert, "tls_certificate") if cert is not None else None)
    if "intel_quote" in doc:
        return Report("direct", (parse_model(doc, "report"),))
    raise ParseError("is neither a model host's attestation (intel_quote) nor the gateway's (gateway_attestation)",
                     field="report")
