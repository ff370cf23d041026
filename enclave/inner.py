"""The OpenAI-compatible API behind the gateway: ``GET /v1/models``, ``POST /v1/chat/completions``.

Requests arrive here already decrypted (Binary HTTP inside OHTTP); this module never sees the
network. The backend is the built-in demo model or, with ``--upstream URL``, any OpenAI-compatible
server, to which requests are forwarded as they are (streaming server-sent events included).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from enclave import model

MAX_INNER_BODY = 1024 * 1024
Headers = tuple[tuple[bytes, bytes], ...]


@dataclass
class InnerResponse:
    status: int
    headers: Headers
    body: bytes = b""
    stream: AsyncIterator[bytes] | None = None


@dataclass
class Backend:
    """Where decrypted prompts go: ``upstream`` None means the built-in demo model."""

    upstream: str | None = None
    token_delay: float = 0.02
    max_tokens: int | None = None
    client: httpx.AsyncClient | None = field(default=None, repr=False)

    def describe(self) -> str:
        return self.upstream or "builtin:demo-model"


def _json(status: int, doc: Any) -> InnerResponse:
    return InnerResponse(status, ((b"content-type", b"application/json"),), json.dumps(doc).encode())


def _error(status: int, message: str) -> InnerResponse:
    return _json(status, {"error": {"message": message, "type": "invalid_request_error"}})


async def handle(backend: Backend, method: str, path: str, body: bytes) -> InnerResponse:
    """Route one decrypted request."""
    if len(body) > MAX_INNER_BODY:
        return _error(413, "request body too large")
    if backend.upstream:
        return await _forward(backend, method, path, body)
    if method == "GET" and path == "/v1/models":
        return _json(200, {"object": "list", "data": [
            {"id": model.MODEL_ID, "object": "model", "created": 0, "owned_by": "enclave-chat-demo"}]})
    if path == "/v1/chat/completions":
        if method != "POST":
            return _error(405, "use POST")
        try:
            request = json.loads(body)
            messages = request["messages"]
            if not isinstance(messages, list):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return _error(400, "the body must be JSON with a list of messages")
        name = request.get("model") or model.MODEL_ID
        if request.get("stream"):
            return InnerResponse(200, ((b"content-type", b"text/event-stream"),),
                                 stream=_sse(backend, messages, str(name)))
        text = "".join([t async for t in model.stream_reply(messages, max_tokens=backend.max_tokens)])
        return _json(200, {
            "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion",
            "created": int(time.time()), "model": name,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
        })
    return _error(404, f"no route for {method} {path}")


async def _sse(backend: Backend, messages: list[Any], name: str) -> AsyncIterator[bytes]:
    ident = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())

    def event(delta: dict[str, Any], finish: str | None) -> bytes:
        chunk = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": name,
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return b"data: " + json.dumps(chunk).encode() + b"\n\n"

    yield event({"role": "assistant"}, None)
    async for token in model.stream_reply(messages, delay=backend.token_delay,
                                          max_tokens=backend.max_tokens):
        yield event({"content": token}, None)
    yield event({}, "stop")
    yield b"data: [DONE]\n\n"


async def _forward(backend: Backend, method: str, path: str, body: bytes) -> InnerResponse:
    """Forward to the OpenAI-compatible upstream (``/v1/x`` -> ``{upstream}/x``)."""
    assert backend.upstream is not None
    if not path.startswith("/v1/"):
        return _error(404, f"no route for {method} {path}")
    url = backend.upstream.rstrip("/") + path.removeprefix("/v1")
    client = backend.client or httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=5.0))
    try:
        request = client.build_request(method, url, content=body or None,
                                       headers={"content-type": "application/json"})
        response = await client.send(request, stream=True)
    except httpx.HTTPError as e:
        if backend.client is None:
            await client.aclose()
        return _error(502, f"the upstream model server could not be reached: {e}")
    headers = tuple((k.encode(), v.encode()) for k, v in response.headers.items()
                    if k.lower() in ("content-type",))

    async def relay() -> AsyncIterator[bytes]:
        try:
            async for piece in response.aiter_raw():
                yield piece
        finally:
            await response.aclose()
            if backend.client is None:
                await client.aclose()

    return InnerResponse(response.status_code, headers, stream=relay())
