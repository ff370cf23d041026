"""Each attack mode of the reference enclave is refused by its own check, and nothing is sent:
the enclave records zero requests at its OHTTP gateway."""

from __future__ import annotations

import pytest

from enclave.app import Settings
from enclave.server import BackgroundEnclave
from verifier.appraisal.policy import Policy
from verifier.errors import NotVerified, TruncatedResponse
from verifier.session import Session

pytestmark = pytest.mark.e2e

PROMPT = [{"role": "user", "content": "my secret prompt"}]


@pytest.mark.parametrize(("attack", "check_id"), [
    ("flip-measurement", "release.measurement"),
    ("rogue-vcek", "snp.chain.vcek"),
    ("replay-nonce", "bundle.nonce"),
    ("swap-key-config", "snp.report_data"),
    ("gateway-key-mismatch", "channel.key_config"),
    ("malformed-json", "bundle.parse"),
    ("tamper-gpu", "gpu.0.signature"),
    ("gpu-binding", "snp.report_data"),
])
async def test_attack_is_refused_and_nothing_is_sent(attack: str, check_id: str, demo_policy: Policy) -> None:
    with BackgroundEnclave(Settings(token_delay=0, attack=attack)) as server:
        async with Session(server.url, demo_policy) as session:
            if attack == "replay-nonce":
                await session.attest()  # the enclave records this bundle and replays it later
            result = await session.attest()
            assert not result.verified
            first = result.first_failure
            assert first is not None and first.id == check_id, result.verdict()
            with pytest.raises(NotVerified) as refused:
                async for _ in session.stream_chat(PROMPT):
                    pass
            assert refused.value.result.first_failure.id == check_id  # type: ignore[attr-defined]
        assert server.enclave.gateway_posts == 0


async def test_remote_upstream_is_its_own_failing_check(demo_policy: Policy) -> None:
    with BackgroundEnclave(Settings(token_delay=0, upstream="https://api.example.com/v1")) as server:
        async with Session(server.url, demo_policy) as session:
            result = await session.attest()
        check = result.check("config.upstream")
        assert check is not None and check.status == "fail"
        assert "api.example.com" in check.detail
        assert result.authentic and not result.verified
        assert server.enclave.gateway_posts == 0


async def test_a_stream_without_its_final_chunk_is_reported_truncated(demo_policy: Policy) -> None:
    with BackgroundEnclave(Settings(token_delay=0, attack="truncate-stream")) as server:
        async with Session(server.url, demo_policy) as session:
            received: list[str] = []
            with pytest.raises(TruncatedResponse):
                async for delta in session.stream_chat(PROMPT):
                    received.append(delta)
            assert 0 < len(received) < 10
