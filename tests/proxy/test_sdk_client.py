"""``enclave_chat.sdk``: the official OpenAI SDK with ``http_client=attested_http_client(url)``
(and the async twin) against the reference enclave, and refused behind a hostile one."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import openai
import pytest

from enclave.app import Settings
from enclave.server import BackgroundEnclave
from enclave_chat.sdk import (
    ERROR_EXTENSION,
    async_attested_http_client,
    attested_http_client,
)
from verifier.errors import NotVerified

pytestmark = pytest.mark.e2e

HELLO = [{"role": "user", "content": "hello"}]


def test_the_openai_sdk_works_unchanged_over_the_attested_client(enclave: BackgroundEnclave, tmp_path: Path) -> None:
    with attested_http_client(enclave.url, policy="demo", state_dir=tmp_path) as http:
        assert http.attestation is None
        client = openai.OpenAI(base_url=enclave.url + "/v1", api_key="unused", http_client=http, max_retries=0)
        assert [m.id for m in client.models.list().data] == ["enclave-demo-1"]
        assert http.attestation is not None and http.attestation.verified
        reply = client.chat.completions.create(model="enclave-demo-1", messages=HELLO)
        assert reply.choices[0].message.content
        stream = client.chat.completions.create(model="enclave-demo-1", messages=HELLO, stream=True)
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert http.session.attestations == 1


async def test_the_async_twin(enclave: BackgroundEnclave, tmp_path: Path) -> None:
    async with async_attested_http_client(enclave.url, policy="demo", state_dir=tmp_path) as http:
        client = openai.AsyncOpenAI(base_url=enclave.url + "/v1", api_key="unused", http_client=http,
                                    max_retries=0)
        stream = await client.chat.completions.create(model="enclave-demo-1", messages=HELLO, stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        assert text
        assert (await http.attest()).verified


def test_a_url_outside_the_service_api_is_never_sent(enclave: BackgroundEnclave, tmp_path: Path) -> None:
    with attested_http_client(enclave.url, policy="demo", state_dir=tmp_path) as http:
        assert http.get("http://127.0.0.1:1/v1/models").status_code == 404
        assert http.get(enclave.url + "/.well-known/attestation").status_code == 404
        assert http.session.attestations == 0


@pytest.mark.parametrize(("attack", "check_id"), [
    ("swap-key-config", "snp.report_data"),
    ("flip-measurement", "release.measurement"),
])
def test_a_refusal_is_a_typed_error_the_sdk_raises(attack: str, check_id: str, tmp_path: Path) -> None:
    with BackgroundEnclave(Settings(token_delay=0, attack=attack)) as server, \
            attested_http_client(server.url, policy="demo", state_dir=tmp_path) as http:
        client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", http_client=http)
        with pytest.raises(openai.APIStatusError) as refused:
            client.chat.completions.create(model="enclave-demo-1", messages=HELLO, stream=True)
        error = refused.value
        assert error.status_code == 502 and error.type == "attestation_failed" and error.code == check_id
        behind = error.response.extensions[ERROR_EXTENSION]
        assert isinstance(behind, NotVerified) and behind.result.first_failure.id == check_id  # type: ignore[attr-defined]
        assert http.attestation is not None and not http.attestation.verified
        assert http.session.attestations == 1  # the SDK was told not to retry
        with pytest.raises(NotVerified):
            http.attest()
        assert server.enclave.gateway_posts == 0


def test_an_httpx_user_gets_the_error_object(tmp_path: Path) -> None:
    with BackgroundEnclave(Settings(token_delay=0, attack="flip-measurement")) as server, \
            attested_http_client(server.url, policy="demo", state_dir=tmp_path) as http:
        answer = http.post(server.url + "/v1/chat/completions", json={"messages": HELLO})
        assert answer.status_code == 502
        assert answer.json()["error"]["type"] == "attestation_failed"
        assert isinstance(answer, httpx.Response)


def test_a_redeployed_service_is_refused_until_the_sdk_user_accepts_it(tmp_path: Path) -> None:
    from tests.redeploy import NEW_VERSION, redeploy
    from verifier.release_pin import ReleaseChanged

    with BackgroundEnclave(Settings(token_delay=0)) as server, \
            attested_http_client(server.url, policy="demo", state_dir=tmp_path) as http:
        client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", http_client=http, max_retries=0)
        assert client.chat.completions.create(model="enclave-demo-1", messages=HELLO).choices
        posts = server.enclave.gateway_posts
        redeploy(server)
        http.session.verified = None  # the next request attests again (as on expiry)
        with pytest.raises(openai.APIStatusError) as refused:
            client.chat.completions.create(model="enclave-demo-1", messages=HELLO)
        assert refused.value.status_code == 502 and refused.value.type == "attestation_failed"
        assert isinstance(refused.value.response.extensions[ERROR_EXTENSION], ReleaseChanged)
        assert server.enclave.gateway_posts == posts  # nothing went to the new release
        http.session.accept_release_change()
        assert client.chat.completions.create(model="enclave-demo-1", messages=HELLO).choices
        assert server.enclave.gateway_posts == posts + 1
        assert http.attestation is not None and NEW_VERSION in json.dumps(http.attestation.to_json())
