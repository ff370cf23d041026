"""Hostile services for the adversarial tests: small starlette apps on uvicorn, on free loopback
ports, beside the real reference enclave. Nothing here leaves loopback."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from enclave.server import BackgroundEnclave, listening_socket
from verifier.channel import bhttp, chunked

Handler = Callable[[Request], Awaitable[Response]]


class HostileServer:
    """Any ASGI app on a free loopback port, in a thread; a context manager like BackgroundEnclave."""

    def __init__(self, app: Any) -> None:
        self._socket = listening_socket("127.0.0.1", 0)
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="critical", lifespan="off", access_log=False,
                                timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self._socket]}, daemon=True)

    def __enter__(self) -> HostileServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:  # a bounded poll, as BackgroundEnclave.start does
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the hostile server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
        self._socket.close()


def serve(routes: list[Route]) -> HostileServer:
    return HostileServer(Starlette(routes=routes))


class Proxy:
    """A service in front of an honest enclave: the evidence and the key configuration are the
    enclave's own (so the attestation passes), and ``gateway`` answers the POSTs as a test says.
    ``seen`` keeps every request's method, path and headers."""

    def __init__(self, enclave: BackgroundEnclave, gateway: Handler | None = None,
                 rewrite: Callable[[bytes], bytes] | None = None) -> None:
        self.enclave = enclave
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        self._gateway = gateway
        self._rewrite = rewrite
        self.server = serve([
            Route("/.well-known/attestation", self._forward, methods=["GET"]),
            Route("/.well-known/ohttp-gateway", self._forward, methods=["GET"]),
            Route("/.well-known/ohttp-gateway", self._post, methods=["POST"]),
        ])
        self.url = self.server.url

    async def _forward(self, request: Request) -> Response:
        self.seen.append((request.method, request.url.path, dict(request.headers)))
        async with httpx.AsyncClient() as client:
            answer = await client.get(f"{self.enclave.url}{request.url.path}", params=request.query_params)
        body = answer.content
        if self._rewrite is not None and request.url.path.endswith("attestation"):
            body = self._rewrite(body)
        return Response(body, status_code=answer.status_code,
                        media_type=answer.headers.get("content-type"))

    async def _post(self, request: Request) -> Response:
        self.seen.append((request.method, request.url.path, dict(request.headers)))
        assert self._gateway is not None
        return await self._gateway(request)

    def __enter__(self) -> Proxy:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.__exit__(None, None, None)


async def open_request(enclave: BackgroundEnclave, request: Request) -> chunked.ChunkedResponseEncoder:
    """Open a chunked OHTTP request with the enclave's own key, as a compromised gateway in
    front of it could not, but as the tests need to answer with well-sealed hostile content."""
    decoder = chunked.ChunkedRequestDecoder(enclave.enclave.keys)
    decoder.feed(await request.body())
    decoder.close()
    return decoder.response_encoder()


def sealed_stream(encoder: chunked.ChunkedResponseEncoder, status: int, content_type: bytes,
                  pieces: Iterator[bytes] | AsyncIterator[bytes] | list[bytes],
                  final: bool = True) -> AsyncIterator[bytes]:
    """A chunked OHTTP response: the inner head, each piece as its own content chunk, the end."""
    async def body() -> AsyncIterator[bytes]:
        yield encoder.encode_chunk(bhttp.encode_response_head(status, ((b"content-type", content_type),)))
        if isinstance(pieces, AsyncIterator):
            async for piece in pieces:
                yield encoder.encode_chunk(bhttp.encode_content_chunk(piece))
        else:
            for piece in pieces:
                yield encoder.encode_chunk(bhttp.encode_content_chunk(piece))
        if final:
            yield encoder.encode_final(bhttp.encode_response_end())
    return body()


def never_ending_reply(enclave: BackgroundEnclave) -> Handler:
    """A gateway that answers with the enclave's own key but never sends an event: sealed chunks
    of filler, bounded (80 MB) so that the server stops by itself."""
    async def answer(request: Request) -> Response:
        encoder = await open_request(enclave, request)

        async def forever() -> AsyncIterator[bytes]:
            for _ in range(5000):
                yield b"x" * 16000
                await asyncio.sleep(0)

        return StreamingResponse(sealed_stream(encoder, 200, b"text/event-stream", forever()),
                                 media_type=chunked.RESPONSE_MEDIA_TYPE)
    return answer
