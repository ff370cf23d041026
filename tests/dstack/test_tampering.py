"""One changed byte of a real recording (NEAR AI direct, 04-24, verified at capture time with
Intel's recorded answers) is refused by its own check: the quote by ``tdx.quote.signature``, an
event's digest by the replay of its register, a runtime event's payload by
``dstack.event.payload``, the app compose by ``dstack.compose``, the nonce by
``tdx.report_data``."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.dstack import sets
from verifier.appraisal.dstack import DstackAppraisal, appraise_dstack
from verifier.appraisal.dstack import checks as ids
from verifier.evidence.dstack import DstackEvidence
from verifier.result import Status

pytestmark = pytest.mark.vectors

REC = sets.BY_NAME["neardirect 04-24"]


def _flip_hex(text: str, byte: int) -> str:
    raw = bytearray(bytes.fromhex(text))
    raw[byte] ^= 0x01
    return raw.hex()


def _events(ev: DstackEvidence) -> list[dict[str, object]]:
    log = ev.event_log
    assert isinstance(log, list)
    return log


def quote_byte(ev: DstackEvidence) -> DstackEvidence:
    return dataclasses.replace(ev, quote=_flip_hex(str(ev.quote), 48 + 200))  # inside the TD report body


def _digest_of(imr: int) -> Callable[[DstackEvidence], DstackEvidence]:
    def change(ev: DstackEvidence) -> DstackEvidence:
        events = _events(ev)
        e = next(e for e in events if e["imr"] == imr)
        e["digest"] = _flip_hex(str(e["digest"]), 7)
        return ev
    return change


def payload_byte(ev: DstackEvidence) -> DstackEvidence:
    e = next(e for e in _events(ev) if e["event"] == "compose-hash")
    e["event_payload"] = _flip_hex(str(e["event_payload"]), 0)
    return ev


def compose_byte(ev: DstackEvidence) -> DstackEvidence:
    text = str(ev.app_compose)
    i = text.index("dstack-nvidia")
    return dataclasses.replace(ev, app_compose=text[:i] + "Dstack-nvidia" + text[i + len("dstack-nvidia"):])


CHANGES: list[tuple[str, Callable[[DstackEvidence], DstackEvidence], str]] = [
    ("a quote byte", quote_byte, "tdx.quote.signature"),
    ("an RTMR0 event digest", _digest_of(0), ids.RTMR0),
    ("an RTMR1 event digest", _digest_of(1), ids.RTMR1),
    ("an RTMR2 event digest", _digest_of(2), ids.RTMR2),
    ("an RTMR3 event digest", _digest_of(3), ids.RTMR3),
    ("a runtime event payload", payload_byte, ids.EVENT_PAYLOAD),
    ("the app compose", compose_byte, ids.COMPOSE),
]


def _appraise(ev: DstackEvidence, tmp_path: Path, report_data: bytes | None = None) -> DstackAppraisal:
    return appraise_dstack(ev, policy=sets.policy(), at=sets.captured_at(REC),
                           expected_report_data=sets.expected_report_data(REC) if report_data is None else report_data,
                           fetcher=sets.recorded_fetcher(REC, tmp_path))


def _first_failure(a: DstackAppraisal) -> str | None:
    return next((c.id for c in a.checks if c.status is Status.FAIL), None)


def test_the_recording_is_verified_as_recorded(tmp_path: Path) -> None:
    a = _appraise(sets.recording_evidence(REC), tmp_path)
    assert a.verified and _first_failure(a) is None


@pytest.mark.parametrize(("what", "change", "refused_by"), CHANGES, ids=[c[0] for c in CHANGES])
def test_one_changed_byte_is_refused_by_its_own_check(what: str, change: Callable[[DstackEvidence], DstackEvidence],
                                                      refused_by: str, tmp_path: Path) -> None:
    ev = sets.recording_evidence(REC)
    ev = dataclasses.replace(ev, event_log=copy.deepcopy(ev.event_log))
    a = _appraise(change(ev), tmp_path)
    assert _first_failure(a) == refused_by, what
    assert not a.verified
    if refused_by.startswith("dstack.rtmr"):
        detail = a.check(refused_by).detail  # type: ignore[union-attr]
        assert f"RTMR{refused_by[-1]}" in detail


def test_a_changed_nonce_is_refused_by_report_data(tmp_path: Path) -> None:
    expected = bytearray(sets.expected_report_data(REC))
    expected[63] ^= 0x01
    a = _appraise(sets.recording_evidence(REC), tmp_path, bytes(expected))
    assert _first_failure(a) == "tdx.report_data" and not a.verified


def test_a_stripped_runtime_digest_is_recomputed_and_a_changed_payload_then_breaks_rtmr3(tmp_path: Path) -> None:
    """A "stripped" runtime event (digest "") is replayed with the digest of its name and payload,
    so its payload is bound by RTMR3 itself."""
    ev = sets.recording_evidence(REC)
    ev = dataclasses.replace(ev, event_log=copy.deepcopy(ev.event_log))
    for e in _events(ev):
        if e["event_type"] == 0x08000001:
            e["digest"] = ""
    assert _appraise(ev, tmp_path).verified
    a = _appraise(payload_byte(ev), tmp_path)
    assert _first_failure(a) == ids.RTMR3
