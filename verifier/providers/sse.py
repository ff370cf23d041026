"""Server-sent events (WHATWG HTML §9.2) as OpenAI-compatible streams use them, parsed incrementally.

Only ``data:`` fields matter here; an event ends at a blank line. ``[DONE]`` ends the stream.
Each event's JSON gives ``choices[0].delta.content``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from verifier.errors import ParseError, ProtocolError
from verifier.strict_json import load_strict_json
from verifier.text import one_line

MAX_EVENT_BYTES = 1024 * 1024


@dataclass
class SseDeltas:
    """Feed bytes, get the text deltas of every complete event; ``done`` once ``[DONE]`` arrives."""

    done: bool = False
    finish_reason: str | None = None
    _buffer: bytearray = field(default_factory=bytearray)
    _searched: int = 0
    """How much of ``_buffer`` is known to hold no event boundary (each byte is searched once)."""

    def feed(self, data: bytes) -> list[str]:
        self._buffer += data
        out: list[str] = []
        while True:
            start = max(0, self._searched - 3)  # a boundary may straddle the previous feed
            ends = [i for i in (self._buffer.find(b"\n\n", start), self._buffer.find(b"\r\n\r\n", start)) if i >= 0]
            if not ends:
                self._searched = len(self._buffer)
                if len(self._buffer) > MAX_EVENT_BYTES:
                    raise ProtocolError("a server-sent event is larger than 1 MiB")
                return out
            end = min(ends)
            sep = 4 if self._buffer.startswith(b"\r\n\r\n", end) else 2
            if end > MAX_EVENT_BYTES:
                raise ProtocolError("a server-sent event is larger than 1 MiB")
            event = bytes(self._buffer[:end])
            del self._buffer[:end + sep]
            self._searched = 0
            text = self._event(event)
            if text:
                out.append(text)

    def _event(self, event: bytes) -> str:
        data = b"\n".join(line[5:].lstrip(b" ") for line in event.splitlines() if line.startswith(b"data:"))
        if not data:
            return ""
        if data.strip() == b"[DONE]":
            self.done = True
            return ""
        try:
            doc = load_strict_json(data, "server-sent event")
        except ParseError:
            raise ProtocolError("a server-sent event does not hold JSON") from None
        if not isinstance(doc, dict):
            raise ProtocolError("a server-sent event is not an OpenAI chat completion chunk")
        if "error" in doc:
            error = doc["error"]
            message = error.get("message") if isinstance(error, dict) else error
            text = one_line(message, 300) if isinstance(message, str) else "(no message)"
            raise ProtocolError(f"the model reported an error: {text}")
        choices = doc.get("choices")
        choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
        delta = choice.get("delta")
        if choice.get("finish_reason"):
            self.finish_reason = one_line(str(choice["finish_reason"]), 64)
        content = delta.get("content") if isinstance(delta, dict) else None
        return content if isinstance(content, str) else ""
