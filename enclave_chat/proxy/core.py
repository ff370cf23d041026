"""One OpenAI-style request through a verified session, and what an error looks like to a client.

Shared by the proxy (:mod:`enclave_chat.proxy.app`) and the SDK client (:mod:`enclave_chat.sdk`):
:func:`open_exchange` attests first when it must (nothing is sent before a passing result) and
returns the inner answer's status and headers with the rest of its body still to read;
:func:`error_doc` turns a refusal or a failure into an OpenAI-style error object.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from verifier.errors import (
    NotVerified,
    ParseError,
    ServiceUnreachable,
    TruncatedResponse,
    VerifierError,
)
from verifier.strict_json import load_strict_json
from verifier.text import one_line

if TYPE_CHECKING:
    from verifier.providers.base import Event
    from verifier.session import Session

MAX_REQUEST_BODY = 16 * 1024 * 1024
MAX_BUFFERED_ANSWER = 64 * 1024 * 1024
"""Bytes of a non-streamed answer kept before it is handed on whole (a cut-short one is an error)."""
PASSED_HEADERS = frozenset({"content-type", "content-encoding", "x-request-id", "openai-model",
                            "openai-processing-ms"})
"""The inner answer's headers handed on to the client; hop-by-hop and framing ones never are."""
NO_RETRY = ("x-should-retry", "false")
"""On every error of ours: the OpenAI SDKs would otherwise retry a 502 with back-off, each retry
attesting again; the session already re-attests and retries once when a key is stale."""


class BadRequest(Exception):
    """The client's request cannot be carried (not JSON, too large): HTTP 400, nothing is sent."""


def request_body(data: bytes) -> dict[str, Any] | None:
    """The JSON object of a request body (None when empty); :class:`BadRequest` otherwise."""
    if not data:
        return None
    if len(data) > MAX_REQUEST_BODY:
        raise BadRequest(f"the request body is larger than {MAX_REQUEST_BODY // (1024 * 1024)} MiB")
    try:
        doc = load_strict_json(data, "the request body")
    except ParseError as e:
        raise BadRequest(f"the request body is not JSON: {one_line(str(e), 200)}") from None
    if not isinstance(doc, dict):
        raise BadRequest("the request body must be a JSON object")
    return doc


@dataclass
class Opened:
    """The inner answer's head, with its body still to be read (:meth:`body`)."""

    status: int
    headers: list[tuple[str, str]]
    events: AsyncIterator[Event]

    @property
    def content_type(self) -> str:
        return next((v for k, v in self.headers if k == "content-type"), "")

    @property
    def streamed(self) -> bool:
        return self.content_type.split(";")[0].strip().lower() == "text/event-stream"

    async def body(self) -> AsyncIterator[bytes]:
        try:
            async for event in self.events:
                if isinstance(event, bytes):
                    yield event
        finally:
            await self.aclose()

    async def read(self) -> bytes:
        """The whole body, bounded; :class:`TruncatedResponse` if it was cut short."""
        data = bytearray()
        async for piece in self.body():
            data += piece
            if len(data) > MAX_BUFFERED_ANSWER:
                raise TruncatedResponse(f"the answer is larger than {MAX_BUFFERED_ANSWER // (1024 * 1024)} MiB")
        return bytes(data)

    async def aclose(self) -> None:
        aclose = getattr(self.events, "aclose", None)
        if aclose is not None:
            await aclose()


async def open_exchange(session: Session, method: str, path: str, body: dict[str, Any] | None,
                        headers: Sequence[tuple[str, str]] = ()) -> Opened:
    """Carry one request through ``session`` (attesting first when needed) up to its answer's head.

    Raises what the session raises: :class:`NotVerified` (nothing was sent),
    :class:`ServiceUnreachable`, or another :class:`VerifierError`."""
    events = session.exchange(method, path, body, headers=headers)
    try:
        async for event in events:
            if isinstance(event, tuple):
                status, raw = event
                kept = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in raw]
                return Opened(status, [(k, v) for k, v in kept if k in PASSED_HEADERS], events)
    except BaseException:
        await events.aclose()  # type: ignore[attr-defined]
        raise
    raise TruncatedResponse("the service's answer ended before its head")


def error_doc(error: Exception) -> tuple[int, dict[str, Any]]:
    """The HTTP status and the OpenAI-style error object for ``error``."""
    if isinstance(error, BadRequest):
        return 400, _error(str(error), "invalid_request_error", None)
    if isinstance(error, NotVerified):
        result = error.result
        check = getattr(result, "first_failure", None)
        if check is not None:
            message = (f"The service's attestation did not pass ({check.id} {check.status}: "
                       f"{check.detail}), so nothing was sent to it.")
            return 502, _error(message, "attestation_failed", check.id)
        return 502, _error(f"The service's attestation did not pass ({error}), so nothing was sent to it.",
                           "attestation_failed", None)
    if isinstance(error, ServiceUnreachable):
        return 502, _error(f"The service could not be reached: {error}.", "service_unreachable", None)
    if isinstance(error, TruncatedResponse):
        return 502, _error(f"The service's answer was cut short: {error}.", "truncated_response", "truncated")
    if isinstance(error, VerifierError):
        return 502, _error(f"The verified channel failed: {error}.", "channel_error", type(error).__name__)
    return 500, _error(f"Internal error in enclave-chat ({type(error).__name__}: {error}).", "internal_error", None)


def _error(message: str, kind: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": one_line(message, 600), "type": kind, "code": code, "param": None}}


def sse_error(error: Exception) -> bytes:
    """An SSE event that ends a stream in error (the OpenAI SDKs raise on ``{"error": ...}``)."""
    return b"data: " + json.dumps(error_doc(error)[1]).encode() + b"\n\n"
