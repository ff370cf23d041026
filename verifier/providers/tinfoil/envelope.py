"""Tinfoil's current v3 attestation document (the "v3 envelope"), parsed strictly and sans-IO.

Facts from Tinfoil's Go SDK (``tinfoilsh/tinfoil-go``: ``verifier/envelope/envelope.go``,
``verifier/document/collateral/``, ``verifier/client/verify.go``; read for its formats only, none of
its code is used), and its known answers ``verifier/envelope/testdata/attested-keys-vectors.json``
(in the vectors as ``tinfoil/go-sdk/``)::

    {"format": "https://tinfoil.sh/predicate/attestation/v3",
     "challenge": {"nonce": hex32, "report_data": hex64,
                   "report_data_algorithm": "https://tinfoil.sh/report-data/v1"},
     "cpu_evidence": {"format": ".../format/sev-snp-report/v1" | ".../format/tdx-quote/v1",
                      "report_base64": base64,
                      "endorsed": {"crypto_material_hash": hex32, "device_evidence_hash": hex32}},
     "crypto_material": base64(JSON {"format": ".../crypto-material/v1", "items": [{id, format, data}]}),
     "device_evidence": base64(JSON {"format": ".../device-evidence/v1",
                                     "items": [{id, kind, vendor, format, evidence}]}),
     "collateral": [{id, role, format, subjects?, data: {...}}]}

    REPORT_DATA[0:32]  = SHA-256("https://tinfoil.sh/report-data/v1" || nonce
                                 || SHA-256(crypto_material bytes) || SHA-256(device_evidence bytes))
    REPORT_DATA[32:64] = 0

The two endorsed sections are hashed as the exact bytes their base64 decodes to (the enclave
serialises each once; a verifier never re-serialises them). Parsing follows the SDK's rules: unknown
members are refused at every level we read, hex is lowercase, base64 is canonical (one accepted
encoding per byte string), item and entry ids are unique, the two known key formats are exactly 32
bytes and any other item format is non-empty lowercase hex (kept, not used). Collateral is
unendorsed transport: each entry is authenticated later by its own signature chain; an entry of a
known role and format is decoded strictly here, any other is checked for shape only (an object with
an id, a role and a format) and not used. An endorsement entry serves the CPU only when its
``subjects`` name ``cpu``; the first entry of each purpose is the one used.

Entries whose format is an ``https://enclave-chat.dev/`` URI are this project's own extensions, used
by the reference enclave's INSECURE DEMO mode (no Sigstore, no RIM service for demo roots); Tinfoil's
verifiers ignore them as unknown formats.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from verifier import strict_json
from verifier.errors import ParseError
from verifier.providers.tinfoil import document as june

FORMAT = june.FORMAT_V3
REPORT_DATA_ALGORITHM = "https://tinfoil.sh/report-data/v1"
CRYPTO_MATERIAL_FORMAT = "https://tinfoil.sh/crypto-material/v1"
DEVICE_EVIDENCE_FORMAT = "https://tinfoil.sh/device-evidence/v1"
CPU_FORMATS = {"https://tinfoil.sh/format/sev-snp-report/v1": "sev-snp",
               "https://tinfoil.sh/format/tdx-quote/v1": "tdx"}
KEY_TLS_FINGERPRINT = "https://tinfoil.sh/key/spki-fp-sha256/v1"
"""32 bytes: SHA-256 of the TLS key's DER SubjectPublicKeyInfo (item id ``tls``)."""
KEY_X25519_HPKE = "https://tinfoil.sh/key/x25519-hpke/v1"
"""32 bytes: the raw X25519 key requests are sealed to (item id ``hpke``)."""
KEY_SPKI = "https://tinfoil.sh/key/spki/v1"
"""A workload key, full SPKI DER: listed in the claims, not used by this client."""
FIXED_KEY_FORMATS = (KEY_TLS_FINGERPRINT, KEY_X25519_HPKE)
TLS_ID = "tls"
HPKE_ID = "hpke"
NVIDIA_GPU_FORMAT = "https://tinfoil.sh/format/nvidia-gpu-evidence/v1"
NVIDIA_NVSWITCH_FORMAT = "https://tinfoil.sh/format/nvidia-nvswitch-evidence/v1"
KIND_GPU = "gpu"
KIND_NVSWITCH = "nvswitch"

ROLE_ENDORSEMENT = "endorsement"
ROLE_REFERENCE_VALUES = "reference-values"
ROLES = (ROLE_ENDORSEMENT, ROLE_REFERENCE_VALUES)
SUBJECT_CPU = "cpu"
AMD_VCEK = "https://tinfoil.sh/collateral/amd-vcek/v1"
AMD_CRL = "https://tinfoil.sh/collateral/amd-crl/v1"
INTEL_PCS = "https://tinfoil.sh/collateral/intel-pcs/v1"
SIGSTORE_CODE = "https://tinfoil.sh/collateral/sigstore-code/v1"
SIGSTORE_PLATFORM = "https://tinfoil.sh/collateral/sigstore-platform/v1"
SIGSTORE_FRESHNESS = "https://tinfoil.sh/collateral/sigstore-freshness/v1"
CODE_FRESHNESS_ID = "code-freshness"
PLATFORM_FRESHNESS_ID = "platform-freshness"

DEMO_RELEASE = "https://enclave-chat.dev/collateral/demo-release/v1"
"""INSECURE DEMO: ``{"release": <the native release object>}`` (reference-values)."""
DEMO_PLATFORM = "https://enclave-chat.dev/collateral/demo-platform/v1"
"""INSECURE DEMO: ``{"envelope": base64 DSSE}`` by a ``[release]`` publisher key, whose payload is a
platform-endorsements artifact (reference-values)."""
DEMO_FRESHNESS = "https://enclave-chat.dev/collateral/demo-freshness/v1"
"""INSECURE DEMO: ``{"envelope": base64 DSSE}`` by a ``[release]`` publisher key, whose payload is a
freshness witness with its own ``witnessed_at`` (reference-values, ids as Tinfoil's witnesses)."""
NVIDIA_RIMS = "https://enclave-chat.dev/collateral/nvidia-rims/v1"
"""``{"rims_base64": [...]}``: signed NVIDIA RIMs the GPU appraisal may use (endorsement); the
demo GPUs' RIMs, which NVIDIA's RIM service does not serve."""

MEMBERS = ("format", "challenge", "cpu_evidence", "crypto_material", "device_evidence", "collateral")
MAX_SECTION = 2 * 1024 * 1024
MAX_ITEMS = 64
MAX_COLLATERAL = 64
MAX_PCS_RESPONSES = 16
MAX_SUBJECTS = 64
MAX_ID = 128
MAX_REPORT = june.MAX_REPORT
MAX_BLOB = 256 * 1024
MAX_PEM = 64 * 1024
_LOWER_HEX = re.compile(r"\A[0-9a-f]*\Z")
DEPTH = june.DOCUMENT_DEPTH


# -- the structures ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Challenge:
    """``challenge``: the client's nonce as served and the REPORT_DATA the document claims."""

    nonce: bytes
    report_data: bytes
    algorithm: str


@dataclass(frozen=True)
class CpuEvidence:
    """``cpu_evidence``: the report (SEV-SNP) or quote (TDX) and the section hashes it endorses."""

    format: str
    platform: str
    report: bytes
    crypto_material_hash: bytes
    device_evidence_hash: bytes


@dataclass(frozen=True)
class CryptoMaterialItem:
    """One endorsed key: ``format`` says how ``data`` (hex-decoded here) is read."""

    id: str
    format: str
    data: bytes


@dataclass(frozen=True)
class DeviceItem:
    """One device's evidence. ``gpu`` is the parsed ``nvidia-gpu-evidence/v1`` payload
    (``{arch, certificate, evidence, nonce}``); ``nvswitches`` the NVSwitch evidences of an
    ``nvidia-nvswitch-evidence/v1`` payload (nvattest's output, ``evidences``), or why they cannot
    be read (``problem``). Items of other kinds keep their payload unread."""

    id: str
    kind: str
    vendor: str
    format: str
    gpu: june.DeviceEvidence | None = None
    nvswitches: tuple[june.DeviceEvidence, ...] = ()
    problem: str | None = None


@dataclass(frozen=True)
class AmdVcek:
    vcek_der: bytes
    cert_chain_pem: bytes
    """The ASK then the ARK (PEM)."""


@dataclass(frozen=True)
class PcsResponse:
    """One Intel PCS answer as captured: its URL, headers (issuer chains travel there) and body."""

    url: str
    headers: Mapping[str, tuple[str, ...]]
    body: bytes


@dataclass(frozen=True)
class SigstoreRef:
    """A ``sigstore-code``/``sigstore-platform`` entry: ``repo`` and ``tag`` are informational; the
    bundle is checked against the expected identity and ``digest``."""

    id: str
    repo: str
    tag: str
    digest: str
    bundle: bytes


@dataclass(frozen=True)
class SignedDemo:
    """INSECURE DEMO: a DSSE envelope (``demo-platform``/``demo-freshness``)."""

    id: str
    envelope: bytes


@dataclass(frozen=True)
class Collateral:
    """The decoded collateral: for each purpose this client knows, the first entry serving it."""

    vcek: AmdVcek | None = None
    amd_crl: bytes | None = None
    intel_pcs: tuple[PcsResponse, ...] | None = None
    sigstore_code: SigstoreRef | None = None
    sigstore_platform: SigstoreRef | None = None
    freshness: Mapping[str, bytes] = field(default_factory=dict)
    """Freshness witnesses (Sigstore bundles) by entry id (``code-freshness``, ``platform-freshness``)."""
    rims: tuple[bytes, ...] = ()
    demo_release: Mapping[str, Any] | None = None
    demo_platform: SignedDemo | None = None
    demo_freshness: Mapping[str, SignedDemo] = field(default_factory=dict)
    ignored: tuple[str, ...] = ()
    """``id (format)`` of every entry kept for shape only."""


@dataclass(frozen=True)
class EnvelopeDocument:
    """A parsed current-layout v3 document. ``raw`` is the body exactly as served;
    ``crypto_material_bytes``/``device_evidence_bytes`` are the exact bytes of the two endorsed
    sections (what their hashes are over)."""

    raw: bytes
    challenge: Challenge
    cpu: CpuEvidence
    crypto_material_bytes: bytes
    device_evidence_bytes: bytes
    crypto_material: tuple[CryptoMaterialItem, ...]
    devices: tuple[DeviceItem, ...]
    collateral: Collateral

    @property
    def platform(self) -> str:
        return self.cpu.platform

    @property
    def crypto_material_hash(self) -> bytes:
        """SHA-256 of the crypto_material section as served (computed here, never taken on trust)."""
        return hashlib.sha256(self.crypto_material_bytes).digest()

    @property
    def device_evidence_hash(self) -> bytes:
        return hashlib.sha256(self.device_evidence_bytes).digest()

    def item(self, item_id: str) -> CryptoMaterialItem | None:
        return next((i for i in self.crypto_material if i.id == item_id), None)

    def expected_report_data(self, nonce: bytes) -> bytes:
        """The REPORT_DATA the CPU evidence must hold for ``nonce`` and the sections as served."""
        return compute_report_data(nonce, self.crypto_material_hash, self.device_evidence_hash)

    @property
    def gpus(self) -> tuple[DeviceItem, ...]:
        return tuple(d for d in self.devices if d.kind == KIND_GPU)

    @property
    def nvswitch_items(self) -> tuple[DeviceItem, ...]:
        return tuple(d for d in self.devices if d.kind == KIND_NVSWITCH)


def compute_report_data(nonce: bytes, crypto_material_hash: bytes, device_evidence_hash: bytes) -> bytes:
    """``SHA-256(algorithm URI || nonce || crypto hash || device hash) || 0^32`` (report-data/v1)."""
    if not len(nonce) == len(crypto_material_hash) == len(device_evidence_hash) == 32:
        raise ValueError("report-data/v1 inputs are 32 bytes each")
    digest = hashlib.sha256(REPORT_DATA_ALGORITHM.encode() + nonce + crypto_material_hash
                            + device_evidence_hash).digest()
    return digest + bytes(32)


# -- field readers ------------------------------------------------------------------------------------

def _object(value: object, where: str, members: Sequence[str], *, required: Sequence[str] | None = None) -> Mapping[str, Any]:
    """A JSON object with no member outside ``members`` (case-sensitive) and all of ``required``
    (default: all of ``members``)."""
    if not isinstance(value, dict):
        raise ParseError("must be a JSON object", field=where)
    unknown = sorted(set(value) - set(members))
    if unknown:
        raise ParseError(f"has unknown members {[u[:40] for u in unknown[:8]]}", field=where)
    missing = [m for m in (members if required is None else required) if m not in value]
    if missing:
        raise ParseError(f"lacks {missing}", field=where)
    return value


def _str(value: object, where: str, *, limit: int = MAX_ID, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise ParseError("must be a string", field=where)
    if not value and not empty:
        raise ParseError("is empty", field=where)
    if len(value) > limit:
        raise ParseError(f"is longer than {limit} characters", field=where)
    return value


def lower_hex(value: object, where: str, size: int | None) -> bytes:
    """Lowercase hex of exactly ``size`` bytes (any non-empty even length when None)."""
    if not isinstance(value, str) or not _LOWER_HEX.match(value):
        raise ParseError("must be lowercase hex", field=where)
    if size is None:
        if not value or len(value) % 2:
            raise ParseError("must be a non-empty, even number of lowercase hex digits", field=where)
    elif len(value) != 2 * size:
        raise ParseError(f"must be {size} bytes ({2 * size} hex digits)", field=where)
    return bytes.fromhex(value)


def canonical_base64(value: object, where: str, limit: int, *, empty: bool = False) -> bytes:
    """Standard base64 with padding, in its one canonical form (re-encoding gives the same text)."""
    if not isinstance(value, str):
        raise ParseError("must be a base64 string", field=where)
    if len(value) > limit * 4 // 3 + 4:
        raise ParseError(f"is larger than {limit} bytes", field=where)
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ParseError("is not base64", field=where) from None
    if base64.b64encode(data).decode() != value:
        raise ParseError("is not canonical base64", field=where)
    if not data and not empty:
        raise ParseError("is empty", field=where)
    return data


def _list(value: object, where: str, limit: int) -> list[Any]:
    if not isinstance(value, list):
        raise ParseError("must be a list", field=where)
    if len(value) > limit:
        raise ParseError(f"has more than {limit} entries", field=where)
    return value


# -- the sections -------------------------------------------------------------------------------------

def _challenge(value: object) -> Challenge:
    obj = _object(value, "challenge", ("nonce", "report_data", "report_data_algorithm"))
    algorithm = _str(obj["report_data_algorithm"], "challenge.report_data_algorithm", limit=256)
    if algorithm != REPORT_DATA_ALGORITHM:
        raise ParseError(f"is {algorithm[:80]!r}, not {REPORT_DATA_ALGORITHM}", field="challenge.report_data_algorithm")
    return Challenge(lower_hex(obj["nonce"], "challenge.nonce", 32),
                     lower_hex(obj["report_data"], "challenge.report_data", 64), algorithm)


def _cpu(value: object) -> CpuEvidence:
    obj = _object(value, "cpu_evidence", ("format", "report_base64", "endorsed"))
    fmt = _str(obj["format"], "cpu_evidence.format", limit=256)
    if fmt not in CPU_FORMATS:
        raise ParseError(f"is {fmt[:80]!r}, not one of {', '.join(CPU_FORMATS)}", field="cpu_evidence.format")
    endorsed = _object(obj["endorsed"], "cpu_evidence.endorsed", ("crypto_material_hash", "device_evidence_hash"))
    report = canonical_base64(obj["report_base64"], "cpu_evidence.report_base64", MAX_REPORT)
    return CpuEvidence(fmt, CPU_FORMATS[fmt], report,
                       lower_hex(endorsed["crypto_material_hash"], "cpu_evidence.endorsed.crypto_material_hash", 32),
                       lower_hex(endorsed["device_evidence_hash"], "cpu_evidence.endorsed.device_evidence_hash", 32))


def _section(value: object, where: str, fmt: str) -> tuple[bytes, list[Any]]:
    """An endorsed section: its exact bytes and its items (``{"format", "items"}``, strictly)."""
    data = canonical_base64(value, where, MAX_SECTION)
    obj = _object(strict_json.load_strict_json(data, where, max_depth=DEPTH), where, ("format", "items"))
    if obj["format"] != fmt:
        raise ParseError(f"format is {str(obj['format'])[:80]!r}, not {fmt}", field=where)
    return data, _list(obj["items"], f"{where}.items", MAX_ITEMS)


def _unique(item_id: str, seen: set[str], where: str) -> str:
    if item_id in seen:
        raise ParseError(f"id {item_id!r} appears twice", field=where)
    seen.add(item_id)
    return item_id


def _crypto_material(value: object) -> tuple[bytes, tuple[CryptoMaterialItem, ...]]:
    data, items = _section(value, "crypto_material", CRYPTO_MATERIAL_FORMAT)
    seen: set[str] = set()
    out = []
    for i, raw in enumerate(items):
        where = f"crypto_material.items[{i}]"
        obj = _object(raw, where, ("id", "format", "data"))
        item_id = _unique(_str(obj["id"], f"{where}.id"), seen, "crypto_material.items")
        fmt = _str(obj["format"], f"{where}.format", limit=256)
        size = 32 if fmt in FIXED_KEY_FORMATS else None
        out.append(CryptoMaterialItem(item_id, fmt, lower_hex(obj["data"], f"{where}.data", size)))
    return data, tuple(out)


def _gpu_payload(value: object, where: str) -> june.DeviceEvidence:
    """``nvidia-gpu-evidence/v1``: exactly ``{arch, certificate, evidence, nonce}``."""
    obj = _object(value, where, ("arch", "certificate", "evidence", "nonce"))
    return june.DeviceEvidence(
        _str(obj["arch"], f"{where}.arch", limit=64),
        canonical_base64(obj["evidence"], f"{where}.evidence", MAX_BLOB),
        canonical_base64(obj["certificate"], f"{where}.certificate", MAX_BLOB),
        lower_hex(obj["nonce"], f"{where}.nonce", 32))


def _nvswitch_payload(value: object, where: str) -> tuple[tuple[june.DeviceEvidence, ...], str | None]:
    """nvattest's NVSwitch output (its ``evidences``; its other members are not read)."""
    try:
        items = _list(value.get("evidences") if isinstance(value, dict) else None, f"{where}.evidences",
                      june.MAX_DEVICES)
        return tuple(_gpu_like(item, f"{where}.evidences[{i}]") for i, item in enumerate(items)), None
    except ParseError as e:
        return (), str(e)


def _gpu_like(value: object, where: str) -> june.DeviceEvidence:
    """One evidence of nvattest's output (``arch``, ``evidence``, ``certificate``, ``nonce``)."""
    if not isinstance(value, dict):
        raise ParseError("must be a JSON object", field=where)
    obj: Mapping[str, Any] = value
    nonce = obj.get("nonce")
    return june.DeviceEvidence(
        _str(obj.get("arch", ""), f"{where}.arch", limit=64, empty=True),
        canonical_base64(obj.get("evidence"), f"{where}.evidence", MAX_BLOB),
        canonical_base64(obj.get("certificate"), f"{where}.certificate", MAX_BLOB),
        lower_hex(nonce, f"{where}.nonce", 32) if nonce is not None else None)


def _device_evidence(value: object) -> tuple[bytes, tuple[DeviceItem, ...]]:
    data, items = _section(value, "device_evidence", DEVICE_EVIDENCE_FORMAT)
    seen: set[str] = set()
    out = []
    for i, raw in enumerate(items):
        where = f"device_evidence.items[{i}]"
        obj = _object(raw, where, ("id", "kind", "vendor", "format", "evidence"),
                      required=("id", "evidence"))
        item_id = _unique(_str(obj["id"], f"{where}.id"), seen, "device_evidence.items")
        kind = _str(obj.get("kind", ""), f"{where}.kind", empty=True)
        vendor = _str(obj.get("vendor", ""), f"{where}.vendor", empty=True)
        fmt = _str(obj.get("format", ""), f"{where}.format", limit=256, empty=True)
        if kind == KIND_GPU:
            if fmt != NVIDIA_GPU_FORMAT:
                # a GPU this client cannot appraise must not ride along unappraised
                raise ParseError(f"is a GPU in format {fmt[:80]!r}, which this client cannot appraise "
                                 f"(only {NVIDIA_GPU_FORMAT})", field=where)
            out.append(DeviceItem(item_id, kind, vendor, fmt, gpu=_gpu_payload(obj["evidence"], f"{where}.evidence")))
        elif kind == KIND_NVSWITCH:
            if fmt != NVIDIA_NVSWITCH_FORMAT:
                raise ParseError(f"is an NVSwitch in format {fmt[:80]!r}, which this client cannot appraise "
                                 f"(only {NVIDIA_NVSWITCH_FORMAT})", field=where)
            switches, problem = _nvswitch_payload(obj["evidence"], f"{where}.evidence")
            out.append(DeviceItem(item_id, kind, vendor, fmt, nvswitches=switches, problem=problem))
        else:
            out.append(DeviceItem(item_id, kind, vendor, fmt))
    return data, tuple(out)


# -- collateral ---------------------------------------------------------------------------------------

def _pcs(data: Mapping[str, Any], where: str) -> tuple[PcsResponse, ...]:
    obj = _object(data, where, ("responses",))
    out = []
    for i, raw in enumerate(_list(obj["responses"], f"{where}.responses", MAX_PCS_RESPONSES)):
        at = f"{where}.responses[{i}]"
        r = _object(raw, at, ("url", "headers", "body_base64"))
        url = _str(r["url"], f"{at}.url", limit=2048)
        headers_obj = r["headers"] if r["headers"] is not None else {}
        if not isinstance(headers_obj, dict) or len(headers_obj) > 64:
            raise ParseError("must be an object of at most 64 header names", field=f"{at}.headers")
        headers: dict[str, tuple[str, ...]] = {}
        for name, values in headers_obj.items():
            if not isinstance(values, list) or len(values) > 8 or not all(isinstance(v, str) and len(v) <= MAX_PEM for v in values):
                raise ParseError("must map each name to a list of at most 8 strings", field=f"{at}.headers")
            headers[str(name).lower()] = tuple(values)
        out.append(PcsResponse(url, headers, canonical_base64(r["body_base64"], f"{at}.body_base64", MAX_BLOB * 4)))
    return tuple(out)


def _sigstore_ref(entry_id: str, data: Mapping[str, Any], where: str) -> SigstoreRef:
    obj = _object(data, where, ("repo", "tag", "digest", "sigstore_bundle"))
    bundle = obj["sigstore_bundle"]
    if not isinstance(bundle, dict):
        raise ParseError("must be a Sigstore bundle object", field=f"{where}.sigstore_bundle")
    return SigstoreRef(entry_id, _str(obj["repo"], f"{where}.repo", limit=256),
                       _str(obj["tag"], f"{where}.tag", limit=256, empty=True),
                       lower_hex(obj["digest"], f"{where}.digest", 32).hex(), json.dumps(bundle).encode())


def _bundle_only(data: Mapping[str, Any], where: str) -> bytes:
    obj = _object(data, where, ("sigstore_bundle",))
    if not isinstance(obj["sigstore_bundle"], dict):
        raise ParseError("must be a Sigstore bundle object", field=f"{where}.sigstore_bundle")
    return json.dumps(obj["sigstore_bundle"]).encode()


def _collateral(value: object) -> Collateral:
    entries = [] if value is None else _list(value, "collateral", MAX_COLLATERAL)
    seen: set[str] = set()
    found: dict[str, Any] = {"freshness": {}, "demo_freshness": {}}
    rims: list[bytes] = []
    ignored: list[str] = []
    for i, raw in enumerate(entries):
        where = f"collateral[{i}]"
        obj = _object(raw, where, ("id", "role", "format", "subjects", "data"), required=("id", "role", "format", "data"))
        entry_id = _unique(_str(obj["id"], f"{where}.id"), seen, "collateral")
        role = _str(obj["role"], f"{where}.role", empty=True)
        if role not in ROLES:
            raise ParseError(f"role is {role[:40]!r}, not {' or '.join(ROLES)}", field=where)
        fmt = _str(obj["format"], f"{where}.format", limit=256)
        subjects = obj.get("subjects") or []
        if not isinstance(subjects, list) or len(subjects) > MAX_SUBJECTS or not all(isinstance(s, str) for s in subjects):
            raise ParseError(f"must be a list of at most {MAX_SUBJECTS} strings", field=f"{where}.subjects")
        data = obj["data"]
        if not isinstance(data, dict):
            raise ParseError("is not a JSON object", field=f"{where}.data")
        at = f"{where}.data"
        cpu = SUBJECT_CPU in subjects
        key = (role, fmt)
        if key == (ROLE_ENDORSEMENT, AMD_VCEK):
            d = _object(data, at, ("vcek_der_base64", "cert_chain_pem"))
            vcek = AmdVcek(canonical_base64(d["vcek_der_base64"], f"{at}.vcek_der_base64", MAX_BLOB),
                           _str(d["cert_chain_pem"], f"{at}.cert_chain_pem", limit=MAX_PEM, empty=True).encode())
            if cpu:
                found.setdefault("vcek", vcek)
        elif key == (ROLE_ENDORSEMENT, AMD_CRL):
            d = _object(data, at, ("crl_der_base64",))
            crl = canonical_base64(d["crl_der_base64"], f"{at}.crl_der_base64", MAX_BLOB)
            if cpu:
                found.setdefault("amd_crl", crl)
        elif key == (ROLE_ENDORSEMENT, INTEL_PCS):
            pcs = _pcs(data, at)
            if cpu:
                found.setdefault("intel_pcs", pcs)
        elif key == (ROLE_REFERENCE_VALUES, SIGSTORE_CODE):
            found.setdefault("sigstore_code", _sigstore_ref(entry_id, data, at))
        elif key == (ROLE_REFERENCE_VALUES, SIGSTORE_PLATFORM):
            found.setdefault("sigstore_platform", _sigstore_ref(entry_id, data, at))
        elif key == (ROLE_REFERENCE_VALUES, SIGSTORE_FRESHNESS):
            found["freshness"][entry_id] = _bundle_only(data, at)
        elif key == (ROLE_ENDORSEMENT, NVIDIA_RIMS):
            d = _object(data, at, ("rims_base64",))
            rims += [canonical_base64(r, f"{at}.rims_base64[{n}]", MAX_BLOB)
                     for n, r in enumerate(_list(d["rims_base64"], f"{at}.rims_base64", june.MAX_RIMS * 8))]
        elif key == (ROLE_REFERENCE_VALUES, DEMO_RELEASE):
            d = _object(data, at, ("release",))
            if not isinstance(d["release"], dict):
                raise ParseError("must be a release object", field=f"{at}.release")
            found.setdefault("demo_release", d["release"])
        elif key == (ROLE_REFERENCE_VALUES, DEMO_PLATFORM):
            d = _object(data, at, ("envelope",))
            found.setdefault("demo_platform", SignedDemo(entry_id, canonical_base64(d["envelope"], f"{at}.envelope", MAX_BLOB)))
        elif key == (ROLE_REFERENCE_VALUES, DEMO_FRESHNESS):
            d = _object(data, at, ("envelope",))
            found["demo_freshness"][entry_id] = SignedDemo(entry_id, canonical_base64(d["envelope"], f"{at}.envelope", MAX_BLOB))
        else:
            ignored.append(f"{entry_id[:40]} ({fmt[:80]})")
    return Collateral(**found, rims=tuple(rims), ignored=tuple(ignored))


# -- the document ------------------------------------------------------------------------------------

def parse_envelope(raw: bytes, doc: Mapping[str, Any]) -> EnvelopeDocument:
    """A current-layout document already read strictly (:func:`verifier.strict_json.member_spans`)."""
    _object(doc, "document", MEMBERS, required=MEMBERS[:5])
    if doc["format"] != FORMAT:
        raise ParseError(f"is {str(doc['format'])[:80]!r}, not {FORMAT}", field="format")
    challenge = _challenge(doc["challenge"])
    cpu = _cpu(doc["cpu_evidence"])
    crypto_bytes, crypto = _crypto_material(doc["crypto_material"])
    device_bytes, devices = _device_evidence(doc["device_evidence"])
    return EnvelopeDocument(raw, challenge, cpu, crypto_bytes, device_bytes, crypto, devices,
                            _collateral(doc.get("collateral")))


def parse_any(raw: bytes) -> june.V3Document | june.V2Document | EnvelopeDocument:
    """A served (or saved) Tinfoil document in any layout: a v3 document is read as the layout its
    members say (:func:`verifier.providers.tinfoil.document.detect_layout`: a mix, or neither, is a
    ``ParseError`` with ``reason="layout"``); v2 and ATC bundles as before."""
    if len(raw) > june.MAX_DOCUMENT:
        raise ParseError(f"is larger than {june.MAX_DOCUMENT} bytes", field="document")
    doc, spans = june.member_spans(raw)
    if doc.get("format") == FORMAT and june.detect_layout(doc) == "current":
        return parse_envelope(raw, doc)
    return june.parse_members(raw, doc, spans)
