"""Saved conversations, newest first; choosing one reopens it; the search field above the list
keeps only those with a message that holds every word typed (SQLite FTS5, ``History.search``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from tui.history import ConversationSummary
from tui.messages import ConversationChosen


class HistorySidebar(Vertical):
    #: Set by the chat screen to the history's search; None: history is off.
    searcher: Callable[[str], Sequence[ConversationSummary]] | None = None

    def compose(self) -> ComposeResult:
        yield Label("Conversations", classes="title")
        yield Input(placeholder="Search messages", id="history-search", compact=True)
        yield OptionList(id="conversations")
        yield Label("", id="history-off")

    @property
    def search_text(self) -> str:
        return self.query_one("#history-search", Input).value

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
        query = self.search_text.strip()
        off.update(Text(f"No conversation holds {query}") if query else Text("No saved conversations yet."))
        options.display = bool(conversations)
        for c in conversations:
            label = Text(c.title or "(untitled)", no_wrap=True, overflow="ellipsis")
            label.append(f"\n{c.updated.replace('T', ' ').removesuffix('Z')} · {c.messages} msgs",
                         style="dim")
            options.add_option(Option(label, id=c.id))
        if conversations:
            options.highlighted = 0

    @on(Input.Changed, "#history-search")
    def _search(self, event: Input.Changed) -> None:
        event.stop()
        if self.searcher is not None:
            self.show(self.searcher(event.value))

    @on(Input.Submitted, "#history-search")
    def _to_results(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected, "#conversations")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.post_message(ConversationChosen(event.option.id))
