"""What a wire profile (provider) gives the session: an attestation, and a channel to the attested key.

A provider fetches and appraises evidence for a nonce the session chose; only when the result is
verified does it hand back a :class:`Channel`, which seals requests to the attested key and yields
the decrypted response as events: first ``(status, headers)``, then body bytes.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from verifier.appraisal.policy import Policy
from verifier.endorsements.fetch import CollateralFetcher
from verifier.errors import ChannelError, ProtocolError
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


class Channel(Protocol):
    """Requests sealed to the attested key. ``truncation_detectable`` is False for transports
    (EHBP) that cannot tell a cut-short response from a whole one; the UI says so."""

    @property
    def truncation_detectable(self) -> bool: ...

    def exchange(self, http: httpx.AsyncClient, base_url: str, method: str, path: str,
                 body: dict[str, Any] | None) -> AsyncIterator[Event]: ...


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


def one_line(text: str, limit: int = 300) -> str:
    """Text a service chose, made safe to show as part of one line of an error: control
    characters (newlines, terminal escapes) become ``?`` and it stops at ``limit`` characters."""
    text = text[:limit]
    return "".join(c if c.isprintable() else "?" for c in text)


def get_provider(name: str) -> Provider:
    if name == "native":
        from verifier.providers.native import NativeProvider

        return NativeProvider()
    if name == "tinfoil":
        try:
            module = importlib.import_module("verifier.providers.tinfoil")
        except ModuleNotFoundError:
            raise ProtocolError("the tinfoil provider is not in this build yet") from None
        provider: Provider = module.TinfoilProvider()
        return provider
    raise ProtocolError(f"unknown provider {name!r}; known: native, tinfoil")
