"""The reference enclave speaking NEAR AI's wire profile (a dstack TD with 8 GPUs). INSECURE DEMO.

So that ``enclave-chat ask URL --provider nearai --policy demo`` runs the whole ``nearai`` provider
live on loopback (``enclave-chat serve --provider nearai``: ``Settings(profile="nearai")``, the
simulated TDX machine of :mod:`enclave.tdx`, 8 simulated H100s), this module serves:

- ``GET /v1/attestation/report?nonce=<64 hex>&signing_algo=ed25519&include_tls_fingerprint=true``:
  the answer in NEAR AI's direct (model host) form, as ``verifier.providers.nearai.document`` reads
  it: ``intel_quote``, a TD quote v4 under the demo Intel root whose REPORTDATA is
  SHA-256(signing address ‖ ``tls_cert_fingerprint``) ‖ nonce, the signing address being a demo
  Ed25519 public key made per process; ``event_log``, a dstack event log (boot events in RTMR0-2,
  runtime events in RTMR3, each runtime digest SHA-384 of its type, name and payload) whose replay
  gives the quote's RTMR0-3, the RTMRs being built from the events emitted; ``info.tcb_info`` with
  the app compose, whose SHA-256 is in MRCONFIGID (0x01 ‖ hash ‖ zeros) and in the ``compose-hash``
  event; ``nvidia_payload`` with the enclave's simulated GPUs, each answering the client's nonce as
  its SPDM nonce; ``compose_manager_attestation``, a second quote of the same TD binding SHA-256 of
  its (one-action) deployment log and the nonce; and ``demo_collateral``, what no public service has
  for demo roots: the demo Intel collateral (PCS's seven pieces) and the demo GPU RIMs, read only by a
  policy with ``[nearai] collateral_from_report`` (a loopback demo policy).
- ``GET /v1/models``, ``POST /v1/chat/completions``: the OpenAI-compatible API **in plaintext**.
  NEAR AI's profile has no end-to-end encryption: a real host is reached over TLS to the attested
  key. Here it is plain http on loopback, so there is no TLS key at all: ``tls_cert_fingerprint``
  is :data:`DEMO_TLS_FINGERPRINT` (SHA-256 of a label, of no certificate), and the demo policy
  turns ``nearai.tls_key`` into an optional skip (``[nearai] tls_key = "off"``). Anything on this
  machine that can read loopback traffic sees the prompts. INSECURE DEMO.

The measurements are labels: MRTD, and the boot events of RTMR0-2, are SHA-384 of demo strings
(constant, so ``policies/demo.toml`` pins them as the demo OS image); nothing was measured, nothing
is protected by hardware. The attack modes ``nearai-*`` (:mod:`enclave.attacks`) change one thing
of an answer each; ``replay-nonce`` answers every nonce with the first answer.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from enclave import gpu, inner, tdx
from enclave.bodies import read_bounded

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from enclave.app import Enclave

PROFILE = "nearai"
GPUS = 8
"""How many simulated H100s this profile attests (a NEAR AI model host has 8)."""
REPORT_PATH = "/v1/attestation/report"
MODEL_NAME = "enclave-chat/demo-model"
DEMO_TLS_FINGERPRINT = hashlib.sha256(b"enclave-chat INSECURE DEMO: no TLS certificate (plain http on loopback)").digest()
"""What the answer says ``tls_cert_fingerprint`` is: no certificate's, since there is no TLS."""
RUNTIME_EVENT = 0x08000001
EV_SEPARATOR = 0x4
MAX_REQUEST_BODY = 1024 * 1024
OS_IMAGE_NAME = "enclave-chat demo dstack OS (INSECURE DEMO)"


def _label(text: str) -> bytes:
    return f"enclave-chat INSECURE DEMO {text}".encode()


MRTD = hashlib.sha384(_label("dstack MRTD")).digest()
BOOT_EVENTS: tuple[tuple[int, int, bytes], ...] = (
    (0, 0x80000001, _label("virtual hardware: 4 vCPU, 8 GiB, 8 H100")),
    (0, EV_SEPARATOR, bytes(4)),
    (1, 0x80000003, _label("dstack OS kernel (UKI)")),
    (1, EV_SEPARATOR, bytes(4)),
    (2, 0x6, _label("kernel command line and initrd")),
)
"""(register, TCG event type, payload) of the boot events; each digest is SHA-384(payload)."""
OS_IMAGE_HASH = hashlib.sha256(_label("dstack OS image")).digest()
APP_ID = hashlib.sha256(_label("app id")).digest()[:20]
INSTANCE_ID = hashlib.sha256(_label("instance id")).digest()[:20]
DEVICE_ID = hashlib.sha256(_label("device id")).digest()
KEY_PROVIDER = b'{"name":"none","id":""}'


def boot_rtmrs() -> tuple[bytes, bytes, bytes]:
    """RTMR0-2 as the boot events extend them (what ``policies/demo.toml`` pins)."""
    regs = [bytes(48)] * 3
    for imr, _, payload in BOOT_EVENTS:
        regs[imr] = hashlib.sha384(regs[imr] + hashlib.sha384(payload).digest()).digest()
    return regs[0], regs[1], regs[2]


def app_compose(image: str) -> bytes:
    """The app compose (dstack's ``app-compose.json``) of the demo app, exact bytes as hashed."""
    doc = {
        "manifest_version": 2, "name": "enclave-chat-nearai-demo", "runner": "docker-compose",
        "docker_compose_file": ("services:\n  reference-enclave:\n"
                                f"    image: enclave-chat/reference-enclave@{image}\n"
                                "    # INSECURE DEMO: the simulated TD's only service\n"),
        "kms_enabled": False, "gateway_enabled": False, "local_key_provider_enabled": False,
        "key_provider": "none", "public_logs": True, "public_sysinfo": True, "public_tcbinfo": True,
        "allowed_envs": [], "no_instance_id": False, "secure_time": False,
    }
    return json.dumps(doc, indent=4).encode()


def _runtime_digest(name: str, payload: bytes) -> bytes:
    return hashlib.sha384(RUNTIME_EVENT.to_bytes(4, "little") + b":" + name.encode() + b":" + payload).digest()


def events(compose_hash: bytes) -> list[dict[str, Any]]:
    """The event log, in dstack's JSON form: the boot events, then the dstack OS's runtime events."""
    out = [{"imr": imr, "event_type": kind, "digest": hashlib.sha384(payload).hexdigest(), "event": "",
            "event_payload": payload.hex()} for imr, kind, payload in BOOT_EVENTS]
    for name, payload in (("system-preparing", b""), ("app-id", APP_ID), ("compose-hash", compose_hash),
                          ("instance-id", INSTANCE_ID), ("boot-mr-done", b""), ("os-image-hash", OS_IMAGE_HASH),
                          ("key-provider", KEY_PROVIDER), ("storage-fs", b"ext4"), ("system-ready", b"")):
        out.append({"imr": 3, "event_type": RUNTIME_EVENT, "digest": _runtime_digest(name, payload).hex(),
                    "event": name, "event_payload": payload.hex()})
    return out


def replay(log: list[dict[str, Any]]) -> tuple[bytes, bytes, bytes, bytes]:
    """RTMR0-3 from the recorded digests, as a verifier replays them."""
    regs = [bytes(48)] * 4
    for e in log:
        regs[e["imr"]] = hashlib.sha384(regs[e["imr"]] + bytes.fromhex(e["digest"])).digest()
    return regs[0], regs[1], regs[2], regs[3]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


class NearAiMode:
    """NEAR AI-compatible endpoints for one reference enclave (its TDX machine, GPUs and backend)."""

    def __init__(self, enclave: Enclave) -> None:
        if enclave.tdx is None or enclave.settings.platform != tdx.PLATFORM:
            raise ValueError("the NEAR AI profile needs the simulated TDX machine (platform 'tdx')")
        self.enclave = enclave
        self.machine = enclave.tdx
        self.signing_key = Ed25519PrivateKey.generate()
        """INSECURE DEMO: the answer's ed25519 signing key, made per process."""
        self.compose = app_compose(enclave.image)
        self.compose_hash = hashlib.sha256(self.compose).digest()
        self.log = events(self.compose_hash)
        mrconfigid = bytes([1]) + self.compose_hash + bytes(15)
        self.state = tdx.TdState(MRTD, replay(self.log), mrconfigid=mrconfigid)
        self.requests = 0
        """Requests that reached the chat API (``/v1/chat/completions``, ``/v1/models``)."""
        self.attestations = 0
        self._replayed: bytes | None = None

    @property
    def signing_address(self) -> bytes:
        return self.signing_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    # -- the answer --------------------------------------------------------------------------------
    def _nvidia_payload(self, nonce: bytes) -> str:
        attack = self.enclave.settings.attack
        entries = []
        for i, device in enumerate(self.enclave.gpus):
            tamper = gpu.Tamper.NONCE if attack == "nearai-gpu-nonce" and i == len(self.enclave.gpus) // 2 else None
            ev = device.evidence(nonce, tamper=tamper)
            entries.append({"arch": ev.arch, "certificate": _b64(ev.certificate_chain), "evidence": _b64(ev.report),
                            "nonce": nonce.hex()})
        return _compact({"arch": gpu.ARCH, "evidence_list": entries, "nonce": nonce.hex()}).decode()

    def _compose_manager(self, nonce: bytes, log: list[dict[str, Any]], vm_config: str) -> dict[str, Any]:
        actions = [{"timestamp": "2026-01-01T00:00:00+00:00", "action": "compose_up", "tag": "demo",
                    "commit": "0" * 40, "file": "demo-model.yaml",
                    "file_sha256": hashlib.sha256(_label("model compose file")).hexdigest(),
                    "services": ["demo-model"]}]
        actions_hash = hashlib.sha256(_compact(actions)).digest()
        report_data = actions_hash + nonce
        return {"actions": actions, "actions_hash": actions_hash.hex(), "nonce": nonce.hex(), "nonce_source": "client",
                "quote": self.machine.quote(report_data, state=self.state).hex(), "event_log": _compact(log).decode(),
                "report_data": report_data.hex(), "vm_config": vm_config}

    def report(self, nonce: bytes) -> bytes:
        """The attestation report for ``nonce`` (the direct form), compact JSON."""
        attack = self.enclave.settings.attack
        if attack == "replay-nonce" and self._replayed is not None:
            return self._replayed
        address = self.signing_address
        bound = address
        if attack == "nearai-wrong-key":  # serve a valid key, but not the one REPORT_DATA binds
            bound = Ed25519PrivateKey.generate().public_key().public_bytes(serialization.Encoding.Raw,
                                                                            serialization.PublicFormat.Raw)
        report_data = hashlib.sha256(bound + DEMO_TLS_FINGERPRINT).digest() + nonce
        quote = self.machine.quote(report_data, state=self.state).hex()
        log = copy.deepcopy(self.log)
        if attack == "nearai-event-payload":  # a payload changed after its digest was extended
            changed = next(e for e in log if e["event"] == "instance-id")
            changed["event_payload"] = hashlib.sha256(_label("another instance")).digest()[:20].hex()
        compose = self.compose
        if attack == "nearai-compose-changed":  # not the compose MRCONFIGID and the compose-hash event bind
            compose = compose.replace(b"reference-enclave@", b"reference-enclave-unreleased@", 1)
        vm_config = _compact({"spec_version": 1, "os_image_hash": OS_IMAGE_HASH.hex(), "cpu_count": 4,
                              "memory_size": 8 * 1024 ** 3, "num_gpus": len(self.enclave.gpus)}).decode()
        r0, r1, r2, r3 = self.state.rtmrs
        tcb_info = {"app_compose": compose.decode(), "compose_hash": self.compose_hash.hex(),
                    "device_id": DEVICE_ID.hex(), "event_log": log, "mrtd": MRTD.hex(),
                    "os_image_hash": OS_IMAGE_HASH.hex(), "rtmr0": r0.hex(), "rtmr1": r1.hex(), "rtmr2": r2.hex(),
                    "rtmr3": r3.hex()}
        info = {"app_id": APP_ID.hex(), "app_name": "enclave-chat-nearai-demo (INSECURE DEMO)",
                "compose_hash": self.compose_hash.hex(), "device_id": DEVICE_ID.hex(),
                "instance_id": INSTANCE_ID.hex(), "key_provider_info": KEY_PROVIDER.decode(),
                "os_image_hash": OS_IMAGE_HASH.hex(), "tcb_info": tcb_info, "vm_config": vm_config}
        model = {"model_name": MODEL_NAME, "signing_address": address.hex(), "signing_algo": "ed25519",
                 "signing_public_key": address.hex(), "request_nonce": nonce.hex(), "intel_quote": quote,
                 "nvidia_payload": self._nvidia_payload(nonce), "event_log": log, "info": info,
                 "tls_cert_fingerprint": DEMO_TLS_FINGERPRINT.hex()}
        collateral = {"tdx": tdx.collateral_member(self.machine.collateral()),
                      "gpu_rims": [_b64(r) for r in gpu.demo_rims()]}
        doc = {**model, "all_attestations": [model],
               "compose_manager_attestation": self._compose_manager(nonce, log, vm_config),
               "demo_collateral": collateral}
        data = _compact(doc)
        if attack == "replay-nonce":
            self._replayed = data
        return data

    # -- HTTP --------------------------------------------------------------------------------------
    async def attestation(self, request: Request) -> Response:
        self.attestations += 1
        try:
            nonce = bytes.fromhex(request.query_params.get("nonce", ""))
        except ValueError:
            nonce = b""
        if len(nonce) != 32:
            return JSONResponse({"error": "nonce must be 64 hex digits"}, status_code=400)
        if request.query_params.get("signing_algo", "ed25519") != "ed25519":
            return JSONResponse({"error": "this demo signs with ed25519 only"}, status_code=400)
        return Response(self.report(nonce), media_type="application/json", headers={"cache-control": "no-store"})

    async def api(self, request: Request) -> Response:
        """``/v1/models`` and ``/v1/chat/completions`` in plaintext (INSECURE DEMO: no TLS, no E2EE)."""
        self.requests += 1
        body = await read_bounded(request, MAX_REQUEST_BODY)
        if body is None:
            return PlainTextResponse("request too large", status_code=413)
        answer = await inner.handle(self.enclave.backend, request.method, request.url.path, body)
        headers = {k.decode(): v.decode() for k, v in answer.headers}
        return StreamingResponse(_pieces(answer), status_code=answer.status, headers=headers)


async def _pieces(answer: inner.InnerResponse) -> AsyncIterator[bytes]:
    if answer.body:
        yield answer.body
    if answer.stream is not None:
        async for piece in answer.stream:
            if piece:
                yield piece


def routes(mode: NearAiMode) -> list[Route]:
    """The NEAR AI-compatible routes, mounted beside the native ones (in place of Tinfoil's ``/v1``)."""
    return [
        Route(REPORT_PATH, mode.attestation, methods=["GET"]),
        Route("/v1/models", mode.api, methods=["GET"]),
        Route("/v1/chat/completions", mode.api, methods=["POST"]),
    ]
