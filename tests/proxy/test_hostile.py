"""Behind a hostile service the OpenAI SDK gets the attestation error (HTTP 502,
``type: attestation_failed``, the failing check's id) and nothing reaches the gateway; the proxy's
own checks (Host header, Origin, token, media type) refuse before anything is carried."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import openai
import pytest
from starlette.requests import Request
from starlette.responses import Response

from enclave.app import Settings
from enclave.server import BackgroundEnclave
from enclave_chat.proxy.server import BackgroundProxy
from tests.adversarial.conftest import Proxy
from verifier.appraisal.policy import Policy
from verifier.session import Session

pytestmark = pytest.mark.e2e

HELLO = [{"role": "user", "content": "my secret prompt"}]


def sdk(proxy: BackgroundProxy, api_key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=proxy.url, api_key=api_key, max_retries=0, timeout=30)


def assert_refused(error: openai.APIStatusError, check_id: str) -> None:
    assert error.status_code == 502
    assert error.type == "attestation_failed"
    assert error.code == check_id
    assert error.param is None
    assert "nothing was sent" in error.message


@pytest.mark.parametrize(("attack", "check_id"), [
    ("swap-key-config", "snp.report_data"),
    ("flip-measurement", "release.measurement"),
    ("replay-nonce", "bundle.nonce"),
])
@pytest.mark.parametrize("stream", [False, True])
def test_an_attack_is_an_attestation_error_and_nothing_is_sent(attack: str, check_id: str, stream: bool,
                                                               demo_policy: Policy) -> None:
    with BackgroundEnclave(Settings(token_delay=0, attack=attack)) as server:
        if attack == "replay-nonce":  # the enclave keeps its first bundle and replays it after
            httpx.get(f"{server.url}/.well-known/attestation", params={"nonce": "00" * 32})
        with BackgroundProxy(Session(server.url, demo_policy)) as proxy:
            client = sdk(proxy)
            with pytest.raises(openai.APIStatusError) as refused:
                client.chat.completions.create(model="enclave-demo-1", messages=HELLO, stream=stream)
            assert_refused(refused.value, check_id)
            with pytest.raises(openai.APIStatusError) as listed:
                client.models.list()
            assert_refused(listed.value, check_id)
            attestation = httpx.get(proxy.url + "/attestation")
            assert attestation.status_code == 502 and attestation.json()["verified"] is False
        assert server.enclave.gateway_posts == 0


def test_rewritten_evidence_behind_a_hostile_proxy_sends_nothing(enclave: BackgroundEnclave,
                                                                 demo_policy: Policy) -> None:
    async def gateway(request: Request) -> Response:
        return Response(b"", status_code=500)

    def rewrite(body: bytes) -> bytes:
        doc = json.loads(body)
        doc["nonce"] = "00" * 32
        return json.dumps(doc).encode()

    with Proxy(enclave, gateway=gateway, rewrite=rewrite) as hostile, \
            BackgroundProxy(Session(hostile.url, demo_policy)) as proxy:
        with pytest.raises(openai.APIStatusError) as refused:
            sdk(proxy).chat.completions.create(model="enclave-demo-1", messages=HELLO)
        assert refused.value.status_code == 502 and refused.value.type == "attestation_failed"
        assert sum(1 for method, *_ in hostile.seen if method == "POST") == 0


def test_a_host_header_of_another_name_is_refused(proxy: BackgroundProxy, enclave: BackgroundEnclave) -> None:
    before = enclave.enclave.gateway_posts
    answer = httpx.post(proxy.url + "/chat/completions", json={"messages": HELLO},
                        headers={"host": f"attacker.example:{proxy.port}"})
    assert answer.status_code == 421 and answer.json()["error"]["code"] == "host_mismatch"
    answer = httpx.get(proxy.url + "/models", headers={"host": "127.0.0.1:1"})
    assert answer.status_code == 421
    assert enclave.enclave.gateway_posts == before
    assert httpx.get(f"http://localhost:{proxy.port}/v1/models").status_code == 200


def test_a_page_of_another_origin_and_a_form_post_are_refused(proxy: BackgroundProxy) -> None:
    answer = httpx.post(proxy.url + "/chat/completions", json={"messages": HELLO},
                        headers={"origin": "http://attacker.example"})
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "origin_mismatch"
    answer = httpx.post(proxy.url + "/chat/completions", content=json.dumps({"messages": HELLO}),
                        headers={"content-type": "text/plain"})
    assert answer.status_code == 415
    preflight = httpx.options(proxy.url + "/chat/completions",
                              headers={"origin": "http://attacker.example", "access-control-request-method": "POST"})
    assert not any(k.lower().startswith("access-control-") for k in preflight.headers)
    answer = httpx.get(proxy.url + "/models")
    assert not any(k.lower().startswith("access-control-") for k in answer.headers)


def test_the_token_is_checked_and_the_service_key_travels_inside_the_channel(
        enclave: BackgroundEnclave, demo_policy: Policy, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[tuple[str, str], ...]] = []
    real = Session.exchange

    def spy(self: Session, method: str, path: str, body: object = None, *,
            headers: tuple[tuple[str, str], ...] = ()) -> object:
        sent.append(tuple(headers))
        return real(self, method, path, body, headers=headers)  # type: ignore[arg-type]

    monkeypatch.setattr(Session, "exchange", spy)
    with BackgroundProxy(Session(enclave.url, demo_policy), token="proxy-token",
                         api_key="service-key") as proxy:
        with pytest.raises(openai.AuthenticationError):
            sdk(proxy, api_key="wrong").models.list()
        assert sent == []
        assert [m.id for m in sdk(proxy, api_key="proxy-token").models.list().data] == ["enclave-demo-1"]
    assert sent == [(("authorization", "Bearer service-key"),)]  # never the proxy's token


def test_the_native_channel_seals_the_api_key_inside_the_request() -> None:
    from verifier.channel import bhttp
    from verifier.providers.native.transport import inner_request

    request = bhttp.decode_request(inner_request("GET", "/v1/models", "h", None,
                                                 (("Authorization", "Bearer k"), ("host", "evil"))))
    assert (b"authorization", b"Bearer k") in request.headers
    assert all(name != b"host" for name, _ in request.headers)


def test_a_remote_host_without_a_token_is_a_usage_error(tmp_path: Path) -> None:
    from enclave_chat.cli import main

    for argv in (["--host", "0.0.0.0"], ["--token-file", str(tmp_path / "absent")],
                 ["--api-key-file", str(tmp_path)]):
        with pytest.raises(SystemExit) as ended:
            main(["proxy", "http://127.0.0.1:1", "--policy", "demo", *argv])
        assert ended.value.code == 2
