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
