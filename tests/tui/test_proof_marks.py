"""Proof per message (issue 17, item 3): each message in the transcript is marked with the release
it went to, ``F2`` on a focused message opens that attestation, and the history keeps the link
(and, against the reference enclave, the attestation's evidence once)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from enclave.server import BackgroundEnclave
from enclave_chat.paths import resolve_policy
from tests.tui.conftest import fake_app, send, settle
from tests.tui.fakes import FakeService, fixed_result
from tui.app import EnclaveChatApp
from tui.history import EVIDENCE_DIR, POLICY_FILE, History
from tui.screens.chat import ChatScreen
from tui.screens.details import DetailsScreen
from tui.screens.message_proof import MessageProofScreen
from tui.service import SessionService, Target
from tui.widgets.transcript import AssistantMessage, Sent, UserMessage

SIZE = (120, 36)


def chat(app: object) -> ChatScreen:
    screen = app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, ChatScreen)
    return screen


def marker(widget: Sent) -> str:
    return str(widget.query_one(".marker").render())


def proof_text(app: object) -> str:
    screen = app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, MessageProofScreen)
    return str(screen.query_one("#message-proof").render())


async def test_each_message_is_marked_and_f2_on_it_opens_its_proof() -> None:
    app = fake_app(FakeService())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await send(pilot, "hello")
        await settle(pilot)
        screen = chat(app)
        user, reply = screen.query_one(UserMessage), screen.query_one(AssistantMessage)
        assert marker(user) == "→ release 0.1.0"
        assert marker(reply) == "← release 0.1.0"
        # F2 with the input focused: the current attestation's details, as before.
        await pilot.press("f2")
        await settle(pilot)
        assert isinstance(app.screen, DetailsScreen)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("shift+tab", "shift+tab")  # from the input to the reply, then to the message
        await settle(pilot)
        assert app.focused is user
        await pilot.press("f2")
        await settle(pilot)
        text = proof_text(app)
        assert "your message went under" in text and "Release: 0.1.0" in text
        assert "✓ release.measurement" in text and "Not kept: this session keeps no history" in text
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ChatScreen)


async def test_the_history_links_each_message_and_a_reopened_one_keeps_its_mark(tmp_path: Path) -> None:
    history = History(tmp_path / "data" / "history.sqlite3")
    old = history.create_conversation(title="older", service_url="u", policy_name="demo")
    history.add_message(old, "user", "sent before attestations were recorded")
    app = fake_app(FakeService(), history=history)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await send(pilot, "remember where this went")
        await settle(pilot)
        screen = chat(app)
        cid = screen.conversation_id or ""
        stored = history.load(cid)
        assert stored is not None and [m.role for m in stored.messages] == ["user", "assistant"]
        ids = {m.attestation_id for m in stored.messages}
        assert len(ids) == 1 and None not in ids
        [attestation] = history.attestations(cid)
        assert attestation.id in ids and attestation.release.version == "0.1.0"
        assert attestation.evidence is None  # the fake service has no recording to keep
        # Reopened from the history: the mark and the proof come from the file.
        await screen.open_conversation(cid)
        await settle(pilot)
        user = screen.query_one(UserMessage)
        assert marker(user) == "→ release 0.1.0"
        assert user.sent is not None and user.sent.attestation_id == attestation.id
        user.focus()
        await pilot.press("f2")
        await settle(pilot)
        assert "Attestation: #" in proof_text(app) and "without its" in proof_text(app)
        await pilot.press("escape")
        await screen.open_conversation(old)
        await settle(pilot)
        user = screen.query_one(UserMessage)
        assert marker(user) == "no attestation recorded"
        user.focus()
        await pilot.press("f2")
        await settle(pilot)
        assert "No attestation is recorded for this message" in proof_text(app)


async def test_a_message_that_could_not_go_out_is_marked_and_linked_when_it_does(tmp_path: Path) -> None:
    history = History(tmp_path / "h.sqlite3")
    service = FakeService()
    app = fake_app(service, history=history)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        service.last_result = fixed_result(refused=True)  # the session no longer verifies
        await send(pilot, "not yet")
        await settle(pilot)
        screen = chat(app)
        first = screen.query_one(UserMessage)
        assert marker(first) == "not sent: the service no longer verified"
        stored = history.load(screen.conversation_id or "")
        assert stored is not None and stored.messages[0].attestation_id is None
        await pilot.press("ctrl+r")  # verifies again
        await settle(pilot)
        await send(pilot, "now")
        await settle(pilot)
        # The first message went out with the second (every request carries the conversation).
        assert service.sent[-1][0]["content"] == "not yet"
        assert marker(first) == "→ release 0.1.0"
        stored = history.load(screen.conversation_id or "")
        assert stored is not None
        assert [m.attestation_id is not None for m in stored.messages if m.role == "user"] == [True, True]


@pytest.mark.e2e
async def test_a_chat_with_the_enclave_keeps_each_attestation_once(enclave: BackgroundEnclave,
                                                                   tmp_path: Path) -> None:
    history = History(tmp_path / "data" / "history.sqlite3")
    app = EnclaveChatApp(target=Target(enclave.url, resolve_policy("demo")), connect=SessionService,
                         history=history)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await send(pilot, "first")
        await settle(pilot)
        await send(pilot, "second")
        await settle(pilot)
        screen = chat(app)
        user = screen.query(UserMessage).first()
        assert marker(user).startswith("→ release 0.1.0 · log ")
        user.focus()
        await pilot.press("f2")
        await settle(pilot)
        text = proof_text(app)
        assert "Kept in " in text and "/.well-known/attestation" in text and "history verify" in text
    [conversation] = history.conversations()
    stored = history.load(conversation.id)
    assert stored is not None and len(stored.messages) == 4
    [attestation] = history.attestations(conversation.id)
    assert {m.attestation_id for m in stored.messages} == {attestation.id}
    assert attestation.verified and attestation.provider and attestation.release.log_index is not None
    folder = history.evidence_path(attestation.evidence)
    assert folder is not None and folder.parent == tmp_path / "data" / EVIDENCE_DIR
    assert attestation.evidence == attestation.nonce  # one recording per attestation, by its nonce
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert {"manifest.json", "result.json", POLICY_FILE} <= {p.name for p in files}
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
    assert [p.name for p in (tmp_path / "data" / EVIDENCE_DIR).iterdir()] == [folder.name]
    history.delete_conversation(conversation.id)  # its evidence goes with it
    assert not folder.exists()
    history.close()
