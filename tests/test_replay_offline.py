"""A replay serves the recording's own collateral even when fetching is off in the environment:
its only client is the recording, so nothing can leave the machine either way."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from enclave_chat.paths import resolve_policy
from verifier.replay import replay


def test_replay_ignores_the_offline_switch(vectors: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recording = next((vectors / "tinfoil/teep").glob("tinfoil_v3_cloud_*"))
    monkeypatch.setenv("ENCLAVE_CHAT_OFFLINE", "1")
    result = asyncio.run(replay(recording, policy=resolve_policy("tinfoil")))
    assert result.verified, result.verdict()


def test_offline_tinfoil_fetches_no_release(vectors: Path, tmp_path: Path) -> None:
    """--offline: the Tinfoil provider asks the service only; the release checks are skipped,
    so the result is not verified, and the recorded GitHub-proxy answers are never asked for."""
    import httpx

    from verifier.endorsements.fetch import CollateralFetcher
    from verifier.recording import ReplayTransport, load_recording
    from verifier.session import Session

    recording = load_recording(next((vectors / "tinfoil/teep").glob("tinfoil_v3_cloud_*")))
    transport = ReplayTransport(recording.exchanges)

    async def run() -> object:
        with httpx.Client(transport=transport) as sync_http:
            fetcher = CollateralFetcher(tmp_path / "cache", client=sync_http, offline=True)
            async with httpx.AsyncClient(transport=transport) as http, Session(
                    recording.manifest.url, resolve_policy("tinfoil"), provider="tinfoil", http=http,
                    fetcher=fetcher, fetch_logs=False, clock=lambda: recording.manifest.captured_at,
                    nonce_factory=lambda: recording.manifest.nonce) as session:
                return await session.attest()

    result = asyncio.run(run())
    assert not result.verified  # type: ignore[attr-defined]
    assert result.check("tinfoil.repository").status == "skip"  # type: ignore[attr-defined]
    assert any("github-proxy" in e.url for e in transport._unused)
