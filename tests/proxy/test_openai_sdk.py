"""The official OpenAI SDK, unchanged, through ``enclave-chat proxy`` to the reference enclave."""

from __future__ import annotations

import concurrent.futures

import httpx
import openai
import pytest

from enclave.app import Settings
from enclave.server import BackgroundEnclave
from enclave_chat.proxy.server import BackgroundProxy
from verifier.appraisal.policy import Policy
from verifier.session import Session

pytestmark = pytest.mark.e2e


def sdk(proxy: BackgroundProxy, api_key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=proxy.url, api_key=api_key, max_retries=0, timeout=30)


def test_the_sdk_lists_models(proxy: BackgroundProxy) -> None:
    models = sdk(proxy).models.list()
    assert [m.id for m in models.data] == ["enclave-demo-1"]


def test_the_sdk_completes_a_chat(proxy: BackgroundProxy) -> None:
    reply = sdk(proxy).chat.completions.create(model="enclave-demo",
                                               messages=[{"role": "user", "content": "hello"}])
    assert reply.choices[0].message.content
    assert reply.choices[0].finish_reason == "stop"


def test_the_sdk_streams_a_chat(proxy: BackgroundProxy) -> None:
    stream = sdk(proxy).chat.completions.create(model="enclave-demo", stream=True,
                                                messages=[{"role": "user", "content": "hello"}])
    deltas = [c.choices[0].delta.content or "" for c in stream if c.choices]
    assert len(deltas) > 2 and "".join(deltas)


def test_the_attestation_is_served_in_the_verify_json_shape(proxy: BackgroundProxy) -> None:
    doc = httpx.get(proxy.url + "/attestation").json()
    assert doc["verified"] is True and doc["provider"] == "native"
    assert {"authentic", "kind", "at", "nonce", "policy", "checks", "claims"} <= set(doc)


def test_a_route_the_proxy_lacks_is_an_openai_error_and_nothing_is_sent(proxy: BackgroundProxy,
                                                                        enclave: BackgroundEnclave) -> None:
    before = enclave.enclave.gateway_posts
    answer = httpx.post(proxy.url + "/files", json={})
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "unknown_route"
    assert enclave.enclave.gateway_posts == before


def test_sixteen_concurrent_requests_share_one_attestation(enclave: BackgroundEnclave,
                                                           demo_policy: Policy) -> None:
    with BackgroundProxy(Session(enclave.url, demo_policy)) as proxy:
        client = sdk(proxy)

        def ask(i: int) -> str:
            stream = client.chat.completions.create(model="enclave-demo", stream=True,
                                                    messages=[{"role": "user", "content": f"hi {i}"}])
            return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            replies = list(pool.map(ask, range(16)))
        assert all(replies)
        assert proxy.session.attestations == 1


def test_a_stream_cut_short_ends_with_an_error_event(demo_policy: Policy) -> None:
    with BackgroundEnclave(Settings(token_delay=0, attack="truncate-stream")) as server, \
            BackgroundProxy(Session(server.url, demo_policy)) as proxy:
        stream = sdk(proxy).chat.completions.create(model="enclave-demo", stream=True,
                                                    messages=[{"role": "user", "content": "hello"}])
        with pytest.raises(openai.APIError) as failed:
            for _ in stream:
                pass
        assert "cut short" in str(failed.value)
