"""A stand-in service with fixed results, for snapshots and Pilot tests that need no enclave.

Everything that varies in a real attestation (time, nonce, hashes) is fixed here, so that
snapshots are the same on every run.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.service import Progress, Target
from verifier.appraisal.policy import Policy, load_policy
from verifier.errors import InputError, NotVerified, ServiceUnreachable, TruncatedResponse
from verifier.providers.registry import DEFAULT
from verifier.recording import Exchange
from verifier.release_pin import ReleaseChange
from verifier.result import AttestationResult, Check, PolicyRef, failed, passed

ROOT = Path(__file__).resolve().parents[2]
AT = dt.datetime(2025, 7, 1, 12, 0, 0, tzinfo=dt.UTC)
NONCE = bytes(range(32))
DEMO_POLICY = load_policy(ROOT / "policies" / "demo.toml")


def _checks(flip: bool) -> tuple[Check, ...]:
    measurement = (passed("release.measurement", "The measurement a1b2c3… is in release 0.1.0 of sha256:5e6f7a…, signed by the demo publisher.")
                   if not flip else
                   failed("release.measurement", "The measurement a0b2c3… appears in no release signed by a publisher the policy trusts: the service runs code that was never published."))
    return (
        passed("service.url", "The policy accepts http://127.0.0.1."),
        passed("bundle.parse", "Version 1 bundle, sev-snp CPU evidence, 0 GPU(s)."),
        passed("bundle.nonce", "The evidence answers the nonce this client chose just now."),
        passed("bundle.expires", "The evidence is valid until 2025-07-01T12:10:00+00:00."),
        passed("snp.chain", "VCEK -> ASK -> ARK chains to the pinned Genoa root.", authenticity=True),
        passed("snp.report.signature", "The report is signed by the VCEK.", authenticity=True),
        passed("snp.policy.debug", "Debug is off."),
        passed("snp.report_data", "REPORT_DATA binds the nonce, the key configuration and the configuration."),
        passed("gpu.count", "0 GPU(s) attested; the policy requires 0."),
        passed("release.signature", "The release statement is signed by the demo publisher.", authenticity=True),
        measurement,
        passed("config.upstream", "Prompts stay inside the enclave (builtin:demo-model)."),
        passed("channel.key_config", "Requests are sealed to the attested key (key id 7, KEM 0x0020); the gateway publishes the same bytes."),
    )


def fixed_result(*, refused: bool = False, at: dt.datetime = AT, nonce: bytes = NONCE) -> AttestationResult:
    claims: dict[str, Any] = {
        "service": "http://127.0.0.1:8700",
        "expires": "2025-07-01T12:10:00Z",
        "config": {"service": "enclave-chat reference enclave (INSECURE DEMO)",
                   "upstream": "builtin:demo-model", "model": "enclave-demo-1"},
        "cpu": {"platform": "sev-snp", "product": "Genoa",
                "measurement": "a1b2c3d4" * 12,
                "tcb": {"reported": {"bootloader": 9, "tee": 0, "snp": 23, "microcode": 72}}},
        "release": {"image": "sha256:" + "5e6f7a8b" * 8, "version": "0.1.0"},
        "key_config_sha256": "c0ffee00" * 8,
    }
    return AttestationResult(DEFAULT, at, nonce, PolicyRef("demo", "d3m0" * 16),
                             _checks(refused), {"bundle": "ab" * 32}, claims, provider=DEFAULT)


@dataclass
class FakeService:
    """The ChatService shape with scripted behaviour."""

    target: Target = field(default_factory=lambda: Target("http://127.0.0.1:8700", DEMO_POLICY))
    refuse: bool = False
    unreachable: bool = False
    reply: Sequence[str] = ("Hello", " from", " the **fake**", " enclave.")
    truncate: bool = False
    hold: asyncio.Event | None = None
    """When set, the reply waits on this event after its first delta (to test cancelling)."""
    models_list: Sequence[str] = ("enclave-demo-1", "enclave-demo-2")
    exchanges: list[Exchange] = field(default_factory=list)
    """What :attr:`last_exchanges` answers after an attestation (fixed: nothing is fetched)."""
    last_exchanges: list[Exchange] = field(default_factory=list)
    saved: list[Path] = field(default_factory=list)
    last_result: AttestationResult | None = None
    attestations: int = 0
    sent: list[list[dict[str, Any]]] = field(default_factory=list)
    closed: bool = False
    valid_for: dt.timedelta = dt.timedelta(minutes=10)
    delta_delay: float = 0.0
    attest_error: Exception | None = None
    """Raised by :meth:`attest` (after its steps), as a hostile or broken service would cause."""
    reply_error: Exception | None = None
    """Raised by :meth:`stream_chat` after the reply's deltas."""
    models_error: Exception | None = None
    """Raised by :meth:`models`."""
    save_error: Exception | None = None
    """Raised by :meth:`save_last`."""
    release_change: ReleaseChange | None = None
    """A release change the session holds back (the app asks); :meth:`accept_release_change` clears it."""

    def accept_release_change(self) -> ReleaseChange:
        change = self.release_change
        if change is None:
            raise InputError("no release change is waiting to be accepted")
        self.release_change = None
        return change

    @property
    def truncation_detectable(self) -> bool:
        return True

    @property
    def valid_until(self) -> dt.datetime | None:
        if self.last_result is None or not self.last_result.verified:
            return None
        return self.last_result.at + self.valid_for

    async def attest(self, progress: Progress | None = None) -> AttestationResult:
        self.attestations += 1
        for step in ("connecting", "fetching evidence for a fresh nonce",
                     "appraising the evidence against the policy"):
            if progress:
                progress(step)
            await asyncio.sleep(0)
        if self.unreachable:
            self.last_exchanges = []
            raise ServiceUnreachable(f"{self.target.url} could not be reached (ConnectError: connection refused)")
        if self.attest_error is not None:
            self.last_exchanges = []
            raise self.attest_error
        self.last_exchanges = list(self.exchanges)
        self.last_result = fixed_result(refused=self.refuse)
        return self.last_result

    def save_last(self, directory: Path) -> Path:
        if self.last_result is None or not self.last_exchanges:
            raise InputError("there is nothing to save")
        if self.save_error is not None:
            raise self.save_error
        self.saved.append(directory)
        return directory

    async def stream_chat(self, messages: Sequence[dict[str, Any]], *,
                          model: str | None = None) -> AsyncIterator[str]:
        if self.last_result is None or not self.last_result.verified:
            result = fixed_result(refused=True)
            raise NotVerified(result.verdict(), result)
        self.sent.append(list(messages))
        for i, delta in enumerate(self.reply):
            yield delta
            if self.delta_delay:
                await asyncio.sleep(self.delta_delay)
            if i == 0 and self.hold is not None:
                await self.hold.wait()
        if self.truncate:
            raise TruncatedResponse("the response ended before its final chunk")
        if self.reply_error is not None:
            raise self.reply_error

    async def models(self) -> list[str]:
        if self.models_error is not None:
            raise self.models_error
        return list(self.models_list)

    async def aclose(self) -> None:
        self.closed = True


def demo_policy() -> Policy:
    return DEMO_POLICY
