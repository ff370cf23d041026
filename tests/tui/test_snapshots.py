"""Snapshots (SVG, committed under __snapshots__): the main screen verified, refused, the
details screen, and the proof of a message (its marker, and F2 on it). The fake service's result is
fixed (time, nonce, hashes) and the app's clock is pinned, so every run renders the same; cursors
do not blink."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from tests.tui.conftest import fake_app, send, settle
from tests.tui.fakes import FakeService
from tui.app import EnclaveChatApp

SIZE = (120, 36)

REPLY = (
    "Confidential computing keeps data **encrypted in use**:\n\n",
    "1. the CPU encrypts guest memory;\n",
    "2. a signed *attestation report* says what runs;\n",
    "3. your client checks it before sending.\n\n",
    "```python\nprint('sealed to the attested key')\n```\n",
)


async def _quiet(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    for area in pilot.app.screen.query("TextArea"):
        area.cursor_blink = False  # type: ignore[attr-defined]
    await pilot.pause()


def test_main_screen_verified(snap_compare: Any) -> None:
    app: EnclaveChatApp = fake_app(FakeService(reply=REPLY))

    async def run_before(pilot: Pilot[Any]) -> None:
        await _quiet(pilot)
        await send(pilot, "How does the enclave keep my prompt private?")
        await _quiet(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_main_screen_refused(snap_compare: Any) -> None:
    app = fake_app(FakeService(refuse=True))
    assert snap_compare(app, terminal_size=SIZE, run_before=_quiet)


def test_details_screen(snap_compare: Any) -> None:
    app = fake_app(FakeService())

    async def run_before(pilot: Pilot[Any]) -> None:
        await _quiet(pilot)
        await pilot.press("f2")
        await _quiet(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_message_proof_marker(snap_compare: Any) -> None:
    """Each message is marked with the release it went to; a focused one is highlighted."""
    app = fake_app(FakeService(reply=REPLY))

    async def run_before(pilot: Pilot[Any]) -> None:
        await _quiet(pilot)
        await send(pilot, "Where did this message go?")
        await _quiet(pilot)
        pilot.app.screen.query("UserMessage").first().focus()
        await _quiet(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_message_proof_screen(snap_compare: Any) -> None:
    """F2 on a focused message: the attestation it went under, its release and its checks."""
    app = fake_app(FakeService(reply=REPLY))

    async def run_before(pilot: Pilot[Any]) -> None:
        await _quiet(pilot)
        await send(pilot, "Where did this message go?")
        await _quiet(pilot)
        pilot.app.screen.query("UserMessage").first().focus()
        await pilot.press("f2")
        await _quiet(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_release_change_prompt(snap_compare: Any) -> None:
    """Approve on change: the service passed under another release; the chat asks before sending."""
    import datetime as dt

    from verifier.release_pin import ReleaseChange, ReleaseSummary

    old = ReleaseSummary("a1b2c3d4" * 12, "0.1.0", "sha256:" + "5e6f7a8b" * 8, 3, "ed25519:IP/hE+rDu9hz4PnIDOyhik8o/ATwTpsRzUHUVIrjOx0=")
    new = ReleaseSummary("a1b2c3d4" * 12, "0.2.0", "sha256:" + "5e6f7a8b" * 8, 5, old.publisher)
    change = ReleaseChange("http://127.0.0.1:8700", old, new, dt.datetime(2025, 1, 2, 3, 0, tzinfo=dt.UTC),
                           dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
    app = fake_app(FakeService(release_change=change))
    assert snap_compare(app, terminal_size=SIZE, run_before=_quiet)
