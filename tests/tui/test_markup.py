"""Issue 12, finding 3: text from a service or a file is shown as plain text, never parsed as
Rich/Textual markup. A service whose error names the media type ``text/[/]html`` ended the app
with a ``MarkupError``; a model id with ``[/]`` crashed the model picker; the reply's label used the
model name the same way. Each test shows such text and asserts the app still runs and shows it
literally."""

from __future__ import annotations

from pathlib import Path

from textual.app import App
from textual.geometry import Region
from textual.widgets import Label, OptionList
from textual.widgets._toast import Toast

from tests.tui.conftest import fake_app, send, settle
from tests.tui.fakes import FakeService
from tui.app import EnclaveChatApp
from tui.config import Config
from tui.history import History
from tui.screens.chat import ChatScreen
from tui.screens.details import DetailsScreen
from tui.screens.dialogs import ModelPicker, PathScreen
from tui.widgets.proof import RefusalView
from tui.widgets.sidebar import HistorySidebar
from tui.widgets.transcript import AssistantMessage
from verifier.errors import InputError, ProtocolError

SIZE = (120, 36)

HOSTILE = "text/[/]html [bold]loud[/bold] [link=https://evil.example]click[/link] [@click=app.quit]q[/]"
"""Markup that would close a tag never opened (MarkupError), style text, make a link, or bind an
action, were it parsed."""

HOSTILE_IDS = ("model[/]1", "[bold]model-2", "[link=https://evil.example]model-3", "[@click=app.quit]m4")


def chat(app: App[object]) -> ChatScreen:
    screen = app.screen
    assert isinstance(screen, ChatScreen)
    return screen


def toasts(app: App[object]) -> list[str]:
    """What every notification on screen says (each rendered, as the terminal would show it)."""
    return [str(toast.render()) for toast in app.screen.query(Toast)]


async def test_a_model_list_error_with_markup_is_a_literal_notification() -> None:
    service = FakeService(models_error=ProtocolError(
        f"the gateway answered {HOSTILE} instead of an encrypted response"))
    app = fake_app(service)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        assert app.is_running
        shown = toasts(app)
        assert any(f"Could not list models: the gateway answered {HOSTILE}" in t for t in shown), shown
        assert isinstance(app.screen, ChatScreen)


async def test_model_ids_with_markup_are_listed_chosen_and_labelled_literally() -> None:
    # An id listed twice is one choice (OptionList refuses duplicate ids); control characters in
    # an id are shown escaped, on one line.
    service = FakeService(models_list=(*HOSTILE_IDS, "model[/]1", "two\nlines\x1b[2J"))
    app = fake_app(service)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        assert app.is_running
        picker = app.screen
        assert isinstance(picker, ModelPicker)
        options = picker.query_one(OptionList)
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert [p.strip() for p in prompts] == [*HOSTILE_IDS, "two lines\\x1b[2J"]
        crop = Region(0, 0, options.size.width, options.size.height)
        rendered = "\n".join(line.text for line in options.render_lines(crop))
        assert "model[/]1" in rendered and "[bold]model-2" in rendered
        await pilot.press("enter")  # the first: model[/]1
        await settle(pilot)
        screen = chat(app)
        assert screen.model == "model[/]1"
        assert "model: model[/]1" in str(screen.query_one("#chat-info", Label).render())
        await send(pilot, "hello")
        await settle(pilot)
        assert app.is_running
        reply = screen.query_one(AssistantMessage)
        assert str(reply.query_one(".who", Label).render()) == "model[/]1"
        assert reply.state == "complete"
        # Picking again marks the current one; the mark and the id stay literal.
        await pilot.press("f4")
        await settle(pilot)
        options = app.screen.query_one(OptionList)
        assert str(options.get_option_at_index(0).prompt) == "● model[/]1"


async def test_a_reopened_conversation_labels_replies_with_its_model_literally(tmp_path: Path) -> None:
    history = History(tmp_path / "history.sqlite3")
    cid = history.create_conversation(title="[bold]title[/] from a file [/]", service_url="http://127.0.0.1:8700",
                                      policy_name="demo", model="[/]stored-model", system_prompt="[/]sys")
    history.add_message(cid, "user", "[/]question", state="complete")
    history.add_message(cid, "assistant", "an answer", state="error")
    app = fake_app(FakeService(), history=history)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        sidebar = app.screen.query_one(HistorySidebar)
        options = sidebar.query_one(OptionList)
        assert str(options.get_option_at_index(0).prompt).startswith("[bold]title[/] from a file [/]")
        await pilot.press("enter")
        await settle(pilot)
        assert app.is_running
        screen = chat(app)
        reply = screen.query_one(AssistantMessage)
        assert str(reply.query_one(".who", Label).render()) == "[/]stored-model"
        info = str(screen.query_one("#chat-info", Label).render())
        assert "[bold]title[/] from a file [/]" in info and "model: [/]stored-model" in info


async def test_a_reply_error_with_markup_is_a_literal_note() -> None:
    service = FakeService(reply=("partial [/] [bold]reply",),
                          reply_error=ProtocolError(f"the model answered {HOSTILE}\nline two\x1b[2J"))
    app = fake_app(service)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await send(pilot, "hello")
        await settle(pilot)
        assert app.is_running
        reply = chat(app).query_one(AssistantMessage)
        assert reply.state == "error"
        # One line, the escape shown escaped, the markup as it is.
        assert str(reply.query_one(".note", Label).render()) == \
            f"error: the model answered {HOSTILE} line two\\x1b[2J"
        # The reply itself is Markdown, which has no Rich markup: the brackets stay as they are.
        shown = "".join(str(block.render()) for block in reply.body.query("MarkdownParagraph"))
        assert shown == "partial [/] [bold]reply"


async def test_an_attestation_error_with_markup_is_a_literal_refusal() -> None:
    service = FakeService(attest_error=ProtocolError(f"the service answered {HOSTILE}\r\nline two\x9b"))
    app = fake_app(service)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        assert app.is_running
        lines = str(chat(app).query_one(RefusalView).render()).split("\n")
        assert lines[1] == f"the service answered {HOSTILE} line two\\x9b"  # one line, literally


async def test_a_startup_error_and_a_theme_from_the_config_are_literal_notifications() -> None:
    service = FakeService()
    app = EnclaveChatApp(target=service.target, connect=lambda _t: service,
                         config=Config(theme="[/]no-such-theme"), error=f"config.toml: {HOSTILE}")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        assert app.is_running
        shown = toasts(app)
        assert any(f"config.toml: {HOSTILE}" in t for t in shown), shown
        assert any("Unknown theme '[/]no-such-theme'" in t for t in shown), shown


async def test_an_export_error_naming_a_path_with_markup_is_literal(tmp_path: Path) -> None:
    blocker = tmp_path / "[bold]not-a-folder"
    blocker.write_text("a file, not a folder")
    app = fake_app(FakeService())
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await send(pilot, "hello")
        await settle(pilot)
        await pilot.press("f7")
        await settle(pilot)
        assert isinstance(app.screen, PathScreen)
        field = app.screen.query_one("#path")
        field.value = str(blocker / "[@click=app.quit]chat.md")  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(pilot)
        assert app.is_running
        shown = toasts(app)
        assert any("Could not export:" in t and "[bold]not-a-folder" in t for t in shown), shown


async def test_a_save_error_with_markup_is_literal(tmp_path: Path) -> None:
    from verifier.recording import Exchange

    exchange = Exchange("GET", "http://127.0.0.1:8700/.well-known/attestation", 200,
                        (("content-type", "application/json"),), b"{}")
    service = FakeService(exchanges=[exchange], save_error=InputError(f"cannot save: {HOSTILE}"))
    app = fake_app(service, tmp=tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        assert isinstance(app.screen, DetailsScreen)
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.is_running
        shown = toasts(app)
        assert any(f"Could not save the evidence: cannot save: {HOSTILE}" in t for t in shown), shown
