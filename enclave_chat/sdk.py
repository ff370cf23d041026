"""HTTP clients whose transport attests and encrypts: the OpenAI SDK (or any httpx user) on the
verified channel, in process (docs/sdk.md)::

    client = openai.OpenAI(base_url=url + "/v1", api_key=KEY, http_client=attested_http_client(url))

Each request to ``{url}/v1/...`` is carried by one :class:`verifier.session.Session`: it attests
first (and again when the result lapses or the key rotates), and nothing is sent before a passing
result. The request's ``Authorization`` header (the SDK's ``api_key``) travels inside the channel
only. A refusal is an HTTP 502 answer with an OpenAI-style error object (``type``
``attestation_failed``, ``code`` the failing check's id) that the OpenAI SDK raises as
:class:`openai.APIStatusError` at once (``x-should-retry: false``); the refusal itself, a
:class:`verifier.errors.NotVerified` with its result, is ``error.response.extensions["enclave_chat.error"]``.
A request to any other URL is refused with 404 before anything is sent. :attr:`AttestedClient.attestation`
is the current result; :meth:`AttestedClient.attest` attests now and raises the refusal.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, TypeVar

import httpx

from enclave_chat.proxy.core import (
    NO_RETRY,
    BadRequest,
    Opened,
    error_doc,
    open_exchange,
    request_body,
    sse_error,
)
from verifier.errors import NotVerified, VerifierError
from verifier.result import AttestationResult
from verifier.session import Session

__all__ = ["AsyncAttestedClient", "AttestedClient", "NotVerified", "async_attested_http_client",
           "attested_http_client"]

ERROR_EXTENSION = "enclave_chat.error"
"""The response extension that holds the refusal or failure behind a 502 of ours."""
T = TypeVar("T")


def _session(url: str, policy: str, provider: str | None, options: dict[str, Any]) -> Session:
    from enclave_chat.paths import resolve_policy, user_dir
    from verifier.policy_check import policy_provider

    loaded = resolve_policy(policy)
    options.setdefault("state_dir", user_dir("state"))
    return Session(url, loaded, provider=provider or policy_provider(loaded), **options)


def _error_response(error: Exception, request: httpx.Request) -> httpx.Response:
    status, doc = error_doc(error)
    return httpx.Response(status, headers=[("content-type", "application/json"), NO_RETRY],
                          content=json.dumps(doc).encode(), request=request,
                          extensions={ERROR_EXTENSION: error})


class _Events(httpx.AsyncByteStream):
    """The rest of a streamed answer; a failure mid-stream is an SSE error event, never a silent end."""

    def __init__(self, opened: Opened) -> None:
        self.opened = opened

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for piece in self.opened.body():
                yield piece
        except VerifierError as e:
            yield b"\n\n" + sse_error(e)

    async def aclose(self) -> None:
        await self.opened.aclose()


class AttestedAsyncTransport(httpx.AsyncBaseTransport):
    """Maps each request for ``{session.url}/v1/...`` onto the session's verified channel."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._base_path = httpx.URL(session.url).path.rstrip("/")
        self._origin = httpx.URL(session.url).copy_with(path="/", query=None, fragment=None)

    def channel_path(self, url: httpx.URL) -> str | None:
        """The channel's path for ``url`` (``/v1/...?query``), or None for a URL of no service API."""
        if url.copy_with(path="/", query=None, fragment=None) != self._origin:
            return None
        path = url.path
        if not path.startswith(self._base_path + "/v1/"):
            return None
        inner = path[len(self._base_path):]
        return inner + (f"?{url.query.decode()}" if url.query else "")

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = self.channel_path(request.url)
        if path is None:
            doc = {"error": {"message": f"{request.url} is not under {self.session.url}/v1/, so nothing was sent.",
                             "type": "invalid_request_error", "code": "unknown_route", "param": None}}
            return httpx.Response(404, headers=[("content-type", "application/json"), NO_RETRY],
                                  content=json.dumps(doc).encode(), request=request)
        auth = request.headers.get("authorization")
        try:
            body = request_body(await request.aread())
            opened = await open_exchange(self.session, request.method, path, body,
                                         (("authorization", auth),) if auth else ())
        except (BadRequest, VerifierError) as e:
            return _error_response(e, request)
        if opened.streamed:
            return httpx.Response(opened.status, headers=opened.headers, stream=_Events(opened),
                                  request=request)
        try:
            data = await opened.read()
        except VerifierError as e:
            return _error_response(e, request)
        return httpx.Response(opened.status, headers=opened.headers, content=data, request=request)

    async def aclose(self) -> None:
        await self.session.aclose()


class _Loop:
    """An event loop in a daemon thread, for the sync client (the session is async)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="enclave-chat-sdk", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        self.loop.close()


class _SyncEvents(httpx.SyncByteStream):
    def __init__(self, loop: _Loop, stream: httpx.AsyncByteStream) -> None:
        self.loop, self.stream = loop, stream

    def __iter__(self) -> Iterator[bytes]:
        pieces = self.stream.__aiter__()
        while True:
            try:
                yield self.loop.run(pieces.__anext__())  # type: ignore[arg-type]
            except StopAsyncIteration:
                return

    def close(self) -> None:
        self.loop.run(self.stream.aclose())


class AttestedTransport(httpx.BaseTransport):
    """The sync twin of :class:`AttestedAsyncTransport`, on a private event loop."""

    def __init__(self, session: Session, loop: _Loop) -> None:
        self.inner = AttestedAsyncTransport(session)
        self.loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        response = self.loop.run(self.inner.handle_async_request(request))
        stream = response.stream
        if isinstance(stream, _Events):
            return httpx.Response(response.status_code, headers=response.headers.multi_items(),
                                  stream=_SyncEvents(self.loop, stream), request=request,
                                  extensions=dict(response.extensions))
        return response

    def close(self) -> None:
        self.loop.run(self.inner.aclose())


class AttestedClient(httpx.Client):
    """An :class:`httpx.Client` on the verified channel (:func:`attested_http_client`)."""

    def __init__(self, session: Session, **options: Any) -> None:
        self._loop = _Loop()
        self.session = session
        super().__init__(transport=AttestedTransport(session, self._loop), trust_env=False, **options)

    @property
    def attestation(self) -> AttestationResult | None:
        """The current passing result, else the last result (a refusal's), else None."""
        verified = self.session.verified
        return verified.result if verified is not None else self.session.last_result

    def attest(self) -> AttestationResult:
        """A current passing result, attesting now if needed; :class:`NotVerified` otherwise."""
        return self._loop.run(self.session.ready()).result

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._loop.close()


class AsyncAttestedClient(httpx.AsyncClient):
    """An :class:`httpx.AsyncClient` on the verified channel (:func:`async_attested_http_client`)."""

    def __init__(self, session: Session, **options: Any) -> None:
        self.session = session
        super().__init__(transport=AttestedAsyncTransport(session), trust_env=False, **options)

    @property
    def attestation(self) -> AttestationResult | None:
        verified = self.session.verified
        return verified.result if verified is not None else self.session.last_result

    async def attest(self) -> AttestationResult:
        return (await self.session.ready()).result


def attested_http_client(url: str, *, policy: str = "default", provider: str | None = None,
                         **session_options: Any) -> AttestedClient:
    """An :class:`httpx.Client` whose requests to ``{url}/v1/...`` go over the verified channel.

    ``policy``: a built-in name or a file (as ``--policy``); ``provider``: the wire profile (else
    the policy's). ``session_options`` go to :class:`verifier.session.Session` (``fetcher``,
    ``state_dir``, ``http_proxy``, ...)."""
    return AttestedClient(_session(url, policy, provider, dict(session_options)))


def async_attested_http_client(url: str, *, policy: str = "default", provider: str | None = None,
                               **session_options: Any) -> AsyncAttestedClient:
    """The async twin of :func:`attested_http_client`: an :class:`httpx.AsyncClient`."""
    return AsyncAttestedClient(_session(url, policy, provider, dict(session_options)))
