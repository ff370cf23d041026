"""The transcript: user messages as typed, replies as Markdown streamed as they arrive.

A reply's state is one of ``complete``, ``streaming``, ``cancelled`` (Escape: what arrived is kept),
``incomplete`` (the encrypted stream ended without its final chunk: never shown as whole) or
``error``. The transcript follows the bottom only while the user is already there (an anchored
scroll, released when the user scrolls up).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Button, Label, Markdown, Static
from textual.widgets.markdown import MarkdownStream

STATE_NOTES = {
    "cancelled": "cancelled: you stopped this reply; what arrived is shown",
    "incomplete": "INCOMPLETE: the encrypted stream ended before its final chunk; this reply may be cut short",
    "error": "error",
}

#: How many stored messages a reopened conversation mounts at first; older ones load on demand.
PAGE = 40


class UserMessage(Vertical):
    def __init__(self, text: str) -> None:
        super().__init__(classes="message user")
        self.text = text

    def compose(self) -> ComposeResult:
        yield Label("You", classes="who")
        yield Static(Text(self.text), classes="body")


class SystemMessage(Vertical):
    def __init__(self, text: str) -> None:
        super().__init__(classes="message system")
        self.text = text

    def compose(self) -> ComposeResult:
        yield Label("System prompt", classes="who")
        yield Static(Text(self.text), classes="body")


class AssistantMessage(Vertical):
    """A reply. :meth:`write` appends streamed text; :meth:`finish` re-renders it whole once."""

    def __init__(self, text: str = "", *, who: str = "Assistant", state: str = "complete",
                 note: str = "") -> None:
        super().__init__(classes="message assistant")
        self.text = text
        self.who = who
        self.state = state
        self.note = note
        self._stream: MarkdownStream | None = None

    def compose(self) -> ComposeResult:
        yield Label(self.who, classes="who")
        yield Markdown(self.text, classes="body")
        yield Label(self._note_text(), classes="note")

    def on_mount(self) -> None:
        self._apply_state()

    @property
    def body(self) -> Markdown:
        return self.query_one(".body", Markdown)

    def _note_text(self) -> str:
        base = STATE_NOTES.get(self.state, "")
        if self.state == "error" and self.note:
            return f"error: {self.note}"
        return f"{base} ({self.note})" if base and self.note else base

    def _apply_state(self) -> None:
        for state in ("streaming", "cancelled", "incomplete", "error"):
            self.set_class(self.state == state, f"-{state}")
        note_text = self._note_text()
        note = self.query_one(".note", Label)
        note.update(Text(note_text))
        note.display = bool(note_text)

    def start(self) -> None:
        self.state = "streaming"
        self._apply_state()
        self._stream = Markdown.get_stream(self.body)

    async def write(self, delta: str) -> None:
        self.text += delta
        if self._stream is not None:
            await self._stream.write(delta)

    async def finish(self, state: str, note: str = "") -> None:
        """Stop streaming and render the whole text once (closes half-parsed code fences)."""
        if self._stream is not None:
            stream, self._stream = self._stream, None
            await stream.stop()
        self.state = state
        self.note = note
        await self.body.update(self.text)
        self._apply_state()


class Transcript(VerticalScroll):
    """The conversation so far."""

    can_focus = True

    def on_mount(self) -> None:
        self.anchor()

    async def add(self, *widgets: Vertical) -> None:
        await self.mount_all(widgets)

    async def clear(self) -> None:
        await self.remove_children()
        self.anchor()


class EarlierMessages(Button):
    """Placeholder at the top of a long reopened conversation: loads the next page on press."""

    def __init__(self, remaining: int) -> None:
        super().__init__(f"Show {remaining} earlier message{'s' if remaining != 1 else ''}",
                         id="earlier", compact=True)
        self.remaining = remaining
