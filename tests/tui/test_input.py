"""The message input takes a burst of keys exactly as typed (issue 17, item 1).

A burst is what a fast paste, ``tmux send-keys "text" Enter`` or a slow machine delivers: many
keys in one read, all queued before the app handles the first. These tests feed the bytes through
Textual's own terminal parser (the one the Linux driver uses) and post every event it yields
before the app runs at all, which is what the driver does with one read. ``pilot.press`` would
not show the bug: it waits for the app to go idle after each key. Before the fix, Enter was a
priority binding that ran before the queued characters reached the input: the question went out
cut short, or not at all and stayed in the box.
"""

from __future__ import annotations

import asyncio

from textual._xterm_parser import XTermParser
from textual.pilot import Pilot

from tests.tui.conftest import fake_app, settle
from tests.tui.fakes import FakeService
from tui.config import Config
from tui.screens.chat import ChatScreen
from tui.widgets.prompt import PromptInput
from tui.widgets.transcript import AssistantMessage, UserMessage

SIZE = (120, 36)
QUESTION = "What is two plus two?"
PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"


async def burst(pilot: Pilot[object], data: str) -> None:
    """Post every event the terminal bytes ``data`` parse to, with no pause between them."""
    app = pilot.app
    prompt = app.screen.query_one(PromptInput)
    prompt.focus()
    await pilot.pause()
    parser = XTermParser()
    events = [*parser.feed(data), *parser.feed("")]  # the empty feed flushes a lone escape
    for event in events:
        event.set_sender(app)
        app.post_message(event)
    await settle(pilot)


def sent_texts(service: FakeService) -> list[str]:
    return [request[-1]["content"] for request in service.sent]


def chat(app: object) -> ChatScreen:
    screen = app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, ChatScreen)
    return screen


async def test_a_burst_of_a_question_and_enter_sends_exactly_the_question() -> None:
    service = FakeService()
    app = fake_app(service)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await burst(pilot, QUESTION + "\r")
        screen = chat(app)
        assert sent_texts(service) == [QUESTION]
        assert screen.query_one(PromptInput).text == ""
        assert [m.text for m in screen.query(UserMessage)] == [QUESTION]
        assert screen.query_one(AssistantMessage).state == "complete"


async def test_editing_keys_in_a_burst_apply_in_order() -> None:
    service = FakeService()
    app = fake_app(service)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # "abc", Backspace, "d", Left, "X", Ctrl+J (a new line), "e", Enter
        await burst(pilot, "abc\x7fd\x1b[DX\ne\r")
        assert sent_texts(service) == ["abX\ned"]
        assert chat(app).query_one(PromptInput).text == ""


async def test_what_is_typed_after_enter_stays_in_the_input() -> None:
    service = FakeService()
    app = fake_app(service)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await burst(pilot, "first\rsecond")
        assert sent_texts(service) == ["first"]
        assert chat(app).query_one(PromptInput).text == "second"


async def test_a_bracketed_paste_of_several_lines_inserts_them_and_never_sends() -> None:
    service = FakeService()
    app = fake_app(service)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pasted = "line one\nline two\r\nline three\n"
        await burst(pilot, PASTE_START + pasted + PASTE_END)
        prompt = chat(app).query_one(PromptInput)
        assert service.sent == []
        assert not chat(app).query(UserMessage)
        assert prompt.text == "line one\nline two\nline three\n"
        # Enter after the paste, in the same burst or later, sends the pasted lines.
        await burst(pilot, "more" + PASTE_START + "!" + PASTE_END + "\r")
        assert sent_texts(service) == ["line one\nline two\nline three\nmore!"]
        assert prompt.text == ""


async def test_a_rebound_send_key_sends_in_order_and_enter_then_inserts_a_new_line() -> None:
    service = FakeService()
    app = fake_app(service, config=Config(keys={"send": "ctrl+o"}))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await burst(pilot, "one\rtwo\x0f")  # Ctrl+O is 0x0f
        assert sent_texts(service) == ["one\ntwo"]
        assert chat(app).query_one(PromptInput).text == ""


async def test_enter_while_a_reply_arrives_keeps_the_text() -> None:
    hold = asyncio.Event()
    service = FakeService(hold=hold)
    app = fake_app(service)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = chat(app)
        prompt = screen.query_one(PromptInput)
        prompt.focus()
        prompt.insert("first")
        await pilot.press("enter")
        for _ in range(100):  # until the first delta is on screen; the reply then waits on hold
            await pilot.pause()
            if screen.query(AssistantMessage) and screen.query_one(AssistantMessage).text:
                break
        parser = XTermParser()
        for event in parser.feed("second\rthird"):
            event.set_sender(app)
            app.post_message(event)
        for _ in range(100):
            await pilot.pause()
            if prompt.text == "secondthird":
                break
        assert prompt.text == "secondthird"  # as before: Enter did not send while a reply arrives
        hold.set()
        await settle(pilot)
        assert sent_texts(service) == ["first"]
