"""Recordings of a verification's HTTP exchanges, and replaying them with no network.

A recording is a directory: ``manifest.json`` (provider, URL, nonce, capture time) and
``responses/NNNN_<host>_<path>.body`` + ``.json`` (method, URL, status, headers, and for TLS the
peer's SubjectPublicKeyInfo, read from the live connection by :func:`peer_spki_der`), one pair per exchange in order. It is the layout of the Tinfoil
captures in the shared vectors, so the same replay reads both. ``verify --save-evidence DIR``
writes one; ``verify --replay DIR`` serves it back through :class:`ReplayTransport` to the same
session code a live verification runs, with the recorded nonce and clock, and never fetches: a
request the recording does not hold fails as unreachable, and what depended on it is ``skip``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from verifier.bounded_http import PEER_SPKI_EXTENSION, peer_spki_der
from verifier.errors import InputError, ParseError
from verifier.files import read_file
from verifier.private_files import private_dir, write_private
from verifier.providers.registry import DEFAULT, recorded_provider
from verifier.result import iso, parse_time
from verifier.strict_json import load_strict_json

MAX_RECORDED_BODY = 8 * 1024 * 1024
MAX_EXCHANGES = 512


@dataclass(frozen=True)
class Exchange:
    method: str
    url: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    peer_spki_der: bytes | None = None
    request_body: bytes | None = None
    """The request's body where the recording kept it (teep's ``req_body_base64``): on replay such
    an exchange answers only a request with that body."""


@dataclass(frozen=True)
class Manifest:
    provider: str
    url: str
    nonce: bytes
    captured_at: dt.datetime
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Recording:
    manifest: Manifest
    exchanges: tuple[Exchange, ...]


# -- reading -----------------------------------------------------------------------------------------

def _read(path: Path, limit: int = MAX_RECORDED_BODY) -> bytes:
    return read_file(path, limit)


def _json(path: Path) -> dict[str, Any]:
    try:
        doc = load_strict_json(_read(path, 1024 * 1024), str(path))
    except ParseError:
        raise InputError(f"{path} is not JSON") from None
    if not isinstance(doc, dict):
        raise InputError(f"{path} must hold a JSON object")
    return doc


def _exchange(meta_path: Path, meta: dict[str, Any]) -> Exchange:
    """One recorded exchange, checked so that replaying it cannot fail in any other way than
    "not in the recording": a URL httpx parses, a status 100..599, headers that encode."""
    try:
        url, status, raw_headers = meta["url"], meta["status"], meta.get("headers", {})
        if not isinstance(url, str) or type(status) is not int or not 100 <= status <= 599:
            raise ValueError
        httpx.URL(url)
        if not isinstance(raw_headers, dict):
            raise ValueError
        headers: list[tuple[str, str]] = []
        for name, values in raw_headers.items():
            for value in values if isinstance(values, list) else [values]:
                headers.append((str(name), str(value)))
        if any(c in f"{n}{v}" for n, v in headers for c in "\r\n\0"):
            raise ValueError
        httpx.Headers(headers).raw  # noqa: B018  (encodes every name and value, or fails)
        spki = meta.get("peer_spki_der_base64")
        sent = meta.get("req_body_base64")
        return Exchange(str(meta.get("method", "GET")).upper(), url, status, tuple(headers),
                        _read(meta_path.parent / (meta_path.name.removesuffix(".json") + ".body")),
                        base64.b64decode(spki) if isinstance(spki, str) else None,
                        base64.b64decode(sent, validate=True) if isinstance(sent, str) else None)
    except (KeyError, ValueError, TypeError, httpx.InvalidURL, binascii.Error):
        raise InputError(f"{meta_path} needs a url, a status 100..599 and text headers") from None


def load_recording(directory: Path) -> Recording:
    doc = _json(directory / "manifest.json")
    try:
        nonce = bytes.fromhex(str(doc.get("nonce_hex", doc.get("nonce"))))
        captured = parse_time(str(doc["captured_at"]))
    except (KeyError, ValueError):
        raise InputError(f"{directory}/manifest.json lacks a valid nonce_hex or captured_at") from None
    exchanges: list[Exchange] = []
    responses = directory / "responses"
    metas = sorted(responses.glob("*.json")) if responses.is_dir() else []
    if len(metas) > MAX_EXCHANGES:
        raise InputError(f"{responses} holds more than {MAX_EXCHANGES} exchanges")
    for meta_path in metas:
        exchanges.append(_exchange(meta_path, _json(meta_path)))
    url = str(doc.get("url") or _service_url(exchanges, nonce) or "")
    if not url:
        raise InputError(f"{directory}/manifest.json names no service URL")
    manifest = Manifest(recorded_provider(str(doc.get("provider", DEFAULT))), url, nonce, captured, doc)
    return Recording(manifest, tuple(exchanges))


def _origin(url: str) -> str:
    parts = httpx.URL(url)
    return f"{parts.scheme}://{parts.netloc.decode()}"


def _service_url(exchanges: Iterable[Exchange], nonce: bytes) -> str | None:
    """For a manifest that names no URL (the teep captures): the origin that was asked for evidence
    with the recorded nonce (a query parameter equal to its hex), else the first exchange's origin.
    A capture that first asked a router where a model runs is so replayed against that model's
    enclave, which is what was attested."""
    listed = list(exchanges)
    want = nonce.hex()
    for e in listed:
        if any(v.lower() == want for _, v in httpx.URL(e.url).params.multi_items()):
            return _origin(e.url)
    return _origin(listed[0].url) if listed else None


# -- replaying ---------------------------------------------------------------------------------------

def _canonical_url(url: str) -> tuple[str, str, str, tuple[tuple[str, str], ...]]:
    """A URL with its query as a sorted multiset and decimal values without leading zeros, so that
    ``blSPL=00`` and ``blSPL=0`` (AMD KDS accepts both; clients differ) name the same request."""
    parts = httpx.URL(url)
    params = tuple(sorted((k, str(int(v)) if v.isdigit() else v) for k, v in parts.params.multi_items()))
    return parts.scheme, parts.netloc.decode().lower(), parts.path, params


class ReplayTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Answers each request with the first unused recorded exchange of the same method and URL
    (the exact URL first, else the same URL up to query order and zero-padded decimal values).
    An exchange that kept its request body (teep's POSTs to Rekor) answers only a request with the
    same body, so those are served whatever order they are asked in; the others by order.

    A request that is not in the recording raises :class:`httpx.ConnectError`: a replay never
    reaches the network."""

    def __init__(self, exchanges: Iterable[Exchange]) -> None:
        self._unused = list(exchanges)
        self._lock = threading.Lock()

    def _answer(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        try:
            sent: bytes | None = request.content
        except httpx.RequestNotRead:
            sent = None

        def fits(e: Exchange) -> bool:
            return e.method == request.method and (e.request_body is None or e.request_body == sent)

        with self._lock:
            found = next((i for i, e in enumerate(self._unused) if fits(e) and e.url == url), None)
            if found is None:
                canonical = _canonical_url(url)
                found = next((i for i, e in enumerate(self._unused)
                              if fits(e) and _canonical_url(e.url) == canonical), None)
            if found is None:
                raise httpx.ConnectError(f"{request.method} {url} is not in the recording", request=request)
            e = self._unused.pop(found)
        headers = [(k, v) for k, v in e.headers if k.lower() not in ("content-length", "content-encoding", "transfer-encoding")]
        extensions = {PEER_SPKI_EXTENSION: e.peer_spki_der} if e.peer_spki_der else {}
        return httpx.Response(e.status, headers=headers, content=e.body, request=request,
                              extensions=extensions)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._answer(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return self._answer(request)


# -- recording ---------------------------------------------------------------------------------------

def _bound(request: httpx.Request, body: bytearray) -> None:
    """A recording keeps bodies whole in memory: one larger than a recording may hold is refused
    as it arrives, not after."""
    if len(body) > MAX_RECORDED_BODY:
        raise httpx.RemoteProtocolError(f"the answer is larger than the {MAX_RECORDED_BODY} bytes a recording keeps", request=request)


class RecordingTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Wraps a real transport and keeps every exchange (bodies read whole; for attestation,
    collateral and key fetches, not for chat streams, which the session sends elsewhere)."""

    def __init__(self, inner_sync: httpx.BaseTransport | None = None,
                 inner_async: httpx.AsyncBaseTransport | None = None) -> None:
        self._sync = inner_sync or httpx.HTTPTransport()
        self._async = inner_async or httpx.AsyncHTTPTransport()
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()

    def _keep(self, request: httpx.Request, response: httpx.Response, body: bytes,
              spki: bytes | None) -> dict[str, Any]:
        with self._lock:
            if len(self.exchanges) < MAX_EXCHANGES:
                self.exchanges.append(Exchange(request.method, str(request.url), response.status_code,
                                               tuple(response.headers.multi_items()), body, spki))
        extensions = dict(response.extensions)
        if spki is not None:
            extensions[PEER_SPKI_EXTENSION] = spki
        return extensions

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._sync.handle_request(request)
        try:
            spki = peer_spki_der(response)
            body = bytearray()
            for piece in response.iter_bytes():
                body += piece
                _bound(request, body)
        finally:
            response.close()
        return self._answer(request, response, bytes(body), spki)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._async.handle_async_request(request)
        try:
            spki = peer_spki_der(response)
            body = bytearray()
            async for piece in response.aiter_bytes():
                body += piece
                _bound(request, body)
        finally:
            await response.aclose()
        return self._answer(request, response, bytes(body), spki)

    def _answer(self, request: httpx.Request, response: httpx.Response, body: bytes,
                spki: bytes | None) -> httpx.Response:
        """The recorded answer, handed on: its body is already decoded, so it no longer carries a
        content-encoding (or the length of the encoded body)."""
        extensions = self._keep(request, response, body, spki)
        headers = [(k, v) for k, v in response.headers.multi_items()
                   if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
        return httpx.Response(response.status_code, headers=headers, content=body,
                              request=request, extensions=extensions)

    def close(self) -> None:
        self._sync.close()

    async def aclose(self) -> None:
        await self._async.aclose()


def _slug(url: str) -> str:
    parts = httpx.URL(url)
    return re.sub(r"[^A-Za-z0-9.\-]", "_", f"{parts.host}{parts.path}")[:80]


def write_recording(directory: Path, manifest: Manifest, exchanges: Iterable[Exchange],
                    extra_files: dict[str, bytes] | None = None) -> None:
    """Write a recording (files 0600, directories 0700)."""
    responses = directory / "responses"
    private_dir(directory)
    private_dir(responses)
    doc = {"provider": manifest.provider, "url": manifest.url, "nonce_hex": manifest.nonce.hex(),
           "captured_at": iso(manifest.captured_at), **manifest.extra}
    write_private(directory / "manifest.json", json.dumps(doc, indent=2).encode())
    for i, e in enumerate(exchanges, start=1):
        stem = f"{i:04d}_{_slug(e.url)}"
        headers: dict[str, list[str]] = {}
        for k, v in e.headers:
            headers.setdefault(k, []).append(v)
        meta: dict[str, Any] = {"method": e.method, "url": e.url, "status": e.status, "headers": headers}
        if e.peer_spki_der:
            meta["peer_spki_der_base64"] = base64.b64encode(e.peer_spki_der).decode()
        write_private(responses / f"{stem}.json", json.dumps(meta, indent=2).encode())
        write_private(responses / f"{stem}.body", e.body)
    for name, data in (extra_files or {}).items():
        write_private(directory / name, data)
