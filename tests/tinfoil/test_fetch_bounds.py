"""The Tinfoil provider's fetches go through the one bounded GET (verifier.bounded_http): a
compressed answer is refused before anything is inflated, and an error body dripped forever ends at
its deadline. Both were defects of the provider's own readers (issue 11, point 5)."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
from collections.abc import AsyncIterator

import httpx
import pytest

from verifier.bounded_http import PEER_SPKI_EXTENSION
from verifier.channel import ehbp
from verifier.errors import ProtocolError
from verifier.providers.tinfoil import provider as tinfoil
from verifier.providers.tinfoil.release import http_get

BASE = "https://enclave.example"
SPKI = b"0Y0\x13 the enclave's TLS key"
BOMB = gzip.compress(b"\0" * (16 * 1024 * 1024))  # 16 KiB on the wire, 16 MiB inflated


class Inflated(httpx.AsyncByteStream):
    """A body whose every read is counted, to show that nothing past the first piece was asked for."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.read = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for i in range(0, len(self.data), 4096):
            self.read += 4096
            yield self.data[i:i + 4096]


async def test_a_gzip_document_is_refused_not_inflated() -> None:
    seen: list[httpx.Request] = []

    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, headers={"content-encoding": "gzip"}, content=BOMB)

    async with httpx.AsyncClient(transport=httpx.MockTransport(respond)) as http:
        with pytest.raises(ProtocolError, match="content-encoding 'gzip'"):
            await tinfoil.fetch_document(http, BASE, bytes(32))
    assert seen[0].headers["accept-encoding"] == "identity"


async def test_a_gzip_release_answer_is_not_inflated_past_its_limit() -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-encoding": "gzip"}, content=BOMB)

    async with httpx.AsyncClient(transport=httpx.MockTransport(respond)) as http:
        answer = await http_get(http, f"{BASE}/releases/latest", 1024 * 1024)
    assert answer.status is None and answer.body == b""
    assert answer.error is not None and "content-encoding" in answer.error


async def test_an_oversized_document_stops_at_the_limit() -> None:
    stream = Inflated(b"{" * (4 * tinfoil.docs.MAX_DOCUMENT))

    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=stream)

    async with httpx.AsyncClient(transport=httpx.MockTransport(respond)) as http:
        with pytest.raises(ProtocolError, match="more than"):
            await tinfoil.fetch_document(http, BASE, bytes(32))
    assert stream.read <= tinfoil.docs.MAX_DOCUMENT + 8192


class Drip(httpx.AsyncByteStream):
    """One byte, then nothing ever again (the connection stays open)."""

    def __init__(self) -> None:
        self.never = asyncio.Event()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"{"
        await self.never.wait()
        yield b"}"


async def test_an_error_body_dripped_forever_ends_at_its_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """An answer without EHBP encryption is an error whose body only picks the message; a service
    that never finishes that body no longer hangs the exchange (``ask --provider tinfoil``)."""
    monkeypatch.setattr(tinfoil, "PROBLEM_DEADLINE", 0.05)
    _, public = ehbp.generate_key_pair()
    channel = tinfoil.EhbpChannel(public, hashlib.sha256(SPKI).digest())

    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, stream=Drip(), extensions={PEER_SPKI_EXTENSION: SPKI})

    async def exchange() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(respond)) as http:
            async for _ in channel.exchange(http, BASE, "POST", "/v1/chat/completions",
                                            {"messages": [{"role": "user", "content": "hi"}]}):
                pass

    with pytest.raises(ProtocolError, match="HTTP 502 without EHBP"):
        await asyncio.wait_for(exchange(), timeout=30)
