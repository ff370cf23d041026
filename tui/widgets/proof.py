"""The proof in view: the demo banner, the status line, the proof panel and the refusal view."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static

from tui.proof import DEMO_BANNER, MARK, Phase, ProofState, remedy, status_text, summary_rows
from verifier.result import Status
from verifier.text import one_line


class DemoBanner(Static):
    """Shown at the top of every screen while a demo-roots policy is in force. No key hides it."""

    DEFAULT_CSS = """
    DemoBanner {
        dock: top;
        height: 1;
        width: 100%;
        background: $error;
        color: $text;
        text-style: bold;
        content-align: center middle;
    }
    """

    def __init__(self) -> None:
        super().__init__(Text(f"⚠ {DEMO_BANNER} ⚠", no_wrap=True, overflow="ellipsis"),
                         id="demo-banner")


class StatusLine(Horizontal):
    """One line: green only when verified; an INSECURE DEMO mark whenever the policy is a demo."""

    def compose(self) -> ComposeResult:
        yield Static(id="status-text")
        yield Static(Text(" INSECURE DEMO ", style="bold"), id="status-demo")

    def show(self, state: ProofState) -> None:
        self.set_class(state.verified, "-verified")
        self.set_class(state.phase is Phase.VERIFYING, "-pending")
        self.set_class(state.phase in (Phase.REFUSED, Phase.UNREACHABLE, Phase.ERROR), "-refused")
        self.query_one("#status-text", Static).update(Text(status_text(state), no_wrap=True,
                                                           overflow="ellipsis"))
        self.query_one("#status-demo", Static).display = state.demo


class ProofPanel(VerticalScroll):
    """Each check with its result, and the facts the result establishes."""

    can_focus = False

    def compose(self) -> ComposeResult:
        yield Static(id="proof-summary")
        yield Static(id="proof-checks")

    def show(self, state: ProofState) -> None:
        summary = Text()
        if state.phase is Phase.VERIFYING:
            summary.append("Verifying…\n", style="bold")
            for i, step in enumerate(state.steps):
                last = i == len(state.steps) - 1
                summary.append(f"{'›' if last else '✓'} {step}\n", style="bold" if last else "dim")
        elif state.result is not None:
            title, style = (("Verified", "bold green") if state.verified
                            else ("Verified, under another release: held back", "bold yellow")
                            if state.phase is Phase.CHANGED else ("Not verified", "bold red"))
            summary.append(f"{title}\n", style=style)
            if not state.verified and state.phase is not Phase.CHANGED:
                summary.append("What the service claims (not established):\n", style="italic")
            for label, value in summary_rows(state.result, state.valid_until):
                summary.append(f"{label}: ", style="bold")
                summary.append(f"{value}\n")
        elif state.phase is Phase.UNREACHABLE:
            summary.append("Unreachable\n", style="bold red")
        else:
            summary.append("Not verified yet\n", style="bold")
        if state.note:
            summary.append(f"\n{state.note}\n", style="italic")
        self.query_one("#proof-summary", Static).update(summary)

        checks = Text()
        if state.result is not None and state.phase is not Phase.VERIFYING:
            checks.append(f"\nChecks ({len(state.result.checks)})\n", style="bold")
            for check in state.result.checks:
                style = {Status.PASS: "green", Status.FAIL: "bold red", Status.SKIP: "yellow"}[check.status]
                checks.append(f"{MARK[check.status]} ", style=style)
                checks.append(f"{check.id}\n", style=style if check.status is not Status.PASS else "")
        self.query_one("#proof-checks", Static).update(checks)


class RefusalView(Static):
    """Why nothing can be sent: the failing check, its sentence, and what the user can do."""

    def show(self, state: ProofState, *, reverify_key: str, details_key: str) -> None:
        text = Text()
        if state.phase is Phase.REFUSED and state.result is not None:
            bad = state.result.first_failure
            text.append("Refused: the service did not verify, so nothing was sent.\n", style="bold")
            if bad is not None:
                text.append("Failing check: ", style="bold")
                text.append(f"{one_line(bad.id)} ({bad.status})\n")
                text.append(f"{one_line(bad.detail)}\n")
            text.append("What you can do: ", style="bold")
            text.append(remedy(bad) + "\n")
        elif state.phase is Phase.UNREACHABLE:
            text.append("The service could not be reached; nothing was sent.\n", style="bold")
            text.append(f"{one_line(state.message)}\n")
            text.append("What you can do: ", style="bold")
            text.append("check the URL and your network, and that the service is running.\n")
        else:
            text.append("The service could not be verified; nothing was sent.\n", style="bold")
            text.append(f"{one_line(state.message)}\n")
        text.append(f"{reverify_key} verifies again · {details_key} shows every check",
                    style="italic")
        self.update(text)
