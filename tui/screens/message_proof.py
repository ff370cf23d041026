"""The proof of one message (``F2`` on a message in the transcript): the attestation it went under,
the release that attestation names, every check of it, and where its evidence is kept.

What it shows comes from the session's result or from the history file, so it is all text from
outside: :class:`~rich.text.Text`, one plain line a value, never markup.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Label, Static

from tui.evidence import exchange_summary
from tui.proof import MARK, SentUnder, marker_text, sent_rows
from tui.screens.base import demo_banner
from verifier.errors import VerifierError
from verifier.result import Status
from verifier.text import one_line

_STYLE = {Status.PASS: "green", Status.FAIL: "bold red", Status.SKIP: "yellow"}


def _status(value: object) -> Status | None:
    try:
        return Status(str(value))
    except ValueError:
        return None


def stored_checks_text(result: Mapping[str, Any]) -> Text:
    """Every check of a result's JSON, in its order, with its status and sentence."""
    text = Text()
    checks = result.get("checks")
    for check in checks if isinstance(checks, list) else []:
        if not isinstance(check, Mapping):
            continue
        status = _status(check.get("status"))
        mark = MARK[status] if status is not None else "?"
        text.append(f"{mark} {one_line(str(check.get('id', '')), 80)}", style=_STYLE[status] if status is not None else "")
        flags = [str(status) if status is not None else one_line(str(check.get("status")), 12)]
        if check.get("required") is False:
            flags.append("optional")
        text.append(f"  [{', '.join(flags)}]\n", style="dim")
        text.append(f"    {one_line(str(check.get('detail', '')), 400)}\n")
    return text or Text("The result lists no checks.")


class MessageProofScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "app.pop_screen", "Back")]

    def __init__(self, role: str, sent: SentUnder | None, *, unsent: bool = False) -> None:
        super().__init__()
        self.role = role
        self.sent = sent
        self.unsent = unsent

    def compose(self) -> ComposeResult:
        yield from demo_banner(self.app)
        who = "your message" if self.role == "user" else "this reply"
        yield Label(Text(f"Proof of {who} · {marker_text(self.role, self.sent, unsent=self.unsent)}",
                         no_wrap=True, overflow="ellipsis"), id="proof-title")
        with VerticalScroll():
            yield Static(self._body(), id="message-proof")
        yield Footer()

    def _body(self) -> Text:
        sent = self.sent
        if self.unsent:
            return Text("This message was not sent: when it was to go out, the service no longer "
                        "verified, so nothing of it left this machine.")
        if sent is None:
            return Text("No attestation is recorded for this message: it was saved before "
                        "enclave-chat recorded the attestation each message went under (or it was "
                        "imported), so nothing here shows where it went.")
        text = Text()
        text.append("verified" if sent.verified else "NOT verified",
                    style="bold green" if sent.verified else "bold red")
        text.append(f" · the attestation {who_went(self.role)}\n\n")
        for label, value in sent_rows(sent):
            text.append(f"{label}: ", style="bold")
            text.append(f"{value}\n")
        text.append("\nEvidence\n", style="bold")
        text.append(self._evidence())
        text.append("\nChecks\n", style="bold")
        text.append(stored_checks_text(sent.result))
        return text

    def _evidence(self) -> Text:
        sent = self.sent
        assert sent is not None
        if sent.attestation_id is None:
            return Text("  Not kept: this session keeps no history; the result above lasts as long "
                        "as the app.\n")
        if sent.evidence is None:
            return Text("  Not kept: the history recorded this attestation's result without its "
                        "evidence, so it cannot be checked again.\n")
        from verifier.recording import load_recording

        text = Text(f"  Kept in {sent.evidence}\n")
        try:
            recording = load_recording(sent.evidence)
        except (VerifierError, OSError) as e:
            text.append(f"  The kept evidence cannot be read: {one_line(str(e))}\n", style="bold red")
            return text
        for exchange in recording.exchanges:
            request, answer = exchange_summary(exchange)
            text.append(f"  {request}\n")
            text.append(f"      {answer}\n", style="dim")
        if sent.conversation_id:
            text.append(f"  `enclave-chat history verify {sent.conversation_id}` checks it again "
                        "offline, at the time it was made.\n")
        return text


def who_went(role: str) -> str:
    return "your message went under" if role == "user" else "this reply came under"
