"""The message input: Enter sends, Shift+Enter or Ctrl+J inserts a new line (both rebindable).

Every key the input handles is handled here, in the order it was typed. Textual hands each key
to the app first: a priority binding runs at once, while the characters typed before it still
wait in this widget's queue, and a plain binding runs only when the key has bubbled back up to
the app, after characters typed later (Textual issue #6605). A burst such as a fast paste or
``tmux send-keys "text" Enter`` then sent the text cut short, or nothing. So the bindings are
plain ones (their ids keep them rebindable through ``[keys]`` and shown in the footer) and
:meth:`_on_key` runs this widget's own bindings (send, new line and the text area's editing keys)
itself, in turn with the characters. A bracketed paste arrives as one ``Paste`` event and is
inserted, new lines included; it never sends.
"""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.widgets import TextArea

from tui.messages import PromptSubmitted


class PromptInput(TextArea):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "submit", "Send", id="send"),
        Binding("shift+enter,ctrl+j", "newline", "New line", id="newline", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, soft_wrap=True, show_line_numbers=False, tab_behavior="focus",
                         compact=True, highlight_cursor_line=False,
                         placeholder="Type a message; Enter sends it")

    async def _on_key(self, event: events.Key) -> None:
        # A printable character is typed, whatever is bound to it (and costs no look-up: a long
        # burst of text stays fast). For other keys: the screen's active bindings have the user's
        # keymap applied; a priority binding of the screen or the app has run already (and the key
        # would not be here), so the one found is this widget's own or an ancestor's plain one,
        # which bubbles as before.
        active = None if event.is_printable else self.screen.active_bindings.get(event.key)
        if active is not None and active.node is self and not active.binding.priority:
            if await self.app.run_action(active.binding.action, self):
                event.stop()
                event.prevent_default()
                self._restart_blink()
                return
        await super()._on_key(event)

    def action_submit(self) -> None:
        """Send what the input holds and empty it at once, so that what is typed next stays."""
        text = self.text.strip()
        if text and not self.disabled:
            self.clear()
            self.post_message(PromptSubmitted(text))

    def action_newline(self) -> None:
        self.insert("\n")

    def restore(self, text: str) -> None:
        """Put back a message the screen could not send, before anything typed since."""
        if not self.text:
            self.load_text(text)
            self.move_cursor(self.document.end)
        else:
            self.insert(text, (0, 0))
