"""What the app talks to: a :class:`ChatService`, in practice :class:`SessionService`, a thin
adapter over :class:`verifier.session.Session` that also reports the steps of an attestation as
they happen and keeps the evidence bytes it was shown (for the details screen and "save evidence").

The adapter adds no trust decisions: the Session alone decides whether anything is sent.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from verifier.appraisal.policy import Policy
from verifier.endorsements.fetch import CollateralFetcher
from verifier.result import AttestationResult, iso
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
    last_result: AttestationResult | None
    evidence: bytes | None
    attestations: int

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
    """Reports attestation steps and records the evidence body; changes nothing on the wire."""

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
        if request.method == "GET" and path == ATTESTATION_PATH:
            assert isinstance(response.stream, httpx.AsyncByteStream)
            response.stream = _TeeStream(response.stream, self.owner.evidence_received)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


class SessionService:
    """A :class:`Session` plus progress reports and the last evidence bytes."""

    def __init__(self, target: Target, *, fetcher: CollateralFetcher | None = None,
                 state_dir: Path | None = None) -> None:
        self.target = target
        self.http = httpx.AsyncClient(timeout=HTTP_TIMEOUT, follow_redirects=False,
                                      transport=_ObservingTransport(self))
        self.session = Session(target.url, target.policy, provider=target.provider,
                               http=self.http, fetcher=fetcher, state_dir=state_dir)
        self.evidence: bytes | None = None
        self._progress: Progress | None = None

    # -- what the transport reports ---------------------------------------------------------------
    def step(self, text: str) -> None:
        if self._progress is not None:
            self._progress(text)

    def evidence_received(self, body: bytes) -> None:
        self.evidence = body
        self.step("appraising the evidence against the policy")

    # -- ChatService -------------------------------------------------------------------------------
    @property
    def last_result(self) -> AttestationResult | None:  # type: ignore[override]
        return self.session.last_result

    @property
    def attestations(self) -> int:  # type: ignore[override]
        return self.session.attestations

    @property
    def valid_until(self) -> dt.datetime | None:
        verified = self.session.verified
        return verified.valid_until if verified is not None else None

    async def attest(self, progress: Progress | None = None) -> AttestationResult:
        self._progress = progress
        self.evidence = None
        try:
            self.step("connecting")
            return await self.session.attest()
        finally:
            self._progress = None

    async def stream_chat(self, messages: Sequence[dict[str, Any]], *,
                          model: str | None = None) -> AsyncIterator[str]:
        async for delta in self.session.stream_chat(messages, model=model):
            yield delta

    async def models(self) -> list[str]:
        return await self.session.models()

    async def aclose(self) -> None:
        await self.session.aclose()
        await self.http.aclose()


def save_evidence(directory: Path, *, url: str, provider: str, evidence: bytes,
                  result: AttestationResult) -> list[Path]:
    """Write a recording that ``enclave-chat verify --replay DIR`` reads: ``attestation.json``
    (the bytes as received), ``manifest.json`` and ``result.json``; files 0600, folder 0700."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    manifest = {"provider": provider, "url": url,
                "nonce": result.nonce.hex() if result.nonce is not None else None,
                "captured_at": iso(result.at), "policy": result.policy.to_json()}
    written = []
    for name, data in (("attestation.json", evidence),
                       ("manifest.json", json.dumps(manifest, indent=2).encode()),
                       ("result.json", json.dumps(result.to_json(), indent=2).encode())):
        path = directory / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        written.append(path)
    return written


def captured_stamp(at: dt.datetime) -> str:
    """A folder-name-safe UTC time, e.g. ``20250102T030405Z``."""
    return at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
