"""The one bounded HTTP GET, for every fetch of data from outside: providers' evidence and
documents, collateral (AMD KDS, Intel PCS, NVIDIA), transparency-log checkpoints and tiles.

Each exchange asks for the identity coding and refuses any other (a few kilobytes of gzip inflate
to megabytes before a size check could see them), reads the body as sent (never inflated), at most
``limit`` bytes and within ``seconds`` in all (a per-read timeout alone lets a server that drips
one byte at a time hang the client for ever), and follows no redirect unless the caller says so.
A test fails if another module streams or reads an HTTP body by itself
(tests/test_hardening_rules.py).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from verifier.errors import ProtocolError, ServiceUnreachable, VerifierError
from verifier.text import one_line

if TYPE_CHECKING:
    import httpx

IDENTITY = {"accept-encoding": "identity"}
PEER_SPKI_EXTENSION = "enclave_chat.peer_spki_der"
"""Response extension carrying the TLS peer's DER SubjectPublicKeyInfo (when known: replays set it)."""
TOTAL_SECONDS = 60.0
"""The default bound on one whole answer, however slowly it is dripped."""


@dataclass(frozen=True)
class Answer:
    """One bounded answer: status, body as sent, and the response's headers."""

    url: str
    status: int
    body: bytes
    headers: Mapping[str, str]
    peer_spki: bytes | None = None
    """The TLS peer's SubjectPublicKeyInfo (DER), when the connection was TLS and it could be read."""

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def check_encoding(url: str, response: httpx.Response, error: type[VerifierError] = ProtocolError) -> None:
    """Refuse a response in a content coding other than identity (it was asked for none)."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise error(f"{url} answered with content-encoding {one_line(encoding, 32)!r} although asked for none")


def _unreachable(url: str, e: Exception) -> ServiceUnreachable:
    """:class:`ServiceUnreachable` for ``url``; ``reason`` keeps the transport's own words."""
    error = ServiceUnreachable(f"{url} could not be reached ({type(e).__name__}: {one_line(str(e), 300) or 'no answer'})")
    error.reason = one_line(str(e), 300)
    return error


def _too_large(what: str, limit: int, error: type[VerifierError]) -> VerifierError:
    return error(f"{what} answered more than {limit} bytes")


def _too_slow(what: str, seconds: float, error: type[VerifierError]) -> VerifierError:
    return error(f"{what} did not finish answering within {seconds:g} s")


async def araw(response: httpx.Response) -> AsyncIterator[bytes]:
    """The body's pieces as sent (never inflated), for a stream a caller bounds itself (a reply)."""
    if response.is_stream_consumed:  # a transport that answers from memory (a replay)
        yield response.content
        return
    async for piece in response.aiter_raw():
        yield piece


def raw(response: httpx.Response) -> Iterator[bytes]:
    """The synchronous :func:`araw`."""
    if response.is_stream_consumed:
        yield response.content
        return
    yield from response.iter_raw()


async def aread(response: httpx.Response, *, limit: int, seconds: float, what: str,
                error: type[VerifierError] = ProtocolError, truncate: bool = False) -> bytes:
    """The body of an open ``response`` as sent: at most ``limit`` bytes within ``seconds``.
    ``truncate``: keep what arrived (at most ``limit`` bytes) instead of raising, as for an error
    answer whose body only picks which error to report."""
    import asyncio  # here, not above: a run that fetches nothing loads no event loop

    body = bytearray()
    try:
        async with asyncio.timeout(seconds):
            async for piece in araw(response):
                body += piece
                if len(body) > limit:
                    if truncate:
                        break
                    raise _too_large(what, limit, error)
    except TimeoutError:
        if not truncate:
            raise _too_slow(what, seconds, error) from None
    return bytes(body[:limit])


def read(response: httpx.Response, *, limit: int, seconds: float, what: str,
         error: type[VerifierError] = ProtocolError, truncate: bool = False) -> bytes:
    """:func:`aread` for a synchronous client (the deadline is checked between reads; each read
    is bounded by the client's own timeout)."""
    deadline = time.monotonic() + seconds
    body = bytearray()
    for piece in raw(response):
        body += piece
        if len(body) > limit:
            if truncate:
                break
            raise _too_large(what, limit, error)
        if time.monotonic() > deadline:
            if truncate:
                break
            raise _too_slow(what, seconds, error)
    return bytes(body[:limit])


def _headers(response: httpx.Response) -> dict[str, str]:
    return {k.lower(): v for k, v in response.headers.items()}


def peer_spki_der(response: httpx.Response) -> bytes | None:
    """The DER SubjectPublicKeyInfo of the TLS peer that sent ``response``, or None (plain http, or
    not known). A replayed response carries it in :data:`PEER_SPKI_EXTENSION`; a live one is read
    from the connection's TLS object, so call this while the response is still open."""
    known = response.extensions.get(PEER_SPKI_EXTENSION)
    if isinstance(known, bytes):
        return known
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    try:
        ssl_object = stream.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        if not der:
            return None
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        key = x509.load_der_x509_certificate(der).public_key()
        return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    except (AttributeError, ValueError, TypeError, OSError):
        return None


async def aget(http: httpx.AsyncClient, url: str, *, limit: int, seconds: float = TOTAL_SECONDS,
               headers: Mapping[str, str] | None = None, follow: bool = False,
               error: type[VerifierError] = ProtocolError) -> Answer:
    """GET ``url`` under the rules above. A connection that cannot be made is
    :class:`ServiceUnreachable`; any other failure is ``error``."""
    import asyncio

    import httpx

    try:
        async with asyncio.timeout(seconds):
            async with http.stream("GET", url, headers={**(headers or {}), **IDENTITY},
                                   follow_redirects=follow) as response:
                check_encoding(url, response, error)
                spki = peer_spki_der(response)
                body = await aread(response, limit=limit, seconds=seconds, what=url, error=error)
                return Answer(url, response.status_code, body, _headers(response), spki)
    except TimeoutError:
        raise _too_slow(url, seconds, error) from None
    except (httpx.ConnectError, httpx.ConnectTimeout) as e:
        raise _unreachable(url, e) from None
    except httpx.HTTPError as e:
        raise error(f"{url}: {type(e).__name__}: {one_line(str(e), 300)}") from None


def get(http: httpx.Client, url: str, *, limit: int, seconds: float = TOTAL_SECONDS,
        method: str = "GET", content: bytes | None = None, headers: Mapping[str, str] | None = None,
        follow: bool = False, error: type[VerifierError] = ProtocolError,
        timeout: httpx.Timeout | None = None, network_unreachable: bool = False) -> Answer:
    """:func:`aget` for a synchronous client; ``method``/``content`` for the one POST there is
    (OCSP), which is bounded the same way. ``network_unreachable``: any transport failure (a read
    timeout, a reset), not only a connection refused, is :class:`ServiceUnreachable`."""
    import httpx

    unreachable: tuple[type[Exception], ...] = (
        (httpx.TransportError,) if network_unreachable else (httpx.ConnectError, httpx.ConnectTimeout))
    try:
        extra = {"timeout": timeout} if timeout is not None else {}
        with http.stream(method, url, content=content, headers={**(headers or {}), **IDENTITY},
                         follow_redirects=follow, **extra) as response:  # type: ignore[arg-type]
            check_encoding(url, response, error)
            body = read(response, limit=limit, seconds=seconds, what=url, error=error)
            return Answer(url, response.status_code, body, _headers(response))
    except unreachable as e:
        raise _unreachable(url, e) from None
    except httpx.HTTPError as e:
        raise error(f"{url}: {type(e).__name__}: {one_line(str(e), 300)}") from None
