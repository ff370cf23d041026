"""Re-verify a recorded session offline: ``enclave-chat verify --replay DIR``.

The recording (:mod:`verifier.recording`) is served back to the same :class:`Session` code a live
verification runs, with the nonce it was made with and at its capture time unless ``at`` says
otherwise. Nothing is fetched: a request the recording does not hold fails as unreachable, and
the check that needed it is ``skip`` (or fails, as the policy says).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import httpx

from verifier.appraisal.policy import Policy
from verifier.endorsements.fetch import CollateralFetcher
from verifier.errors import InputError
from verifier.recording import Recording, ReplayTransport, load_recording
from verifier.result import AttestationResult
from verifier.session import Session


async def replay(directory: Path, *, policy: Policy, provider: str | None = None,
                 at: dt.datetime | None = None, recording: Recording | None = None) -> AttestationResult:
    """Verify the recording in ``directory`` (``recording``: that recording, loaded already)."""
    if recording is None:
        recording = load_recording(directory)
    recorded = recording.manifest.provider
    if provider is not None and provider != recorded:
        raise InputError(f"the recording is of provider {recorded!r}, not {provider!r}")
    when = at or recording.manifest.captured_at
    transport = ReplayTransport(recording.exchanges)
    with tempfile.TemporaryDirectory() as scratch, httpx.Client(transport=transport) as sync_http:
        fetcher = CollateralFetcher(Path(scratch) / "cache", client=sync_http)
        fetcher.offline = False  # its only client is the recording: nothing can leave this machine
        async with httpx.AsyncClient(transport=transport) as http, Session(
                recording.manifest.url, policy, provider=recorded, http=http, fetcher=fetcher,
                log_http=sync_http, state_dir=None, clock=lambda: when,
                nonce_factory=lambda: recording.manifest.nonce) as session:
            return await session.attest()
