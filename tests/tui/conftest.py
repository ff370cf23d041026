"""Fixtures for the TUI tests: a fake service (fixed results, no network), private user
directories, and helpers that wait for workers instead of sleeping."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from tests.tui.fakes import AT, FakeService
from tui.app import EnclaveChatApp
from tui.config import Config
from tui.history import History


@pytest.fixture
def user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """ENCLAVE_CHAT_*_DIR pointed at a fresh folder; nothing from the real user leaks in."""
    for kind in ("config", "data", "cache", "state"):
        monkeypatch.setenv(f"ENCLAVE_CHAT_{kind.upper()}_DIR", str(tmp_path / kind))
    for var in ("ENCLAVE_CHAT_URL", "ENCLAVE_CHAT_POLICY", "ENCLAVE_CHAT_PROVIDER",
                "ENCLAVE_CHAT_THEME", "ENCLAVE_CHAT_HISTORY"):
        monkeypatch.delenv(var, raising=False)
    yield tmp_path


def fake_app(service: FakeService, *, history: History | None = None,
             config: Config | None = None, tmp: Path | None = None) -> EnclaveChatApp:
    return EnclaveChatApp(target=service.target, connect=lambda _t: service, history=history,
                          config=config, clock=lambda: AT,
                          export_dir=tmp / "exports" if tmp else None,
                          evidence_dir=tmp / "evidence" if tmp else None)


async def settle(pilot: Pilot[object]) -> None:
    """Wait until every worker is done and the screen has caught up (bounded, no sleeps)."""
    for _ in range(50):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if not any(w.is_running for w in pilot.app.workers):
            return
    raise AssertionError("workers still running after 50 rounds")


async def send(pilot: Pilot[object], text: str) -> None:
    """Type ``text`` into the input and press the send key."""
    prompt = pilot.app.screen.query_one("#prompt")
    prompt.focus()
    prompt.insert(text)  # type: ignore[attr-defined]
    await pilot.press("enter")
