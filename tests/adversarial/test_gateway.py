"""The reference enclave's gateway on garbage: every refusal is a problem document (RFC 9457),
never a 500, and a request that opens but breaks the backend is answered inside the channel."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from enclave.app import Enclave, Settings
from verifier.channel import bhttp, chunked, ohttp

pytestmark = pytest.mark.e2e

GATEWAY = "/.well-known/ohttp-gateway"


@pytest.fixture(scope="module")
def enclave() -> Enclave:
    return Enclave(Settings(transparency=False, token_delay=0))


@pytest.fixture
async def client(enclave: Enclave) -> AsyncIterator[httpx.AsyncClient]:
    """The app in process; an exception it does not handle fails the test (raise_app_exceptions)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=enclave.app()),
                                 base_url="http://enclave") as c:
        yield c


def _request(path: bytes, body: bytes, method: bytes = b"POST") -> bytes:
    return bhttp.encode_request(bhttp.Request(method, b"https", b"enclave", path, (), body))


async def _post(client: httpx.AsyncClient, body: bytes, media: str) -> httpx.Response:
    return await client.post(GATEWAY, content=body, headers={"content-type": media})


def _problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    doc = json.loads(response.content)
    assert isinstance(doc, dict) and doc["status"] == status and doc["title"]
    return doc


async def test_an_unsupported_media_type_is_a_415_problem(client: httpx.AsyncClient) -> None:
    _problem(await _post(client, b"hello", "text/plain"), 415)
    _problem(await client.post(GATEWAY, content=b"hello"), 415)


async def test_a_body_over_1_mib_is_a_413_problem(client: httpx.AsyncClient) -> None:
    _problem(await _post(client, b"\x00" * (1024 * 1024 + 1), chunked.REQUEST_MEDIA_TYPE), 413)


@pytest.mark.parametrize("media", [chunked.REQUEST_MEDIA_TYPE, ohttp.REQUEST_MEDIA_TYPE])
async def test_truncated_or_garbled_ohttp_is_a_400_problem(client: httpx.AsyncClient, enclave: Enclave, media: str) -> None:
    whole, _ = (chunked.encapsulate_chunked_request(enclave.keys.config, _request(b"/v1/models", b"", b"GET"))
                if media == chunked.REQUEST_MEDIA_TYPE
                else ohttp.encapsulate_request(enclave.keys.config, _request(b"/v1/models", b"", b"GET")))
    assert (await _post(client, whole, media)).status_code == 200
    for body in (b"", whole[:1], whole[:7], whole[: len(whole) // 2], whole[:-1], whole + b"\x00\x01"):
        doc = _problem(await _post(client, body, media), 400)
        assert doc["type"] in ("about:blank", ohttp.KEY_PROBLEM_TYPE)


@pytest.mark.parametrize("media", [chunked.REQUEST_MEDIA_TYPE, ohttp.REQUEST_MEDIA_TYPE])
async def test_an_unknown_key_id_is_the_ohttp_key_problem(client: httpx.AsyncClient, enclave: Enclave, media: str) -> None:
    body, _ = chunked.encapsulate_chunked_request(enclave.keys.config, _request(b"/v1/models", b"", b"GET"))
    wrong = bytes([(enclave.keys.key_id + 1) % 256]) + body[1:]
    assert _problem(await _post(client, wrong, media), 400)["type"] == ohttp.KEY_PROBLEM_TYPE


@pytest.mark.parametrize("inner", [
    b"\x00",                                                     # not a whole request
    b"\x01" + b"\xff" * 40,                                      # a response framing, garbage after
], ids=["cut-short", "response-framing"])
async def test_garbage_binary_http_inside_valid_ohttp_is_a_400_problem(client: httpx.AsyncClient, enclave: Enclave,
                                                                 inner: bytes) -> None:
    body, _ = ohttp.encapsulate_request(enclave.keys.config, inner)
    _problem(await _post(client, body, ohttp.REQUEST_MEDIA_TYPE), 400)


@pytest.mark.parametrize(("content", "status"), [
    (b"[" * 200_000, 400),                                        # RecursionError in the backend's json
    (b'{"messages": [5]}', 500),                                  # the demo model cannot read it
    (b'{"messages": [{"role": 1, "content": {"a": 1}}]}', None),  # whatever it makes of it, not a crash
], ids=["deep-json", "messages-not-objects", "mistyped-message"])
async def test_a_request_that_breaks_the_backend_is_answered_inside_the_channel(
        client: httpx.AsyncClient, enclave: Enclave, content: bytes, status: int | None) -> None:
    body, context = ohttp.encapsulate_request(enclave.keys.config, _request(b"/v1/chat/completions", content))
    response = await _post(client, body, ohttp.REQUEST_MEDIA_TYPE)
    assert response.status_code == 200
    answer = bhttp.decode_response(context.decapsulate_response(response.content))
    if status is not None:
        assert answer.status == status


async def test_a_non_ascii_path_is_a_400_problem(client: httpx.AsyncClient, enclave: Enclave) -> None:
    def s(b: bytes) -> bytes:
        return bytes([len(b)]) + b
    inner = b"\x00" + s(b"GET") + s(b"https") + s(b"enclave") + s(b"/v1/\xc3\xa9") + b"\x00\x00\x00"
    body, _ = ohttp.encapsulate_request(enclave.keys.config, inner)
    _problem(await _post(client, body, ohttp.REQUEST_MEDIA_TYPE), 400)


async def test_a_stream_the_backend_breaks_ends_without_its_final_chunk(client: httpx.AsyncClient, enclave: Enclave) -> None:
    content = b'{"messages": [5], "stream": true}'
    body, encoder = chunked.encapsulate_chunked_request(enclave.keys.config, _request(b"/v1/chat/completions", content))
    response = await _post(client, body, chunked.REQUEST_MEDIA_TYPE)
    assert response.status_code == 200
    decoder = encoder.response_decoder()
    decoder.feed(response.content)
    from verifier.errors import TruncatedResponse
    with pytest.raises(TruncatedResponse):
        decoder.close()
