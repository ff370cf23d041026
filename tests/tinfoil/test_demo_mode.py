"""The reference enclave in its Tinfoil-compatible mode (INSECURE DEMO roots) on loopback, in both v3
layouts (Tinfoil's current one by default, the June 2026 one on request): the same Session code
attests it with --provider tinfoil and completes encrypted streamed exchanges over EHBP;
``ask --provider tinfoil --policy demo`` does it from the command line; a v2 answer after v3 is a
downgrade."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.environment import isolated_env
from tests.tinfoil.conftest import TinfoilEnclave
from verifier.appraisal.policy import Policy
from verifier.errors import NotVerified
from verifier.result import Status
from verifier.session import Session

pytestmark = pytest.mark.e2e


LAYOUT_CHECKS = {
    # Tinfoil's current layout: the endorsed sections, the document's own collateral, the demo
    # witnesses and platform endorsements (signed by the demo publisher)
    "current": ("tinfoil.layout", "tinfoil.crypto_material_hash", "tinfoil.device_evidence_hash",
                "tinfoil.report_data", "tinfoil.freshness.code", "tinfoil.platform.endorsements",
                "tinfoil.freshness.platform", "tinfoil.machine", "tinfoil.freshness.deadline"),
    # the June 2026 layout: its envelope signature and GPU hash
    "june": ("tinfoil.signature", "tinfoil.gpu_hash"),
}


@pytest.mark.parametrize("layout", ["current", "june"])
async def test_attests_and_streams_a_reply_over_ehbp(tinfoil_enclave: TinfoilEnclave, june_enclave: TinfoilEnclave,
                                                     demo_tinfoil_policy: Policy, layout: str) -> None:
    tinfoil_enclave = tinfoil_enclave if layout == "current" else june_enclave
    async with Session(tinfoil_enclave.url, demo_tinfoil_policy, provider="tinfoil") as session:
        result = await session.attest()
        assert result.verified, result.verdict()
        assert session.truncation_detectable is False
        posts = tinfoil_enclave.mode.requests
        deltas = [d async for d in session.stream_chat([{"role": "user", "content": "What is EHBP?"}])]
        models = await session.models()
    assert len(deltas) > 20 and "What is EHBP?" in "".join(deltas)
    assert models == ["enclave-demo-1"]
    assert tinfoil_enclave.mode.requests == posts + 2
    tls = result.check("tinfoil.tls_key")
    assert tls is not None and tls.status is Status.SKIP and not tls.required and "INSECURE DEMO" in tls.detail
    for cid in ("tinfoil.nonce", "snp.report_data", "release.signature", "release.measurement",
                "release.log.inclusion", *LAYOUT_CHECKS[layout]):
        check = result.check(cid)
        assert check is not None and check.status is Status.PASS, cid
    other = LAYOUT_CHECKS["june" if layout == "current" else "current"]
    assert not [c.id for c in result.checks if c.id in other]  # one layout's checks, never the other's
    assert result.claims.get("layout") == ("current" if layout == "current" else None)
    for i in range(len(getattr(tinfoil_enclave.enclave, "gpus", []))):  # the simulated H100s, if any
        for step in ("chain.root_pinned", "signature", "nonce", "measurements"):
            check = result.check(f"gpu.{i}.{step}")
            assert check is not None and check.status is Status.PASS, (i, step)


async def test_the_default_policy_refuses_the_demo_roots(tinfoil_enclave: TinfoilEnclave) -> None:
    from enclave_chat.paths import resolve_policy

    async with Session(tinfoil_enclave.url, resolve_policy("tinfoil"), provider="tinfoil") as session:
        result = await session.attest()
        with pytest.raises(NotVerified):
            await session.ready()
    assert not result.verified
    assert result.first_failure is not None and result.first_failure.id == "snp.chain.ark_pinned"


async def test_a_rotated_key_causes_one_reattestation_and_one_retry(demo_tinfoil_policy: Policy) -> None:
    with TinfoilEnclave() as server:
        async with Session(server.url, demo_tinfoil_policy, provider="tinfoil") as session:
            await session.ready()
            server.mode.rotate_key()
            text = "".join([d async for d in session.stream_chat([{"role": "user", "content": "hi"}])])
    assert "hi" in text
    assert session.attestations == 2
    assert server.mode.requests == 2  # the refused one (422 key-config) and the retry


async def test_v2_after_v3_is_a_downgrade(demo_tinfoil_policy: Policy, tmp_path: Path) -> None:
    state = tmp_path / "state"
    with TinfoilEnclave() as server:
        async with Session(server.url, demo_tinfoil_policy, provider="tinfoil", state_dir=state) as session:
            first = await session.attest()
            server.mode.serve_v2 = True
            second = await session.attest()
        async with Session(server.url, demo_tinfoil_policy, provider="tinfoil",
                           state_dir=tmp_path / "fresh") as session:
            unseen = await session.attest()
    assert first.verified
    assert not second.verified and second.first_failure is not None
    assert second.first_failure.id == "tinfoil.downgrade"
    assert second.check("tinfoil.freshness").status is Status.FAIL  # type: ignore[union-attr]
    assert second.authentic  # genuine v2 evidence from the same (demo) chip: old, never fresh
    # a client that never saw v3 from this host still refuses v2, for freshness
    assert unseen.first_failure is not None and unseen.first_failure.id == "tinfoil.freshness"
    files = list((state / "tinfoil" / "v3-hosts").iterdir())
    assert len(files) == 1 and stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE((state / "tinfoil").stat().st_mode) == 0o700


async def test_save_evidence_then_replay(demo_tinfoil_policy: Policy, tmp_path: Path) -> None:
    from verifier.replay import replay

    saved = tmp_path / "rec"
    with TinfoilEnclave() as server:
        async with Session(server.url, demo_tinfoil_policy, provider="tinfoil", save_evidence=saved) as session:
            live = await session.attest()
        again = await replay(saved, policy=demo_tinfoil_policy, provider="tinfoil")
    assert live.verified and again.verified, again.verdict()
    assert [c.id for c in again.checks] == [c.id for c in live.checks]
    assert again.nonce == live.nonce
    assert any("tinfoil-attestation" in p.name for p in (saved / "responses").iterdir())


@pytest.mark.parametrize("layout", ["current", "june"])
def test_ask_with_provider_tinfoil_streams_the_reply(tinfoil_enclave: TinfoilEnclave, june_enclave: TinfoilEnclave,
                                                    tmp_path: Path, layout: str) -> None:
    server = tinfoil_enclave if layout == "current" else june_enclave
    env = isolated_env(tmp_path, offline=False)
    proc = subprocess.run([sys.executable, "-m", "enclave_chat", "ask", server.url,
                           "What is a TEE?", "--provider", "tinfoil", "--policy", "demo"],
                          capture_output=True, text=True, env=env, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert "What is a TEE?" in proc.stdout and "built-in demo model" in proc.stdout
    assert "cannot detect a reply cut short" in proc.stderr
