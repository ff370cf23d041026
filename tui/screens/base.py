"""What every screen shares: the INSECURE DEMO banner while a demo-roots policy is in force."""

from __future__ import annotations

from collections.abc import Iterator

from textual.app import App
from textual.widget import Widget

from tui.widgets.proof import DemoBanner


def demo_banner(app: App[object]) -> Iterator[Widget]:
    """Yield the banner when the app's policy trusts demo roots; every screen's compose calls it."""
    if bool(getattr(app, "demo", False)):
        yield DemoBanner()


def key_label(keys: str) -> str:
    """``"ctrl+r,f9"`` -> ``"Ctrl+R"``: how the first key of a binding is written in help text."""
    first = keys.split(",")[0].strip()
    return "+".join(part.upper() if len(part) == 1 or (part[0] == "f" and part[1:].isdigit())
                    else part.capitalize() for part in first.split("+"))
