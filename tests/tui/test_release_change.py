"""Approve on change in the chat (issue 17, point 4): a reference enclave redeployed with another
release mid-conversation makes the TUI ask before the next message is sent; the gateway gets no
POST until the user accepts, and none at all when the user refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from enclave.app import Settings
from enclave.server import BackgroundEnclave
from enclave_chat.paths import resolve_policy
from tests.redeploy import NEW_VERSION, redeploy
from tests.tui.conftest import send, settle
from tui.app import EnclaveChatApp
from tui.history import History
from tui.proof import Phase
from tui.screens.chat import ChatScreen
from tui.screens.release_change import ReleaseChangeScreen
from tui.service import SessionService, Target
from tui.widgets.transcript import AssistantMessage, ReleaseLine
from verifier.release_pin import ReleaseStore

pytestmark = pytest.mark.e2e

SIZE = (120, 36)


def _app(url: str, store: ReleaseStore) -> tuple[EnclaveChatApp, list[SessionService]]:
    services: list[SessionService] = []

    def connect(target: Target) -> SessionService:
        services.append(SessionService(target, release_store=store))
        return services[-1]

    return EnclaveChatApp(target=Target(url, resolve_policy("demo")), connect=connect), services


def _chat(app: EnclaveChatApp) -> ChatScreen:
    screen = next(s for s in app.screen_stack if isinstance(s, ChatScreen))
    assert isinstance(screen, ChatScreen)
    return screen


@pytest.mark.parametrize("accept", [True, False])
async def test_a_redeployed_release_is_asked_before_the_next_message(tmp_path: Path, accept: bool) -> None:
    store = ReleaseStore(tmp_path / "releases")
    with BackgroundEnclave(Settings(token_delay=0)) as server:
        app, services = _app(server.url, store)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            screen = _chat(app)
            assert screen.state.phase is Phase.VERIFIED
            await send(pilot, "first")
            await settle(pilot)
            assert server.enclave.gateway_posts == 1
            record = store.load(server.url)
            assert record is not None and record.release.version == "0.1.0"

            redeploy(server)
            services[0].session.verified = None  # as after a rotated key: the next request re-attests
            await send(pilot, "second")
            await settle(pilot)
            assert isinstance(app.screen, ReleaseChangeScreen)
            change = app.screen.change
            assert (change.old.version, change.new.version) == ("0.1.0", NEW_VERSION)
            assert change.old.log_index is not None and change.new.log_index is not None
            assert change.new.log_index > change.old.log_index
            assert screen.state.phase is Phase.CHANGED and screen.prompt.disabled
            assert server.enclave.gateway_posts == 1  # the prompt did not go out

            await pilot.press("a" if accept else "r")
            await settle(pilot)
            assert not isinstance(app.screen, ReleaseChangeScreen)
            replies = list(screen.query(AssistantMessage))
            record = store.load(server.url)
            assert record is not None
            if accept:
                assert server.enclave.gateway_posts == 2
                assert screen.state.phase is Phase.VERIFIED
                assert replies[-1].state == "complete" and "second" in replies[-1].text
                assert record.release.version == NEW_VERSION and record.accepted_changes == 1
                assert "Accepted by you" in screen.state.note
            else:
                assert server.enclave.gateway_posts == 1
                assert screen.state.phase is Phase.CHANGED and screen.prompt.disabled
                assert record.release.version == "0.1.0"
                await pilot.press("ctrl+r")  # verify again: it asks again, still nothing is sent
                await settle(pilot)
                assert isinstance(app.screen, ReleaseChangeScreen)
                assert server.enclave.gateway_posts == 1


async def test_ctrl_r_after_a_redeploy_asks_and_the_record_survives_a_restart(tmp_path: Path) -> None:
    store = ReleaseStore(tmp_path / "releases")
    with BackgroundEnclave(Settings(token_delay=0)) as server:
        app, _ = _app(server.url, store)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            redeploy(server)
            await pilot.press("ctrl+r")
            await settle(pilot)
            assert isinstance(app.screen, ReleaseChangeScreen)
            await pilot.press("escape")  # refuse
            await settle(pilot)
            assert _chat(app).state.phase is Phase.CHANGED
        assert server.enclave.gateway_posts == 0
        # A new chat on the same service: the record (0.1.0) still differs, so it asks at once.
        app, _ = _app(server.url, store)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, ReleaseChangeScreen)
            await pilot.press("a")
            await settle(pilot)
            assert _chat(app).state.phase is Phase.VERIFIED
            await send(pilot, "now")
            await settle(pilot)
        assert server.enclave.gateway_posts == 1


async def test_the_decision_is_kept_in_the_history_and_shown_when_reopened(tmp_path: Path) -> None:
    """Issue 17, item 4: "the choice is ... shown in the history". Accepted mid-conversation, the
    release change is a row of the conversation's history, after the message that waited for it,
    and a line of the transcript when the conversation is reopened."""
    store = ReleaseStore(tmp_path / "releases")
    history = History(tmp_path / "history.sqlite3")
    with BackgroundEnclave(Settings(token_delay=0)) as server:
        app, services = _app(server.url, store)
        app.history = history
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            screen = _chat(app)
            await send(pilot, "first")
            await settle(pilot)
            redeploy(server)
            services[0].session.verified = None
            await send(pilot, "second")
            await settle(pilot)
            assert isinstance(app.screen, ReleaseChangeScreen)
            await pilot.press("a")
            await settle(pilot)
            cid = screen.conversation_id or ""
            [row] = history.release_changes(cid)
            stored = history.load(cid)
            assert stored is not None
            assert [m.content for m in stored.messages if m.role == "user"] == ["first", "second"]
            assert row.after_message == stored.messages[2].id  # after "second", before its reply
            assert (row.decision, row.old.version, row.new.version) == ("accepted", "0.1.0", NEW_VERSION)
            line = row.text()
            assert line.startswith(f"release changed from 0.1.0 (log {row.old.log_index}) to {NEW_VERSION} "
                                   f"(log {row.new.log_index}), accepted at ")
            assert [w.text for w in screen.query(ReleaseLine)] == [line]  # shown at once, too

            await pilot.press("ctrl+n")
            await settle(pilot)
            await screen.open_conversation(cid)
            await settle(pilot)
            shown = [(type(w).__name__, getattr(w, "text", "")) for w in screen.transcript.children]
            assert [kind for kind, _ in shown] == ["UserMessage", "AssistantMessage", "UserMessage",
                                                   "ReleaseLine", "AssistantMessage"]
            assert shown[3][1] == line and "You asked: *second*" in shown[4][1]
    history.close()
