"""What every screen shares: the INSECURE DEMO banner while a demo-roots policy is in force, and
:class:`ChatApp`, the part of the app the screens use.

Screens reach the app only through :class:`ChatApp` (a Protocol), so that ``tui.app`` imports the
screens and no screen imports ``tui.app``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

from textual.app import App
from textual.widget import Widget

from tui.widgets.proof import DemoBanner

if TYPE_CHECKING:
    from tui.config import Config
    from tui.history import History
    from tui.service import Target
    from verifier.appraisal.policy import Policy


class ChatApp(Protocol):
    """What the screens need of the app (:class:`tui.app.EnclaveChatApp` is one)."""

    config: Config
    history: History | None
    policy_names: tuple[str, ...]
    launch_demo: Callable[[], str] | None
    provider: str | None
    """The provider the config or ``--provider`` chose (None: each policy's own)."""
    export_dir: Path | None
    evidence_dir: Path | None
    clock: Callable[[], dt.datetime]

    @property
    def demo(self) -> bool: ...

    def load_policy(self, name: str) -> Policy: ...

    def open_target(self, target: Target) -> None: ...


def chat_app(app: App[object]) -> ChatApp:
    """The app as the screens use it."""
    return cast("ChatApp", app)


def demo_banner(app: App[object]) -> Iterator[Widget]:
    """Yield the banner when the app's policy trusts demo roots; every screen's compose calls it."""
    if bool(getattr(app, "demo", False)):
        yield DemoBanner()


def key_label(keys: str) -> str:
    """``"ctrl+r,f9"`` -> ``"Ctrl+R"``: how the first key of a binding is written in help text."""
    first = keys.split(",")[0].strip()
    return "+".join(part.upper() if len(part) == 1 or (part[0] == "f" and part[1:].isdigit())
                    else part.capitalize() for part in first.split("+"))
