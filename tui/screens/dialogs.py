"""Small modal dialogs: choose a model, edit the system prompt, choose a file path."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, TextArea
from textual.widgets.option_list import Option

from tui.screens.base import demo_banner
from verifier.text import one_line


class ModelPicker(ModalScreen[str | None]):
    """The models the service lists at ``/v1/models`` (asked over the attested channel)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Close")]

    def __init__(self, models: Sequence[str], current: str | None) -> None:
        super().__init__()
        self.models = list(dict.fromkeys(models))
        """The ids as the service listed them, each once (an id listed twice is one choice)."""
        self.current = current

    def compose(self) -> ComposeResult:
        yield from demo_banner(self.app)
        with Vertical(classes="dialog", id="model-dialog"):
            yield Label("Choose a model", classes="dialog-title")
            # The ids come from the service: plain Text, never markup, and option ids of our own.
            options = [Option(Text(("● " if m == self.current else "  ") + one_line(m), no_wrap=True,
                                   overflow="ellipsis"), id=f"model-{i}")
                       for i, m in enumerate(self.models)]
            yield OptionList(*options, id="models")
            yield Label("The list comes from the service over the attested channel.",
                        classes="dialog-hint")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        if self.current in self.models:
            options.highlighted = self.models.index(self.current)
        options.focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.models[event.option_index])


class SystemPromptScreen(ModalScreen[str | None]):
    """Edit the system prompt; an empty text removes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("ctrl+s", "save", "Save", priority=True),
    ]

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        yield from demo_banner(self.app)
        with Vertical(classes="dialog", id="system-dialog"):
            yield Label("System prompt for this conversation", classes="dialog-title")
            yield TextArea(self.current, id="system-text", soft_wrap=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", variant="primary", id="save")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_save(self) -> None:
        self.dismiss(self.query_one(TextArea).text.strip())

    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


class PathScreen(ModalScreen[Path | None]):
    """Ask where to write something, with a sensible default filled in."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, title: str, default: Path, hint: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.default = default
        self.hint = hint

    def compose(self) -> ComposeResult:
        yield from demo_banner(self.app)
        with Vertical(classes="dialog", id="path-dialog"):
            yield Label(Text(self.title_text), classes="dialog-title")
            yield Input(str(self.default), id="path")
            if self.hint:
                yield Label(Text(self.hint), classes="dialog-hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def _done(self) -> None:
        text = self.query_one(Input).value.strip()
        self.dismiss(Path(text).expanduser() if text else None)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self._done()

    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        self._done()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)
