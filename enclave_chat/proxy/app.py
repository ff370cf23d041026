"""The proxy's routes (docs/proxy.md): OpenAI-compatible paths carried through one verified session.

Before anything is carried, every request passes the local checks, in order: the ``Host`` header
must name the address the proxy is bound to (a page on another site that rebinds its DNS name to
127.0.0.1 sends its own name), an ``Origin`` header must be the proxy's own, the proxy's token
(when it has one) must be the ``Authorization: Bearer`` value, and a POST must be
``application/json`` (which a cross-site form cannot send without a CORS preflight, and the proxy
answers no preflight). The client's ``Authorization`` header is never forwarded; the service's API
key, when one is configured, is sent inside the verified channel only. No CORS header is sent.
"""

from __future__ import annotations

import contextlib
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

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

if TYPE_CHECKING:
    from verifier.session import Session

Endpoint = Callable[[Request], Awaitable[Response]]
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
WILDCARDS = ("0.0.0.0", "::", "")


def allowed_hosts(host: str, port: int) -> frozenset[str] | None:
    """The ``Host`` values a client may send to a proxy bound to ``host:port``; None (any) for a
    wildcard address, which is only ever bound with a token."""
    if host in WILDCARDS:
        return None
    shown = f"[{host}]" if ":" in host else host
    names = set(LOOPBACK_NAMES) if shown in LOOPBACK_NAMES else {shown.lower()}
    return frozenset(f"{name}:{port}" for name in names)


def error_response(error: Exception) -> Response:
    status, doc = error_doc(error)
    return Response(json.dumps(doc), status_code=status, media_type="application/json",
                    headers=dict([NO_RETRY]))


def _local_error(status: int, message: str, kind: str, code: str | None = None) -> Response:
    doc = {"error": {"message": message, "type": kind, "code": code, "param": None}}
    return Response(json.dumps(doc), status_code=status, media_type="application/json",
                    headers=dict([NO_RETRY]))


class ProxyApp:
    """The routes over ``session``. ``token``: the proxy's own bearer token (None: none asked);
    ``api_key``: the service's, sent inside the channel as ``authorization: Bearer``;
    ``hosts``: :func:`allowed_hosts` of the bound address."""

    def __init__(self, session: Session, *, hosts: frozenset[str] | None,
                 token: str | None = None, api_key: str | None = None,
                 close_session: bool = True) -> None:
        self.session = session
        self.hosts = hosts
        self.token = token
        self._channel_headers = (("authorization", f"Bearer {api_key}"),) if api_key else ()
        self._close_session = close_session
        self.requests = 0
        """Requests that passed the local checks (tests read it)."""

    def app(self) -> Starlette:
        routes = [
            Route("/v1/models", self._guard(self._forward), methods=["GET"]),
            Route("/v1/models/{model:path}", self._guard(self._forward), methods=["GET"]),
            Route("/v1/chat/completions", self._guard(self._forward), methods=["POST"]),
            Route("/v1/completions", self._guard(self._forward), methods=["POST"]),
            Route("/v1/embeddings", self._guard(self._forward), methods=["POST"]),
            Route("/v1/attestation", self._guard(self._attestation), methods=["GET"]),
        ]

        async def not_found(request: Request, exc: Exception) -> Response:
            refused = self._refused(request)
            if refused is not None:
                return refused
            status = getattr(exc, "status_code", 404)
            return _local_error(status, f"The proxy has no route {request.method} {request.url.path}.",
                                "invalid_request_error", "unknown_route")

        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            try:
                yield
            finally:
                if self._close_session:
                    await self.session.aclose()

        return Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found},
                         lifespan=lifespan)

    # -- the local checks ------------------------------------------------------------------------
    def _refused(self, request: Request) -> Response | None:
        host = request.headers.get("host", "").lower()
        if self.hosts is not None and host not in self.hosts:
            return _local_error(421, "The Host header does not name this proxy's address (a DNS-rebinding page, or a wrong URL).",
                                "invalid_request_error", "host_mismatch")
        origin = request.headers.get("origin")
        if origin is not None and origin.lower() != f"http://{host}":
            return _local_error(403, "Requests from web pages of another origin are refused.",
                                "invalid_request_error", "origin_mismatch")
        if self.token is not None:
            given = request.headers.get("authorization", "")
            scheme, _, value = given.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), self.token.encode()):
                return _local_error(401, "The proxy's token is missing or wrong (Authorization: Bearer).",
                                    "authentication_error", "invalid_token")
        if request.method == "POST":
            media = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if media != "application/json":
                return _local_error(415, "A POST must be application/json.", "invalid_request_error",
                                    "unsupported_media_type")
        return None

    def _guard(self, endpoint: Endpoint) -> Endpoint:
        async def guarded(request: Request) -> Response:
            refused = self._refused(request)
            if refused is not None:
                return refused
            self.requests += 1
            return await endpoint(request)
        return guarded

    # -- the routes ------------------------------------------------------------------------------
    async def _forward(self, request: Request) -> Response:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        try:
            body = request_body(await request.body()) if request.method == "POST" else None
            opened = await open_exchange(self.session, request.method, path, body, self._channel_headers)
        except (BadRequest, VerifierError) as e:
            return error_response(e)
        if opened.streamed:
            return StreamingResponse(_passthrough(opened), status_code=opened.status,
                                     headers=dict(opened.headers))
        try:
            data = await opened.read()
        except VerifierError as e:
            return error_response(e)
        return Response(data, status_code=opened.status, headers=dict(opened.headers))

    async def _attestation(self, request: Request) -> Response:
        """The current result (``verify --json``'s shape): 200 when it passes, 502 when not."""
        try:
            verified = await self.session.ready()
            result = verified.result
        except NotVerified as e:
            result = e.result  # type: ignore[assignment]
        except VerifierError as e:
            return error_response(e)
        doc: dict[str, Any] = result.to_json()
        return Response(json.dumps(doc), status_code=200 if result.verified else 502,
                        media_type="application/json", headers=dict([NO_RETRY]))


async def _passthrough(opened: Opened) -> AsyncIterator[bytes]:
    """The SSE bytes as they are opened; a stream cut short (or failing) ends with an error event,
    never silently."""
    try:
        async for piece in opened.body():
            yield piece
    except VerifierError as e:
        yield b"\n\n" + sse_error(e)
