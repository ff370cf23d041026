"""A session's recording holds all the collateral its appraisal read, from the collateral cache as
well as from the network (``verifier.endorsements.fetch.ANSWERS``): otherwise an attestation whose
VCEK, CRLs or PCS answers were cached would be saved without them, and a later ``verify --replay``
or ``history verify`` of it would be refused for want of collateral that was there at the time."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.tinfoil.conftest import CLOUD
from verifier.appraisal.policy import Policy
from verifier.endorsements.fetch import CollateralFetcher
from verifier.recording import ReplayTransport, load_recording
from verifier.replay import replay
from verifier.session import Session

pytestmark = pytest.mark.vectors


async def _attest_and_save(vectors: Path, policy: Policy, fetcher: CollateralFetcher, out: Path) -> list[str]:
    recording = load_recording(vectors / CLOUD)
    transport = ReplayTransport(recording.exchanges)
    async with httpx.AsyncClient(transport=transport) as http, Session(
            recording.manifest.url, policy, provider="tinfoil", http=http, fetcher=fetcher, state_dir=None,
            clock=lambda: recording.manifest.captured_at, nonce_factory=lambda: recording.manifest.nonce) as session:
        result = await session.attest()
        assert result.verified, result.first_failure()
        session.save_last(out)
        return [_where(e.url) for e in session.last_exchanges]


def _where(url: str) -> str:
    """A URL without its query (the fetcher and the recording may order or pad TCB values apart)."""
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}"


async def test_collateral_from_the_cache_is_saved_and_the_recording_replays(vectors: Path, tinfoil_policy: Policy,
                                                                          tmp_path: Path) -> None:
    recording = load_recording(vectors / CLOUD)
    fetched_urls = {_where(e.url) for e in recording.exchanges if "amd.com" in e.url or "intel.com" in e.url}
    with httpx.Client(transport=ReplayTransport(recording.exchanges)) as network:
        warm = CollateralFetcher(tmp_path / "cache", client=network)
        await _attest_and_save(vectors, tinfoil_policy, warm, tmp_path / "first")
    # The second attestation finds the collateral in the cache: nothing it has is fetched again
    # (what the network did not have the first time, it still does not have).
    asked: list[str] = []

    def closed(request: httpx.Request) -> httpx.Response:
        asked.append(_where(str(request.url)))
        return httpx.Response(404)

    with httpx.Client(transport=httpx.MockTransport(closed)) as network:
        cached = CollateralFetcher(tmp_path / "cache", client=network)
        urls = await _attest_and_save(vectors, tinfoil_policy, cached, tmp_path / "second")
    assert fetched_urls and not fetched_urls & set(asked)
    assert fetched_urls <= set(urls)  # ... yet the recording holds it
    again = await replay(tmp_path / "second", policy=tinfoil_policy)
    assert again.verified, again.first_failure()


async def test_a_collateral_answer_is_recorded_once(vectors: Path, tinfoil_policy: Policy, tmp_path: Path) -> None:
    recording = load_recording(vectors / CLOUD)
    with httpx.Client(transport=ReplayTransport(recording.exchanges)) as network:
        urls = await _attest_and_save(vectors, tinfoil_policy, CollateralFetcher(tmp_path / "c", client=network),
                                      tmp_path / "rec")
    gets = [u for u in urls if "amd.com" in u]
    assert gets and len(gets) == len(set(gets))
