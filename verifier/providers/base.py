"""What a wire profile (provider) gives the session: an attestation, and a channel to the attested key.

A provider fetches and appraises evidence for a nonce the session chose; only when the result is
verified does it hand back a :class:`Channel`, which seals requests to the attested key and yields
the decrypted response as events: first ``(status, headers)``, then body bytes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from verifier.errors import ChannelError

if TYPE_CHECKING:  # types only: naming a provider must not import httpx
    import httpx

    from verifier.appraisal.policy import Policy
    from verifier.endorsements.fetch import CollateralFetcher
    from verifier.result import AttestationResult

Headers = tuple[tuple[bytes, bytes], ...]
Event = bytes | tuple[int, Headers]


class StaleKeyConfig(ChannelError):
    """The gateway answered that the key is not current (RFC 9458 §5.3): re-attest once, retry once."""


@dataclass(frozen=True)
class AttestContext:
    """Everything one attestation needs: where, for which nonce, at which time, under which policy."""

    http: httpx.AsyncClient
    base_url: str
    nonce: bytes
    policy: Policy
    at: dt.datetime
    fetcher: CollateralFetcher | None
    log_http: httpx.Client | None
    state_dir: Path | None
    progress: Callable[[str], None] | None = None
    """Called with one plain sentence per step a provider wants the user to see (optional)."""
    proxied: bool = False
    """The connection to the service goes through an HTTP proxy (``Session(http_proxy=...)``): it
    is never a loopback connection (``check_service_url(..., proxied=True)``)."""


class Channel(Protocol):
    """Requests sealed to the attested key. ``truncation_detectable`` is False for transports
    (EHBP) that cannot tell a cut-short response from a whole one; the UI says so.

    ``headers`` are the request's own headers (an API key's ``authorization``), lower-case names:
    the native channel seals them inside the encrypted request; EHBP seals bodies only, so the
    Tinfoil channel sends them as headers of the request to the attested (TLS-bound) service."""

    @property
    def truncation_detectable(self) -> bool: ...

    def exchange(self, http: httpx.AsyncClient, base_url: str, method: str, path: str,
                 body: dict[str, Any] | None, *,
                 headers: Sequence[tuple[str, str]] = ()) -> AsyncIterator[Event]: ...


@dataclass(frozen=True)
class Attested:
    result: AttestationResult
    channel: Channel | None
    """Set only when ``result.verified``."""
    expires: dt.datetime | None
    """When the evidence itself lapses (None: the policy's max_age alone bounds it)."""


class Provider(Protocol):
    name: str

    async def attest(self, ctx: AttestContext) -> Attested: ...


@dataclass(frozen=True)
class ProviderSpec:
    """A provider as the registry knows it (:mod:`verifier.providers.registry`).

    ``factory`` is a ``"module:Class"`` target that makes the :class:`Provider` (imported only when
    a session uses it); ``table``/``rules`` name the policy table the provider reads and the
    callable (``Policy -> object``) that checks it; ``truncation_detectable`` says whether its
    transport can tell a reply cut short from a whole one (the UI and ``ask`` say so when not);
    ``recorded_as`` are the prefixes of the ``provider`` values in recordings (ours, and other
    tools' captures) that this provider replays; ``summary`` is one line for listings.
    """

    name: str
    summary: str
    factory: str
    table: str | None = None
    rules: str | None = None
    truncation_detectable: bool = True
    recorded_as: tuple[str, ...] = ()
