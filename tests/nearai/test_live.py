"""The reference enclave speaking NEAR AI's profile (``serve --provider nearai``, INSECURE DEMO: a
simulated dstack TD under the demo Intel root, its event log and app compose, 8 simulated GPUs),
appraised live over loopback by the ``nearai`` provider under policies/demo.toml: verified, 8 GPUs,
a reply streams over the plaintext loopback channel; each attack mode is refused by its own check
with no chat request reaching the enclave; the real policies refuse the demo roots; ``serve`` and
``ask`` as processes (docs/providers.md, "The reference enclave's NEAR AI mode")."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from enclave import app as enclave_app
from enclave import nearai_mode
from enclave.app import Enclave, Settings
from enclave.attacks import NEARAI_ATTACKS, check_mode
from enclave.server import BackgroundEnclave
from enclave_chat.cli import SERVE_PROFILES
from enclave_chat.paths import resolve_policy
from tests.environment import isolated_env
from tests.refusals import refused_before_sending
from verifier.appraisal.policy import Policy, parse_policy
from verifier.errors import PolicyError
from verifier.providers.nearai import checks as ids
from verifier.providers.nearai.appraisal import appraise_report
from verifier.providers.nearai.rules import NearAiPolicy
from verifier.result import AttestationResult, Status
from verifier.session import Session

NOW = dt.datetime.now(dt.UTC)
PROMPT = [{"role": "user", "content": "What is two plus two?"}]


def nearai_settings(**extra: Any) -> Settings:
    return Settings(platform="tdx", gpus=nearai_mode.GPUS, profile="nearai", token_delay=0, **extra)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Enclave, bytes, bytes]]:
    enclave = Enclave(nearai_settings(transparency=False))
    enclave.app()
    assert enclave.nearai is not None
    nonce = secrets.token_bytes(32)
    yield enclave, enclave.nearai.report(nonce), nonce


def appraise(body: bytes, nonce: bytes, policy: Policy) -> AttestationResult:
    return appraise_report(body, nonce=nonce, policy=policy, at=NOW, peer_spki=None, transport="http",
                           fetcher=None).result


def failing(result: AttestationResult) -> list[str]:
    return [c.id for c in result.checks if c.status is Status.FAIL or (c.status is Status.SKIP and c.required)]


# -- the answer, appraised ---------------------------------------------------------------------------
def test_the_demo_answer_verifies_under_the_demo_policy(served: tuple[Enclave, bytes, bytes]) -> None:
    _, body, nonce = served
    result = appraise(body, nonce, resolve_policy("demo"))
    assert result.verified, failing(result)
    status = {c.id: c.status for c in result.checks}
    for cid in ("nearai.signing_key", "tdx.quote.signature", "tdx.collateral.tcb_info", "tdx.tcb.status",
                "tdx.report_data", "dstack.rtmr0", "dstack.rtmr3", "dstack.event.payload", "dstack.mrconfigid",
                "dstack.compose", "dstack.os_image", "nearai.report_data", "nearai.gpu_evidence", "gpu.distinct",
                "gpu.7.nonce", "gpu.7.measurements", "nearai.compose_manager.actions",
                "nearai.compose_manager.same_td", "compose_manager.tdx.report_data"):
        assert status[cid] is Status.PASS, cid
    tls = result.check(ids.TLS_KEY)
    assert tls is not None and tls.status is Status.SKIP and not tls.required and "INSECURE DEMO" in tls.detail
    assert result.claims["gpus"]["count"] == nearai_mode.GPUS
    assert "INSECURE DEMO" in result.claims["demo_collateral"]


@pytest.mark.parametrize("name", ["nearai", "default"])
def test_the_real_policies_refuse_the_demo_roots(served: tuple[Enclave, bytes, bytes], name: str) -> None:
    _, body, nonce = served
    result = appraise(body, nonce, resolve_policy(name))
    assert not result.verified and not result.authentic
    assert result.first_failure is not None and result.first_failure.id == "tdx.pck.root_pinned"
    # the report's demo collateral is not taken (fetched instead: skipped here, without a fetcher)
    assert result.check("tdx.collateral.tcb_info").status is Status.SKIP  # type: ignore[union-attr]
    assert result.check("gpu.0.chain.root_pinned").status is Status.FAIL  # type: ignore[union-attr]
    assert result.check(ids.TLS_KEY).status is Status.FAIL  # type: ignore[union-attr]


@pytest.mark.parametrize("key", ['tls_key = "off"', "collateral_from_report = true"])
def test_the_demo_keys_are_for_loopback_demo_policies_only(key: str) -> None:
    with pytest.raises(PolicyError, match="loopback demo policies only"):
        NearAiPolicy.from_policy(parse_policy(f'name = "t"\n[nearai]\n{key}\n'.encode()))
    demo = parse_policy(f'name = "t"\n[service]\ndemo_roots = true\nloopback_only = true\n[nearai]\n{key}\n'.encode())
    NearAiPolicy.from_policy(demo)


def test_the_demo_policy_pins_the_simulated_os_image() -> None:
    image = resolve_policy("demo").section("dstack").values["os_images"][nearai_mode.OS_IMAGE_NAME]
    r0, r1, r2 = nearai_mode.boot_rtmrs()
    assert image["mrtd"] == nearai_mode.MRTD.hex() and image["rtmr1"] == r1.hex() and image["rtmr2"] == r2.hex()
    assert list(image["rtmr0"].values()) == [r0.hex()]


def test_the_profiles_are_the_clis() -> None:
    assert SERVE_PROFILES == enclave_app.PROFILES


def test_the_nearai_profile_needs_tdx_and_its_attacks_need_the_profile() -> None:
    with pytest.raises(ValueError, match="TDX"):
        Enclave(Settings(profile="nearai", transparency=False))
    for mode in NEARAI_ATTACKS:
        with pytest.raises(ValueError, match="NEAR AI profile"):
            check_mode(mode, platform="tdx")


# -- the live session ---------------------------------------------------------------------------------
@pytest.mark.e2e
async def test_a_live_nearai_session_is_verified_and_a_reply_streams(demo_policy: Policy) -> None:
    with BackgroundEnclave(nearai_settings()) as server:
        mode = server.enclave.nearai
        assert mode is not None
        async with Session(server.url, demo_policy, provider="nearai") as session:
            result = await session.attest()
            assert result.verified, result.verdict()
            assert result.claims["gpus"]["count"] == nearai_mode.GPUS
            assert all(result.check(f"gpu.{i}.signature").status is Status.PASS  # type: ignore[union-attr]
                       for i in range(nearai_mode.GPUS))
            text = "".join([d async for d in session.stream_chat(PROMPT)])
        assert "two plus two" in text and mode.requests == 1 and mode.attestations == 1


ATTACKS = [
    ("nearai-wrong-key", "tdx.report_data"),
    ("nearai-event-payload", "dstack.event.payload"),
    ("nearai-compose-changed", "dstack.compose"),
    ("nearai-gpu-nonce", "gpu.4.nonce"),
    ("replay-nonce", ids.NONCE),
]


@pytest.mark.e2e
@pytest.mark.parametrize(("attack", "check_id"), ATTACKS)
async def test_each_attack_is_refused_by_its_check_and_nothing_is_sent(attack: str, check_id: str,
                                                                      demo_policy: Policy) -> None:
    with BackgroundEnclave(nearai_settings(attack=attack, transparency=False)) as server:
        mode = server.enclave.nearai
        assert mode is not None
        async with Session(server.url, demo_policy, provider="nearai") as session:
            # replay-nonce: the first nonce is the one every later answer carries
            await refused_before_sending(session, check_id, replayed=attack == "replay-nonce")
        assert mode.requests == 0


# -- the processes ------------------------------------------------------------------------------------
def _env(tmp_path: Path) -> dict[str, str]:
    return isolated_env(tmp_path)


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "enclave_chat", *args], capture_output=True, text=True, env=env,
                          timeout=60, stdin=subprocess.DEVNULL)


@pytest.mark.e2e
def test_serve_provider_nearai_then_ask_streams_a_reply(tmp_path: Path) -> None:
    from tests.e2e.test_transparency_e2e import Running

    env = _env(tmp_path)
    server = Running(env, "serve", "--provider", "nearai", "--port", "0", "--token-delay", "0", "--no-log")
    try:
        url = server.wait_for(r"reference enclave on (http://127\.0\.0\.1:\d+)").group(1)
        verify = _cli(env, "verify", url, "--provider", "nearai", "--policy", "demo", "--json")
        assert verify.returncode == 0, verify.stderr
        assert json.loads(verify.stdout)["verified"] is True
        ask = _cli(env, "ask", url, "What is two plus two?", "--provider", "nearai", "--policy", "demo")
        assert ask.returncode == 0 and "two plus two" in ask.stdout, ask.stderr
    finally:
        if server.proc.poll() is None:
            server.stop()


@pytest.mark.parametrize(("args", "words"), [
    (("--provider", "nearai", "--platform", "sev-snp"), "TDX"),
    (("--attack", "nearai-gpu-nonce"), "--provider nearai"),
])
def test_serve_refuses_what_the_profile_cannot_do(tmp_path: Path, args: tuple[str, ...], words: str) -> None:
    run = _cli(_env(tmp_path), "serve", "--port", "0", "--no-log", *args)
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and words in run.stderr, run.stderr
