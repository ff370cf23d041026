"""What the app talks to: a :class:`ChatService`, in practice :class:`SessionService`, a thin
adapter over :class:`verifier.session.Session` that also reports the steps of an attestation as
they happen and keeps the evidence bytes it was shown (for the details screen and "save evidence").

The adapter adds no trust decisions: the Session alone decides whether anything is sent.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from verifier.appraisal.policy import Policy
from verifier.endorsements.fetch import CollateralFetcher
from verifier.recording import Exchange, Manifest, RecordingTransport, write_recording
from verifier.result import AttestationResult
from verifier.session import HTTP_TIMEOUT, Session

ATTESTATION_PATH = "/.well-known/attestation"
GATEWAY_PATH = "/.well-known/ohttp-gateway"
MAX_RECORDED_EVIDENCE = 2 * 1024 * 1024

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Target:
    """A service and the policy it is judged by."""

    url: str
    policy: Policy
    provider: str = "native"


class ChatService(Protocol):
    """The part of a verified session the app uses (tests pass fakes with the same shape)."""

    target: Target
    evidence: bytes | None
    """The evidence bundle of the last attestation, as received (None: none was fetched)."""
    exchanges: list[Exchange]
    """Every GET of the last attestation, as received: what "save evidence" records."""

    @property
    def last_result(self) -> AttestationResult | None: ...

    @property
    def attestations(self) -> int:
        """How many attestations the session has made (it makes more by itself on key rotation
        or expiry; the app compares this count to notice)."""
        ...

    @property
    def valid_until(self) -> dt.datetime | None: ...

    async def attest(self, progress: Progress | None = None) -> AttestationResult: ...

    def stream_chat(self, messages: Sequence[dict[str, Any]], *,
                    model: str | None = None) -> AsyncIterator[str]: ...

    async def models(self) -> list[str]: ...

    async def aclose(self) -> None: ...


class _TeeStream(httpx.AsyncByteStream):
    """Pass the response body through unchanged, keeping a bounded copy."""

    def __init__(self, inner: httpx.AsyncByteStream, done: Callable[[bytes], None]) -> None:
        self.inner = inner
        self.done = done
        self.copy = bytearray()
        self.overflow = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for piece in self.inner:
            if not self.overflow:
                if len(self.copy) + len(piece) > MAX_RECORDED_EVIDENCE:
                    self.overflow = True
                    self.copy.clear()
                else:
                    self.copy += piece
            yield piece
        if not self.overflow:
            self.done(bytes(self.copy))

    async def aclose(self) -> None:
        await self.inner.aclose()


class _ObservingTransport(httpx.AsyncBaseTransport):
    """Reports attestation steps and keeps a copy of each GET an attestation makes (evidence,
    key configuration); changes nothing on the wire. Chat requests (POST) are not copied."""

    def __init__(self, owner: SessionService) -> None:
        self.owner = owner
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "GET" and path == ATTESTATION_PATH:
            self.owner.step("fetching evidence for a fresh nonce")
        elif request.method == "GET" and path == GATEWAY_PATH:
            self.owner.step("comparing the gateway's key with the attested one")
        response = await self.inner.handle_async_request(request)
        if request.method == "GET" and self.owner.attesting:
            assert isinstance(response.stream, httpx.AsyncByteStream)
            status, headers = response.status_code, tuple(response.headers.multi_items())

            def keep(body: bytes) -> None:
                self.owner.exchange_received(Exchange("GET", str(request.url), status, headers, body))

            response.stream = _TeeStream(response.stream, keep)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


class SessionService:
    """A :class:`Session` plus progress reports and the last evidence bytes."""

    def __init__(self, target: Target, *, collateral_dir: Path | None = None,
                 state_dir: Path | None = None) -> None:
        self.target = target
        self.http = httpx.AsyncClient(timeout=HTTP_TIMEOUT, follow_redirects=False,
                                      transport=_ObservingTransport(self))
        # Transparency-log and collateral fetches are synchronous and small: recorded whole, so
        # that "save evidence" holds everything a replay needs (cached collateral excepted).
        self.recorder = RecordingTransport()
        self.sync_http = httpx.Client(timeout=HTTP_TIMEOUT, transport=self.recorder)
        fetcher = (CollateralFetcher(collateral_dir, client=self.sync_http)
                   if collateral_dir is not None else None)
        self.session = Session(target.url, target.policy, provider=target.provider,
                               http=self.http, fetcher=fetcher, log_http=self.sync_http,
                               state_dir=state_dir)
        self.evidence: bytes | None = None
        self.exchanges: list[Exchange] = []
        self.attesting = False
        self._progress: Progress | None = None

    # -- what the transport reports ---------------------------------------------------------------
    def step(self, text: str) -> None:
        if self._progress is not None:
            self._progress(text)

    def exchange_received(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)
        if httpx.URL(exchange.url).path == ATTESTATION_PATH:
            self.evidence = exchange.body
            self.step("appraising the evidence against the policy")

    # -- ChatService -------------------------------------------------------------------------------
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

    async def attest(self, progress: Progress | None = None) -> AttestationResult:
        self._progress = progress
        self.evidence = None
        self.exchanges = []
        self.recorder.exchanges.clear()
        self.attesting = True
        try:
            self.step("connecting")
            return await self.session.attest()
        finally:
            self.attesting = False
            self._progress = None
            self.exchanges += self.recorder.exchanges
            self.recorder.exchanges.clear()

    async def stream_chat(self, messages: Sequence[dict[str, Any]], *,
                          model: str | None = None) -> AsyncIterator[str]:
        async for delta in self.session.stream_chat(messages, model=model):
            yield delta

    async def models(self) -> list[str]:
        return await self.session.models()

    async def aclose(self) -> None:
        await self.session.aclose()
        await self.http.aclose()
        self.sync_http.close()


def save_evidence(directory: Path, *, url: str, provider: str, exchanges: Sequence[Exchange],
                  result: AttestationResult) -> None:
    """Write the last attestation as a recording (verifier.recording's layout: ``manifest.json``
    and ``responses/``) plus ``result.json``, so that ``enclave-chat verify --replay DIR``
    re-checks it offline. Files 0600, folders 0700."""
    if result.nonce is None:
        raise ValueError("a result without a nonce cannot be replayed")
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_recording(directory, Manifest(provider, url, result.nonce, result.at), exchanges,
                    {"result.json": json.dumps(result.to_json(), indent=2).encode()})


def captured_stamp(at: dt.datetime) -> str:
    """A folder-name-safe UTC time, e.g. ``20250102T030405Z``."""
    return at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
