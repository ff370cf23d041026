"""Regenerate the last reply (Ctrl+G), edit and resend the last message (Ctrl+O), and the model
picker fed by the service's ``/v1/models`` (issue 17, item 5), against the reference enclave
(INSECURE DEMO): what the enclave received is read off its demo model's reply, which quotes the
last question and counts the messages it was sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from enclave.model import MODEL_ID
from enclave.server import BackgroundEnclave
from enclave_chat.paths import resolve_policy
from tests.tui.conftest import fake_app, send, settle
from tests.tui.fakes import FakeService
from tui.app import EnclaveChatApp
from tui.history import History
from tui.proof import Phase
from tui.screens.chat import ChatScreen
from tui.screens.dialogs import ModelPicker
from tui.service import SessionService, Target
from tui.widgets.transcript import AssistantMessage, UserMessage

SIZE = (120, 36)


def _app(url: str, history: History | None) -> EnclaveChatApp:
    return EnclaveChatApp(target=Target(url, resolve_policy("demo")), connect=SessionService, history=history)


def _chat(app: EnclaveChatApp) -> ChatScreen:
    assert isinstance(app.screen, ChatScreen)
    return app.screen


def _shown(screen: ChatScreen) -> list[tuple[str, str]]:
    return [("user" if isinstance(w, UserMessage) else "assistant", str(w.text))
            for w in screen.transcript.children if isinstance(w, (UserMessage, AssistantMessage))]


@pytest.mark.e2e
async def test_regenerate_sends_the_same_conversation_again(enclave: BackgroundEnclave, tmp_path: Path) -> None:
    history = History(tmp_path / "h.sqlite3")
    app = _app(enclave.url, history)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = _chat(app)
        await send(pilot, "What is SEV-SNP?")
        await settle(pilot)
        posts = enclave.enclave.gateway_posts
        first = screen.query_one(AssistantMessage).text
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert enclave.enclave.gateway_posts == posts + 1
        [(_, question), (_, reply)] = _shown(screen)
        assert question == "What is SEV-SNP?"
        # The enclave got the question alone again: not the reply it replaces.
        assert "You asked: *What is SEV-SNP?*" in reply and "messages in this conversation: 1" in reply
        assert reply == first and screen.query_one(AssistantMessage).state == "complete"
        cid = screen.conversation_id or ""
    stored = history.load(cid)
    assert stored is not None
    assert [(m.role, m.superseded is not None) for m in stored.messages] == [
        ("user", False), ("assistant", True), ("assistant", False)]
    assert [m.role for m in stored.current] == ["user", "assistant"]
    assert all(m.attestation_id is not None for m in stored.messages)
    history.close()


@pytest.mark.e2e
async def test_edit_puts_the_last_message_back_and_sends_the_edited_one(enclave: BackgroundEnclave,
                                                                        tmp_path: Path) -> None:
    history = History(tmp_path / "h.sqlite3")
    app = _app(enclave.url, history)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = _chat(app)
        await send(pilot, "first")
        await settle(pilot)
        await send(pilot, "secnod")
        await settle(pilot)
        posts = enclave.enclave.gateway_posts
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert enclave.enclave.gateway_posts == posts  # editing sends nothing
        assert screen.prompt.text == "secnod"
        assert [role for role, _ in _shown(screen)] == ["user", "assistant"]
        stored = history.load(screen.conversation_id or "")
        assert stored is not None and len(stored.messages) == 4
        assert [m.role for m in stored.current] == ["user", "assistant"] and stored.current[0].content == "first"

        screen.prompt.load_text("second")
        await pilot.press("enter")
        await settle(pilot)
        assert enclave.enclave.gateway_posts == posts + 1
        shown = _shown(screen)
        assert [text for role, text in shown if role == "user"] == ["first", "second"]
        reply = shown[-1][1]
        # first, its reply, and the edited question: the old one went nowhere.
        assert "You asked: *second*" in reply and "messages in this conversation: 3" in reply
        cid = screen.conversation_id or ""
    stored = history.load(cid)
    assert stored is not None
    assert [m.content for m in stored.current if m.role == "user"] == ["first", "second"]
    assert [m.role for m in stored.messages if m.superseded is not None] == ["user", "assistant"]
    assert next(m.content for m in stored.messages if m.superseded is not None) == "secnod"
    history.close()
    # Reopened, the conversation is the edited one.
    history = History(tmp_path / "h.sqlite3")
    app = _app(enclave.url, history)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = _chat(app)
        await screen.open_conversation(cid)
        await settle(pilot)
        assert [text for role, text in _shown(screen) if role == "user"] == ["first", "second"]
    history.close()


@pytest.mark.e2e
async def test_the_model_picker_lists_the_services_models(enclave: BackgroundEnclave) -> None:
    """F4: the list is what the enclave's ``/v1/models`` answers, asked through its gateway."""
    app = _app(enclave.url, None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        posts = enclave.enclave.gateway_posts
        await pilot.press("f4")
        await settle(pilot)
        picker = app.screen
        assert isinstance(picker, ModelPicker)
        assert picker.models == [MODEL_ID] == ["enclave-demo-1"]
        assert enclave.enclave.gateway_posts == posts + 1  # over the attested channel
        await pilot.press("enter")
        await settle(pilot)
        screen = _chat(app)
        assert screen.model == MODEL_ID
        await send(pilot, "hi")
        await settle(pilot)
        assert MODEL_ID in str(screen.query_one(AssistantMessage).query_one(".who").render())


async def test_nothing_is_regenerated_unless_verified_and_not_while_a_reply_arrives() -> None:
    service = FakeService()
    app = fake_app(service)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await pilot.press("ctrl+g")  # nothing to answer again yet
        await settle(pilot)
        assert service.sent == []
        await send(pilot, "hi")
        await settle(pilot)
        service.refuse = True
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert screen.state.phase is Phase.REFUSED
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert len(service.sent) == 1 and len(screen.query(AssistantMessage)) == 1
        assert screen.check_action("regenerate", ()) is None  # greyed out in the palette and footer
        # Editing sends nothing, so it works while refused: the text waits in the (disabled) input.
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert screen.prompt.text == "hi" and not screen.query(UserMessage) and len(service.sent) == 1
