"""The reference enclave speaking Tinfoil's wire profile (v3 attestation + EHBP). INSECURE DEMO.

So that ``enclave-chat ask URL --provider tinfoil`` can be shown end to end on loopback, this module
serves, from the same simulated SEV-SNP chip, measurement and chat backend as the native protocol:

- ``GET  /.well-known/tinfoil-attestation?nonce=<64 hex>``: a v3 document, in the layout of
  :attr:`TinfoilMode.layout`:

  ``"current"`` (the default): Tinfoil's current v3 envelope, as its Go SDK reads it (``challenge``,
  ``cpu_evidence``, ``crypto_material``, ``device_evidence``, ``collateral``):
  ``REPORT_DATA = SHA-256("https://tinfoil.sh/report-data/v1" || nonce || SHA-256(crypto_material) ||
  SHA-256(device_evidence)) || 0^32``; the crypto material names the ``tls`` fingerprint (of the demo
  envelope key: there is no TLS) and the ``hpke`` key; the device evidence holds the simulated GPUs;
  the collateral carries the VCEK and its chain (``amd-vcek/v1``) and, as enclave-chat extensions
  (``https://enclave-chat.dev/collateral/...``), the demo RIMs, the native release object, and
  platform endorsements and freshness witnesses signed as DSSE by the demo publisher (there is no demo
  Sigstore): the witnesses are dated :attr:`TinfoilMode.witnessed_at`, and the endorsements list
  this chip's CHIP_ID unless ``endorse_machine`` is off.

  ``"june"``: the June 2026 layout (``tinfoil/teep/tinfoil_support.md`` "V3 Attestation Format"):
  ``REPORT_DATA = SHA-256(tls_key_fp || hpke_key || nonce [|| gpu_evidence_hash]) || 0^32``, the GPU
  evidence of the enclave's simulated GPUs if it has any (with their demo RIMs in an extra ``rims``
  member), signed (ECDSA P-384 over SHA-256 of the compact JSON with ``"signature":""``) by a demo
  envelope key whose self-signed certificate is served as ``certificate``.

  Without a nonce, or with ``serve_v2`` set (for the downgrade test), the older v2 document.
- ``GET  /.well-known/tinfoil-demo-release``: the native release object (DSSE statement by the demo
  publisher), which only a demo policy with ``[tinfoil] release_source = "demo"`` accepts.
- ``/v1/...``: the OpenAI-compatible API behind EHBP (``tinfoil/ehbp/SPEC.md``): a request with
  ``Ehbp-Encapsulated-Key`` is opened, handled by :mod:`enclave.inner`, and its answer sealed frame by
  frame with ``Ehbp-Response-Nonce``; a bodyless request passes through in plaintext (SPEC §7.4).

Differences from a real Tinfoil enclave, on purpose: plain http on loopback, so there is no TLS key
to bind (``tls_key_fp`` is the envelope key's, and the demo policy turns ``tinfoil.tls_key`` off);
the VCEK chain (demo roots, no KDS) rides in ``cpu.certificates`` (June) or the collateral
(current); releases are the demo DSSE statement, not Sigstore. Mount it with :func:`routes` next to
the native routes (docs/tinfoil.md).
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import json
import secrets
from collections.abc import AsyncIterator
from typing import Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from enclave import demo_roots, inner
from enclave.bodies import drain, read_bounded
from verifier.channel import ehbp
from verifier.errors import ChannelError
from verifier.reference.dsse import sign_envelope

FORMAT_V3 = "https://tinfoil.sh/predicate/attestation/v3"
FORMAT_V2 = "https://tinfoil.sh/predicate/sev-snp-guest/v2"
LAYOUTS = ("current", "june")
"""``current``: Tinfoil's current v3 envelope; ``june``: the June 2026 v3 layout."""
# Tinfoil's current layout (Go SDK, verifier/envelope): spelt here again, not imported from the
# verifier, so that the verifier's parser is tested against a second writing of the format.
REPORT_DATA_V1 = "https://tinfoil.sh/report-data/v1"
CRYPTO_MATERIAL_V1 = "https://tinfoil.sh/crypto-material/v1"
DEVICE_EVIDENCE_V1 = "https://tinfoil.sh/device-evidence/v1"
SEV_SNP_REPORT_V1 = "https://tinfoil.sh/format/sev-snp-report/v1"
NVIDIA_GPU_EVIDENCE_V1 = "https://tinfoil.sh/format/nvidia-gpu-evidence/v1"
KEY_SPKI_FP_SHA256_V1 = "https://tinfoil.sh/key/spki-fp-sha256/v1"
KEY_X25519_HPKE_V1 = "https://tinfoil.sh/key/x25519-hpke/v1"
COLLATERAL_AMD_VCEK_V1 = "https://tinfoil.sh/collateral/amd-vcek/v1"
PLATFORM_ENDORSEMENTS_V1 = "https://tinfoil.sh/predicate/platform-endorsements/v1"
FRESHNESS_WITNESS_V1 = "https://tinfoil.sh/predicate/freshness-witness/v1"
# enclave-chat's own collateral (INSECURE DEMO), which Tinfoil's verifiers ignore as unknown formats
DEMO_RELEASE = "https://enclave-chat.dev/collateral/demo-release/v1"
DEMO_PLATFORM = "https://enclave-chat.dev/collateral/demo-platform/v1"
DEMO_FRESHNESS = "https://enclave-chat.dev/collateral/demo-freshness/v1"
NVIDIA_RIMS = "https://enclave-chat.dev/collateral/nvidia-rims/v1"
DEMO_PLATFORM_PAYLOAD = "application/vnd.enclave-chat.platform-endorsements+json"
DEMO_FRESHNESS_PAYLOAD = "application/vnd.enclave-chat.freshness-witness+json"
DEMO_MACHINE_POLICY = "demo-genoa"
MAX_REQUEST_BODY = 1024 * 1024 + 64 * 1024
CERT_NAME = "tinfoil-mode envelope key (INSECURE DEMO)"


class _Enclave(Protocol):
    """What this module needs of :class:`enclave.app.Enclave`."""

    snp: Any
    backend: inner.Backend
    release: dict[str, Any]


def _envelope_certificate(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CERT_NAME)])
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(demo_roots.NOT_BEFORE).not_valid_after(demo_roots.NOT_AFTER)
            .sign(key, hashes.SHA384()))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class TinfoilMode:
    """Tinfoil-compatible endpoints for one reference enclave (its chip, backend and release)."""

    def __init__(self, enclave: _Enclave, *, serve_v2: bool = False, layout: str = "current",
                 witnessed_at: dt.datetime | None = None, endorse_machine: bool = True) -> None:
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}")
        self.enclave = enclave
        self.serve_v2 = serve_v2
        self.layout = layout
        """Which v3 layout a request with a nonce is answered in (may be changed while serving)."""
        self.witnessed_at = witnessed_at or dt.datetime.now(dt.UTC).replace(microsecond=0)
        """When the demo freshness witnesses say the reference values were endorsed again."""
        self.endorse_machine = endorse_machine
        """Whether the demo platform endorsements list this chip (off: another machine only)."""
        self.envelope_key = ec.generate_private_key(ec.SECP384R1())
        self.certificate = _envelope_certificate(self.envelope_key)
        self.hpke_private, self.hpke_public = ehbp.generate_key_pair()
        self.requests = 0
        self.attestations = 0

    # -- keys --------------------------------------------------------------------------------------
    @property
    def tls_key_fp(self) -> bytes:
        spki = self.certificate.public_key().public_bytes(serialization.Encoding.DER,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo)
        return hashlib.sha256(spki).digest()

    def rotate_key(self) -> None:
        """A new HPKE key: requests sealed to the old one get the key-config problem (SPEC §5.4.2)."""
        self.hpke_private, self.hpke_public = ehbp.generate_key_pair()

    # -- documents ---------------------------------------------------------------------------------
    def _gpu_value(self, nonce: bytes) -> bytes | None:
        gpus = getattr(self.enclave, "gpus", None) or []
        if not gpus:
            return None
        evidences = []
        for gpu in gpus:
            ev = gpu.evidence(nonce)
            entry = {"arch": ev.arch, "certificate": _b64(ev.certificate_chain),
                     "evidence": _b64(ev.report), "nonce": nonce.hex()}
            # enclave-chat extension: the demo RIMs, which NVIDIA's RIM service does not serve
            entry["rims"] = [_b64(r) for r in gpu.rims()]
            evidences.append(entry)
        return _compact({"evidences": evidences})

    def document_v3(self, nonce: bytes) -> bytes:
        """The June 2026 layout's v3 document for ``nonce``, bytes exactly as served (compact JSON,
        then a newline)."""
        gpu = self._gpu_value(nonce)
        report_data = {"tls_key_fp": self.tls_key_fp.hex(), "hpke_key": self.hpke_public.hex(),
                       "nonce": nonce.hex()}
        preimage = self.tls_key_fp + self.hpke_public + nonce
        if gpu is not None:
            gpu_hash = hashlib.sha256(gpu).digest()
            report_data["gpu_evidence_hash"] = gpu_hash.hex()
            preimage += gpu_hash
        report = self.enclave.snp.report(hashlib.sha256(preimage).digest() + bytes(32))
        cpu = {"platform": "sev-snp", "report": _b64(report),
               "certificates": [_b64(c) for c in self.enclave.snp.certificates()]}
        head = b'{"format":' + _compact(FORMAT_V3) + b',"report_data":' + _compact(report_data)
        head += b',"cpu":' + _compact(cpu)
        if gpu is not None:
            head += b',"gpu":' + gpu
        head += b',"certificate":' + _compact(self.certificate.public_bytes(serialization.Encoding.PEM).decode())
        unsigned = head + b',"signature":""}'
        signature = self.envelope_key.sign(hashlib.sha256(unsigned).digest(), ec.ECDSA(utils.Prehashed(hashes.SHA256())))
        return head + b',"signature":' + _compact(_b64(signature)) + b"}\n"

    def document_current(self, nonce: bytes) -> bytes:
        """The current-layout v3 document for ``nonce`` (Tinfoil's envelope), compact JSON and a
        newline; each endorsed section is serialised once and travels as base64 of those bytes."""
        crypto = _compact({"format": CRYPTO_MATERIAL_V1, "items": [
            {"id": "tls", "format": KEY_SPKI_FP_SHA256_V1, "data": self.tls_key_fp.hex()},
            {"id": "hpke", "format": KEY_X25519_HPKE_V1, "data": self.hpke_public.hex()}]})
        gpus = getattr(self.enclave, "gpus", None) or []
        devices = []
        for i, gpu in enumerate(gpus):
            ev = gpu.evidence(nonce)
            devices.append({"id": f"gpu{i}", "kind": "gpu", "vendor": "nvidia", "format": NVIDIA_GPU_EVIDENCE_V1,
                            "evidence": {"arch": ev.arch, "certificate": _b64(ev.certificate_chain),
                                         "evidence": _b64(ev.report), "nonce": nonce.hex()}})
        device = _compact({"format": DEVICE_EVIDENCE_V1, "items": devices})
        crypto_hash, device_hash = hashlib.sha256(crypto).digest(), hashlib.sha256(device).digest()
        report_data = hashlib.sha256(REPORT_DATA_V1.encode() + nonce + crypto_hash + device_hash).digest() + bytes(32)
        report = self.enclave.snp.report(report_data)
        vcek, *chain = self.enclave.snp.certificates()
        pem = b"".join(x509.load_der_x509_certificate(c).public_bytes(serialization.Encoding.PEM) for c in chain)
        collateral: list[dict[str, Any]] = [
            {"id": "vcek", "role": "endorsement", "format": COLLATERAL_AMD_VCEK_V1, "subjects": ["cpu"],
             "data": {"vcek_der_base64": _b64(vcek), "cert_chain_pem": pem.decode()}}]
        if gpus:
            collateral.append({"id": "gpu-rims", "role": "endorsement", "format": NVIDIA_RIMS,
                               "subjects": [d["id"] for d in devices],
                               "data": {"rims_base64": [_b64(r) for gpu in gpus for r in gpu.rims()]}})
        release = self.enclave.release
        platform = self.platform_endorsements()
        collateral += [
            {"id": "code", "role": "reference-values", "format": DEMO_RELEASE, "data": {"release": release}},
            {"id": "code-freshness", "role": "reference-values", "format": DEMO_FRESHNESS,
             "data": {"envelope": _b64(self._witness(base64.b64decode(release["envelope"])))}},
            {"id": "platform", "role": "reference-values", "format": DEMO_PLATFORM, "data": {"envelope": _b64(platform)}},
            {"id": "platform-freshness", "role": "reference-values", "format": DEMO_FRESHNESS,
             "data": {"envelope": _b64(self._witness(platform))}}]
        return _compact({
            "format": FORMAT_V3,
            "challenge": {"nonce": nonce.hex(), "report_data": report_data.hex(), "report_data_algorithm": REPORT_DATA_V1},
            "cpu_evidence": {"format": SEV_SNP_REPORT_V1, "report_base64": _b64(report),
                             "endorsed": {"crypto_material_hash": crypto_hash.hex(),
                                          "device_evidence_hash": device_hash.hex()}},
            "crypto_material": _b64(crypto), "device_evidence": _b64(device), "collateral": collateral,
        }) + b"\n"

    def platform_endorsements(self) -> bytes:
        """The demo platform endorsements (Tinfoil's artifact shape), a DSSE envelope by the demo
        publisher: this chip's CHIP_ID, or another machine's when ``endorse_machine`` is off."""
        chip = self.enclave.snp.chip_id if self.endorse_machine else secrets.token_bytes(64)
        artifact = {"format": PLATFORM_ENDORSEMENTS_V1, "measurements": {},
                    "machines": {chip.hex(): DEMO_MACHINE_POLICY},
                    "policies": {DEMO_MACHINE_POLICY: {"platform": "sev-snp", "sev_snp": {}}}}
        return sign_envelope(DEMO_PLATFORM_PAYLOAD, _compact(artifact), demo_roots.publisher_key())

    def _witness(self, artifact: bytes) -> bytes:
        """A demo freshness witness for ``artifact`` (its SHA-256), dated :attr:`witnessed_at`."""
        payload = {"format": FRESHNESS_WITNESS_V1,
                   "endorses": {"subject": {"digest": "sha256:" + hashlib.sha256(artifact).hexdigest()}},
                   "witnessed_at": self.witnessed_at.isoformat()}
        return sign_envelope(DEMO_FRESHNESS_PAYLOAD, _compact(payload), demo_roots.publisher_key())

    def document_v2(self) -> bytes:
        """The older v2 document: ``REPORT_DATA = tls_key_fp || hpke_key``, no nonce, no signature
        (plus the demo VCEK chain in ``certificates``, which no KDS serves)."""
        report = self.enclave.snp.report(self.tls_key_fp + self.hpke_public)
        return _compact({"format": FORMAT_V2, "body": _b64(gzip.compress(report, mtime=0)),
                         "certificates": [_b64(c) for c in self.enclave.snp.certificates()]}) + b"\n"

    # -- HTTP --------------------------------------------------------------------------------------
    async def attestation(self, request: Request) -> Response:
        self.attestations += 1
        text = request.query_params.get("nonce")
        if text is None or self.serve_v2:
            return Response(self.document_v2(), media_type="application/json")
        try:
            nonce = bytes.fromhex(text)
        except ValueError:
            nonce = b""
        if len(nonce) != 32:
            return JSONResponse({"error": "nonce must be 64 hex digits"}, status_code=400)
        body = self.document_current(nonce) if self.layout == "current" else self.document_v3(nonce)
        return Response(body, media_type="application/json", headers={"cache-control": "no-store"})

    async def demo_release(self, request: Request) -> Response:
        return JSONResponse(self.enclave.release)

    async def api(self, request: Request) -> Response:
        """``/v1/...`` behind EHBP (SPEC §5.2)."""
        self.requests += 1
        path = request.url.path
        enc = request.headers.getlist(ehbp.ENCAPSULATED_KEY_HEADER)
        if not enc:
            body = await read_bounded(request, MAX_REQUEST_BODY)
            if body is None:
                return PlainTextResponse("request too large", status_code=413)
            if body:
                return PlainTextResponse("this demo accepts request bodies only EHBP-encrypted", status_code=400)
            answer = await inner.handle(self.enclave.backend, request.method, path, b"")
            return Response(answer.body + await drain(answer), status_code=answer.status,
                            headers={k.decode(): v.decode() for k, v in answer.headers})
        if len(enc) != 1:
            return PlainTextResponse("malformed encapsulated request", status_code=400)
        try:
            opener = ehbp.RequestOpener(self.hpke_private, enc[0])
        except ChannelError:
            return PlainTextResponse("malformed encapsulated request", status_code=400)
        plaintext = bytearray()
        try:
            async for piece in request.stream():
                for part in opener.feed(piece):
                    plaintext += part
                if len(plaintext) > MAX_REQUEST_BODY:
                    return PlainTextResponse("request too large", status_code=413)
            opener.close()
        except ChannelError:
            # With X25519 any 32 bytes decapsulate; a request sealed to another (older) key fails to
            # open: that is the key-configuration mismatch of SPEC §5.4.2.
            return JSONResponse({"type": ehbp.KEY_CONFIG_PROBLEM_TYPE,
                                 "title": "the request is not sealed to the current key; attest again"},
                                status_code=422, media_type="application/problem+json")
        answer = await inner.handle(self.enclave.backend, request.method, path, bytes(plaintext))
        sealer = opener.response_sealer()
        headers = {k.decode(): v.decode() for k, v in answer.headers}
        headers[ehbp.RESPONSE_NONCE_HEADER] = sealer.nonce_header
        return StreamingResponse(_sealed(sealer, answer), status_code=answer.status, headers=headers)

    async def index(self, request: Request) -> Response:
        return PlainTextResponse("enclave-chat reference enclave, Tinfoil-compatible mode (INSECURE DEMO)\n")


async def _sealed(sealer: ehbp.ResponseSealer, answer: inner.InnerResponse) -> AsyncIterator[bytes]:
    """One EHBP frame per piece of the answer, sent as soon as it exists."""
    if answer.body:
        yield sealer.seal_frame(answer.body)
    if answer.stream is not None:
        async for piece in answer.stream:
            if piece:
                yield sealer.seal_frame(piece)


def routes(mode: TinfoilMode) -> list[Route]:
    """The Tinfoil-compatible routes, to mount next to the native ones (their paths do not overlap)."""
    return [
        Route("/.well-known/tinfoil-attestation", mode.attestation, methods=["GET"]),
        Route("/.well-known/tinfoil-demo-release", mode.demo_release, methods=["GET"]),
        Route("/v1/{rest:path}", mode.api, methods=["GET", "POST"]),
    ]


def app(enclave: _Enclave, *, serve_v2: bool = False, layout: str = "current") -> Starlette:
    """A starlette app of the Tinfoil-compatible routes alone; ``app.state.tinfoil`` is the mode."""
    mode = TinfoilMode(enclave, serve_v2=serve_v2, layout=layout)
    application = Starlette(routes=[Route("/", mode.index), *routes(mode)])
    application.state.tinfoil = mode
    return application
