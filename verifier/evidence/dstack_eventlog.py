"""dstack's TDX event log (JSON), and its replay to RTMR0-3.

The format, as dstack writes it (``cc-eventlog/src/tdx.rs``, ``TdxEvent``; the guest agent's
``GetQuote`` answer carries it as a JSON string, NEAR AI's report as a JSON list): a list of
objects, one per measurement, in the order they were extended:

| member | JSON type | meaning |
|---|---|---|
| ``imr`` | integer 0-3 | the register: RTMR0..RTMR3 (zero-based, unlike the TCG log's PCR index) |
| ``event_type`` | integer (u32) | the TCG event type; ``0x08000001`` is a dstack runtime event |
| ``digest`` | hex (48 bytes) | the SHA-384 extended into the register; a runtime event's may be ``""`` (a "stripped" log: it is recomputed from name and payload) |
| ``event`` | string | the event's name (runtime events: ``app-id``, ``compose-hash``, ...) |
| ``event_payload`` | hex | the event's data (a boot event's may be ``""``: only its digest is kept) |
| ``version`` | integer 1 or 2, optional | a runtime event's digest format (absent: 1) |
| ``preimage`` | hex, optional | a version-2 runtime event's digest input, as dstack exposes it |

Replay: each register starts as 48 zero bytes and ``RTMR = SHA-384(RTMR || digest)`` for each of
its events in order. A runtime event's digest is bound to its name and payload (``RuntimeEvent``
in ``cc-eventlog/src/runtime_events.rs``): version 1, ``SHA-384(u32le(0x08000001) || ":" || name
|| ":" || payload)``; version 2, ``SHA-384`` of the RFC 8785 JSON
``{"name": name, "payload": hex(payload), "type": 134217729}``.

Sans-IO and strict: any member of the wrong type or size, an unknown member, an index outside
0-3, more than :data:`MAX_EVENTS` events or a payload over :data:`MAX_PAYLOAD` bytes is a
:class:`~verifier.errors.ParseError`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import rfc8785

from verifier.errors import ParseError
from verifier.strict_json import load_strict_json

RUNTIME_EVENT_TYPE = 0x08000001
"""dstack's runtime event type (not a TCG type): events the dstack OS and apps extend into RTMR3."""
DIGEST_SIZE = 48
REGISTERS = 4
MAX_EVENTS = 4096
MAX_NAME = 1024
MAX_PAYLOAD = 256 * 1024
MAX_LOG_BYTES = 16 * 1024 * 1024
SYSTEM_READY = "system-ready"
"""The runtime event that ends the dstack OS's boot events; those after it are the application's."""

_HEX = re.compile(r"(?:[0-9a-fA-F]{2})*")
_MEMBERS = frozenset({"imr", "event_type", "digest", "event", "event_payload", "version", "preimage"})
_REQUIRED = ("imr", "event_type", "event", "event_payload")


@dataclass(frozen=True)
class Event:
    """One measurement of the log."""

    index: int
    """Its position in the log (0-based), for messages."""
    imr: int
    event_type: int
    digest: bytes
    """As recorded: 48 bytes, or empty for a runtime event whose digest was stripped."""
    name: str
    payload: bytes
    version: int = 1
    preimage: bytes | None = None

    @property
    def is_runtime(self) -> bool:
        return self.event_type == RUNTIME_EVENT_TYPE

    def runtime_preimage(self) -> bytes:
        """What a runtime event's digest is the SHA-384 of (its version's format)."""
        if self.version == 2:
            return bytes(rfc8785.dumps({"name": self.name, "payload": self.payload.hex(),
                                        "type": RUNTIME_EVENT_TYPE}))
        return RUNTIME_EVENT_TYPE.to_bytes(4, "little") + b":" + self.name.encode() + b":" + self.payload

    def recomputed_digest(self) -> bytes:
        """A runtime event's digest recomputed from its name and payload."""
        return hashlib.sha384(self.runtime_preimage()).digest()

    @property
    def extended(self) -> bytes:
        """The digest the replay extends: the recorded one, or (a stripped runtime event) the
        recomputed one."""
        return self.digest if self.digest else self.recomputed_digest()


@dataclass(frozen=True)
class EventLog:
    events: tuple[Event, ...]

    def replay(self) -> tuple[bytes, bytes, bytes, bytes]:
        """RTMR0..RTMR3 as the events extend them from 48 zero bytes."""
        regs = [bytes(DIGEST_SIZE)] * REGISTERS
        for e in self.events:
            regs[e.imr] = hashlib.sha384(regs[e.imr] + e.extended).digest()
        return regs[0], regs[1], regs[2], regs[3]

    def register(self, imr: int) -> tuple[Event, ...]:
        return tuple(e for e in self.events if e.imr == imr)

    @property
    def runtime(self) -> tuple[Event, ...]:
        return tuple(e for e in self.events if e.is_runtime)

    @property
    def system_events(self) -> tuple[Event, ...]:
        """The runtime events before the first ``system-ready`` (the dstack OS's own, read as dstack
        reads them: ``find_event`` stops there); all of them when there is none."""
        out: list[Event] = []
        for e in self.runtime:
            if e.name == SYSTEM_READY:
                break
            out.append(e)
        return tuple(out)

    @property
    def has_system_ready(self) -> bool:
        return any(e.name == SYSTEM_READY for e in self.runtime)

    def system_payload(self, name: str) -> bytes | None:
        """The payload of the first OS event ``name`` (before ``system-ready``), as dstack reads it."""
        return next((e.payload for e in self.system_events if e.name == name), None)


def _hex(value: object, field: str, *, limit: int) -> bytes:
    if not isinstance(value, str) or _HEX.fullmatch(value) is None:
        raise ParseError("is not a hex string", field=field)
    if len(value) > 2 * limit:
        raise ParseError(f"is longer than {limit} bytes", field=field)
    return bytes.fromhex(value)


def _int(value: object, field: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ParseError(f"must be an integer from {low} to {high}", field=field)
    return value


def _event(i: int, item: object) -> Event:
    where = f"event_log[{i}]"
    if not isinstance(item, dict):
        raise ParseError("is not a JSON object", field=where)
    unknown = sorted(set(item) - _MEMBERS)
    if unknown:
        raise ParseError(f"has members this verifier does not read: {', '.join(u[:40] for u in unknown[:5])}",
                         field=where)
    missing = [m for m in _REQUIRED if m not in item]
    if missing:
        raise ParseError(f"lacks {', '.join(missing)}", field=where)
    imr = _int(item["imr"], f"{where}.imr", 0, REGISTERS - 1)
    event_type = _int(item["event_type"], f"{where}.event_type", 0, 0xFFFF_FFFF)
    digest = _hex(item.get("digest", ""), f"{where}.digest", limit=DIGEST_SIZE)
    name = item["event"]
    if not isinstance(name, str) or len(name) > MAX_NAME:
        raise ParseError(f"must be a string of at most {MAX_NAME} characters", field=f"{where}.event")
    payload = _hex(item["event_payload"], f"{where}.event_payload", limit=MAX_PAYLOAD)
    version = _int(item.get("version", 1), f"{where}.version", 1, 2)
    preimage = (_hex(item["preimage"], f"{where}.preimage", limit=MAX_PAYLOAD + 4 * MAX_NAME + 64)
                if "preimage" in item else None)
    runtime = event_type == RUNTIME_EVENT_TYPE
    if len(digest) not in ((0, DIGEST_SIZE) if runtime else (DIGEST_SIZE,)):
        raise ParseError(f"is {len(digest)} bytes, not a SHA-384 digest"
                         + ("" if runtime else " (only a runtime event's may be stripped)"), field=f"{where}.digest")
    if not runtime and ("version" in item or preimage is not None):
        raise ParseError("carries a runtime event's version or preimage but is not a runtime event", field=where)
    return Event(i, imr, event_type, digest, name, payload, version, preimage)


def parse_event_log(value: object) -> EventLog:
    """The event log from its JSON text (``bytes`` or ``str``, as dstack's ``GetQuote`` gives it) or
    its already decoded list (as NEAR AI's report embeds it)."""
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        if len(value) > MAX_LOG_BYTES:
            raise ParseError(f"is larger than {MAX_LOG_BYTES} bytes", field="event_log")
        value = load_strict_json(value, "event_log")
    if not isinstance(value, list):
        raise ParseError("is not a JSON list of events", field="event_log")
    if not value:
        raise ParseError("holds no events", field="event_log")
    if len(value) > MAX_EVENTS:
        raise ParseError(f"holds {len(value)} events, more than {MAX_EVENTS}", field="event_log")
    return EventLog(tuple(_event(i, item) for i, item in enumerate(value)))


def payload_text(payload: bytes) -> str | None:
    """A payload as text when it is printable UTF-8 (``storage-fs``'s ``zfs``), else None."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text.isprintable() else None


def describe(log: EventLog, events: Sequence[Event] | None = None) -> list[dict[str, object]]:
    """JSON-able rows: register, type, name and payload (hex) of each event (all by default)."""
    return [{"imr": e.imr, "event_type": e.event_type, "name": e.name, "payload": e.payload.hex()}
            for e in (log.events if events is None else events)]
