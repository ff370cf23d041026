"""The native profile, "attested OHTTP" version 1 (docs/protocol.md): its HTTP exchanges.

Sans-policy: this module fetches and carries bytes. What to trust is decided by
:mod:`verifier.appraisal.native`; when to send is decided by :mod:`verifier.session`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from verifier.channel import bhttp, chunked, ohttp
from verifier.channel.keyconfig import KeyConfig
from verifier.errors import ParseError, ProtocolError, ServiceUnreachable, TruncatedResponse
from verifier.providers.base import AttestContext, Attested, Event, StaleKeyConfig, one_line
from verifier.result import Check

ATTESTATION_PATH = "/.well-known/attestation"
GATEWAY_PATH = "/.well-known/ohttp-gateway"
MAX_ATTESTATION_BYTES = 2 * 1024 * 1024
MAX_KEYS_BYTES = 64 * 1024
MAX_PROBLEM_BYTES = 64 * 1024
PROBLEM_DEADLINE = 10.0
"""Seconds to read an error answer from the gateway (its body only names the error)."""
KIND = "native"


@dataclass(frozen=True)
class Fetched:
    status: int
    body: bytes
    content_type: str


def unreachable(url: str, error: httpx.HTTPError) -> ServiceUnreachable:
    return ServiceUnreachable(f"{url} could not be reached ({type(error).__name__}: {error or 'no answer'})")


IDENTITY = {"accept-encoding": "identity"}
"""Asked of every native exchange: a compressed answer would be inflated before any size limit
could see it (a few kilobytes of gzip is megabytes of zeros)."""


def _check_encoding(url: str, response: httpx.Response) -> None:
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise ProtocolError(f"{url} answered with content-encoding {one_line(encoding, 32)!r} although asked for none")


async def _raw(response: httpx.Response) -> AsyncIterator[bytes]:
    """The body as sent. A transport that answers from memory (a replay, a recording) hands over
    a response already read: its content is what there is."""
    if response.is_stream_consumed:
        yield response.content
        return
    async for piece in response.aiter_raw():
        yield piece


async def _get(http: httpx.AsyncClient, url: str, limit: int) -> Fetched:
    """GET ``url`` as it stands (never redirected), reading at most ``limit`` bytes of the body as
    sent (never inflated)."""
    try:
        async with http.stream("GET", url, headers=IDENTITY, follow_redirects=False) as response:
            _check_encoding(url, response)
            body = bytearray()
            async for piece in _raw(response):
                body += piece
                if len(body) > limit:
                    raise ProtocolError(f"{url} answered more than {limit} bytes")
            return Fetched(response.status_code, bytes(body), response.headers.get("content-type", ""))
    except (httpx.ConnectError, httpx.ConnectTimeout) as e:
        raise unreachable(url, e) from None
    except httpx.HTTPError as e:
        raise ProtocolError(f"{url}: {type(e).__name__}: {one_line(str(e))}") from None


async def fetch_attestation(http: httpx.AsyncClient, base: str, nonce: bytes) -> Fetched:
    return await _get(http, f"{base}{ATTESTATION_PATH}?nonce={nonce.hex()}", MAX_ATTESTATION_BYTES)


async def fetch_key_config(http: httpx.AsyncClient, base: str) -> Fetched:
    return await _get(http, f"{base}{GATEWAY_PATH}", MAX_KEYS_BYTES)


def inner_request(method: str, path: str, authority: str, body: dict[str, Any] | None) -> bytes:
    """The Binary HTTP form of an OpenAI-compatible request (RFC 9292, known length)."""
    headers: list[tuple[bytes, bytes]] = [(b"accept", b"application/json, text/event-stream")]
    content = b""
    if body is not None:
        headers.append((b"content-type", b"application/json"))
        content = json.dumps(body).encode()
    return bhttp.encode_request(bhttp.Request(method.encode(), b"https", authority.encode(),
                                              path.encode(), tuple(headers), content))


async def post_chunked(http: httpx.AsyncClient, base: str, key_config: KeyConfig,
                       request: bytes) -> AsyncIterator[Event]:
    """Seal ``request`` to ``key_config`` as chunked OHTTP, POST it, and yield the inner response:
    first ``(status, headers)``, then body bytes as each chunk is opened. Raises
    :class:`~verifier.errors.TruncatedResponse` if the response ends before its final chunk."""
    encoder = chunked.ChunkedRequestEncoder(key_config)
    body = encoder.start() + encoder.encode_chunk(request) + encoder.encode_final()
    decoder = encoder.response_decoder()
    inner = bhttp.ResponseDecoder()
    url = f"{base}{GATEWAY_PATH}"
    try:
        async with http.stream("POST", url, content=body, follow_redirects=False,
                               headers={"content-type": chunked.REQUEST_MEDIA_TYPE,
                                        "accept": chunked.RESPONSE_MEDIA_TYPE,
                                        **IDENTITY}) as response:
            media = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if response.status_code != 200 or media != chunked.RESPONSE_MEDIA_TYPE:
                problem = await _read_limited(response, MAX_PROBLEM_BYTES, PROBLEM_DEADLINE)
                if response.status_code == 400 and ohttp.KEY_PROBLEM_TYPE.encode() in problem:
                    raise StaleKeyConfig("the gateway no longer holds the attested key")
                raise ProtocolError(f"the gateway answered HTTP {response.status_code} ({one_line(media, 64) or 'no media type'}) instead of an encrypted response")
            async for piece in response.aiter_raw():
                for plaintext in decoder.feed(piece):
                    for event in _events(inner, plaintext):
                        yield event
            final = decoder.close()
            for event in _events(inner, final):
                yield event
            try:
                inner.close()
            except ParseError:
                raise ProtocolError("the decrypted response is not a complete Binary HTTP message") from None
    except (httpx.ConnectError, httpx.ConnectTimeout) as e:
        raise unreachable(url, e) from None
    except httpx.HTTPError as e:
        raise TruncatedResponse(f"the connection broke mid-response ({type(e).__name__}); what arrived is incomplete") from None


def _events(decoder: bhttp.ResponseDecoder, data: bytes) -> list[Event]:
    out: list[Event] = []
    try:
        events = decoder.feed(data)
    except ParseError as e:
        raise ProtocolError(f"the decrypted response is not Binary HTTP ({e})") from None
    for event in events:
        if isinstance(event, bhttp.ResponseHead):
            out.append((event.status, tuple(event.headers)))
        elif isinstance(event, bhttp.BodyChunk):
            out.append(bytes(event.data))
    return out


async def _read_limited(response: httpx.Response, limit: int, deadline: float) -> bytes:
    """What arrives of an error answer within ``limit`` bytes (as sent, never inflated) and
    ``deadline`` seconds; it only decides which error to raise."""
    body = bytearray()
    with contextlib.suppress(TimeoutError, httpx.HTTPError):
        async with asyncio.timeout(deadline):
            async for piece in _raw(response):
                body += piece
                if len(body) > limit:
                    break
    return bytes(body[:limit])


@dataclass(frozen=True)
class NativeChannel:
    """Chunked OHTTP to the attested key configuration; truncation is detected (final chunk)."""

    key_config: KeyConfig
    truncation_detectable: bool = True

    def exchange(self, http: httpx.AsyncClient, base_url: str, method: str, path: str,
                 body: dict[str, Any] | None) -> AsyncIterator[Event]:
        request = inner_request(method, path, httpx.URL(base_url).host, body)
        return post_chunked(http, base_url, self.key_config, request)


class NativeProvider:
    """The native profile: evidence bundle, appraisal, then the gateway's key-consistency check."""

    name = "native"

    async def attest(self, ctx: AttestContext) -> Attested:
        from verifier.appraisal.native import appraise_native, check_service_url
        from verifier.result import AttestationResult, failed

        url_check = check_service_url(ctx.base_url, ctx.policy)
        if url_check.status != "pass":
            return Attested(AttestationResult(KIND, ctx.at, ctx.nonce, ctx.policy.ref, (url_check,)), None, None)
        fetched = await fetch_attestation(ctx.http, ctx.base_url, ctx.nonce)
        if fetched.status != 200:
            check = failed("bundle.fetch", f"The attestation endpoint answered HTTP {fetched.status} instead of evidence.", authenticity=True)
            return Attested(AttestationResult(KIND, ctx.at, ctx.nonce, ctx.policy.ref, (url_check, check)), None, None)
        result, bundle = await asyncio.to_thread(
            appraise_native, fetched.body, nonce=ctx.nonce, policy=ctx.policy, at=ctx.at,
            service_url=ctx.base_url, fetcher=ctx.fetcher, log_http=ctx.log_http,
            state_dir=ctx.state_dir)
        if bundle is None or not result.verified:
            return Attested(result, None, bundle.expires if bundle else None)
        key_check, key_config = await self._check_gateway_key(ctx, bundle.key_config)
        result = result.with_checks([key_check])
        channel = NativeChannel(key_config) if key_config is not None and result.verified else None
        return Attested(result, channel, bundle.expires)

    @staticmethod
    async def _check_gateway_key(ctx: AttestContext, attested: bytes) -> tuple[Check, KeyConfig | None]:
        """``channel.key_config``: the gateway's published key equals the attested bytes."""
        from verifier.channel.keyconfig import parse_ohttp_keys
        from verifier.result import failed, passed

        try:
            config = next(c for c in parse_ohttp_keys(attested) if c.supported_suites())
        except (ParseError, StopIteration):
            return failed("channel.key_config", "The attested key configuration is not one this client can use."), None
        published = await fetch_key_config(ctx.http, ctx.base_url)
        if published.status != 200:
            return failed("channel.key_config", f"The gateway's key endpoint answered HTTP {published.status}."), None
        if published.body != attested:
            return failed("channel.key_config", "The gateway publishes a key configuration that differs from the attested one: requests could be read by someone outside the enclave."), None
        return passed("channel.key_config", f"Requests are sealed to the attested key (key id {config.key_id}, KEM 0x{config.kem_id:04x}); the gateway publishes the same bytes."), config
