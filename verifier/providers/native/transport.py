"""The native profile, "attested OHTTP" version 1 (docs/protocol.md): its HTTP exchanges.

Sans-policy: this module fetches and carries bytes. What to trust is decided by
:mod:`verifier.providers.native.appraisal`; when to send is decided by :mod:`verifier.session`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from verifier.bounded_http import IDENTITY, Answer, aget, araw, aread, check_encoding
from verifier.channel import bhttp, chunked, ohttp
from verifier.channel.keyconfig import KeyConfig
from verifier.errors import ParseError, ProtocolError, ServiceUnreachable, TruncatedResponse
from verifier.providers.base import Event, StaleKeyConfig
from verifier.text import one_line

ATTESTATION_PATH = "/.well-known/attestation"
GATEWAY_PATH = "/.well-known/ohttp-gateway"
MAX_ATTESTATION_BYTES = 2 * 1024 * 1024
MAX_KEYS_BYTES = 64 * 1024
MAX_PROBLEM_BYTES = 64 * 1024
PROBLEM_DEADLINE = 10.0
"""Seconds to read an error answer from the gateway (its body only names the error)."""


def unreachable(url: str, error: httpx.HTTPError) -> ServiceUnreachable:
    return ServiceUnreachable(f"{url} could not be reached ({type(error).__name__}: {error or 'no answer'})")


async def fetch_attestation(http: httpx.AsyncClient, base: str, nonce: bytes) -> Answer:
    return await aget(http, f"{base}{ATTESTATION_PATH}?nonce={nonce.hex()}", limit=MAX_ATTESTATION_BYTES)


async def fetch_key_config(http: httpx.AsyncClient, base: str) -> Answer:
    return await aget(http, f"{base}{GATEWAY_PATH}", limit=MAX_KEYS_BYTES)


OWN_HEADERS = frozenset({"accept", "content-type", "content-length", "host", "transfer-encoding"})
"""Inner headers this module writes itself; a caller's header of these names is dropped."""


def inner_request(method: str, path: str, authority: str, body: dict[str, Any] | None,
                  extra: Sequence[tuple[str, str]] = ()) -> bytes:
    """The Binary HTTP form of an OpenAI-compatible request (RFC 9292, known length); ``extra``
    headers (an API key) travel inside it, sealed with the rest."""
    headers: list[tuple[bytes, bytes]] = [(b"accept", b"application/json, text/event-stream")]
    headers += [(name.lower().encode(), value.encode()) for name, value in extra
                if name.lower() not in OWN_HEADERS]
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
            check_encoding(url, response)
            media = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if response.status_code != 200 or media != chunked.RESPONSE_MEDIA_TYPE:
                problem = await aread(response, limit=MAX_PROBLEM_BYTES, seconds=PROBLEM_DEADLINE,
                                      what=url, truncate=True)
                if response.status_code == 400 and ohttp.KEY_PROBLEM_TYPE.encode() in problem:
                    raise StaleKeyConfig("the gateway no longer holds the attested key")
                raise ProtocolError(f"the gateway answered HTTP {response.status_code} ({one_line(media, 64) or 'no media type'}) instead of an encrypted response")
            async for piece in araw(response):
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


@dataclass(frozen=True)
class NativeChannel:
    """Chunked OHTTP to the attested key configuration; truncation is detected (final chunk)."""

    key_config: KeyConfig
    truncation_detectable: bool = True

    def exchange(self, http: httpx.AsyncClient, base_url: str, method: str, path: str,
                 body: dict[str, Any] | None, *,
                 headers: Sequence[tuple[str, str]] = ()) -> AsyncIterator[Event]:
        request = inner_request(method, path, httpx.URL(base_url).host, body, headers)
        return post_chunked(http, base_url, self.key_config, request)
