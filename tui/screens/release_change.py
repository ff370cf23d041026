"""Approve on change: the service passed, but under another release than the one accepted before.

The chat stops before sending and asks: what changed (old -> new, with the log indices and the
dates), and whether to go on under the new release. The session holds the new result back until
the user accepts (:meth:`verifier.session.Session.accept_release_change`); refusing sends nothing.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from tui.screens.base import demo_banner
from verifier.release_pin import ReleaseChange
from verifier.result import iso
from verifier.text import one_line


def _cell(text: str, width: int) -> str:
    text = one_line(text)
    return (text if len(text) <= width else text[:width - 1] + "…").ljust(width)


def change_table(change: ReleaseChange) -> Text:
    """Label, old and new for each field, in columns (the service's text: plain, one line each,
    bounded), the changed fields in bold first; then the attestation times."""
    out = Text()
    out.append(_cell("", 13) + _cell("accepted before", 40) + "now\n", style="bold")
    rows = [*change.rows(), ("Attested at", iso(change.old_at) if change.old_at is not None else "–",
                             iso(change.new_at))]
    for label, old, new in rows:
        style = "bold" if old != new and label != "Attested at" else "dim"
        out.append(_cell(label, 13) + _cell(old, 38) + "  " + _cell(new, 40).rstrip() + "\n", style=style)
    out.rstrip()
    return out


class ReleaseChangeScreen(ModalScreen[bool]):
    """Dismissed with True when the user accepts the new release, False when not."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(False)", "Refuse"),
        Binding("a", "dismiss(True)", "Accept"),
        Binding("r", "dismiss(False)", "Refuse"),
    ]

    def __init__(self, change: ReleaseChange) -> None:
        super().__init__()
        self.change = change

    def compose(self) -> ComposeResult:
        yield from demo_banner(self.app)
        with Vertical(classes="dialog", id="release-dialog"):
            yield Static(Text(f"The release of {one_line(self.change.url, 60)} changed"), classes="dialog-title")
            yield Static(change_table(self.change), id="release-rows")
            yield Static(Text("Nothing has been sent under the new release. Accept it to go on; the "
                             "choice is remembered for this service. "
                             "Refuse: nothing is sent (Ctrl+R verifies again and asks again)."),
                        classes="dialog-hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Accept (a)", variant="warning", id="accept")
                yield Button("Refuse (r)", variant="primary", id="refuse")

    def on_mount(self) -> None:
        self.query_one("#refuse", Button).focus()

    @on(Button.Pressed, "#accept")
    def _accept(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#refuse")
    def _refuse(self) -> None:
        self.dismiss(False)
