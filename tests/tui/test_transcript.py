"""Long replies: where a stream may be cut into Markdown segments, and that the segments
together show exactly what arrived."""

from __future__ import annotations

import pytest

from tests.tui.conftest import fake_app, send, settle
from tests.tui.fakes import FakeService
from tui.widgets import transcript
from tui.widgets.transcript import SEGMENT_CHARS, AssistantMessage, safe_cut


@pytest.mark.parametrize(("text", "start", "expected"), [
    ("one\n\ntwo\n", 0, 5),
    ("one\n\n```\ncode\n\nmore\n```\n\nafter\n", 6, 25),  # never inside the fence
    ("- a\n\n- b\n", 0, None),  # not between the items of a loose list
    ("para\n\n    indented\n", 0, None),  # not before an indented continuation
    ("one\n\ntwo\n\n", 0, 5),  # a trailing blank line has nothing after it
    ("one\n\ntwo\n\nthree", 6, 10),
])
def test_safe_cut(text: str, start: int, expected: int | None) -> None:
    assert safe_cut(text, start) == expected


async def test_a_long_reply_is_streamed_in_segments_that_add_up_to_the_whole(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transcript, "FLUSH_EVERY", 0.0)  # append on every delta
    words = [f"word{i} " + ("\n\nNext paragraph " if i % 40 == 39 else "") for i in range(3000)]
    words[100] = "\n\n```python\nprint('inside a fence')\n\n\nstill inside\n```\n\n"
    service = FakeService(reply=words)
    app = fake_app(service)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await send(pilot, "a long one please")
        await settle(pilot)
        reply = app.screen.query_one(AssistantMessage)
        assert reply.state == "complete"
        assert reply.text == "".join(words)
        segments = reply.segments
        assert len(segments) >= len(reply.text) // (2 * SEGMENT_CHARS)
        assert "".join(m.source for m in segments) == reply.text
        assert sum("inside a fence" in m.source and "still inside" in m.source for m in segments) == 1
