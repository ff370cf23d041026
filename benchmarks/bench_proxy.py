"""The proxy's price: ``enclave-chat proxy`` against direct access to the same service, in one run.

One reference enclave (the built-in demo model, no token delay) on uvicorn on loopback. Direct
access is a verified :class:`~verifier.session.Session` in this process, as ``ask`` and the SDK
client use it; through the proxy is the same request, in OpenAI's shape, over loopback HTTP to a
:class:`~enclave_chat.proxy.server.BackgroundProxy` whose own session carries it. Both sessions are
attested before timing (demo policy), so what is measured is the request path, not attestation.

Reported: the added latency per request (a non-streamed chat completion, median of ``ROUNDS``) as
milliseconds and as a ratio, and the throughput of 16 concurrent streamed chats (streams per
second, median of ``BURSTS`` bursts) through the proxy against 16 concurrent streams on the direct
session, as a ratio. Run with ``make bench``.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator

import httpx
import pytest

from enclave.app import Settings
from enclave.server import BackgroundEnclave
from enclave_chat.paths import resolve_policy
from enclave_chat.proxy.server import BackgroundProxy
from verifier.session import Session

ROUNDS = 40
BURSTS = 8
STREAMS = 16
MESSAGES = [{"role": "user", "content": "How much does the proxy add?"}]


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[BackgroundEnclave, BackgroundProxy]]:
    with BackgroundEnclave(Settings(token_delay=0)) as enclave, \
            BackgroundProxy(Session(enclave.url, resolve_policy("demo"))) as proxy:
        yield enclave, proxy


async def _median_time(action: Callable[[], Awaitable[object]], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        await action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


async def _proxy_stream(http: httpx.AsyncClient, url: str, i: int) -> int:
    body = {"model": "enclave-demo", "stream": True, "messages": [{"role": "user", "content": f"stream {i}"}]}
    pieces = 0
    async with http.stream("POST", url + "/chat/completions", json=body) as answer:
        assert answer.status_code == 200
        async for line in answer.aiter_lines():
            pieces += line.startswith("data: {")
    return pieces


async def _direct_stream(session: Session, i: int) -> int:
    return len([d async for d in session.stream_chat([{"role": "user", "content": f"stream {i}"}])])


def test_proxy_latency_and_throughput_against_direct_access(servers: tuple[BackgroundEnclave, BackgroundProxy]) -> None:
    enclave, proxy = servers

    async def measure() -> dict[str, float]:
        limits = httpx.Limits(max_connections=STREAMS, max_keepalive_connections=STREAMS)
        async with Session(enclave.url, resolve_policy("demo")) as session, \
                httpx.AsyncClient(limits=limits, timeout=60) as http:
            await session.ready()
            one = {"model": "enclave-demo", "messages": MESSAGES}

            async def direct() -> None:
                doc = await session.request_json("POST", "/v1/chat/completions", one)
                assert doc["choices"][0]["message"]["content"]

            async def proxied() -> None:
                answer = await http.post(proxy.url + "/chat/completions", content=json.dumps(one),
                                         headers={"content-type": "application/json"})
                assert answer.status_code == 200 and answer.json()["choices"][0]["message"]["content"]

            await proxied()  # the proxy's session attests here, and the connection opens
            await direct()
            latency_direct = await _median_time(direct, ROUNDS)
            latency_proxy = await _median_time(proxied, ROUNDS)

            async def burst_direct() -> None:
                assert all(await asyncio.gather(*(_direct_stream(session, i) for i in range(STREAMS))))

            async def burst_proxy() -> None:
                assert all(await asyncio.gather(*(_proxy_stream(http, proxy.url, i) for i in range(STREAMS))))

            await burst_proxy()  # open the 16 connections
            burst_d = await _median_time(burst_direct, BURSTS)
            burst_p = await _median_time(burst_proxy, BURSTS)
            return {"latency_direct": latency_direct, "latency_proxy": latency_proxy,
                    "streams_direct": STREAMS / burst_d, "streams_proxy": STREAMS / burst_p,
                    "attestations": proxy.session.attestations}

    t = asyncio.run(measure())
    added = t["latency_proxy"] - t["latency_direct"]
    print("\nproxy against direct access (same run, loopback, demo backend, demo policy, sessions warm):")
    print(f"  one chat completion, median of {ROUNDS}: direct {t['latency_direct'] * 1000:.2f} ms, "
          f"proxy {t['latency_proxy'] * 1000:.2f} ms; added {added * 1000:.2f} ms per request, "
          f"ratio {t['latency_proxy'] / t['latency_direct']:.2f}x")
    print(f"  {STREAMS} concurrent streams, median of {BURSTS} bursts: direct {t['streams_direct']:.1f} streams/s, "
          f"proxy {t['streams_proxy']:.1f} streams/s; throughput ratio {t['streams_proxy'] / t['streams_direct']:.2f}x")
    assert t["attestations"] == 1  # every proxied request shared the proxy's one attestation
