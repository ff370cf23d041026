"""What the app talks to: a :class:`ChatService`, in practice :class:`SessionService`, a thin
adapter over :class:`verifier.session.Session`.

The session itself reports the steps of an attestation as they happen, keeps the exchanges of the
last one and saves them as a recording, the same for every provider: the adapter only forwards
(and adds no trust decisions: the Session alone decides whether anything is sent).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from verifier.appraisal.policy import Policy
from verifier.providers.registry import DEFAULT
from verifier.recording import Exchange
from verifier.release_pin import ReleaseChange, ReleaseStore
from verifier.result import AttestationResult
from verifier.session import Session

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Target:
    """A service, the policy it is judged by, and the provider (wire profile) that speaks to it."""

    url: str
    policy: Policy
    provider: str = DEFAULT


class ChatService(Protocol):
    """The part of a verified session the app uses (tests pass fakes with the same shape)."""

    target: Target

    @property
    def last_result(self) -> AttestationResult | None: ...

    @property
    def attestations(self) -> int:
        """How many attestations the session has made (it makes more by itself on key rotation
        or expiry; the app compares this count to notice)."""
        ...

    @property
    def valid_until(self) -> dt.datetime | None: ...

    @property
    def truncation_detectable(self) -> bool:
        """False when the channel cannot tell a reply cut short from a whole one."""
        ...

    @property
    def last_exchanges(self) -> Sequence[Exchange]:
        """Every exchange of the last attestation, as received (the details screen lists them)."""
        ...

    @property
    def release_change(self) -> ReleaseChange | None:
        """A passing attestation under another release than the one accepted, held back (nothing
        is sent) until :meth:`accept_release_change`; None when there is none."""
        ...

    def accept_release_change(self) -> ReleaseChange:
        """Go on under the held-back release (remembered for the service)."""
        ...

    async def attest(self, progress: Progress | None = None) -> AttestationResult: ...

    def save_last(self, directory: Path) -> Path:
        """Write the last attestation as a recording ``verify --replay`` re-checks."""
        ...

    def stream_chat(self, messages: Sequence[dict[str, Any]], *,
                    model: str | None = None) -> AsyncIterator[str]: ...

    async def models(self) -> list[str]: ...

    async def aclose(self) -> None: ...


class SessionService:
    """A :class:`Session` in the shape the app uses. ``collateral_dir`` caches CPU/GPU collateral
    (fetched through the session, so that a saved attestation holds what was fetched);
    ``state_dir`` keeps the transparency-log checkpoints (None: nothing is remembered);
    ``http_proxy`` (the config's ``[service] http_proxy``) carries the connection to the service,
    which otherwise takes no proxy, never the environment's; ``release_store`` remembers the
    release accepted per service (None: within this session only)."""

    def __init__(self, target: Target, *, collateral_dir: Path | None = None,
                 state_dir: Path | None = None, http_proxy: str | None = None,
                 release_store: ReleaseStore | None = None) -> None:
        self.target = target
        self.session = Session(target.url, target.policy, provider=target.provider,
                               collateral_dir=collateral_dir, state_dir=state_dir, http_proxy=http_proxy,
                               release_store=release_store)

    @property
    def last_result(self) -> AttestationResult | None:
        return self.session.last_result

    @property
    def attestations(self) -> int:
        return self.session.attestations

    @property
    def valid_until(self) -> dt.datetime | None:
        verified = self.session.verified
        return verified.valid_until if verified is not None else None

    @property
    def truncation_detectable(self) -> bool:
        return self.session.truncation_detectable

    @property
    def last_exchanges(self) -> Sequence[Exchange]:
        return self.session.last_exchanges

    @property
    def release_change(self) -> ReleaseChange | None:
        return self.session.release_change

    def accept_release_change(self) -> ReleaseChange:
        return self.session.accept_release_change()

    async def attest(self, progress: Progress | None = None) -> AttestationResult:
        return await self.session.attest(progress)

    def save_last(self, directory: Path) -> Path:
        return self.session.save_last(directory)

    async def stream_chat(self, messages: Sequence[dict[str, Any]], *,
                          model: str | None = None) -> AsyncIterator[str]:
        async for delta in self.session.stream_chat(messages, model=model):
            yield delta

    async def models(self) -> list[str]:
        return await self.session.models()

    async def aclose(self) -> None:
        await self.session.aclose()


def captured_stamp(at: dt.datetime) -> str:
    """A folder-name-safe UTC time, e.g. ``20250102T030405Z``."""
    return at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
