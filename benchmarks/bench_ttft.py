"""Time to first token: the attested, encrypted channel against the same backend in plaintext.

Both servers run the same built-in demo model (no token delay) on uvicorn on loopback, in this
run. Reported: the plaintext time to first token (the baseline), the encrypted time on a verified
session (OHTTP + HPKE + Binary HTTP, no attestation), the time including a fresh attestation (what
`enclave-chat ask` pays once), and the ratios. Run with `make bench`.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from enclave import inner
from enclave.app import Settings
from enclave.server import BackgroundEnclave
from enclave_chat.paths import resolve_policy
from verifier.session import Session

ROUNDS = 30
PROMPT = [{"role": "user", "content": "How long until the first token?"}]


class PlainServer(BackgroundEnclave):
    """The same backend served without attestation or encryption (the baseline)."""

    def __init__(self) -> None:
        super().__init__(Settings(token_delay=0))
        backend = self.enclave.backend

        async def chat(request: Request) -> Response:
            answer = await inner.handle(backend, "POST", "/v1/chat/completions", await request.body())
            assert answer.stream is not None
            return StreamingResponse(answer.stream, media_type="text/event-stream")

        self._server.config.app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
        self._server.config.loaded = False


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[BackgroundEnclave, PlainServer]]:
    with BackgroundEnclave(Settings(token_delay=0)) as enclave, PlainServer() as plain:
        yield enclave, plain


async def _plain_ttft(http: httpx.AsyncClient, url: str) -> float:
    """On a warm keep-alive connection, as the encrypted session's requests are."""
    body = json.dumps({"messages": PROMPT, "stream": True}).encode()
    start = time.perf_counter()
    elapsed: float | None = None
    async with http.stream("POST", url + "/v1/chat/completions", content=body) as response:
        async for piece in response.aiter_raw():  # read to the end so the connection is reused
            if elapsed is None and b'"content"' in piece:
                elapsed = time.perf_counter() - start
    assert elapsed is not None, "no token"
    return elapsed


async def _encrypted_ttft(url: str, *, attest_each_time: bool) -> float:
    async with Session(url, resolve_policy("demo")) as session:
        if not attest_each_time:
            await session.ready()
        start = time.perf_counter()
        async for _ in session.stream_chat(PROMPT):
            return time.perf_counter() - start
    raise AssertionError("no token")


def test_time_to_first_token_ratio(servers: tuple[BackgroundEnclave, PlainServer]) -> None:
    enclave, plain = servers

    async def measure() -> dict[str, float]:
        async with httpx.AsyncClient() as http:
            await _plain_ttft(http, plain.url)  # open the connection
            plain_times = [await _plain_ttft(http, plain.url) for _ in range(ROUNDS)]
        warm = [await _encrypted_ttft(enclave.url, attest_each_time=False) for _ in range(ROUNDS)]
        cold = [await _encrypted_ttft(enclave.url, attest_each_time=True) for _ in range(ROUNDS // 3)]
        return {"plain": statistics.median(plain_times), "encrypted": statistics.median(warm),
                "with_attestation": statistics.median(cold)}

    t = asyncio.run(measure())
    print(f"\ntime to first token, median of {ROUNDS} (same run, loopback, same demo backend):")
    print(f"  plaintext HTTP (baseline)        {t['plain'] * 1000:8.2f} ms")
    print(f"  attested OHTTP, verified session {t['encrypted'] * 1000:8.2f} ms  ratio {t['encrypted'] / t['plain']:.2f}x")
    print(f"  attested OHTTP, fresh attestation{t['with_attestation'] * 1000:8.2f} ms  ratio {t['with_attestation'] / t['plain']:.2f}x")
    assert t["plain"] > 0 and t["encrypted"] > 0
