"""The event log parser and its replay: dstack's digest formats (cc-eventlog's own test values),
strict members, bounds, and the OS's events told from the application's."""

from __future__ import annotations

import hashlib
import json

import pytest

from verifier.errors import ParseError
from verifier.evidence.dstack_eventlog import RUNTIME_EVENT_TYPE, Event, parse_event_log

BOOT = {"imr": 0, "event_type": 4, "digest": "11" * 48, "event": "", "event_payload": ""}


def runtime(name: str, payload: bytes, version: int = 1) -> dict[str, object]:
    e = Event(0, 3, RUNTIME_EVENT_TYPE, b"", name, payload, version)
    out: dict[str, object] = {"imr": 3, "event_type": RUNTIME_EVENT_TYPE, "digest": e.recomputed_digest().hex(),
                              "event": name, "event_payload": payload.hex()}
    if version != 1:
        out["version"] = version
    return out


def test_v1_digest_is_type_name_and_payload() -> None:
    """cc-eventlog ``v1_digest_unchanged``: SHA-384(u32le(0x08000001) || ":" || name || ":" || payload)."""
    e = Event(0, 3, RUNTIME_EVENT_TYPE, b"", "app-id", bytes.fromhex("deadbeef"))
    assert e.recomputed_digest() == hashlib.sha384(b"\x01\x00\x00\x08:app-id:\xde\xad\xbe\xef").digest()


def test_v2_digest_is_the_canonical_json() -> None:
    """cc-eventlog ``v2_digest_is_canonical_json_hash`` and ``canonical_json_escapes_special_chars``."""
    e = Event(0, 3, RUNTIME_EVENT_TYPE, b"", "compose-hash", b"\xab\xcd", version=2)
    assert e.runtime_preimage() == b'{"name":"compose-hash","payload":"abcd","type":134217729}'
    odd = Event(0, 3, RUNTIME_EVENT_TYPE, b"", 'event"with\\special\nchars', b"\xff", version=2)
    assert odd.runtime_preimage() == b'{"name":"event\\"with\\\\special\\nchars","payload":"ff","type":134217729}'
    assert e.recomputed_digest() != Event(0, 3, RUNTIME_EVENT_TYPE, b"", "compose-hash", b"\xab\xcd").recomputed_digest()


def test_replay_starts_from_zero_and_extends_in_order() -> None:
    log = parse_event_log(json.dumps([BOOT, runtime("app-id", b"\x01"), runtime("system-ready", b"")]))
    r0 = hashlib.sha384(bytes(48) + bytes.fromhex("11" * 48)).digest()
    r3 = bytes(48)
    for e in log.runtime:
        r3 = hashlib.sha384(r3 + e.digest).digest()
    assert log.replay() == (r0, bytes(48), bytes(48), r3)


def test_a_stripped_runtime_digest_is_recomputed() -> None:
    full = parse_event_log([runtime("app-id", b"\x01"), runtime("system-ready", b"")])
    stripped = parse_event_log([{**runtime("app-id", b"\x01"), "digest": ""},
                                {**runtime("system-ready", b""), "digest": ""}])
    assert full.replay() == stripped.replay()
    assert parse_event_log([{**runtime("x", b""), "digest": ""}]).events[0].extended == \
        Event(0, 3, RUNTIME_EVENT_TYPE, b"", "x", b"").recomputed_digest()


def test_os_events_end_at_system_ready() -> None:
    log = parse_event_log([runtime("compose-hash", b"\x01"), runtime("system-ready", b""),
                           runtime("compose-hash", b"\x02")])
    assert log.system_payload("compose-hash") == b"\x01"
    assert [e.name for e in log.system_events] == ["compose-hash"] and log.has_system_ready


@pytest.mark.parametrize(("events", "message"), [
    ("{}", "not a JSON list"),
    ("[]", "no events"),
    ([{**BOOT, "imr": 4}], "imr"),
    ([{**BOOT, "imr": True}], "imr"),
    ([{**BOOT, "digest": ""}], "only a runtime event's may be stripped"),
    ([{**BOOT, "digest": "11" * 32}], "not a SHA-384"),
    ([{**BOOT, "digest": "1 " * 48}], "not a hex string"),
    ([{**BOOT, "event_payload": "abc"}], "not a hex string"),
    ([{**BOOT, "extra": 1}], "does not read: extra"),
    ([{k: v for k, v in BOOT.items() if k != "event"}], "lacks event"),
    ([{**BOOT, "version": 2}], "not a runtime event"),
    ([runtime("x", b"", version=3)], "version"),
    ([{**BOOT, "event_type": 2**32}], "event_type"),
    ('[{"imr": 0, "imr": 1}]', "twice"),
])
def test_malformed_logs_are_refused(events: object, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_event_log(events if isinstance(events, str) else json.dumps(events))


def test_the_log_is_bounded() -> None:
    with pytest.raises(ParseError, match="more than 4096"):
        parse_event_log([BOOT] * 4097)
    with pytest.raises(ParseError, match="longer than"):
        parse_event_log([{**BOOT, "event_payload": "00" * (256 * 1024 + 1)}])
