"""Saved conversations, newest first; choosing one reopens it."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from tui.history import ConversationSummary
from tui.messages import ConversationChosen


class HistorySidebar(Vertical):
    def compose(self) -> ComposeResult:
        yield Label("Conversations", classes="title")
        yield OptionList(id="conversations")
        yield Label("", id="history-off")

    def show(self, conversations: Sequence[ConversationSummary] | None) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        off = self.query_one("#history-off", Label)
        if conversations is None:
            off.update("History is off: nothing is saved.")
            off.display = True
            options.display = False
            return
        off.display = not conversations
        off.update("No saved conversations yet.")
        options.display = bool(conversations)
        for c in conversations:
            label = Text(c.title or "(untitled)", no_wrap=True, overflow="ellipsis")
            label.append(f"\n{c.updated.replace('T', ' ').removesuffix('Z')} · {c.messages} msgs",
                         style="dim")
            options.add_option(Option(label, id=c.id))
        if conversations:
            options.highlighted = 0

    @on(OptionList.OptionSelected, "#conversations")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.post_message(ConversationChosen(event.option.id))
