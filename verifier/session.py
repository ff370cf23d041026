"""A verified conversation with one service: nonce -> evidence -> appraisal -> channel -> chat.

The rules (docs/protocol.md §Session):

- nothing of a prompt, plaintext or ciphertext, is sent before a passing result;
- requests are sealed only to the key configuration bytes that the evidence binds; if the gateway's
  own answer for its key differs by one byte, that is a refusal (``channel.key_config``);
- a verified session lasts ``min(expires, policy max_age)`` counted from the nonce's creation, then
  re-attests before the next request;
- a gateway answer that the key configuration is not current causes at most one re-attestation and
  one retry.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from verifier.appraisal.native import appraise_native, check_service_url
from verifier.appraisal.policy import Policy
from verifier.channel.keyconfig import KeyConfig, parse_ohttp_keys
from verifier.endorsements.fetch import CollateralFetcher
from verifier.errors import NotVerified, ParseError, ProtocolError
from verifier.providers import native
from verifier.providers.sse import SseDeltas
from verifier.result import AttestationResult, Check, failed, iso, passed

DEFAULT_MAX_AGE = 600
HTTP_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Verified:
    """What a passing attestation leaves the session: the result, the key, and when it lapses."""

    result: AttestationResult
    key_config: KeyConfig
    valid_until: dt.datetime


class Session:
    """One service, one policy. Use as an async context manager."""

    def __init__(self, url: str, policy: Policy, *, provider: str = "native",
                 http: httpx.AsyncClient | None = None, fetcher: CollateralFetcher | None = None,
                 state_dir: Path | None = None, save_evidence: Path | None = None,
                 clock: Callable[[], dt.datetime] = utcnow) -> None:
        if provider != "native":
            raise ProtocolError(f"provider {provider!r} is not supported by this build yet")
        self.url = url.rstrip("/")
        self.policy = policy
        self.fetcher = fetcher
        self.state_dir = state_dir
        self.save_evidence = save_evidence
        self.clock = clock
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

    @property
    def max_age(self) -> dt.timedelta:
        seconds = self.policy.section("service").get("max_age_seconds", int, DEFAULT_MAX_AGE)
        return dt.timedelta(seconds=seconds)

    # -- attestation -------------------------------------------------------------------------------
    async def attest(self) -> AttestationResult:
        """Fetch fresh evidence for a new nonce and appraise it. Never sends a prompt."""
        self.verified = None
        self.attestations += 1
        nonce = secrets.token_bytes(32)
        created = self.clock()
        url_check = check_service_url(self.url, self.policy)
        if url_check.status != "pass":
            result = AttestationResult("native", created, nonce, self.policy.ref, (url_check,))
            self.last_result = result
            return result
        fetched = await native.fetch_attestation(self.http, self.url, nonce)
        if fetched.status != 200:
            result = AttestationResult("native", created, nonce, self.policy.ref, (
                url_check, failed("bundle.fetch", f"The attestation endpoint answered HTTP {fetched.status} instead of evidence.", authenticity=True)))
            self.last_result = result
            return result
        result, bundle = await asyncio.to_thread(
            appraise_native, fetched.body, nonce=nonce, policy=self.policy, at=created,
            service_url=self.url, fetcher=self.fetcher)
        key_config: KeyConfig | None = None
        if bundle is not None and result.verified:
            key_check, key_config = await self._check_gateway_key(bundle.key_config)
            result = result.with_checks([key_check])
        if self.save_evidence is not None:
            self._save(fetched.body, nonce, created, result)
        self.last_result = result
        if result.verified and bundle is not None and key_config is not None:
            self.verified = Verified(result, key_config, min(bundle.expires, created + self.max_age))
        return result

    async def _check_gateway_key(self, attested: bytes) -> tuple[Check, KeyConfig | None]:
        """``channel.key_config``: the gateway's published key equals the attested bytes."""
        try:
            configs = parse_ohttp_keys(attested)
            config = next(c for c in configs if c.supported_suites())
        except (ParseError, StopIteration):
            return failed("channel.key_config", "The attested key configuration is not one this client can use."), None
        published = await native.fetch_key_config(self.http, self.url)
        if published.status != 200:
            return failed("channel.key_config", f"The gateway's key endpoint answered HTTP {published.status}."), None
        if published.body != attested:
            return failed("channel.key_config", "The gateway publishes a key configuration that differs from the attested one: requests could be read by someone outside the enclave."), None
        return passed("channel.key_config", f"Requests are sealed to the attested key (key id {config.key_id}, KEM 0x{config.kem_id:04x}); the gateway publishes the same bytes."), config

    def _save(self, body: bytes, nonce: bytes, created: dt.datetime, result: AttestationResult) -> None:
        assert self.save_evidence is not None
        self.save_evidence.mkdir(parents=True, exist_ok=True, mode=0o700)
        manifest = {"provider": "native", "url": self.url, "nonce": nonce.hex(),
                    "captured_at": iso(created), "policy": result.policy.to_json()}
        for name, data in (("attestation.json", body),
                           ("manifest.json", json.dumps(manifest, indent=2).encode()),
                           ("result.json", json.dumps(result.to_json(), indent=2).encode())):
            path = self.save_evidence / name
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)

    async def ready(self) -> Verified:
        """A current passing result, attesting again when there is none or it lapsed.

        Raises :class:`NotVerified` when the service does not pass: nothing is sent then."""
        if self.verified is None or self.clock() >= self.verified.valid_until:
            result = await self.attest()
            if self.verified is None:
                raise NotVerified(result.verdict(), result)
        return self.verified

    # -- requests ----------------------------------------------------------------------------------
    async def _exchange(self, method: str, path: str, body: dict[str, Any] | None) -> AsyncIterator[bytes | tuple[int, tuple[tuple[bytes, bytes], ...]]]:
        retried = False
        while True:
            verified = await self.ready()
            authority = httpx.URL(self.url).host
            request = native.inner_request(method, path, authority, body)
            stream = native.post_chunked(self.http, self.url, verified.key_config, request)
            try:
                first = await stream.__anext__()
            except native.StaleKeyConfig:
                if retried:
                    raise
                retried = True
                self.verified = None
                continue
            yield first
            async for event in stream:
                yield event
            return

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
            raise ProtocolError(f"the model answered HTTP {status}: {bytes(error).decode(errors='replace')[:300]}")

    async def request_json(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        status, data = 0, bytearray()
        async for event in self._exchange(method, path, body):
            if isinstance(event, tuple):
                status = event[0]
            else:
                data += event
                if len(data) > 4 * 1024 * 1024:
                    raise ProtocolError("the answer is larger than 4 MiB")
        if status != 200:
            raise ProtocolError(f"{method} {path} answered HTTP {status}")
        try:
            return json.loads(data)
        except ValueError:
            raise ProtocolError(f"{method} {path} did not answer JSON") from None

    async def models(self) -> list[str]:
        doc = await self.request_json("GET", "/v1/models")
        data = doc.get("data") if isinstance(doc, dict) else None
        return [m["id"] for m in data or [] if isinstance(m, dict) and isinstance(m.get("id"), str)]
