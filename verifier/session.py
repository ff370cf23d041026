"""A verified conversation with one service: nonce -> evidence -> appraisal -> channel -> chat.

The rules (docs/protocol.md §Session), whatever the provider:

- nothing of a prompt, plaintext or ciphertext, is sent before a passing result;
- requests are sealed only to the key that the evidence binds (the provider's channel);
- a verified session lasts ``min(expires, policy max_age)`` counted from the nonce's creation, then
  attests again before the next request;
- a gateway answer that the key is not current causes at most one re-attestation and one retry;
- an attestation that has not finished within ``attest_timeout`` seconds (all its fetches
  together) is abandoned: per-read timeouts alone let a service that drips its answer hang it;
- approve on change: a passing attestation whose release (measurement, version, image digest,
  publisher) is not the one accepted before (this session's first, or the ``release_store``'s
  record for the service) is held back: :class:`ReleaseChanged`, and nothing is sent until
  :meth:`Session.accept_release_change` (or ``accept_release_changes=True``) accepts it.

What a user interface needs of an attestation, the same for every provider: ``progress`` is called
with one plain sentence per step as it goes; :attr:`Session.last_exchanges` holds every exchange
the last attestation made (a bounded copy, taken as the bytes pass, changing nothing on the wire);
:meth:`Session.save_last` writes them as a recording that ``verify --replay`` re-checks.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import secrets
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from verifier.appraisal.policy import Policy
from verifier.bounded_http import araw, peer_spki_der, raw
from verifier.endorsements.fetch import ANSWERS, CollateralFetcher, Fetched
from verifier.errors import InputError, NotVerified, ParseError, ProtocolError, ServiceUnreachable
from verifier.providers.base import AttestContext, Channel, Event, StaleKeyConfig
from verifier.providers.registry import DEFAULT, get_provider
from verifier.providers.sse import SseDeltas
from verifier.recording import (
    MAX_EXCHANGES,
    MAX_RECORDED_BODY,
    Exchange,
    Manifest,
    RecordingTransport,
    write_recording,
)
from verifier.release_pin import (
    ReleaseChange,
    ReleaseChanged,
    ReleaseRecord,
    ReleaseStore,
    ReleaseSummary,
)
from verifier.result import AttestationResult, iso
from verifier.strict_json import load_strict_json
from verifier.text import one_line

DEFAULT_MAX_AGE = 600
HTTP_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
ATTEST_TIMEOUT = 180.0
"""Seconds one attestation may take in all (evidence, keys, collateral, log): ``HTTP_TIMEOUT``
bounds each read, not a service that keeps sending one byte just before each would time out."""
MAX_JSON_ANSWER = 4 * 1024 * 1024
MAX_CAPTURED = 32 * 1024 * 1024
"""Bytes of bodies one attestation's capture keeps in all (each body at most ``MAX_RECORDED_BODY``);
past either, a body is kept cut short and the attestation cannot be saved as a recording."""

Progress = Callable[[str], None]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_nonce() -> bytes:
    return secrets.token_bytes(32)


class _Capture:
    """The exchanges of one attestation, in the order their answers began; bodies are copied as
    the provider reads them (what it did not read is not kept), within :data:`MAX_CAPTURED`."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self._lock = threading.Lock()
        self._heads: list[tuple[str, str, int, tuple[tuple[str, str], ...], bytes | None]] = []
        self._bodies: list[bytearray] = []
        self.cut: set[int] = set()
        self._kept = 0
        self._first_done = False
        self._collateral: dict[str, Fetched] = {}
        self._collateral_cut: list[str] = []

    def step(self, text: str) -> None:
        if self.progress is not None:
            try:
                self.progress(text)
            except Exception:  # a display callback never breaks an attestation
                pass

    def requested(self, request: httpx.Request) -> None:
        if self._heads or self._bodies:
            self.step(f"fetching {one_line(request.url.host + request.url.path, 80)}")

    def began(self, request: httpx.Request, response: httpx.Response) -> int | None:
        with self._lock:
            if len(self._heads) >= MAX_EXCHANGES:
                return None
            self._heads.append((request.method, str(request.url), response.status_code,
                                tuple(response.headers.multi_items()), peer_spki_der(response)))
            self._bodies.append(bytearray())
            return len(self._heads) - 1

    def piece(self, index: int | None, data: bytes) -> None:
        if index is None or index in self.cut:
            return
        with self._lock:
            body = self._bodies[index]
            room = min(MAX_RECORDED_BODY - len(body), MAX_CAPTURED - self._kept)
            if len(data) > room:
                self.cut.add(index)
                data = data[:max(room, 0)]
            body += data
            self._kept += len(data)

    def ended(self, index: int | None) -> None:
        if index == 0 and not self._first_done:
            self._first_done = True
            self.step("appraising the evidence against the policy")

    def collateral(self, fetched: Fetched) -> None:
        """A collateral answer the appraisal read (:data:`verifier.endorsements.fetch.ANSWERS`),
        kept so that one taken from the cache is in the recording too."""
        with self._lock:
            if fetched.url in self._collateral:
                return
            if len(self._collateral) >= MAX_EXCHANGES or self._kept + len(fetched.body) > MAX_CAPTURED:
                self._collateral_cut.append(fetched.url)  # a recording without it would not replay
                return
            self._collateral[fetched.url] = fetched
            self._kept += len(fetched.body)

    def exchanges(self) -> tuple[Exchange, ...]:
        """Every exchange, in order; then, as GETs answered 200, the collateral the appraisal read
        from the cache (an answer fetched over a captured client is already among the exchanges)."""
        with self._lock:
            seen = tuple(Exchange(method, url, status, headers, bytes(body), spki)
                         for (method, url, status, headers, spki), body in zip(self._heads, self._bodies, strict=True))
            fetched = {e.url for e in seen if e.method == "GET"}
            cached = tuple(Exchange("GET", url, 200, tuple(f.headers.items()), f.body)
                           for url, f in self._collateral.items() if url not in fetched)
            return seen + cached

    def cut_urls(self) -> list[str]:
        with self._lock:
            return [self._heads[i][1] for i in sorted(self.cut)] + list(self._collateral_cut)


class _AsyncTee(httpx.AsyncByteStream):
    def __init__(self, response: httpx.Response, capture: _Capture, index: int | None) -> None:
        self.response, self.capture, self.index = response, capture, index

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for piece in araw(self.response):
            self.capture.piece(self.index, piece)
            yield piece
        self.capture.ended(self.index)

    async def aclose(self) -> None:
        await self.response.aclose()


class _SyncTee(httpx.SyncByteStream):
    def __init__(self, response: httpx.Response, capture: _Capture, index: int | None) -> None:
        self.response, self.capture, self.index = response, capture, index

    def __iter__(self) -> Iterator[bytes]:
        for piece in raw(self.response):
            self.capture.piece(self.index, piece)
            yield piece
        self.capture.ended(self.index)

    def close(self) -> None:
        self.response.close()


def _answer(request: httpx.Request, response: httpx.Response,
            stream: httpx.AsyncByteStream | httpx.SyncByteStream) -> httpx.Response:
    """The inner answer handed on unchanged: status, headers (a content coding included: the
    provider decides on it), the bytes as sent, and the connection's extensions (the TLS peer)."""
    return httpx.Response(response.status_code, headers=response.headers.multi_items(),
                          stream=stream, request=request, extensions=dict(response.extensions))


class _AsyncCaptureTransport(httpx.AsyncBaseTransport):
    """Sends each request through the caller's client (its transport, auth, cookies and hooks) and
    copies what comes back into the capture; never follows a redirect."""

    def __init__(self, client: httpx.AsyncClient, capture: _Capture) -> None:
        self.client, self.capture = client, capture

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.capture.requested(request)
        self.client.cookies.set_cookie_header(request)
        response = await self.client.send(request, stream=True, follow_redirects=False)
        index = self.capture.began(request, response)
        return _answer(request, response, _AsyncTee(response, self.capture, index))

    async def aclose(self) -> None:  # the caller's client stays open
        pass


class _SyncCaptureTransport(httpx.BaseTransport):
    def __init__(self, client: httpx.Client, capture: _Capture) -> None:
        self.client, self.capture = client, capture

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.capture.requested(request)
        self.client.cookies.set_cookie_header(request)
        response = self.client.send(request, stream=True, follow_redirects=False)
        index = self.capture.began(request, response)
        return _answer(request, response, _SyncTee(response, self.capture, index))

    def close(self) -> None:
        pass


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

    ``progress`` (also an attribute; :meth:`attest` takes one for a single call) hears each step of
    every attestation, those the session makes by itself before a request included.
    ``collateral_dir``, when no ``fetcher`` is given, caches collateral there through the session's
    own client, so that what is fetched is among :attr:`last_exchanges` too (a ``fetcher`` of the
    caller's fetches through its own client, which the session does not see).

    Proxies: the session's own connection to the service (``http``: evidence, keys, the chat) never
    takes a proxy from the environment (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``): it goes
    through one only when the caller names it, ``http_proxy``, and such a session is never a
    loopback one (``service.url`` says so under a loopback-only policy). Fetches of signed data
    (``log_http``: transparency-log checkpoints and tiles, CRLs, OCSP, collateral) may use the
    environment's proxy, which can withhold them but not forge them (docs/cli.md, "Proxies").
    """

    def __init__(self, url: str, policy: Policy, *, provider: str = DEFAULT,
                 http: httpx.AsyncClient | None = None, fetcher: CollateralFetcher | None = None,
                 log_http: httpx.Client | None = None, fetch_logs: bool = True,
                 state_dir: Path | None = None,
                 save_evidence: Path | None = None, clock: Callable[[], dt.datetime] = utcnow,
                 nonce_factory: Callable[[], bytes] = new_nonce,
                 attest_timeout: float = ATTEST_TIMEOUT, progress: Progress | None = None,
                 collateral_dir: Path | None = None, http_proxy: str | None = None,
                 release_store: ReleaseStore | None = None,
                 accept_release_changes: bool = False) -> None:
        if http is not None and http_proxy is not None:
            raise ValueError("give the session a client or a proxy for its own client, not both")
        self.url = url.rstrip("/")
        self.http_proxy = http_proxy
        self.policy = policy
        self.provider = get_provider(provider)
        self.fetcher = fetcher
        self.collateral_dir = collateral_dir if fetcher is None else None
        self._own_log_http = log_http is None and (fetch_logs or self.collateral_dir is not None)
        self.log_http = httpx.Client(timeout=HTTP_TIMEOUT) if self._own_log_http else log_http
        self._fetch_logs = fetch_logs or log_http is not None
        self.progress = progress
        self.state_dir = state_dir
        self.save_evidence = save_evidence
        self.clock = clock
        self.nonce_factory = nonce_factory
        self.attest_timeout = attest_timeout
        self._own_http = http is None
        # Never the environment's proxy for the service: a loopback URL must be a loopback connection.
        self.http = http or httpx.AsyncClient(timeout=HTTP_TIMEOUT, follow_redirects=False,
                                              trust_env=False, proxy=http_proxy)
        self.verified: Verified | None = None
        self.last_result: AttestationResult | None = None
        self.attestations = 0
        self.last_exchanges: tuple[Exchange, ...] = ()
        """Every exchange of the last attestation, in order (bodies as sent; see :data:`MAX_CAPTURED`)."""
        self._last_cut: list[str] = []
        self._last_nonce: bytes | None = None
        self._last_created: dt.datetime | None = None
        self._ready_lock = asyncio.Lock()
        """One attestation at a time for :meth:`ready`: concurrent requests share it."""
        self.release_store = release_store
        self.accept_release_changes = accept_release_changes
        self.accepted_release: ReleaseRecord | None = (release_store.load(self.url)
                                                       if release_store is not None else None)
        """The release accepted for this service (the store's record, else the first passing one)."""
        self.release_change: ReleaseChange | None = None
        """A passing attestation's release that differs from the accepted one, held back until
        :meth:`accept_release_change`; None when there is none."""
        self.accepted_changes: list[tuple[ReleaseChange, dt.datetime]] = []
        """Each change accepted in this session, and when."""
        self._held: Verified | None = None

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
    async def attest(self, progress: Progress | None = None) -> AttestationResult:
        """Fetch fresh evidence for a new nonce and appraise it. Never sends a prompt.

        ``progress`` (else the session's own) is called with each step as it happens."""
        self.verified = None
        self.release_change, self._held = None, None
        self.attestations += 1
        nonce = self.nonce_factory()
        created = self.clock()
        capture = _Capture(progress or self.progress)
        self.last_exchanges, self._last_cut = (), []
        self._last_nonce, self._last_created = nonce, created
        capture.step(f"fetching evidence for a fresh nonce from {one_line(self.url, 80)}")
        try:
            async with asyncio.timeout(self.attest_timeout) as deadline:
                if self.save_evidence is not None:
                    result = await self._attest_recorded(nonce, created, self.save_evidence, capture)
                else:
                    result = await self._attest_captured(nonce, created, capture)
        except TimeoutError:
            if not deadline.expired():
                raise
            self.verified = None
            raise ServiceUnreachable(f"{self.url} did not finish its attestation within {self.attest_timeout:g} seconds") from None
        finally:
            if self.save_evidence is None:
                self.last_exchanges, self._last_cut = capture.exchanges(), capture.cut_urls()
        self.last_result = result
        if self.verified is not None:
            self._pin(self.verified)
        if self.release_change is not None:
            capture.step("the evidence satisfies the policy, but " + self.release_change.text()
                         + "; nothing is sent until it is accepted")
        else:
            capture.step("the evidence satisfies the policy" if self.verified is not None
                         else "the evidence does not satisfy the policy")
        return result

    def _pin(self, verified: Verified) -> None:
        """Trust on first use: the first passing release is accepted (and recorded); a later one
        that differs is held back as :attr:`release_change`, or accepted with
        ``accept_release_changes``."""
        release = ReleaseSummary.from_claims(verified.result.claims)
        accepted = self.accepted_release
        if accepted is None:
            self._accept(ReleaseRecord(self.url, release, verified.result.at))
            return
        if accepted.release.identity == release.identity:
            return
        self.release_change = ReleaseChange(self.url, accepted.release, release, accepted.at,
                                            verified.result.at)
        self._held, self.verified = verified, None
        if self.accept_release_changes:
            self.accept_release_change()

    def _accept(self, record: ReleaseRecord) -> None:
        if self.release_store is not None:
            self.release_store.save(record)
        self.accepted_release = record

    def accept_release_change(self) -> ReleaseChange:
        """Accept the held-back release (the store records it): the session goes on under it.
        :class:`InputError` when no change is held back."""
        change, held = self.release_change, self._held
        if change is None or held is None:
            raise InputError("no release change is waiting to be accepted")
        previous = self.accepted_release.accepted_changes if self.accepted_release is not None else 0
        self._accept(ReleaseRecord(self.url, change.new, change.new_at, previous + 1))
        self.accepted_changes.append((change, self.clock()))
        self.release_change, self._held, self.verified = None, None, held
        return change

    async def _attest(self, http: httpx.AsyncClient, fetcher: CollateralFetcher | None,
                      log_http: httpx.Client | None, nonce: bytes, created: dt.datetime,
                      progress: Progress | None = None) -> AttestationResult:
        ctx = AttestContext(http, self.url, nonce, self.policy, created, fetcher, log_http,
                            self.state_dir, progress, proxied=self.http_proxy is not None)
        attested = await self.provider.attest(ctx)
        if attested.result.provider is None:
            attested = dataclasses.replace(
                attested, result=dataclasses.replace(attested.result, provider=self.provider.name))
        if attested.result.verified and attested.channel is not None:
            lapse = created + self.max_age
            if attested.expires is not None:
                lapse = min(lapse, attested.expires)
            self.verified = Verified(attested.result, attested.channel, lapse)
        return attested.result

    async def _attest_captured(self, nonce: bytes, created: dt.datetime,
                               capture: _Capture) -> AttestationResult:
        """Attest through clients that hand every request to the session's own (or the caller's)
        clients unchanged and keep a copy of each answer as it is read."""
        token = ANSWERS.set(capture.collateral)
        try:
            return await self._attest_captured_in(nonce, created, capture)
        finally:
            ANSWERS.reset(token)

    async def _attest_captured_in(self, nonce: bytes, created: dt.datetime,
                                  capture: _Capture) -> AttestationResult:
        async with httpx.AsyncClient(transport=_AsyncCaptureTransport(self.http, capture),
                                     headers=self.http.headers, timeout=self.http.timeout,
                                     follow_redirects=False, trust_env=False) as http:
            if self.log_http is None:
                return await self._attest(http, self.fetcher, None, nonce, created, capture.step)
            with httpx.Client(transport=_SyncCaptureTransport(self.log_http, capture),
                              headers=self.log_http.headers, timeout=self.log_http.timeout,
                              follow_redirects=False, trust_env=False) as sync_http:
                fetcher = self.fetcher
                if fetcher is None and self.collateral_dir is not None:
                    fetcher = CollateralFetcher(self.collateral_dir, client=sync_http)
                log_http = sync_http if self._fetch_logs else None
                return await self._attest(http, fetcher, log_http, nonce, created, capture.step)

    async def _attest_recorded(self, nonce: bytes, created: dt.datetime, directory: Path,
                               capture: _Capture) -> AttestationResult:
        """Attest through a recording transport, with a private collateral cache so that every
        piece of collateral is fetched (and so recorded), then write the recording."""
        # The service through the caller's proxy, if any (never the environment's); the recorded
        # fetches of signed data go direct.
        recorder = RecordingTransport(inner_async=httpx.AsyncHTTPTransport(proxy=self.http_proxy)
                                      if self.http_proxy is not None else None)
        try:
            with httpx.Client(transport=recorder, timeout=HTTP_TIMEOUT) as sync_http, \
                    tempfile.TemporaryDirectory() as cache:
                async with httpx.AsyncClient(transport=recorder, timeout=HTTP_TIMEOUT) as http:
                    fetcher = CollateralFetcher(Path(cache), client=sync_http)
                    log_http = sync_http if self.log_http is not None and self._fetch_logs else None
                    result = await self._attest(http, fetcher, log_http, nonce, created, capture.step)
        finally:
            self.last_exchanges = tuple(recorder.exchanges)
        write_recording(directory, self._manifest(nonce, created), recorder.exchanges,
                        {"result.json": json.dumps(result.to_json(), indent=2).encode()})
        return result

    def _manifest(self, nonce: bytes, created: dt.datetime) -> Manifest:
        return Manifest(self.provider.name, self.url, nonce, created)

    def save_last(self, directory: Path) -> Path:
        """Write the last attestation as a recording (``manifest.json``, ``responses/``) plus
        ``result.json``, which ``enclave-chat verify --replay DIR`` re-checks offline; files 0600,
        folders 0700. Raises :class:`InputError` when there is nothing whole to save."""
        result = self.last_result
        if result is None or self._last_nonce is None or self._last_created is None \
                or not self.last_exchanges:
            raise InputError("no attestation has fetched anything yet; there is nothing to save")
        if self._last_cut:
            raise InputError(f"the answer of {one_line(self._last_cut[0], 120)} was larger than this "
                             "session keeps, so the attestation cannot be saved whole")
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_recording(directory, self._manifest(self._last_nonce, self._last_created),
                        self.last_exchanges,
                        {"result.json": json.dumps(result.to_json(), indent=2).encode()})
        return directory

    async def ready(self) -> Verified:
        """A current passing result, attesting again when there is none or it lapsed.

        Raises :class:`NotVerified` when the service does not pass: nothing is sent then.
        Concurrent callers share one attestation: those that waited for it get its outcome (its
        result, or its refusal) rather than attesting again each in turn."""
        verified = self.verified
        if verified is not None and self.clock() < verified.valid_until:
            return verified
        seen = self.attestations
        async with self._ready_lock:
            verified = self.verified
            if verified is not None and self.clock() < verified.valid_until:
                return verified
            held, change = self._held, self.release_change
            if held is not None and change is not None and self.clock() < held.valid_until:
                raise ReleaseChanged(change, held.result)  # still waiting for the caller's decision
            if self.attestations != seen and self.last_result is not None and verified is None \
                    and not self.last_result.verified:  # the attestation this caller waited for failed
                raise NotVerified(self.last_result.verdict(), self.last_result)
            result = await self.attest()
            if self.release_change is not None:
                raise ReleaseChanged(self.release_change, result)
            if self.verified is None:
                raise NotVerified(result.verdict(), result)
            if self.clock() >= self.verified.valid_until:  # it lapsed while it was being appraised
                lapsed = self.verified.valid_until
                self.verified = None
                raise NotVerified(f"the evidence lapsed at {iso(lapsed)}, before anything could be sent to it; nothing was sent", result)
            return self.verified

    # -- requests ----------------------------------------------------------------------------------
    def exchange(self, method: str, path: str, body: dict[str, Any] | None = None, *,
                 headers: Sequence[tuple[str, str]] = ()) -> AsyncIterator[Event]:
        """One request through the verified channel, as its events: first ``(status, headers)``,
        then the decrypted body's bytes (what :meth:`stream_chat` and :meth:`request_json` read).

        Attests first when there is no current passing result (:class:`NotVerified`: nothing is
        sent); a stale key causes at most one re-attestation and one retry. ``headers`` (an API
        key's ``authorization``) go inside the channel's request (:meth:`Channel.exchange`)."""
        return self._exchange(method, path, body, headers)

    async def _exchange(self, method: str, path: str, body: dict[str, Any] | None,
                        headers: Sequence[tuple[str, str]] = ()) -> AsyncIterator[Event]:
        retried = False
        while True:
            verified = await self.ready()
            stream = (verified.channel.exchange(self.http, self.url, method, path, body, headers=headers)
                      if headers else verified.channel.exchange(self.http, self.url, method, path, body))
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
            return load_strict_json(bytes(data), f"{method} {path}")
        except ParseError:
            raise ProtocolError(f"{method} {path} did not answer JSON") from None

    async def models(self) -> list[str]:
        doc = await self.request_json("GET", "/v1/models")
        data = doc.get("data") if isinstance(doc, dict) else None
        return [m["id"] for m in data or [] if isinstance(m, dict) and isinstance(m.get("id"), str)]
