"""Server-sent events (WHATWG HTML §9.2) as OpenAI-compatible streams use them, parsed incrementally.

Only ``data:`` fields matter here; an event ends at a blank line. ``[DONE]`` ends the stream.
Each event's JSON gives ``choices[0].delta.content``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from verifier.errors import ProtocolError

MAX_EVENT_BYTES = 1024 * 1024


@dataclass
class SseDeltas:
    """Feed bytes, get the text deltas of every complete event; ``done`` once ``[DONE]`` arrives."""

    done: bool = False
    finish_reason: str | None = None
    _buffer: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[str]:
        self._buffer += data
        out: list[str] = []
        while True:
            buf = bytes(self._buffer)
            ends = [i for i in (buf.find(b"\n\n"), buf.find(b"\r\n\r\n")) if i >= 0]
            if not ends:
                if len(self._buffer) > MAX_EVENT_BYTES:
                    raise ProtocolError("a server-sent event is larger than 1 MiB")
                return out
            end = min(ends)
            sep = 4 if buf.startswith(b"\r\n\r\n", end) else 2
            event, self._buffer = buf[:end], bytearray(buf[end + sep:])
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
            doc = json.loads(data)
        except ValueError:
            raise ProtocolError("a server-sent event does not hold JSON") from None
        if not isinstance(doc, dict):
            raise ProtocolError("a server-sent event is not an OpenAI chat completion chunk")
        if "error" in doc:
            raise ProtocolError(f"the model reported an error: {doc['error']}")
        choices = doc.get("choices")
        choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
        delta = choice.get("delta")
        if choice.get("finish_reason"):
            self.finish_reason = str(choice["finish_reason"])
        content = delta.get("content") if isinstance(delta, dict) else None
        return content if isinstance(content, str) else ""
