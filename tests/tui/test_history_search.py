"""History search (F3, issue 17 point 5): an FTS5 index over the messages, kept by triggers and
built for a file migrated from schema 2; the query is text, never FTS5 syntax."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from textual.widgets import OptionList

from tests.tui.conftest import fake_app, settle
from tests.tui.fakes import FakeService
from tui.history import _MIGRATIONS, SCHEMA_VERSION, History
from tui.widgets.sidebar import HistorySidebar

URL = "http://127.0.0.1:1"


def _two(history: History) -> tuple[str, str]:
    a = history.create_conversation(title="snp", service_url=URL, policy_name="demo")
    history.add_message(a, "user", "What is SEV-SNP?")
    history.add_message(a, "assistant", "Secure Encrypted Virtualization with nested paging.")
    b = history.create_conversation(title="tdx", service_url=URL, policy_name="demo")
    history.add_message(b, "user", "And Intel TDX, \"trust domains\"?")
    return a, b


def test_search_finds_the_conversations_holding_every_word(tmp_path: Path) -> None:
    history = History(tmp_path / "h.sqlite3")
    assert history.has_search_index
    a, b = _two(history)
    assert [c.id for c in history.search("nested paging")] == [a]
    assert [c.id for c in history.search("ENCRYPTED")] == [a]  # any case
    assert [c.id for c in history.search("virtual")] == [a]  # the last word as a prefix
    assert [c.id for c in history.search("intel")] == [b]
    assert history.search("intel paging") == []  # every word, in one message
    assert {c.id for c in history.search("  ")} == {a, b}  # empty: all of them
    mid = history.add_message(b, "assistant", "")
    history.finish_message(mid, "a streamed answer about attestation", "complete")
    assert [c.id for c in history.search("attestation")] == [b]  # kept on update
    history.delete_conversation(a)
    assert history.search("paging") == []  # and on delete
    history.close()


@pytest.mark.parametrize("query", ['"', '"trust', "NEAR(a b)", "a OR", "-x", "col:value", "*", "^",
                                   "a AND (", "'; DROP TABLE messages; --", "\\", "%_"])
def test_fts5_syntax_in_a_query_is_searched_as_text(tmp_path: Path, query: str) -> None:
    history = History(tmp_path / "h.sqlite3")
    _two(history)
    history.search(query)  # never raises
    history.close()


def test_a_quoted_phrase_is_found_as_words(tmp_path: Path) -> None:
    history = History(tmp_path / "h.sqlite3")
    _, b = _two(history)
    assert [c.id for c in history.search('"trust domains"')] == [b]
    history.close()


def test_a_schema_2_file_is_migrated_and_its_messages_indexed(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(_MIGRATIONS[1])
    db.executescript(_MIGRATIONS[2])
    db.execute(f"INSERT INTO conversations VALUES ('{'a' * 32}', 'old', '2025-01-01T00:00:00Z',"
               f" '2025-01-01T00:00:00Z', '{URL}', 'demo', NULL, NULL)")
    db.execute(f"INSERT INTO messages (conversation_id, role, content, state, created) VALUES"
               f" ('{'a' * 32}', 'user', 'an older question about enclaves', 'complete', '2025-01-01T00:00:00Z')")
    db.execute("PRAGMA user_version=2")
    db.commit()
    db.close()
    history = History(path)
    assert history.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert [c.id for c in history.search("enclaves")] == ["a" * 32]
    history.close()


async def test_the_sidebar_search_field_filters_the_list(tmp_path: Path) -> None:
    history = History(tmp_path / "h.sqlite3")
    _, b = _two(history)
    app = fake_app(FakeService(), history=history)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        sidebar = app.screen.query_one(HistorySidebar)
        options = sidebar.query_one("#conversations", OptionList)
        assert options.option_count == 2
        sidebar.query_one("#history-search").focus()
        for key in "intel":
            await pilot.press(key)
        await pilot.pause()
        assert [options.get_option_at_index(i).id
                for i in range(options.option_count)] == [b]
        for key in " nothing":
            await pilot.press("space" if key == " " else key)
        await pilot.pause()
        assert options.option_count == 0
    history.close()
