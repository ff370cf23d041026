"""The TUI is the same for every provider: a Tinfoil-compatible session (the reference enclave's
Tinfoil mode) shows its steps, its exchanges and saves its evidence as a native one does; the
welcome screen's policy chooses the provider; evidence a service nests without end is shown, not
a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from enclave_chat.paths import resolve_policy
from tests.tinfoil.conftest import TinfoilEnclave
from tests.tui.conftest import fake_app, send, settle
from tests.tui.fakes import FakeService
from tui.app import EnclaveChatApp
from tui.config import Config
from tui.proof import Phase
from tui.screens.chat import ChatScreen
from tui.screens.details import DetailsScreen
from tui.service import SessionService, Target
from tui.widgets.proof import ProofPanel
from tui.widgets.transcript import AssistantMessage
from verifier.appraisal.policy import Policy
from verifier.recording import Exchange

SIZE = (120, 36)


def chat(app: EnclaveChatApp) -> ChatScreen:
    assert isinstance(app.screen, ChatScreen)
    return app.screen


# -- a Tinfoil-compatible service, through the real Session ------------------------------------------

@pytest.mark.e2e
async def test_a_tinfoil_session_shows_its_steps_and_exchanges(tinfoil_enclave: TinfoilEnclave,
                                                               demo_tinfoil_policy: Policy,
                                                               tmp_path: Path) -> None:
    from verifier.replay import replay

    target = Target(tinfoil_enclave.url, demo_tinfoil_policy, provider="tinfoil")
    app = EnclaveChatApp(target=target, connect=SessionService, evidence_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = chat(app)
        state = screen.state
        assert state.phase is Phase.VERIFIED, state.result and state.result.verdict()
        assert state.result is not None and state.result.provider == "tinfoil"
        # The session's own steps, in order, as the panel showed them while verifying.
        steps = state.steps
        assert steps[0].startswith("fetching evidence for a fresh nonce")
        assert "appraising the evidence against the policy" in steps
        assert steps[-1] == "the evidence satisfies the policy"
        # The panel names what the transport cannot do (from the registry, not a name).
        panel = str(screen.query_one("#proof-summary").render())
        assert "cannot detect a reply cut short" in panel
        assert screen.query_one(ProofPanel) is not None
        await send(pilot, "What is EHBP?")
        await settle(pilot)
        assert screen.query_one(AssistantMessage).state == "complete"
        # The details screen lists every exchange of the attestation and decodes each body.
        await pilot.press("f2")
        await settle(pilot)
        details = app.screen
        assert isinstance(details, DetailsScreen)
        evidence = str(details.query_one("#details-evidence").render())
        assert "What the attestation fetched" in evidence
        assert "GET " in evidence and "/.well-known/tinfoil-attestation?nonce=" in evidence
        assert "HTTP 200" in evidence and "sha256 " in evidence
        assert len(details.exchanges) >= 2  # the document, and the demo release
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("enter")  # accept the default folder
        await settle(pilot)
    saved = next(tmp_path.glob("evidence-*"))
    assert json.loads((saved / "manifest.json").read_text())["provider"] == "tinfoil"
    replayed = await replay(saved, policy=demo_tinfoil_policy, provider="tinfoil")
    assert replayed.verified, replayed.verdict()
    assert replayed.nonce == state.result.nonce


@pytest.mark.e2e
async def test_a_native_session_shows_the_same_steps() -> None:
    from enclave.app import Settings
    from enclave.server import BackgroundEnclave

    with BackgroundEnclave(Settings(token_delay=0)) as server:
        app = EnclaveChatApp(target=Target(server.url, resolve_policy("demo")), connect=SessionService)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            state = chat(app).state
            assert state.verified
            assert state.steps[0].startswith("fetching evidence for a fresh nonce")
            assert "appraising the evidence against the policy" in state.steps
            assert any("/.well-known/ohttp-gateway" in step for step in state.steps)
            assert state.steps[-1] == "the evidence satisfies the policy"
            panel = str(chat(app).query_one("#proof-summary").render())
            assert "a reply cut short is detected" in panel


# -- the welcome screen: the policy's provider, unless the config or --provider says otherwise -------

def _welcome_app(opened: list[Target], *, config: Config | None = None,
                 provider: str | None = None) -> EnclaveChatApp:
    def connect(target: Target) -> FakeService:
        opened.append(target)
        return FakeService(target=target)

    return EnclaveChatApp(connect=connect, config=config, provider=provider,
                          resolve_policy=resolve_policy, policy_names=["default", "demo", "tinfoil"])


async def _open(app: EnclaveChatApp, pilot: object, policy: str) -> None:
    from textual.widgets import Input, Select

    app.screen.query_one("#url", Input).value = "https://inference.example.com"
    app.screen.query_one("#policy", Select).value = policy
    await pilot.click("#open")  # type: ignore[attr-defined]
    await settle(pilot)  # type: ignore[arg-type]


@pytest.mark.parametrize(("policy", "config", "provider", "expected"), [
    ("tinfoil", None, None, "tinfoil"),  # the policy's [service] provider
    ("default", None, None, "native"),  # a policy that names none: the registry's default
    ("tinfoil", Config(provider="native"), None, "native"),  # the config says otherwise
    ("default", Config(provider="native"), "tinfoil", "tinfoil"),  # --provider over the config
])
async def test_the_welcome_screen_picks_the_policys_provider(policy: str, config: Config | None,
                                                             provider: str | None,
                                                             expected: str) -> None:
    opened: list[Target] = []
    app = _welcome_app(opened, config=config, provider=provider)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _open(app, pilot, policy)
        assert [t.provider for t in opened] == [expected]
        assert opened[0].policy.name == policy
        assert isinstance(app.screen, ChatScreen)


# -- evidence nested without end ---------------------------------------------------------------------

def _deep_bundle(depth: int) -> bytes:
    envelope = "[" * depth + "]" * depth
    return ('{"version": 1, "nonce": "' + "00" * 32 + '", "release": {"envelope": '
            + envelope + "}}").encode()


@pytest.mark.parametrize("depth", [100, 5000])  # past the strict loader's limit; past Python's stack
async def test_evidence_nested_5000_deep_is_shown_not_a_crash(depth: int) -> None:
    body = _deep_bundle(depth)
    exchange = Exchange("GET", "http://127.0.0.1:8700/.well-known/attestation?nonce=00", 200,
                        (("content-type", "application/json"),), body)
    service = FakeService(exchanges=[exchange])
    app = fake_app(service)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        assert isinstance(app.screen, DetailsScreen)
        evidence = str(app.screen.query_one("#details-evidence").render())
        assert f"HTTP 200, {len(body)} bytes" in evidence
        assert "JSON this version does not decode" in evidence
        assert "nests deeper than 32 levels" in evidence  # at either depth (the strict loader says so)


def test_the_outline_of_a_deep_value_is_cut_not_recursed() -> None:
    from tui.evidence import MAX_DEPTH, outline

    value: list[object] = []
    inner = value
    for _ in range(5000):  # built iteratively: no recursion anywhere
        nested: list[object] = []
        inner.append(nested)
        inner = nested
    lines = outline({"release": {"envelope": value}})
    assert len(lines) <= MAX_DEPTH + 1
    assert "nested too deep to show" in lines[-1]
    assert outline({"a": {"b": 1}, "c": [1, {"d": None}], "e": []}) == [
        "a:", "  b: 1", "c:", "  - 1", "  -", "    d: —", "e: (none)"]
