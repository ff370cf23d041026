"""Saved conversations: the SQLite file's shape and modes, reopening from the sidebar, and
--no-history keeping nothing on disk."""

from __future__ import annotations

import datetime as dt
import sqlite3
import stat
from pathlib import Path

import pytest

from enclave_chat.tui_entry import build_app
from tests.tui.conftest import fake_app, send, settle
from tests.tui.fakes import FakeService, fixed_result
from tui.config import Config
from tui.history import _MIGRATIONS, _SEARCH_INDEX, SCHEMA_VERSION, History, HistoryError
from tui.screens.chat import ChatScreen
from tui.screens.release_change import ReleaseChangeScreen
from tui.widgets.sidebar import HistorySidebar
from tui.widgets.transcript import PAGE, AssistantMessage, EarlierMessages, ReleaseLine, UserMessage
from verifier.release_pin import ReleaseChange, ReleaseSummary

SIZE = (120, 36)


def test_the_file_is_private_wal_and_versioned(tmp_path: Path) -> None:
    path = tmp_path / "data" / "history.sqlite3"
    history = History(path)
    cid = history.create_conversation(title="t", service_url="http://127.0.0.1:1", policy_name="demo")
    history.add_message(cid, "user", "hi")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for side in path.parent.glob("history.sqlite3-*"):
        assert stat.S_IMODE(side.stat().st_mode) == 0o600, side
    assert history.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert history.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    history.close()


def test_a_newer_schema_is_refused_not_clobbered(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(HistoryError, match="schema"):
        History(path)


def test_each_message_records_its_attestation(tmp_path: Path) -> None:
    history = History(tmp_path / "h.sqlite3")
    cid = history.create_conversation(title="t", service_url="u", policy_name="demo")
    result = fixed_result()
    a = history.record_attestation(cid, result)
    assert history.record_attestation(cid, result) == a  # one row per nonce
    mid = history.add_message(cid, "user", "hi", attestation_id=a)
    stored = history.load(cid)
    assert stored is not None and stored.messages[0].id == mid
    doc = history.attestation_json(a)
    assert doc is not None and doc["nonce"] == result.nonce.hex() and doc["verified"] is True  # type: ignore[union-attr]


async def test_a_saved_conversation_reopens_from_the_sidebar(tmp_path: Path) -> None:
    history = History(tmp_path / "h.sqlite3")
    service = FakeService()
    app = fake_app(service, history=history)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await send(pilot, "remember this")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        first = screen.conversation_id
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert not screen.query(UserMessage)
        await pilot.press("f3")
        await settle(pilot)
        sidebar = screen.query_one(HistorySidebar)
        assert sidebar.display
        await pilot.press("enter")  # the newest conversation is highlighted first
        await settle(pilot)
        assert screen.conversation_id == first
        assert [str(w.text) for w in screen.query(UserMessage)] == ["remember this"]
        assert screen.query_one(AssistantMessage).text == "Hello from the **fake** enclave."
        # Going on with it adds to the same conversation and sends the earlier turns along.
        screen.query_one("#prompt").focus()
        await send(pilot, "and this")
        await settle(pilot)
        assert [m["content"] for m in service.sent[-1]] == [
            "remember this", "Hello from the **fake** enclave.", "and this"]
    stored = history.load(first or "")
    assert stored is not None and len(stored.messages) == 4


async def test_a_long_conversation_opens_at_its_last_page(tmp_path: Path) -> None:
    history = History(tmp_path / "h.sqlite3")
    cid = history.create_conversation(title="long", service_url="u", policy_name="demo")
    history.add_messages(cid, [("user" if i % 2 == 0 else "assistant", f"message {i}", "complete")
                               for i in range(1000)])
    app = fake_app(FakeService(), history=history)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await screen.open_conversation(cid)
        await settle(pilot)
        shown = screen.query(".message")
        assert len(shown) == PAGE
        assert len(screen.messages) == 1000
        button = screen.query_one(EarlierMessages)
        assert button.remaining == 1000 - PAGE
        button.press()
        await settle(pilot)
        assert len(screen.query(".message")) == 2 * PAGE


async def test_no_history_leaves_no_file(user_dirs: Path) -> None:
    service = FakeService()
    app = build_app(url=service.target.url, policy="demo", provider="native", no_history=True,
                    config=Config())
    app.connect = lambda _t: service
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await send(pilot, "keep nothing")
        await settle(pilot)
        assert app.history is None
        assert service.sent  # the exchange happened
        await pilot.press("f3")
        await settle(pilot)
        assert "nothing is saved" in str(app.screen.query_one("#history-off").render())
    written = [p for p in user_dirs.rglob("*") if p.is_file()]
    assert written == []


async def test_history_off_in_the_config_also_keeps_nothing(user_dirs: Path) -> None:
    service = FakeService()
    app = build_app(url=service.target.url, policy="demo", provider="native", no_history=False,
                    config=Config(history=False))
    app.connect = lambda _t: service
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await send(pilot, "keep nothing")
        await settle(pilot)
    assert [p for p in user_dirs.rglob("*") if p.is_file()] == []


def _change() -> ReleaseChange:
    old = ReleaseSummary("a1b2c3d4" * 12, "0.1.0", "sha256:" + "5e6f7a8b" * 8, 0)
    new = ReleaseSummary("a1b2c3d4" * 12, "0.2.0", "sha256:" + "5e6f7a8b" * 8, 1)
    return ReleaseChange("http://127.0.0.1:8700", old, new, dt.datetime(2025, 1, 2, 3, 0, tzinfo=dt.UTC),
                         dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC))


def test_a_schema_3_file_is_migrated_to_release_changes_and_superseded_messages(tmp_path: Path) -> None:
    """Schema 4 adds ``release_changes`` and ``messages.superseded`` to a schema 3 file (its search
    index and triggers still work on the altered table)."""
    path = tmp_path / "h.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(_MIGRATIONS[1])
    db.executescript(_MIGRATIONS[2])
    for statement in _SEARCH_INDEX:
        db.execute(statement)
    cid = "b" * 32
    db.execute(f"INSERT INTO conversations VALUES ('{cid}', 'old', '2025-01-01T00:00:00Z',"
               " '2025-01-01T00:00:00Z', 'u', 'demo', NULL, NULL)")
    db.execute(f"INSERT INTO messages (conversation_id, role, content, state, created) VALUES"
               f" ('{cid}', 'user', 'a question from schema three', 'complete', '2025-01-01T00:00:00Z')")
    db.execute("PRAGMA user_version=3")
    db.commit()
    db.close()
    history = History(path)
    assert history.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
    stored = history.load(cid)
    assert stored is not None and stored.messages[0].superseded is None and stored.release_changes == ()
    history.record_release_change(cid, _change(), "accepted", "2025-01-02T03:05:00Z")
    mid = history.add_message(cid, "assistant", "an answer after the change")
    history.supersede_messages([mid])
    assert [c.id for c in history.search("schema three")] == [cid]
    stored = history.load(cid)
    assert stored is not None
    [change] = stored.release_changes
    assert change.after_message == stored.messages[0].id and change.decision == "accepted"
    assert change.text() == ("release changed from 0.1.0 (log 0) to 0.2.0 (log 1), accepted at "
                             "2025-01-02T03:05:00Z")
    assert stored.messages[1].superseded is not None and [m.id for m in stored.current] == [stored.messages[0].id]
    history.delete_conversation(cid)
    assert history.db.execute("SELECT COUNT(*) FROM release_changes").fetchone()[0] == 0
    history.close()


async def test_a_release_change_accepted_before_the_first_message_is_kept_with_it(tmp_path: Path) -> None:
    """Accepted in the dialog before anything was said: the line shows at once, and is recorded
    when the conversation is saved (with its first message); reopened, it is at the top."""
    history = History(tmp_path / "h.sqlite3")
    service = FakeService(release_change=_change())
    app = fake_app(service, history=history)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ReleaseChangeScreen)
        await pilot.press("a")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        line = "release changed from 0.1.0 (log 0) to 0.2.0 (log 1), accepted at 2025-07-01T12:00:00Z"
        assert [w.text for w in screen.query(ReleaseLine)] == [line]
        assert history.conversations() == []  # nothing is saved before the first message
        await send(pilot, "after the change")
        await settle(pilot)
        cid = screen.conversation_id or ""
        [row] = history.release_changes(cid)
        assert row.after_message is None and row.text() == line
        assert [m["content"] for m in service.sent[-1]] == ["after the change"]  # the line is never sent
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert not screen.query(ReleaseLine)
        await screen.open_conversation(cid)
        await settle(pilot)
        kinds = [type(w).__name__ for w in screen.transcript.children]
        assert kinds == ["ReleaseLine", "UserMessage", "AssistantMessage"]
        assert screen.query_one(ReleaseLine).text == line
    history.close()
