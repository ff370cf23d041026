"""The EHBP channel (verifier.providers.tinfoil.EhbpChannel) fails closed: no plaintext fallback,
no unauthenticated success, a TLS peer that is not the attested one is refused, and the key-config
problem asks the session for one re-attestation."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import httpx
import pytest

from verifier.bounded_http import PEER_SPKI_EXTENSION
from verifier.channel import ehbp
from verifier.errors import ChannelError, ProtocolError, TruncatedResponse
from verifier.providers.base import Event, StaleKeyConfig
from verifier.providers.tinfoil.provider import EhbpChannel

PRIVATE, PUBLIC = ehbp.generate_key_pair()
SPKI = b"0Y0\x13 the enclave's TLS key"
BASE = "https://enclave.example"
Handler = Callable[[httpx.Request, ehbp.RequestOpener | None], httpx.Response]


def server(handler: Handler) -> httpx.AsyncClient:
    def respond(request: httpx.Request) -> httpx.Response:
        enc = request.headers.get(ehbp.ENCAPSULATED_KEY_HEADER)
        opener = None
        if enc is not None:
            opener = ehbp.RequestOpener(PRIVATE, enc)
            assert json.loads(b"".join(opener.feed(request.read())))["messages"]
            assert "content-length" not in request.headers  # chunked, as SPEC §4.1 says
        return handler(request, opener)

    return httpx.AsyncClient(transport=httpx.MockTransport(respond))


def sealed_answer(opener: ehbp.RequestOpener | None, pieces: list[bytes], *, spki: bytes = SPKI,
                  status: int = 200, cut: int = 0) -> httpx.Response:
    assert opener is not None
    sealer = opener.response_sealer()
    body = b"".join(sealer.seal_frame(p) for p in pieces)
    return httpx.Response(status, headers={ehbp.RESPONSE_NONCE_HEADER: sealer.nonce_header},
                          content=body[:len(body) - cut], extensions={PEER_SPKI_EXTENSION: spki})


async def collect(channel: EhbpChannel, http: httpx.AsyncClient, body: dict[str, object] | None = None,
                  method: str = "POST") -> list[Event]:
    events: list[Event] = []
    async for event in channel.exchange(http, BASE, method, "/v1/chat/completions", body):
        events.append(event)
    return events


CHANNEL = EhbpChannel(PUBLIC, hashlib.sha256(SPKI).digest())
BODY = {"messages": [{"role": "user", "content": "hi"}], "stream": True}


async def test_a_sealed_answer_is_opened() -> None:
    async with server(lambda r, o: sealed_answer(o, [b"data: a\n\n", b"data: b\n\n"])) as http:
        events = await collect(CHANNEL, http, BODY)
    assert isinstance(events[0], tuple) and events[0][0] == 200
    assert events[1:] == [b"data: a\n\n", b"data: b\n\n"]
    assert CHANNEL.truncation_detectable is False


async def test_success_without_a_response_nonce_is_refused() -> None:
    def plaintext(r: httpx.Request, o: ehbp.RequestOpener | None) -> httpx.Response:
        return httpx.Response(200, content=b'{"forged": true}', extensions={PEER_SPKI_EXTENSION: SPKI})

    async with server(plaintext) as http:
        with pytest.raises(ChannelError, match="not authenticated"):
            await collect(CHANNEL, http, BODY)


async def test_an_unencrypted_error_is_reported_as_unauthenticated() -> None:
    def error(r: httpx.Request, o: ehbp.RequestOpener | None) -> httpx.Response:
        return httpx.Response(429, content=b"slow down", extensions={PEER_SPKI_EXTENSION: SPKI})

    async with server(error) as http:
        with pytest.raises(ProtocolError, match="429 without EHBP encryption"):
            await collect(CHANNEL, http, BODY)


async def test_the_key_config_problem_asks_for_one_reattestation() -> None:
    def stale(r: httpx.Request, o: ehbp.RequestOpener | None) -> httpx.Response:
        return httpx.Response(422, json={"type": ehbp.KEY_CONFIG_PROBLEM_TYPE, "title": "stale"},
                              extensions={PEER_SPKI_EXTENSION: SPKI})

    async with server(stale) as http:
        with pytest.raises(StaleKeyConfig):
            await collect(CHANNEL, http, BODY)


async def test_another_tls_peer_asks_for_reattestation_and_no_tls_is_refused() -> None:
    async with server(lambda r, o: sealed_answer(o, [b"x"], spki=b"someone else")) as http:
        with pytest.raises(StaleKeyConfig, match="TLS peer"):
            await collect(CHANNEL, http, BODY)

    def no_tls(r: httpx.Request, o: ehbp.RequestOpener | None) -> httpx.Response:
        return httpx.Response(200, content=b"")

    async with server(no_tls) as http:
        with pytest.raises(ChannelError, match="did not come over TLS"):
            await collect(CHANNEL, http, BODY)


async def test_a_response_cut_inside_a_frame_is_truncated() -> None:
    async with server(lambda r, o: sealed_answer(o, [b"data: a\n\n"], cut=3)) as http:
        with pytest.raises(TruncatedResponse):
            await collect(CHANNEL, http, BODY)


async def test_duplicate_or_malformed_response_nonces_are_refused() -> None:
    def twice(r: httpx.Request, o: ehbp.RequestOpener | None) -> httpx.Response:
        good = sealed_answer(o, [b"x"])
        nonce = good.headers[ehbp.RESPONSE_NONCE_HEADER]
        return httpx.Response(200, headers=[(ehbp.RESPONSE_NONCE_HEADER, nonce)] * 2, content=good.content,
                              extensions={PEER_SPKI_EXTENSION: SPKI})

    async with server(twice) as http:
        with pytest.raises(ChannelError, match="more than once"):
            await collect(CHANNEL, http, BODY)

    def short(r: httpx.Request, o: ehbp.RequestOpener | None) -> httpx.Response:
        return httpx.Response(200, headers={ehbp.RESPONSE_NONCE_HEADER: "abcd"}, content=b"",
                              extensions={PEER_SPKI_EXTENSION: SPKI})

    async with server(short) as http:
        with pytest.raises(ChannelError, match="64 hex"):
            await collect(CHANNEL, http, BODY)


async def test_bodyless_requests_are_plaintext_and_a_nonce_on_them_is_a_mismatch() -> None:
    def models(r: httpx.Request, o: ehbp.RequestOpener | None) -> httpx.Response:
        assert o is None and ehbp.ENCAPSULATED_KEY_HEADER not in r.headers
        return httpx.Response(200, json={"data": []}, extensions={PEER_SPKI_EXTENSION: SPKI})

    async with server(models) as http:
        events = await collect(CHANNEL, http, None, "GET")
    assert json.loads(b"".join(e for e in events if isinstance(e, bytes))) == {"data": []}

    def mismatch(r: httpx.Request, o: ehbp.RequestOpener | None) -> httpx.Response:
        return httpx.Response(200, headers={ehbp.RESPONSE_NONCE_HEADER: "00" * 32}, content=b"",
                              extensions={PEER_SPKI_EXTENSION: SPKI})

    async with server(mismatch) as http:
        with pytest.raises(ChannelError, match="mode mismatch"):
            await collect(CHANNEL, http, None, "GET")


async def test_the_api_key_goes_in_a_header_never_in_the_clear_body() -> None:
    seen: list[httpx.Request] = []

    def record(r: httpx.Request, o: ehbp.RequestOpener | None) -> httpx.Response:
        seen.append(r)
        return sealed_answer(o, [b"ok"])

    channel = EhbpChannel(PUBLIC, hashlib.sha256(SPKI).digest(), api_key="tk_secret")
    async with server(record) as http:
        await collect(channel, http, BODY)
    assert seen[0].headers["authorization"] == "Bearer tk_secret"
    assert b"hi" not in seen[0].content and b"messages" not in seen[0].content
