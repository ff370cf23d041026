"""The app: which screen opens first, the theme, the key bindings, and what the screens share.

Everything that touches the outside world is passed in (``enclave_chat.tui_entry`` builds it):
how to connect to a service, the history store (None: nothing is kept), how to load a policy by
name, how to start the demo enclave, where exports and saved evidence go, and the provider the
command line chose (``provider``; None: the config's, else each policy's own).

The app imports the screens; the screens reach the app only through
:class:`tui.screens.base.ChatApp`, which this class satisfies.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from textual.app import App, SystemCommand
from textual.screen import Screen
from textual.theme import Theme

from tui.config import Config, ConfigError, save_setting
from tui.history import History
from tui.screens.chat import ChatScreen
from tui.screens.welcome import WelcomeScreen
from tui.service import ChatService, SessionService, Target
from verifier.appraisal.policy import Policy, load_policy
from verifier.session import utcnow
from verifier.text import one_line

ENCLAVE_THEME = Theme(
    name="enclave",
    primary="#5FA8D3",
    secondary="#8B7FD1",
    accent="#E0A458",
    foreground="#D8DEE9",
    background="#0E1117",
    surface="#151A22",
    panel="#1D2430",
    success="#3FB950",
    warning="#D29922",
    error="#E5534B",
    dark=True,
)

Connect = Callable[[Target], ChatService]


def default_connect(target: Target) -> ChatService:
    return SessionService(target)


class EnclaveChatApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "enclave-chat"

    def __init__(self, *, target: Target | None = None, config: Config | None = None,
                 connect: Connect = default_connect, history: History | None = None,
                 resolve_policy: Callable[[str], Policy] | None = None,
                 policy_names: Sequence[str] = (), launch_demo: Callable[[], str] | None = None,
                 export_dir: Path | None = None, evidence_dir: Path | None = None,
                 save_settings: bool = False, error: str | None = None,
                 clock: Callable[[], dt.datetime] = utcnow, provider: str | None = None) -> None:
        super().__init__()
        self.config = config or Config()
        self.provider = provider or self.config.provider
        """The provider for what the welcome screen opens (None: each policy's own)."""
        self.target = target
        self.connect = connect
        self.history = history
        self.resolve_policy = resolve_policy
        self.policy_names = tuple(policy_names)
        self.launch_demo = launch_demo
        self.export_dir = export_dir
        self.evidence_dir = evidence_dir
        self.save_settings = save_settings
        self.startup_error = error
        self.clock = clock
        self.scratch_dirs: list[Path] = []
        """Temporary folders the composition root removes after the app (--no-history)."""
        self._theme_ready = False
        self.register_theme(ENCLAVE_THEME)

    @property
    def demo(self) -> bool:
        """True while the policy in force trusts demo roots: every screen then shows the banner."""
        return self.target is not None and self.target.policy.demo

    def load_policy(self, name: str) -> Policy:
        if self.resolve_policy is not None:
            return self.resolve_policy(name)
        return load_policy(name)

    # -- startup -----------------------------------------------------------------------------------
    def on_mount(self) -> None:
        theme = self.config.theme
        if theme in self.available_themes:
            self.theme = theme
        else:
            self.theme = ENCLAVE_THEME.name
            self.notify(f"Unknown theme {one_line(repr(theme))}; using {ENCLAVE_THEME.name!r}.", severity="warning", markup=False)
        self._theme_ready = True
        self.set_keymap(self.config.keymap())
        if self.target is not None:
            self.push_screen(ChatScreen(self.connect(self.target)))
        else:
            self.push_screen(WelcomeScreen())
        if self.startup_error:
            self.notify(self.startup_error, severity="error", timeout=10, markup=False)

    def open_target(self, target: Target) -> None:
        """Leave the welcome screen for a chat on ``target``."""
        self.target = target
        self.switch_screen(ChatScreen(self.connect(target)))

    # -- theme ------------------------------------------------------------------------------------
    def watch_theme(self, theme: str) -> None:
        if not self._theme_ready or not self.save_settings or self.config.path is None:
            return
        try:
            save_setting(self.config.path, "ui", "theme", theme)
        except (ConfigError, OSError) as e:
            self.notify(f"Could not save the theme: {one_line(str(e))}", severity="warning", markup=False)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if isinstance(screen, ChatScreen):
            for title, help_text, action in (
                ("Re-verify", "Attest again with a fresh nonce", screen.action_reverify),
                ("Attestation details", "Every check, the claims and the decoded evidence", screen.action_details),
                ("Choose model", "Models listed by the service", screen.action_pick_model),
                ("System prompt", "Set the system prompt of this conversation", screen.action_system_prompt),
                ("Copy last reply", "To the terminal clipboard, with a fallback", screen.action_copy_reply),
                ("Export conversation", "As Markdown, or JSON with a .json name", screen.action_export),
                ("History", "Show or hide saved conversations", screen.action_toggle_history),
                ("Regenerate reply", "Drop the last reply and send the same conversation again",
                 screen.action_regenerate),
                ("Edit last message", "Put your last message back into the input, without it and its reply",
                 screen.action_edit_last),
            ):
                yield SystemCommand(title, help_text, action)
            yield SystemCommand("New chat", "Start a new conversation", screen.action_new_chat)
