"""The proxy and the SDK client on the reference enclave's second wire profile, Tinfoil's (v3
attestation document + EHBP; docs/tinfoil.md), with the official OpenAI SDK: the same calls work, and
behind a hostile front (key swapped, measurement flipped, document replayed) the SDK gets the
attestation error and no ``/v1`` request reaches the service."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import openai
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils, x25519
from cryptography.x509.oid import NameOID
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from enclave_chat.proxy.server import BackgroundProxy
from enclave_chat.sdk import attested_http_client
from tests.adversarial.conftest import HostileServer, serve
from tests.tinfoil.conftest import TinfoilEnclave
from verifier.appraisal.policy import Policy
from verifier.session import Session

pytestmark = pytest.mark.e2e

HELLO = [{"role": "user", "content": "my secret prompt"}]
MEASUREMENT = slice(0x90, 0x90 + 48)  # SEV-SNP ATTESTATION_REPORT.MEASUREMENT (SEV-SNP ABI, Table 23)


def sdk(proxy: BackgroundProxy) -> openai.OpenAI:
    return openai.OpenAI(base_url=proxy.url, api_key="unused", max_retries=0, timeout=30)


def test_the_sdk_lists_completes_and_streams_through_the_proxy(tinfoil_enclave: TinfoilEnclave,
                                                               demo_policy: Policy) -> None:
    before = tinfoil_enclave.mode.requests
    with BackgroundProxy(Session(tinfoil_enclave.url, demo_policy, provider="tinfoil")) as proxy:
        client = sdk(proxy)
        assert [m.id for m in client.models.list().data] == ["enclave-demo-1"]
        reply = client.chat.completions.create(model="enclave-demo-1", messages=HELLO)
        assert reply.choices[0].message.content and reply.choices[0].finish_reason == "stop"
        stream = client.chat.completions.create(model="enclave-demo-1", messages=HELLO, stream=True)
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        doc = httpx.get(proxy.url + "/attestation").json()
        assert doc["verified"] is True and doc["provider"] == "tinfoil"
        assert proxy.session.attestations == 1
    assert tinfoil_enclave.mode.requests - before == 3  # each call went to the service, over EHBP


def test_the_attested_http_client_speaks_tinfoil(tinfoil_enclave: TinfoilEnclave, tmp_path: Path) -> None:
    with attested_http_client(tinfoil_enclave.url, policy="demo", provider="tinfoil", state_dir=tmp_path) as http:
        client = openai.OpenAI(base_url=tinfoil_enclave.url + "/v1", api_key="unused", http_client=http,
                               max_retries=0)
        stream = client.chat.completions.create(model="enclave-demo-1", messages=HELLO, stream=True)
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert http.attestation is not None and http.attestation.provider == "tinfoil"


# -- a hostile front: forwards to the honest enclave, rewrites its attestation document -------------

def _resigned(doc: dict[str, object]) -> bytes:
    """``doc`` signed as the enclave signs it, but by a key of the attacker's own (a new envelope
    key and self-signed certificate): what a front that rewrites the document can do."""
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attacker")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    doc = {**doc, "certificate": cert.public_bytes(serialization.Encoding.PEM).decode(), "signature": ""}
    unsigned = json.dumps(doc, separators=(",", ":")).encode()
    signature = key.sign(_sha256(unsigned), ec.ECDSA(utils.Prehashed(hashes.SHA256())))
    doc["signature"] = base64.b64encode(signature).decode()
    return json.dumps(doc, separators=(",", ":")).encode() + b"\n"


def _sha256(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SHA256())
    digest.update(data)
    return digest.finalize()


def _swap_key(doc: dict[str, object]) -> bytes:
    other = x25519.X25519PrivateKey.generate().public_key().public_bytes_raw()
    report_data = dict(doc["report_data"])  # type: ignore[call-overload]
    report_data["hpke_key"] = other.hex()
    return _resigned({**doc, "report_data": report_data})


def _flip_measurement(doc: dict[str, object]) -> bytes:
    cpu = dict(doc["cpu"])  # type: ignore[call-overload]
    report = bytearray(base64.b64decode(cpu["report"]))
    report[MEASUREMENT.start] ^= 0x01
    cpu["report"] = base64.b64encode(bytes(report)).decode()
    return _resigned({**doc, "cpu": cpu})


class Front:
    """Forwards to ``enclave``; ``rewrite`` turns the document the enclave made for the client's
    nonce into the one served (``replay``: the document made for another nonce, served as it is)."""

    def __init__(self, enclave: TinfoilEnclave, rewrite: Callable[[dict[str, object]], bytes] | None,
                 replay: bool = False) -> None:
        self.enclave = enclave
        self.carried = 0
        stale = httpx.get(f"{enclave.url}/.well-known/tinfoil-attestation", params={"nonce": "00" * 32}).content
        self._stale = stale if replay else None
        self._rewrite = rewrite
        self.server: HostileServer = serve([
            Route("/.well-known/tinfoil-attestation", self._attestation, methods=["GET"]),
            Route("/v1/{rest:path}", self._api, methods=["GET", "POST"]),
        ])
        self.url = self.server.url

    async def _attestation(self, request: Request) -> Response:
        if self._stale is not None:
            return Response(self._stale, media_type="application/json")
        async with httpx.AsyncClient() as client:
            answer = await client.get(f"{self.enclave.url}{request.url.path}", params=request.query_params)
        assert self._rewrite is not None
        return Response(self._rewrite(json.loads(answer.content)), media_type="application/json")

    async def _api(self, request: Request) -> Response:
        self.carried += 1
        return Response(b"{}", status_code=500)

    def __enter__(self) -> Front:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(None, None, None)


@pytest.mark.parametrize(("attack", "check_id"), [
    ("swap-key", "snp.report_data"),           # the re-signed document names a key the report does not bind
    ("flip-measurement", "snp.report.signature"),  # the chip never signed that report
    ("replay-nonce", "tinfoil.nonce"),             # made for another nonce
])
def test_behind_a_hostile_front_the_sdk_gets_the_attestation_error_and_nothing_is_carried(
        june_enclave: TinfoilEnclave, demo_policy: Policy, attack: str, check_id: str) -> None:
    tinfoil_enclave = june_enclave
    rewrite = {"swap-key": _swap_key, "flip-measurement": _flip_measurement, "replay-nonce": None}[attack]
    before = tinfoil_enclave.mode.requests
    with Front(tinfoil_enclave, rewrite, replay=attack == "replay-nonce") as front, \
            BackgroundProxy(Session(front.url, demo_policy, provider="tinfoil")) as proxy:
        for stream in (False, True):
            with pytest.raises(openai.APIStatusError) as refused:
                sdk(proxy).chat.completions.create(model="enclave-demo-1", messages=HELLO, stream=stream)
            assert refused.value.status_code == 502 and refused.value.type == "attestation_failed"
            assert refused.value.code == check_id, refused.value.message
        assert front.carried == 0
    assert tinfoil_enclave.mode.requests == before
