"""Shown when no service is configured: try the demo, or enter a URL and choose a policy.

The policy chosen also chooses the provider (its ``[service] provider``), unless the config or
``--provider`` named one (:attr:`ChatApp.provider`).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Select, Static

from tui.screens.base import ChatApp, chat_app, demo_banner
from tui.service import Target
from verifier.appraisal.policy import Policy
from verifier.errors import VerifierError
from verifier.policy_check import policy_provider
from verifier.text import one_line

INTRO = (
    "enclave-chat talks only to confidential AI services that prove, before each conversation, "
    "what code they run and on which hardware (a TEE attestation checked against your policy), "
    "and then encrypts every message to a key bound into that proof."
)


class WelcomeScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+d", "demo", "Try the demo", priority=True)]

    @property
    def chat_app(self) -> ChatApp:
        return chat_app(self.app)

    def target(self, url: str, policy: Policy) -> Target:
        """The service at ``url`` under ``policy``, spoken to by the provider the config or
        ``--provider`` chose, else by the one the policy is written for."""
        return Target(url, policy, self.chat_app.provider or policy_provider(policy))

    def compose(self) -> ComposeResult:
        yield from demo_banner(self.app)
        app = self.chat_app
        with Center(), Vertical(id="welcome"):
            yield Label("Welcome to enclave-chat", id="welcome-title")
            yield Static(Text(INTRO), id="welcome-intro")
            if app.launch_demo is not None:
                yield Static(Text("New here? The demo starts a reference enclave on this machine "
                                  "(simulated hardware, INSECURE demo roots) and opens the chat on it."),
                             classes="welcome-hint")
                yield Button("Try the demo", id="demo", variant="warning")
            yield Label("Or open a service", classes="welcome-section")
            yield Input(placeholder="https://chat.example.com", id="url")
            names = list(app.policy_names) or ["default"]
            yield Select([(Text(n), n) for n in names], value=names[0] if "default" not in names else "default",
                         allow_blank=False, id="policy")
            with Horizontal(id="welcome-buttons"):
                yield Button("Verify and open", id="open", variant="primary")
            yield Label("", id="welcome-error")
        yield Footer()

    def _error(self, text: str) -> None:
        label = self.query_one("#welcome-error", Label)
        label.update(Text(text))
        label.add_class("-shown")

    @on(Button.Pressed, "#open")
    @on(Input.Submitted, "#url")
    def _open(self) -> None:
        url = self.query_one("#url", Input).value.strip()
        if not url:
            self._error("Enter the service's URL first.")
            return
        if "://" not in url:
            url = "https://" + url
        name = str(self.query_one("#policy", Select).value)
        try:
            policy = self.chat_app.load_policy(name)
        except VerifierError as e:
            self._error(one_line(str(e)))
            return
        self.chat_app.open_target(self.target(url, policy))

    @on(Button.Pressed, "#demo")
    def action_demo(self) -> None:
        if self.chat_app.launch_demo is None:
            return
        self.query_one("#demo", Button).disabled = True
        self._start_demo()

    @work(exclusive=True, group="demo", thread=True)
    def _start_demo(self) -> None:
        app = self.chat_app
        assert app.launch_demo is not None
        try:
            url = app.launch_demo()
            policy = app.load_policy("demo")
        except Exception as e:  # the demo could not start: say so, keep the screen usable
            self.app.call_from_thread(self._error, f"The demo could not start: {one_line(str(e))}")
            return
        # The demo enclave speaks the demo policy's own provider, whatever the config says.
        self.app.call_from_thread(app.open_target, Target(url, policy, policy_provider(policy)))
