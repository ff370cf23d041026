"""The native protocol end to end: the real enclave on uvicorn, the real client over loopback."""

from __future__ import annotations

import datetime as dt

import pytest

from enclave.server import BackgroundEnclave
from verifier.appraisal.policy import Policy
from verifier.errors import NotVerified
from verifier.session import Session

pytestmark = pytest.mark.e2e


async def test_verify_passes_with_every_check_listed(enclave: BackgroundEnclave, demo_policy: Policy) -> None:
    async with Session(enclave.url, demo_policy) as session:
        result = await session.attest()
    assert result.verified, result.verdict()
    assert result.authentic
    ids = [c.id for c in result.checks]
    for expected in ("service.url", "bundle.parse", "bundle.nonce", "bundle.expires",
                     "snp.report.signature", "snp.report_data", "release.signature",
                     "release.measurement", "gpu.count", "gpu.0.signature", "gpu.0.nonce",
                     "gpu.0.measurements", "config.upstream", "channel.key_config"):
        assert expected in ids
    assert all(c.status == "pass" for c in result.checks if c.required)
    assert result.claims["config"]["upstream"] == "builtin:demo-model"
    assert result.to_json()["nonce"] == result.nonce.hex()


async def test_streamed_reply_arrives_in_pieces(enclave: BackgroundEnclave, demo_policy: Policy) -> None:
    async with Session(enclave.url, demo_policy) as session:
        deltas = [d async for d in session.stream_chat([{"role": "user", "content": "What is SEV-SNP?"}])]
        models = await session.models()
    text = "".join(deltas)
    assert len(deltas) > 20
    assert "What is SEV-SNP?" in text
    assert "built-in demo model" in text
    assert models == ["enclave-demo-1"]


async def test_a_lapsed_session_attests_again(demo_policy: Policy) -> None:
    from enclave.app import Settings

    now = [dt.datetime.now(dt.UTC)]
    with BackgroundEnclave(Settings(token_delay=0, evidence_lifetime=dt.timedelta(hours=1))) as server:
        async with Session(server.url, demo_policy, clock=lambda: now[0]) as session:
            first = await session.ready()
            assert first.valid_until == first.result.at + dt.timedelta(seconds=600)  # max_age wins
            now[0] += dt.timedelta(seconds=599)
            await session.ready()
            assert session.attestations == 1
            now[0] += dt.timedelta(seconds=2)  # past the demo policy's max_age of 600 s
            await session.ready()
            assert session.attestations == 2


async def test_evidence_expiry_bounds_the_session(demo_policy: Policy) -> None:
    from enclave.app import Settings

    with BackgroundEnclave(Settings(token_delay=0, evidence_lifetime=dt.timedelta(seconds=30))) as server:
        async with Session(server.url, demo_policy) as session:
            verified = await session.ready()
            assert verified.valid_until < verified.result.at + dt.timedelta(seconds=31)


async def test_a_rotated_key_causes_one_reattestation_and_one_retry(demo_policy: Policy) -> None:
    from enclave.app import Settings

    with BackgroundEnclave(Settings(token_delay=0)) as server:
        async with Session(server.url, demo_policy) as session:
            await session.ready()
            server.enclave.rotate_key()
            text = "".join([d async for d in session.stream_chat([{"role": "user", "content": "hi"}])])
            assert "hi" in text
            assert session.attestations == 2
            assert server.enclave.gateway_posts == 2  # the refused one and the retry


async def test_no_prompt_is_sent_when_the_policy_refuses_the_url(demo_policy: Policy) -> None:
    async with Session("https://chat.example.com", demo_policy) as session:
        result = await session.attest()
        assert not result.verified
        assert result.first_failure is not None and result.first_failure.id == "service.url"
        with pytest.raises(NotVerified):
            async for _ in session.stream_chat([{"role": "user", "content": "secret"}]):
                pass
