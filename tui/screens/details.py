"""The full attestation result: every check with its sentence, the claims, every exchange the
attestation made with its body decoded, the JSON exactly as ``enclave-chat verify --json`` prints
it, and "save evidence". The same for every provider: the session keeps the exchanges and writes
the recording; the evidence is decoded by the registry's decoders (:mod:`tui.evidence`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Label, Static, TabbedContent, TabPane

from tui.evidence import evidence_lines, exchange_summary, outline
from tui.proof import MARK, ProofState, summary_rows
from tui.screens.base import demo_banner
from tui.screens.dialogs import PathScreen
from tui.service import ChatService, captured_stamp
from verifier.errors import VerifierError
from verifier.result import AttestationResult, Status
from verifier.text import one_line


def headline(result: AttestationResult) -> str:
    counts = {status: sum(c.status is status for c in result.checks) for status in Status}
    tally = f"{counts[Status.PASS]} passed, {counts[Status.FAIL]} failed, {counts[Status.SKIP]} skipped"
    if result.verified:
        return f"Verified under policy {result.policy.name!r}: {tally}."
    bad = result.first_failure
    state = "Authentic but not verified" if result.authentic else "Not verified"
    reason = f"; first failing check {bad.id} ({bad.status})" if bad is not None else ""
    return f"{state} under policy {result.policy.name!r}: {tally}{reason}."


def checks_text(result: AttestationResult) -> Text:
    text = Text()
    verdict_style = "bold green" if result.verified else "bold red"
    text.append(headline(result) + "\n\n", style=verdict_style)
    for check in result.checks:
        style = {Status.PASS: "green", Status.FAIL: "bold red", Status.SKIP: "yellow"}[check.status]
        text.append(f"{MARK[check.status]} {check.id}", style=style)
        flags = [str(check.status)]
        if not check.required:
            flags.append("optional")
        if check.authenticity:
            flags.append("authenticity")
        text.append(f"  [{', '.join(flags)}]\n", style="dim")
        text.append(f"    {check.detail}\n")
    return text


class DetailsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "app.pop_screen", "Back"),
        Binding("s", "save_evidence", "Save evidence", id="save_evidence"),
        Binding("c", "tab('tab-checks')", "Checks", show=False),
        Binding("l", "tab('tab-claims')", "Claims", show=False),
        Binding("e", "tab('tab-evidence')", "Evidence", show=False),
        Binding("j", "tab('tab-json')", "JSON", show=False),
    ]

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def __init__(self, state: ProofState, service: ChatService, evidence_dir: Path | None) -> None:
        super().__init__()
        self.state = state
        self.service = service
        self.exchanges = list(service.last_exchanges)
        """The exchanges of the attestation on view (taken when the screen opened)."""
        self.evidence_dir = evidence_dir

    def compose(self) -> ComposeResult:
        yield from demo_banner(self.app)
        result = self.state.result
        yield Label(Text(f"Attestation details · {self.state.url}", no_wrap=True,
                         overflow="ellipsis"), id="details-title")
        with TabbedContent(id="details-tabs"):
            with TabPane("Checks (c)", id="tab-checks"), VerticalScroll():
                yield Static(checks_text(result) if result else Text("No result yet."),
                             id="details-checks")
            with TabPane("Claims (l)", id="tab-claims"), VerticalScroll():
                yield Static(self._claims(), id="details-claims")
            with TabPane("Evidence (e)", id="tab-evidence"), VerticalScroll():
                yield Static(self._evidence(), id="details-evidence")
            with TabPane("JSON (j)", id="tab-json"), VerticalScroll():
                yield Static(Text(json.dumps(result.to_json(), indent=2) if result else "{}"),
                             id="details-json")
        yield Footer()

    def _claims(self) -> Text:
        result = self.state.result
        if result is None:
            return Text("No result yet.")
        text = Text()
        for label, value in summary_rows(result, self.state.valid_until):
            text.append(f"{label}: ", style="bold")
            text.append(f"{value}\n")
        text.append("\nClaims\n", style="bold")
        text.append("\n".join(outline(dict(result.claims), 1)) + "\n")
        text.append("\nEvidence digests (SHA-256)\n", style="bold")
        text.append("\n".join(outline(dict(result.evidence), 1)) + "\n")
        return text

    def _evidence(self) -> Text:
        text = Text()
        if not self.exchanges:
            text.append("Nothing was received in this attestation (the service was refused before "
                        "anything was fetched, or could not be reached).")
            return text
        text.append("What the attestation fetched\n", style="bold")
        for e in self.exchanges:
            request, answer = exchange_summary(e)
            text.append(f"  {request}\n")
            text.append(f"      {answer}\n", style="dim")
        text.append("\nWhat each answer holds, decoded\n", style="bold")
        text.append("\n".join(evidence_lines(self.exchanges)))
        return text

    def action_save_evidence(self) -> None:
        result = self.state.result
        if result is None or not self.exchanges:
            self.notify("There is no evidence to save.", severity="warning", markup=False)
            return
        if self.service.last_result is not result:
            self.notify("The service was attested again since this screen opened; open the "
                        "details again to save the newer attestation.", severity="warning", markup=False)
            return
        base = self.evidence_dir or Path.cwd()
        default = base / f"evidence-{captured_stamp(result.at)}"

        def write(path: Path | None) -> None:
            if path is None:
                return
            try:
                self.service.save_last(path)
            except (OSError, ValueError, VerifierError) as e:
                self.notify(f"Could not save the evidence: {one_line(str(e))}", severity="error", markup=False)
                return
            self.notify(f"Saved to {path}; `enclave-chat verify --replay {path}` re-checks it.",
                        title="Evidence saved", markup=False)

        self.app.push_screen(PathScreen("Save this attestation's evidence to a folder", default,
                                        "A recording that `enclave-chat verify --replay` reads, "
                                        "and result.json."), write)
