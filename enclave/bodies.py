"""Request and answer bodies at the enclave's HTTP edge: read bounded, drained whole."""

from __future__ import annotations

from starlette.requests import Request

from enclave.inner import InnerResponse


async def read_bounded(request: Request, limit: int) -> bytes | None:
    """The request body, or None when it is longer than ``limit`` (nothing past it is kept)."""
    out = bytearray()
    async for piece in request.stream():
        out += piece
        if len(out) > limit:
            return None
    return bytes(out)


async def drain(answer: InnerResponse) -> bytes:
    """A streamed inner answer collected whole (for transports that send one message)."""
    if answer.stream is None:
        return b""
    return b"".join([piece async for piece in answer.stream])
