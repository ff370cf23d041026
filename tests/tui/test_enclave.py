"""The TUI against the real reference enclave on loopback (issue 2: "a Pilot test drives the TUI
through a verified exchange"), and the attack modes as the UI shows them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from enclave.app import Settings
from enclave.server import BackgroundEnclave
from enclave_chat.paths import resolve_policy
from tests.tui.conftest import send, settle
from tui.app import EnclaveChatApp
from tui.history import History
from tui.proof import Phase
from tui.screens.chat import ChatScreen
from tui.screens.details import DetailsScreen
from tui.service import SessionService, Target
from tui.widgets.prompt import PromptInput
from tui.widgets.proof import RefusalView
from tui.widgets.transcript import AssistantMessage

pytestmark = pytest.mark.e2e

SIZE = (120, 36)


@pytest.fixture(scope="module")
def enclave() -> Iterator[BackgroundEnclave]:
    with BackgroundEnclave(Settings(token_delay=0)) as server:
        yield server


def app_for(url: str, history: History | None = None) -> EnclaveChatApp:
    target = Target(url, resolve_policy("demo"))
    return EnclaveChatApp(target=target, connect=SessionService, history=history)


def chat(app: EnclaveChatApp) -> ChatScreen:
    assert isinstance(app.screen, ChatScreen)
    return app.screen


async def test_a_verified_exchange_with_the_reference_enclave(enclave: BackgroundEnclave,
                                                              tmp_path: Path) -> None:
    history = History(tmp_path / "history.sqlite3")
    app = app_for(enclave.url, history)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = chat(app)
        assert screen.state.phase is Phase.VERIFIED, screen.state.result and screen.state.result.verdict()
        await send(pilot, "What is SEV-SNP?")
        await settle(pilot)
        reply = screen.query_one(AssistantMessage)
        assert reply.state == "complete"
        assert "built-in demo model" in reply.text and "What is SEV-SNP?" in reply.text
        # The details screen decodes the evidence the service really sent (the registry's
        # decoder of a native bundle), and lists every exchange of the attestation.
        await pilot.press("f2")
        await settle(pilot)
        assert isinstance(app.screen, DetailsScreen)
        evidence = str(app.screen.query_one("#details-evidence").render())
        assert "measurement:" in evidence and "sev-snp" in evidence and "key_config:" in evidence and "key_id:" in evidence
        assert "GET " in evidence and "/.well-known/attestation" in evidence
    stored = history.load(history.conversations()[0].id)
    assert stored is not None and [m.role for m in stored.messages] == ["user", "assistant"]
    attestation = history.attestation_json(stored.messages[0].attestation_id or 0)
    assert attestation is not None and attestation["verified"] is True


async def test_a_flipped_measurement_is_refused_and_nothing_reaches_the_gateway() -> None:
    with BackgroundEnclave(Settings(token_delay=0, attack="flip-measurement")) as server:
        app = app_for(server.url)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            screen = chat(app)
            assert screen.state.phase is Phase.REFUSED
            result = screen.state.result
            assert result is not None and result.first_failure is not None
            text = str(screen.query_one(RefusalView).render())
            assert result.first_failure.id in text
            assert result.first_failure.detail[:40] in text.replace("\n", " ")
            assert screen.query_one(PromptInput).disabled
            await pilot.press("enter")
            await settle(pilot)
        assert server.enclave.gateway_posts == 0


async def test_a_truncated_stream_is_shown_incomplete() -> None:
    with BackgroundEnclave(Settings(token_delay=0, attack="truncate-stream")) as server:
        app = app_for(server.url)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await send(pilot, "hello")
            await settle(pilot)
            reply = chat(app).query_one(AssistantMessage)
            assert reply.state == "incomplete"


async def test_a_rotated_key_is_reattested_and_the_panel_says_so(enclave: BackgroundEnclave) -> None:
    app = app_for(enclave.url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = chat(app)
        first = screen.state.result
        enclave.enclave.rotate_key()
        await send(pilot, "hi")
        await settle(pilot)
        assert screen.query_one(AssistantMessage).state == "complete"
        assert screen.state.attestations == 2
        assert screen.state.result is not first and screen.state.verified
        assert "Re-attested automatically" in screen.state.note


async def test_ctrl_r_reverifies_against_the_enclave(enclave: BackgroundEnclave) -> None:
    app = app_for(enclave.url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        nonce = chat(app).state.result.nonce  # type: ignore[union-attr]
        await pilot.press("ctrl+r")
        await settle(pilot)
        screen = chat(app)
        assert screen.state.verified and screen.state.attestations == 2
        assert screen.state.result is not None and screen.state.result.nonce != nonce


async def test_a_closed_port_is_unreachable_not_a_crash() -> None:
    app = app_for("http://127.0.0.1:9")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = chat(app)
        assert screen.state.phase is Phase.UNREACHABLE
        assert "could not be reached" in str(screen.query_one(RefusalView).render())


async def test_saved_evidence_replays_offline(enclave: BackgroundEnclave, tmp_path: Path) -> None:
    from verifier.replay import replay

    app = app_for(enclave.url)
    app.evidence_dir = tmp_path
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        result = chat(app).state.result
        assert result is not None and result.verified
        await pilot.press("f2")
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("enter")  # accept the default folder
        await settle(pilot)
    saved = next(tmp_path.glob("evidence-*"))
    assert (saved / "manifest.json").stat().st_mode & 0o777 == 0o600
    assert saved.stat().st_mode & 0o777 == 0o700
    replayed = await replay(saved, policy=resolve_policy("demo"))
    assert replayed.nonce == result.nonce
    assert replayed.verified, replayed.verdict()


async def test_no_history_against_the_enclave_leaves_no_file(enclave: BackgroundEnclave,
                                                             user_dirs: Path) -> None:
    from enclave_chat.tui_entry import build_app, close_app
    from tui.config import Config

    app = build_app(url=enclave.url, policy="demo", provider="native", no_history=True,
                    config=Config())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await send(pilot, "keep nothing")
        await settle(pilot)
        assert chat(app).query_one(AssistantMessage).state == "complete"
    scratch = list(app.scratch_dirs)
    close_app(app)
    assert [p for p in user_dirs.rglob("*") if p.is_file()] == []
    assert scratch and not any(p.exists() for p in scratch)
