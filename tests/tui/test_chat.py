"""The chat screen driven with Pilot against a fake service: fixed results, no network."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tests.tui.conftest import fake_app, send, settle
from tests.tui.fakes import FakeService
from tui.history import History
from tui.proof import Phase
from tui.screens.chat import ChatScreen
from tui.screens.details import DetailsScreen
from tui.screens.dialogs import ModelPicker, PathScreen, SystemPromptScreen
from tui.widgets.prompt import PromptInput
from tui.widgets.proof import DemoBanner, RefusalView, StatusLine
from tui.widgets.transcript import AssistantMessage, UserMessage

SIZE = (120, 36)


def chat(app: object) -> ChatScreen:
    screen = app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, ChatScreen)
    return screen


async def test_verified_chat_streams_a_markdown_reply() -> None:
    service = FakeService()
    app = fake_app(service)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = chat(app)
        assert screen.state.phase is Phase.VERIFIED
        assert not screen.query_one(PromptInput).disabled
        assert screen.query_one(StatusLine).has_class("-verified")
        await send(pilot, "What is SEV-SNP?")
        await settle(pilot)
        assert service.sent == [[{"role": "user", "content": "What is SEV-SNP?"}]]
        reply = screen.query_one(AssistantMessage)
        assert reply.state == "complete"
        assert reply.text == "Hello from the **fake** enclave."
        assert reply.body.source == reply.text  # re-rendered whole at the end
        assert [m.role for m in screen.messages] == ["user", "assistant"]
        assert screen.query_one(PromptInput).text == ""


async def test_refused_verification_disables_input_and_names_the_check() -> None:
    service = FakeService(refuse=True)
    app = fake_app(service)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = chat(app)
        assert screen.state.phase is Phase.REFUSED
        prompt = screen.query_one(PromptInput)
        assert prompt.disabled
        refusal = screen.query_one(RefusalView)
        assert refusal.display
        text = str(refusal.render())
        assert "release.measurement" in text
        assert "never published" in text  # the check's own sentence
        assert "What you can do" in text
        assert screen.query_one(StatusLine).has_class("-refused")
        assert not screen.query_one(StatusLine).has_class("-verified")
        # No way around it: typing and the send key do nothing, the action refuses too.
        prompt.insert("secret")
        await pilot.press("enter")
        prompt.action_submit()
        await settle(pilot)
        assert service.sent == []
        assert not screen.query(UserMessage)


async def test_unreachable_service_gives_an_actionable_message() -> None:
    service = FakeService(unreachable=True)
    app = fake_app(service)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = chat(app)
        assert screen.state.phase is Phase.UNREACHABLE
        text = str(screen.query_one(RefusalView).render())
        assert "could not be reached" in text
        assert "check the URL" in text
        assert screen.query_one(PromptInput).disabled


async def test_escape_cancels_a_reply_and_keeps_what_arrived(tmp_path: Path) -> None:
    hold = asyncio.Event()
    service = FakeService(hold=hold)
    history = History(tmp_path / "data" / "history.sqlite3")
    app = fake_app(service, history=history)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = chat(app)
        await send(pilot, "tell me a long story")
        for _ in range(100):  # until the first delta is on screen
            await pilot.pause()
            if screen.query(AssistantMessage) and screen.query_one(AssistantMessage).text:
                break
        await pilot.press("escape")
        await settle(pilot)
        reply = screen.query_one(AssistantMessage)
        assert reply.state == "cancelled"
        assert reply.text == "Hello"
        assert reply.query_one(".note").has_class("-cancelled")
        assert "cancelled" in str(reply.query_one(".note").render())
        assert screen.messages[-1].state == "cancelled"
        stored = history.load(screen.conversation_id or "")
        assert stored is not None and stored.messages[-1].state == "cancelled"
        assert stored.messages[-1].content == "Hello"


async def test_a_truncated_reply_is_marked_incomplete() -> None:
    service = FakeService(truncate=True)
    app = fake_app(service)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = chat(app)
        await send(pilot, "hi")
        await settle(pilot)
        reply = screen.query_one(AssistantMessage)
        assert reply.state == "incomplete"
        assert reply.query_one(".note").has_class("-incomplete")
        assert "INCOMPLETE" in str(reply.query_one(".note").render())


async def test_ctrl_r_verifies_again_with_a_fresh_attestation() -> None:
    service = FakeService()
    app = fake_app(service)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert service.attestations == 1
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert service.attestations == 2
        assert chat(app).state.phase is Phase.VERIFIED


async def test_reverify_after_the_service_turns_bad_disables_input() -> None:
    service = FakeService()
    app = fake_app(service)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        service.refuse = True
        await pilot.press("ctrl+r")
        await settle(pilot)
        screen = chat(app)
        assert screen.state.phase is Phase.REFUSED
        assert screen.query_one(PromptInput).disabled


async def test_the_demo_banner_is_on_every_screen(tmp_path: Path) -> None:
    service = FakeService()
    app = fake_app(service, tmp=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await send(pilot, "hi")
        await settle(pilot)
        seen = []
        for key, kind in (("f2", DetailsScreen), ("f4", ModelPicker), ("f5", SystemPromptScreen),
                          ("f7", PathScreen)):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, kind), key
            banner = app.screen.query_one(DemoBanner)
            assert banner.display and banner.region.height == 1
            seen.append(kind)
            app.pop_screen()
            await pilot.pause()
        assert chat(app).query_one(DemoBanner).region.height == 1
        assert len(seen) == 4
        assert "INSECURE DEMO" in str(chat(app).query_one("#status-demo").render())


async def test_details_show_every_check_and_the_json() -> None:
    service = FakeService(refuse=True)
    app = fake_app(service)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        details = app.screen
        assert isinstance(details, DetailsScreen)
        checks = str(details.query_one("#details-checks").render())
        for check in service.last_result.checks:  # type: ignore[union-attr]
            assert check.id in checks
        doc = json.loads(str(details.query_one("#details-json").render()))
        assert doc["verified"] is False and doc["checks"][10]["id"] == "release.measurement"


async def test_model_picker_and_system_prompt_shape_the_request() -> None:
    service = FakeService()
    app = fake_app(service)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        assert isinstance(app.screen, ModelPicker)
        await pilot.press("down", "enter")
        await settle(pilot)
        screen = chat(app)
        assert screen.model == "enclave-demo-2"
        await pilot.press("f5")
        await settle(pilot)
        assert isinstance(app.screen, SystemPromptScreen)
        app.screen.query_one("#system-text").insert("Answer in French.")  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert screen.system_prompt == "Answer in French."
        await send(pilot, "hi")
        await settle(pilot)
        assert service.sent[-1][0] == {"role": "system", "content": "Answer in French."}
        assert "enclave-demo-2" in str(screen.query_one(AssistantMessage).query_one(".who").render())


async def test_copy_and_export(tmp_path: Path) -> None:
    service = FakeService()
    app = fake_app(service, tmp=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await send(pilot, "hi")
        await settle(pilot)
        await pilot.press("f6")
        await settle(pilot)
        assert app.clipboard == "Hello from the **fake** enclave."
        for name in ("chat.md", "chat.json"):
            await pilot.press("f7")
            await settle(pilot)
            field = app.screen.query_one("#path")
            field.value = str(tmp_path / name)  # type: ignore[attr-defined]
            await pilot.press("enter")
            await settle(pilot)
        markdown = (tmp_path / "chat.md").read_text()
        assert "## You\n\nhi" in markdown and "Hello from the **fake** enclave." in markdown
        doc = json.loads((tmp_path / "chat.json").read_text())
        assert [m["role"] for m in doc["messages"]] == ["user", "assistant"]
        assert doc["attestation"]["verified"] is True
        assert (tmp_path / "chat.json").stat().st_mode & 0o777 == 0o600


async def test_new_chat_starts_empty() -> None:
    service = FakeService()
    app = fake_app(service)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await send(pilot, "first")
        await settle(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        screen = chat(app)
        assert screen.messages == [] and not screen.query(UserMessage)
        await send(pilot, "second")
        await settle(pilot)
        assert service.sent[-1] == [{"role": "user", "content": "second"}]
