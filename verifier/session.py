"""A verified conversation with one service: nonce -> evidence -> appraisal -> channel -> chat.

The rules (docs/protocol.md §Session), whatever the provider:

- nothing of a prompt, plaintext or ciphertext, is sent before a passing result;
- requests are sealed only to the key that the evidence binds (the provider's channel);
- a verified session lasts ``min(expires, policy max_age)`` counted from the nonce's creation, then
  attests again before the next request;
- a gateway answer that the key is not current causes at most one re-attestation and one retry;
- an attestation that has not finished within ``attest_timeout`` seconds (all its fetches
  together) is abandoned: per-read timeouts alone let a service that drips its answer hang it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from verifier.appraisal.policy import Policy
from verifier.endorsements.fetch import CollateralFetcher
from verifier.errors import NotVerified, ProtocolError, ServiceUnreachable
from verifier.providers.base import (
    AttestContext,
    Channel,
    Event,
    StaleKeyConfig,
    get_provider,
    one_line,
)
from verifier.providers.sse import SseDeltas
from verifier.recording import Manifest, RecordingTransport, write_recording
from verifier.result import AttestationResult, iso

DEFAULT_MAX_AGE = 600
HTTP_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
ATTEST_TIMEOUT = 180.0
"""Seconds one attestation may take in all (evidence, keys, collateral, log): ``HTTP_TIMEOUT``
bounds each read, not a service that keeps sending one byte just before each would time out."""
MAX_JSON_ANSWER = 4 * 1024 * 1024


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_nonce() -> bytes:
    return secrets.token_bytes(32)


@dataclass(frozen=True)
class Verified:
    """What a passing attestation leaves the session: the result, the channel, and when it lapses."""

    result: AttestationResult
    channel: Channel
    valid_until: dt.datetime


class Session:
    """One service, one policy, one provider. Use as an async context manager.

    ``http`` carries the attestation and the chat; ``fetcher`` gets CPU/GPU collateral; ``log_http``
    fetches transparency-log checkpoints directly from the log, never through the service (by
    default the session makes its own; ``fetch_logs=False`` fetches none); ``state_dir`` keeps the checkpoints
    accepted per log; ``save_evidence`` records every exchange of each attestation there;
    ``clock`` and ``nonce_factory`` are injected by replays and tests; ``attest_timeout`` bounds
    one whole attestation (:class:`ServiceUnreachable` past it).
    """

    def __init__(self, url: str, policy: Policy, *, provider: str = "native",
                 http: httpx.AsyncClient | None = None, fetcher: CollateralFetcher | None = None,
                 log_http: httpx.Client | None = None, fetch_logs: bool = True,
                 state_dir: Path | None = None,
                 save_evidence: Path | None = None, clock: Callable[[], dt.datetime] = utcnow,
                 nonce_factory: Callable[[], bytes] = new_nonce,
                 attest_timeout: float = ATTEST_TIMEOUT) -> None:
        self.url = url.rstrip("/")
        self.policy = policy
        self.provider = get_provider(provider)
        self.fetcher = fetcher
        self._own_log_http = log_http is None and fetch_logs
        self.log_http = httpx.Client(timeout=HTTP_TIMEOUT) if self._own_log_http else log_http
        self.state_dir = state_dir
        self.save_evidence = save_evidence
        self.clock = clock
        self.nonce_factory = nonce_factory
        self.attest_timeout = attest_timeout
        self._own_http = http is None
        self.http = http or httpx.AsyncClient(timeout=HTTP_TIMEOUT, follow_redirects=False)
        self.verified: Verified | None = None
        self.last_result: AttestationResult | None = None
        self.attestations = 0

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_http:
            await self.http.aclose()
        if self._own_log_http and self.log_http is not None:
            self.log_http.close()

    @property
    def max_age(self) -> dt.timedelta:
        seconds = self.policy.section("service").get("max_age_seconds", int, DEFAULT_MAX_AGE)
        return dt.timedelta(seconds=seconds)

    @property
    def truncation_detectable(self) -> bool:
        return self.verified is None or self.verified.channel.truncation_detectable

    # -- attestation -------------------------------------------------------------------------------
    async def attest(self) -> AttestationResult:
        """Fetch fresh evidence for a new nonce and appraise it. Never sends a prompt."""
        self.verified = None
        self.attestations += 1
        nonce = self.nonce_factory()
        created = self.clock()
        try:
            async with asyncio.timeout(self.attest_timeout) as deadline:
                if self.save_evidence is not None:
                    result = await self._attest_recorded(nonce, created, self.save_evidence)
                else:
                    result = await self._attest(self.http, self.fetcher, self.log_http, nonce, created)
        except TimeoutError:
            if not deadline.expired():
                raise
            self.verified = None
            raise ServiceUnreachable(f"{self.url} did not finish its attestation within {self.attest_timeout:g} seconds") from None
        self.last_result = result
        return result

    async def _attest(self, http: httpx.AsyncClient, fetcher: CollateralFetcher | None,
                      log_http: httpx.Client | None, nonce: bytes, created: dt.datetime) -> AttestationResult:
        ctx = AttestContext(http, self.url, nonce, self.policy, created, fetcher, log_http, self.state_dir)
        attested = await self.provider.attest(ctx)
        if attested.result.verified and attested.channel is not None:
            lapse = created + self.max_age
            if attested.expires is not None:
                lapse = min(lapse, attested.expires)
            self.verified = Verified(attested.result, attested.channel, lapse)
        return attested.result

    async def _attest_recorded(self, nonce: bytes, created: dt.datetime, directory: Path) -> AttestationResult:
        """Attest through a recording transport, with a private collateral cache so that every
        piece of collateral is fetched (and so recorded), then write the recording."""
        recorder = RecordingTransport()
        with httpx.Client(transport=recorder, timeout=HTTP_TIMEOUT) as sync_http, \
                tempfile.TemporaryDirectory() as cache:
            async with httpx.AsyncClient(transport=recorder, timeout=HTTP_TIMEOUT) as http:
                fetcher = CollateralFetcher(Path(cache), client=sync_http)
                log_http = sync_http if self.log_http is not None else None
                result = await self._attest(http, fetcher, log_http, nonce, created)
        manifest = Manifest(self.provider.name, self.url, nonce, created)
        write_recording(directory, manifest, recorder.exchanges,
                        {"result.json": json.dumps(result.to_json(), indent=2).encode()})
        return result

    async def ready(self) -> Verified:
        """A current passing result, attesting again when there is none or it lapsed.

        Raises :class:`NotVerified` when the service does not pass: nothing is sent then."""
        if self.verified is None or self.clock() >= self.verified.valid_until:
            result = await self.attest()
            if self.verified is None:
                raise NotVerified(result.verdict(), result)
            if self.clock() >= self.verified.valid_until:  # it lapsed while it was being appraised
                lapsed = self.verified.valid_until
                self.verified = None
                raise NotVerified(f"the evidence lapsed at {iso(lapsed)}, before anything could be sent to it; nothing was sent", result)
        return self.verified

    # -- requests ----------------------------------------------------------------------------------
    async def _exchange(self, method: str, path: str, body: dict[str, Any] | None) -> AsyncIterator[Event]:
        retried = False
        while True:
            verified = await self.ready()
            stream = verified.channel.exchange(self.http, self.url, method, path, body)
            try:
                try:
                    first = await anext(stream)
                except StaleKeyConfig:
                    self.verified = None  # whatever comes next attests first
                    if retried:
                        raise
                    retried = True
                    continue
                except StopAsyncIteration:
                    raise ProtocolError("the gateway answered nothing") from None
                yield first
                async for event in stream:
                    yield event
                return
            finally:  # a reader that stops early closes the exchange (and its connection) now
                aclose = getattr(stream, "aclose", None)
                if aclose is not None:
                    await aclose()

    async def stream_chat(self, messages: Sequence[dict[str, Any]], *, model: str | None = None,
                          **options: Any) -> AsyncIterator[str]:
        """Stream the reply's text deltas. Raises :class:`TruncatedResponse` (after yielding what
        arrived) when the encrypted stream ends without its final chunk."""
        body: dict[str, Any] = {"messages": list(messages), "stream": True, **options}
        if model:
            body["model"] = model
        sse = SseDeltas()
        status = 0
        error = bytearray()
        async for event in self._exchange("POST", "/v1/chat/completions", body):
            if isinstance(event, tuple):
                status = event[0]
                continue
            if status != 200:
                error += event[: 4096 - len(error)]
                continue
            for delta in sse.feed(event):
                yield delta
        if status != 200:
            raise ProtocolError(f"the model answered HTTP {status}: {one_line(bytes(error).decode(errors='replace'), 300)}")

    async def request_json(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        status, data = 0, bytearray()
        async for event in self._exchange(method, path, body):
            if isinstance(event, tuple):
                status = event[0]
            else:
                data += event
                if len(data) > MAX_JSON_ANSWER:
                    raise ProtocolError("the answer is larger than 4 MiB")
        if status != 200:
            raise ProtocolError(f"{method} {path} answered HTTP {status}")
        try:
            return json.loads(data)
        except (ValueError, RecursionError):
            raise ProtocolError(f"{method} {path} did not answer JSON") from None

    async def models(self) -> list[str]:
        doc = await self.request_json("GET", "/v1/models")
        data = doc.get("data") if isinstance(doc, dict) else None
        return [m["id"] for m in data or [] if isinstance(m, dict) and isinstance(m.get("id"), str)]
