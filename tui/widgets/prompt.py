"""The message input: Enter sends, Shift+Enter or Ctrl+J inserts a new line (both rebindable)."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import TextArea

from tui.messages import PromptSubmitted


class PromptInput(TextArea):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "submit", "Send", id="send", priority=True),
        Binding("shift+enter,ctrl+j", "newline", "New line", id="newline", priority=True,
                show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, soft_wrap=True, show_line_numbers=False, tab_behavior="focus",
                         compact=True, highlight_cursor_line=False,
                         placeholder="Type a message; Enter sends it")

    def action_submit(self) -> None:
        text = self.text.strip()
        if text and not self.disabled:
            self.post_message(PromptSubmitted(text))

    def action_newline(self) -> None:
        self.insert("\n")
