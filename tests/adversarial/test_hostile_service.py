"""A hostile service (or network) against the real session code: every misbehaviour ends in a typed
VerifierError or a failing check, within bounded time and memory, and nothing of a prompt is sent
unless the attestation passed and is current."""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import (
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from enclave.server import BackgroundEnclave
from tests.adversarial.conftest import Proxy, never_ending_reply, open_request, sealed_stream, serve
from verifier.appraisal.policy import Policy
from verifier.channel import chunked, ohttp
from verifier.errors import (
    NotVerified,
    ProtocolError,
    ServiceUnreachable,
    TruncatedResponse,
    VerifierError,
)
from verifier.providers.base import StaleKeyConfig
from verifier.session import Session
from verifier.urls import check_service_url

pytestmark = pytest.mark.e2e

PROMPT = [{"role": "user", "content": "my secret prompt"}]
GUARD = 30.0
"""No test may take longer than this even when the behaviour under test is broken (it then fails)."""


async def _chat(session: Session) -> str:
    return "".join([d async for d in session.stream_chat(PROMPT)])


# -- the attestation answer ---------------------------------------------------------------------------

def _attestation(body: AsyncIterator[bytes] | bytes, **headers: str) -> list[Route]:
    async def answer(request: Request) -> Response:
        if isinstance(body, bytes):
            return Response(body, media_type="application/json", headers=headers)
        return StreamingResponse(body, media_type="application/json", headers=headers)
    return [Route("/.well-known/attestation", answer, methods=["GET"])]


async def test_a_100_mb_attestation_answer_is_refused_after_2_mib(demo_policy: Policy) -> None:
    async def huge() -> AsyncIterator[bytes]:
        piece = b" " * 65536
        for _ in range(100 * 16):
            yield piece
            await asyncio.sleep(0)  # let the server notice the client left

    with serve(_attestation(huge())) as server:
        async with Session(server.url, demo_policy) as session:
            with pytest.raises(ProtocolError, match="more than 2097152 bytes"):
                await asyncio.wait_for(session.attest(), GUARD)
            assert session.verified is None


async def test_a_never_ending_attestation_answer_is_refused(demo_policy: Policy) -> None:
    async def endless() -> AsyncIterator[bytes]:
        for _ in range(2000):  # bounded (128 MB): the server stops by itself
            yield b"[" * 65536
            await asyncio.sleep(0)

    with serve(_attestation(endless())) as server:
        async with Session(server.url, demo_policy) as session:
            with pytest.raises(ProtocolError):
                await asyncio.wait_for(session.attest(), GUARD)


async def test_a_slow_drip_attestation_hits_the_overall_deadline(demo_policy: Policy) -> None:
    """Each byte arrives well within the per-read timeout, so only a total deadline ends it."""
    async def drip() -> AsyncIterator[bytes]:
        yield b'{"version": 1, '
        for _ in range(2000):  # bounded (100 s)
            await asyncio.sleep(0.05)  # the hostile server's own pace, not a wait in the test
            yield b" "

    with serve(_attestation(drip())) as server:
        async with Session(server.url, demo_policy, attest_timeout=1.0) as session:
            with pytest.raises(ServiceUnreachable, match="did not finish its attestation within 1 seconds"):
                await asyncio.wait_for(session.attest(), GUARD)  # GUARD only stops a hung test
            assert session.verified is None


async def test_a_slow_drip_key_configuration_hits_the_overall_deadline(enclave: BackgroundEnclave,
                                                                       demo_policy: Policy) -> None:
    async def forward(request: Request) -> Response:
        async with httpx.AsyncClient() as client:
            answer = await client.get(f"{enclave.url}/.well-known/attestation", params=request.query_params)
        return Response(answer.content, media_type="application/json")

    async def keys(request: Request) -> Response:
        async def drip() -> AsyncIterator[bytes]:
            for _ in range(2000):  # bounded (100 s)
                await asyncio.sleep(0.05)
                yield b"\x00"
        return StreamingResponse(drip(), media_type=ohttp.KEYS_MEDIA_TYPE)

    routes = [Route("/.well-known/attestation", forward, methods=["GET"]),
              Route("/.well-known/ohttp-gateway", keys, methods=["GET"])]
    with serve(routes) as server:
        async with Session(server.url, demo_policy, attest_timeout=3.0) as session:
            with pytest.raises(ServiceUnreachable):
                await asyncio.wait_for(session.attest(), GUARD)


async def test_a_compressed_attestation_is_not_inflated(demo_policy: Policy) -> None:
    """A few kilobytes of gzip inflate to tens of megabytes before a size check on decoded bytes
    could see them: the client asks for no encoding and refuses one it did not ask for."""
    bomb = gzip.compress(b" " * (64 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 128 * 1024
    seen: list[str] = []

    async def answer(request: Request) -> Response:
        seen.append(request.headers.get("accept-encoding", ""))
        return Response(bomb, media_type="application/json", headers={"content-encoding": "gzip"})

    with serve([Route("/.well-known/attestation", answer, methods=["GET"])]) as server:
        async with Session(server.url, demo_policy) as session:
            with pytest.raises(ProtocolError, match="content-encoding 'gzip'"):
                await asyncio.wait_for(session.attest(), GUARD)
    assert seen == ["identity"]


async def test_an_attestation_http_500_is_a_failing_check(demo_policy: Policy) -> None:
    async def answer(request: Request) -> Response:
        return PlainTextResponse("\x1b[31mboom\n" * 1000, status_code=500)

    with serve([Route("/.well-known/attestation", answer, methods=["GET"])]) as server:
        async with Session(server.url, demo_policy) as session:
            result = await session.attest()
            with pytest.raises(NotVerified):
                await _chat(session)
    assert result.first_failure is not None and result.first_failure.id == "bundle.fetch"


async def test_the_evidence_fetch_is_never_redirected(demo_policy: Policy) -> None:
    """Even through a caller's client that follows redirects, the evidence, the key and the
    sealed request go to the URL the policy accepted, never where a 3xx points."""
    with BackgroundEnclave() as elsewhere:
        async def moved(request: Request) -> Response:
            return RedirectResponse(f"{elsewhere.url}{request.url.path}?{request.url.query}", status_code=307)

        routes = [Route("/.well-known/attestation", moved, methods=["GET"]),
                  Route("/.well-known/ohttp-gateway", moved, methods=["GET", "POST"])]
        with serve(routes) as server:
            async with httpx.AsyncClient(follow_redirects=True) as http, \
                    Session(server.url, demo_policy, http=http) as session:
                result = await session.attest()
                with pytest.raises(NotVerified):
                    await _chat(session)
        assert result.first_failure is not None and result.first_failure.id == "bundle.fetch"
        assert "307" in result.first_failure.detail
        assert elsewhere.enclave.attestations == 0
        assert elsewhere.enclave.gateway_posts == 0


async def test_an_unauthenticated_far_expiry_does_not_extend_the_session(enclave: BackgroundEnclave,
                                                                         demo_policy: Policy) -> None:
    """``expires`` is not in REPORT_DATA, so whoever carries the bundle can set it: the
    session still ends at the policy's max_age."""
    def far(body: bytes) -> bytes:
        doc = json.loads(body)
        doc["expires"] = "2999-12-31T23:59:59Z"
        return json.dumps(doc).encode()

    with Proxy(enclave, rewrite=far) as proxy:
        async with Session(proxy.url, demo_policy) as session:
            verified = await session.ready()
    assert verified.result.claims["expires"] == "2999-12-31T23:59:59Z"
    assert verified.valid_until == verified.result.at + dt.timedelta(seconds=600)


async def test_evidence_that_lapses_during_its_appraisal_is_not_used(enclave: BackgroundEnclave,
                                                                     demo_policy: Policy) -> None:
    """Appraisal runs at the nonce's creation; when the evidence has lapsed by the time it
    finished (slow collateral, a short expiry), nothing may be sealed to it."""
    start = dt.datetime.now(dt.UTC)
    calls = [0]

    def clock() -> dt.datetime:
        calls[0] += 1
        return start if calls[0] == 1 else start + dt.timedelta(minutes=11)

    posts = enclave.enclave.gateway_posts
    async with Session(enclave.url, demo_policy, clock=clock) as session:
        with pytest.raises(NotVerified, match="lapsed"):
            await _chat(session)
        assert session.verified is None
        assert session.attestations == 1
    assert enclave.enclave.gateway_posts == posts


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999", "http://127.0.0.1:8700\t",
                                 "http://attacker.localhost:8700", "http://user@127.0.0.1:8700",
                                 "http://127.0.0.1:8700/#@elsewhere"],
                         ids=["port-out-of-range", "tab", "dot-localhost", "userinfo", "fragment"])
async def test_a_url_the_policy_cannot_judge_is_refused_before_any_request(url: str,
                                                                           demo_policy: Policy) -> None:
    check = check_service_url(url, demo_policy)
    assert check.status == "fail"
    assert "\t" not in check.detail
    async with Session(url, demo_policy) as session:
        result = await asyncio.wait_for(session.attest(), GUARD)
    assert [c.id for c in result.checks] == ["service.url"]


# -- the gateway's answer -----------------------------------------------------------------------------

async def test_a_gateway_http_500_is_a_protocol_error(enclave: BackgroundEnclave, demo_policy: Policy) -> None:
    async def fail(request: Request) -> Response:
        return PlainTextResponse("\x1b]0;owned\x07 internal error", status_code=500)

    with Proxy(enclave, fail) as proxy:
        async with Session(proxy.url, demo_policy) as session:
            with pytest.raises(ProtocolError, match="HTTP 500") as refused:
                await _chat(session)
            assert session.attestations == 1
    assert "\x1b" not in str(refused.value)


async def test_a_gateway_answer_of_the_wrong_media_type_is_a_protocol_error(enclave: BackgroundEnclave,
                                                                            demo_policy: Policy) -> None:
    async def html(request: Request) -> Response:
        return Response("<html>hello</html>", media_type="text/html\x85")

    with Proxy(enclave, html) as proxy:
        async with Session(proxy.url, demo_policy) as session:
            with pytest.raises(ProtocolError, match="instead of an encrypted response") as refused:
                await _chat(session)
    assert str(refused.value).isprintable()


async def test_valid_ohttp_around_garbage_binary_http_is_a_protocol_error(enclave: BackgroundEnclave,
                                                                          demo_policy: Policy) -> None:
    async def garbage(request: Request) -> Response:
        encoder = await open_request(enclave, request)
        body = encoder.encode_chunk(b"\x01\xff\xff\xff\xff\xff\xff\xff\xff") + encoder.encode_final(b"\x07")
        return Response(body, media_type=chunked.RESPONSE_MEDIA_TYPE)

    with Proxy(enclave, garbage) as proxy:
        async with Session(proxy.url, demo_policy) as session:
            with pytest.raises(ProtocolError, match="Binary HTTP"):
                await _chat(session)


async def test_a_gateway_that_always_says_the_key_is_stale_gets_one_retry(enclave: BackgroundEnclave,
                                                                          demo_policy: Policy) -> None:
    async def stale(request: Request) -> Response:
        return JSONResponse({"type": ohttp.KEY_PROBLEM_TYPE, "title": "stale"}, status_code=400,
                            media_type="application/problem+json")

    with Proxy(enclave, stale) as proxy:
        async with Session(proxy.url, demo_policy) as session:
            with pytest.raises(StaleKeyConfig):
                await asyncio.wait_for(_chat(session), GUARD)
            assert session.attestations == 2
            posts = [s for s in proxy.seen if s[0] == "POST"]
            assert len(posts) == 2
            with pytest.raises(StaleKeyConfig):  # the next request again: one retry, no loop
                await asyncio.wait_for(session.models(), GUARD)
            assert session.attestations == 4


async def test_a_never_ending_sealed_reply_without_events_is_refused(enclave: BackgroundEnclave,
                                                                     demo_policy: Policy) -> None:
    with Proxy(enclave, never_ending_reply(enclave)) as proxy:
        async with Session(proxy.url, demo_policy) as session:
            with pytest.raises(ProtocolError, match="larger than 1 MiB"):
                await asyncio.wait_for(_chat(session), GUARD)
            with pytest.raises(ProtocolError, match="larger than 4 MiB"):
                await asyncio.wait_for(session.models(), GUARD)


@pytest.mark.parametrize(("event", "error"), [
    (b'data: {"choices": [{"delta": {"content": "\xff\xfe"}}]}\n\n', "does not hold JSON"),
    (b"data: " + b"[" * 200_000 + b"\n\n", "does not hold JSON"),
    (b'data: {"error": {"message": "\\u001b[2J\\u001b[31mpwned\\nsecond line"}}\n\n', "reported an error"),
    (b"data: " + b"x" * (2 * 1024 * 1024) + b"\n\n", "larger than 1 MiB"),
], ids=["invalid-utf8", "deep-json", "escapes-in-error", "giant-event"])
async def test_hostile_server_sent_events_are_protocol_errors(enclave: BackgroundEnclave, demo_policy: Policy,
                                                              event: bytes, error: str) -> None:
    async def sse(request: Request) -> Response:
        encoder = await open_request(enclave, request)
        return StreamingResponse(sealed_stream(encoder, 200, b"text/event-stream", [event]),
                                 media_type=chunked.RESPONSE_MEDIA_TYPE)

    with Proxy(enclave, sse) as proxy:
        async with Session(proxy.url, demo_policy) as session:
            with pytest.raises(ProtocolError, match=error) as refused:
                await asyncio.wait_for(_chat(session), GUARD)
    assert str(refused.value).isprintable()


async def test_a_deeply_nested_json_answer_is_a_protocol_error(enclave: BackgroundEnclave,
                                                               demo_policy: Policy) -> None:
    async def deep(request: Request) -> Response:
        encoder = await open_request(enclave, request)
        return StreamingResponse(sealed_stream(encoder, 200, b"application/json", [b"[" * 200_000]),
                                 media_type=chunked.RESPONSE_MEDIA_TYPE)

    with Proxy(enclave, deep) as proxy:
        async with Session(proxy.url, demo_policy) as session:
            with pytest.raises(ProtocolError, match="did not answer JSON"):
                await asyncio.wait_for(session.models(), GUARD)


async def test_an_error_answer_from_the_model_is_one_plain_line(enclave: BackgroundEnclave,
                                                                demo_policy: Policy) -> None:
    async def error(request: Request) -> Response:
        encoder = await open_request(enclave, request)
        return StreamingResponse(sealed_stream(encoder, 400, b"text/plain", [b"bad\r\n\x1b[2Jrequest\x9b" * 50]),
                                 media_type=chunked.RESPONSE_MEDIA_TYPE)

    with Proxy(enclave, error) as proxy:
        async with Session(proxy.url, demo_policy) as session:
            with pytest.raises(ProtocolError, match="HTTP 400") as refused:
                await asyncio.wait_for(_chat(session), GUARD)
    assert str(refused.value).isprintable()


async def test_a_reply_cut_short_is_truncated_and_the_connection_closed(enclave: BackgroundEnclave,
                                                                        demo_policy: Policy) -> None:
    async def cut(request: Request) -> Response:
        encoder = await open_request(enclave, request)
        event = b'data: {"choices": [{"delta": {"content": "partial"}}]}\n\n'
        return StreamingResponse(sealed_stream(encoder, 200, b"text/event-stream", [event], final=False),
                                 media_type=chunked.RESPONSE_MEDIA_TYPE)

    with Proxy(enclave, cut) as proxy:
        async with Session(proxy.url, demo_policy) as session:
            got: list[str] = []
            with pytest.raises(TruncatedResponse):
                async for delta in session.stream_chat(PROMPT):
                    got.append(delta)
    assert got == ["partial"]


async def test_every_hostile_gateway_answer_is_a_verifier_error(enclave: BackgroundEnclave,
                                                                demo_policy: Policy) -> None:
    """Raw bytes instead of a sealed reply, under the right media type: a typed error."""
    answers = [b"", b"\x00", b"\x00" * 100, bytes(range(256)) * 40]
    for raw in answers:
        async def answer(request: Request, raw: bytes = raw) -> Response:
            return Response(raw, media_type=chunked.RESPONSE_MEDIA_TYPE)

        with Proxy(enclave, answer) as proxy:
            async with Session(proxy.url, demo_policy) as session:
                with pytest.raises(VerifierError):
                    await asyncio.wait_for(_chat(session), GUARD)
