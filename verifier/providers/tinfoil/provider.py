"""The ``tinfoil`` profile: Tinfoil's v3 attestation and EHBP, for ``--provider tinfoil``.

Its HTTP exchanges (sans-policy: what to trust is :mod:`verifier.providers.tinfoil.appraisal`'s):

- ``GET {service}/.well-known/tinfoil-attestation?nonce=<64 hex>``: the v3 document (an older
  service answers v2, which is never verified), keeping the TLS peer's key for ``tinfoil.tls_key``;
  a document in Tinfoil's current layout carries its collateral and releases, so after it only the
  repository's name may be fetched (discovery), and a verified session ends at its freshness deadline;
- for a host the policy's ``[tinfoil] repos`` does not name, the router's discovery document
  (``[tinfoil] discovery``) says which repository's releases it runs;
- the repository's latest release, digest and Sigstore bundle, from GitHub (or the policy's proxy),
  and for TDX the same for ``tinfoilsh/hardware-measurements`` (:mod:`verifier.providers.tinfoil.release`);
- after a passing result, each request is an EHBP exchange (:class:`EhbpChannel`) with the attested
  HPKE key, over a TLS connection whose peer must hold the attested TLS key.

EHBP cannot detect a response cut short at a frame boundary, so the channel says
``truncation_detectable = False`` and the UI and ``ask`` say so. ``TINFOIL_API_KEY``, when set in the
environment, is sent as the bearer token Tinfoil's API requires (a header, as Tinfoil's own clients
do; EHBP seals bodies only).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from verifier.bounded_http import IDENTITY, aget, araw, aread, check_encoding, peer_spki_der
from verifier.channel import ehbp
from verifier.errors import (
    ChannelError,
    ParseError,
    ProtocolError,
    ServiceUnreachable,
    TruncatedResponse,
)
from verifier.providers.base import AttestContext, Attested, Event, StaleKeyConfig
from verifier.providers.tinfoil import checks as ids
from verifier.providers.tinfoil import document as docs
from verifier.providers.tinfoil import envelope as env
from verifier.providers.tinfoil.appraisal import Fetched, Repository, appraise_document, host_of
from verifier.providers.tinfoil.release import ReleaseFetch, fetch_release, http_get
from verifier.providers.tinfoil.rules import TinfoilPolicy
from verifier.providers.tinfoil.state import remember_v3, v3_seen
from verifier.result import AttestationResult, failed, passed, skipped
from verifier.strict_json import load_strict_json

ATTESTATION_PATH = "/.well-known/tinfoil-attestation"
DEMO_RELEASE_PATH = "/.well-known/tinfoil-demo-release"
"""INSECURE DEMO: where the reference enclave's tinfoil mode serves its native release object."""
MAX_DISCOVERY_BYTES = 2 * 1024 * 1024
MAX_PROBLEM_BYTES = 64 * 1024
PROBLEM_DEADLINE = 10.0
"""Seconds to read an unencrypted error answer (its body only names the error)."""
KIND = "tinfoil"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DocumentAnswer:
    status: int
    body: bytes
    peer_spki: bytes | None
    transport: str


async def fetch_document(http: httpx.AsyncClient, base: str, nonce: bytes) -> DocumentAnswer:
    """``GET /.well-known/tinfoil-attestation?nonce=<hex>`` (bounded), keeping the TLS peer's key."""
    url = f"{base}{ATTESTATION_PATH}?nonce={nonce.hex()}"
    answer = await aget(http, url, limit=docs.MAX_DOCUMENT)
    return DocumentAnswer(answer.status, answer.body, answer.peer_spki, httpx.URL(url).scheme)


async def resolve_repository(http: httpx.AsyncClient, policy: TinfoilPolicy, host: str) -> Repository:
    """``tinfoil.repository``: the policy's pin for ``host``, else the router's discovery document."""
    pinned = policy.repos.get(host)
    if pinned is not None:
        return Repository(pinned, passed(ids.REPOSITORY, f"The policy names {pinned} as the repository {host} runs."))
    if policy.discovery is None:
        return Repository(None, failed(ids.REPOSITORY, f"The policy names no repository for {host} ([tinfoil] repos) and no discovery document to find one."))
    answer = await http_get(http, policy.discovery, MAX_DISCOVERY_BYTES)
    if answer.unreachable:
        return Repository(None, skipped(ids.REPOSITORY, f"The discovery document {policy.discovery} could not be fetched ({answer.error}), so the repository {host} runs is unknown."))
    repo = _repo_from_discovery(answer.body, host) if answer.status == 200 else None
    if repo is None:
        return Repository(None, failed(ids.REPOSITORY, f"The discovery document {policy.discovery} (HTTP {answer.status}) lists no model served by {host}."))
    if not policy.repo_allowed(repo):
        return Repository(None, failed(ids.REPOSITORY, f"The discovery document says {host} runs {repo}, which is not among the policy's allowed repositories {list(policy.allowed_repos)}."))
    return Repository(repo, passed(ids.REPOSITORY, f"The router's discovery document says {host} runs {repo} (allowed by the policy); it only chooses whose signed release must match, it proves nothing by itself."))


def _repo_from_discovery(body: bytes, host: str) -> str | None:
    """``models[*].enclaves`` lists the hosts of each model, with its ``repo`` (teep resolver.go)."""
    try:
        models = load_strict_json(body, "discovery")["models"]
        for entry in models.values():
            enclaves = entry.get("enclaves") or {}
            hosts = enclaves.keys() if isinstance(enclaves, dict) else enclaves
            if any(isinstance(h, str) and h.lower() == host for h in hosts):
                repo = entry.get("repo")
                return repo if isinstance(repo, str) else None
    except (ParseError, KeyError, TypeError, AttributeError):
        return None
    return None


async def _demo_release(http: httpx.AsyncClient, base: str) -> dict[str, Any] | None:
    answer = await http_get(http, f"{base}{DEMO_RELEASE_PATH}", 1024 * 1024)
    try:
        doc = load_strict_json(answer.body, "demo release") if answer.status == 200 else None
    except ParseError:
        return None
    return doc if isinstance(doc, dict) else None


class TinfoilProvider:
    """Tinfoil's v3 document, appraised in full (GPUs included), then EHBP to the attested key."""

    name = "tinfoil"

    async def attest(self, ctx: AttestContext) -> Attested:
        from verifier.urls import check_service_url

        tinfoil = TinfoilPolicy.from_policy(ctx.policy)
        url_check = check_service_url(ctx.base_url, ctx.policy, proxied=ctx.proxied)
        if url_check.status != "pass":
            return Attested(AttestationResult(KIND, ctx.at, ctx.nonce, ctx.policy.ref, (url_check,)), None, None)
        host = host_of(ctx.base_url)
        answer = await fetch_document(ctx.http, ctx.base_url, ctx.nonce)
        if answer.status != 200:
            check = failed(ids.FETCH, f"The attestation endpoint answered HTTP {answer.status} instead of a document.", authenticity=True)
            return Attested(AttestationResult(KIND, ctx.at, ctx.nonce, ctx.policy.ref, (url_check, check)), None, None)
        try:
            parsed: docs.V3Document | docs.V2Document | env.EnvelopeDocument | None = env.parse_any(answer.body)
        except ParseError:  # reported by the appraisal as tinfoil.parse or .layout; nothing more to fetch
            parsed = None
        fetched = Fetched(answer.peer_spki, answer.transport, v3_seen=v3_seen(ctx.state_dir, host))
        if isinstance(parsed, env.EnvelopeDocument):
            # everything but the repository's name is in the document: resolve only that
            fetched = await self._resolve_only(ctx, tinfoil, host, fetched)
        elif parsed is not None:
            fetched = await self._fetch_releases(ctx, tinfoil, host, parsed.platform, fetched)
        result, doc = await asyncio.to_thread(
            appraise_document, answer.body, nonce=ctx.nonce, policy=ctx.policy, at=ctx.at, host=host,
            fetched=fetched, fetcher=ctx.fetcher, service_check=url_check, log_http=ctx.log_http,
            state_dir=ctx.state_dir)
        if isinstance(doc, docs.V3Document | env.EnvelopeDocument) and result.authentic:
            try:
                remember_v3(ctx.state_dir, host, ctx.at)
            except OSError as e:  # the result stands; only the downgrade memory is lost
                log.warning("cannot remember that %s serves v3 documents: %s", host, e)
        channel = None
        expires = None
        api_key = os.environ.get("TINFOIL_API_KEY") or None
        if isinstance(doc, docs.V3Document) and result.verified:
            channel = EhbpChannel(doc.hpke_key, doc.tls_key_fp, tinfoil.tls_binding == "required", api_key)
        elif isinstance(doc, env.EnvelopeDocument) and result.verified:
            hpke, tls = doc.item(env.HPKE_ID), doc.item(env.TLS_ID)
            assert hpke is not None and tls is not None  # tinfoil.hpke_key and .tls_key passed
            channel = EhbpChannel(hpke.data, tls.data, tinfoil.tls_binding == "required", api_key)
            # no request may be authorised at or after the reference values' freshness deadline
            deadline = result.claims.get("freshness_expires_at")
            expires = dt.datetime.fromisoformat(deadline) if isinstance(deadline, str) else None
        return Attested(result, channel, expires)

    @staticmethod
    async def _resolve_only(ctx: AttestContext, tinfoil: TinfoilPolicy, host: str, fetched: Fetched) -> Fetched:
        """A current-layout document carries its releases; only the repository is the client's to know."""
        if tinfoil.release_source == "demo":
            return fetched
        if ctx.fetcher is not None and ctx.fetcher.offline and host not in tinfoil.repos:
            offline = skipped(ids.REPOSITORY, "Fetching is off (--offline): the discovery document was not fetched, so the repository this host must run is unknown.")
            return Fetched(fetched.peer_spki, fetched.transport, Repository(None, offline), v3_seen=fetched.v3_seen)
        repo = await resolve_repository(ctx.http, tinfoil, host)
        return Fetched(fetched.peer_spki, fetched.transport, repo, v3_seen=fetched.v3_seen)

    @staticmethod
    async def _fetch_releases(ctx: AttestContext, tinfoil: TinfoilPolicy, host: str, platform: str,
                              fetched: Fetched) -> Fetched:
        if tinfoil.release_source == "demo":
            release = await _demo_release(ctx.http, ctx.base_url)
            return Fetched(fetched.peer_spki, fetched.transport, demo_release=release, v3_seen=fetched.v3_seen)
        if ctx.fetcher is not None and ctx.fetcher.offline:  # --offline: nothing but the service
            offline = skipped(ids.REPOSITORY, "Fetching is off (--offline): the discovery document and the releases were not fetched, so the measurement cannot be matched to a release.")
            return Fetched(fetched.peer_spki, fetched.transport, Repository(None, offline), None, None, None, fetched.v3_seen)
        repo = await resolve_repository(ctx.http, tinfoil, host)
        code: ReleaseFetch | None = None
        hardware: ReleaseFetch | None = None
        if repo.name is not None:
            if platform == "tdx":
                code, hardware = await asyncio.gather(fetch_release(ctx.http, tinfoil, repo.name),
                                                      fetch_release(ctx.http, tinfoil, tinfoil.hardware_repo))
            else:
                code = await fetch_release(ctx.http, tinfoil, repo.name)
        return Fetched(fetched.peer_spki, fetched.transport, repo, code, hardware, None, fetched.v3_seen)


# -- the channel ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EhbpChannel:
    """EHBP to the attested HPKE key (``tinfoil/ehbp/SPEC.md``). With ``tls_bound``, every answer
    must come from a TLS peer holding the attested TLS key; a different peer causes one
    re-attestation and one retry (:class:`StaleKeyConfig`), as does the key-config problem (SPEC §5.4.3)."""

    hpke_key: bytes
    tls_key_fp: bytes
    tls_bound: bool = True
    api_key: str | None = None
    truncation_detectable: bool = False

    def exchange(self, http: httpx.AsyncClient, base_url: str, method: str, path: str,
                 body: dict[str, Any] | None, *,
                 headers: Sequence[tuple[str, str]] = ()) -> AsyncIterator[Event]:
        return self._exchange(http, base_url, method, path, body, headers)

    def _check_peer(self, response: httpx.Response) -> None:
        if not self.tls_bound:
            return
        spki = peer_spki_der(response)
        if spki is None:
            raise ChannelError("the answer did not come over TLS, so its peer cannot be shown to be the attested enclave")
        if not hmac.compare_digest(hashlib.sha256(spki).digest(), self.tls_key_fp):
            raise StaleKeyConfig("the TLS peer is not the attested enclave (its key changed)")

    async def _exchange(self, http: httpx.AsyncClient, base_url: str, method: str, path: str,
                        body: dict[str, Any] | None,
                        extra: Sequence[tuple[str, str]] = ()) -> AsyncIterator[Event]:
        url = f"{base_url}{path}"
        headers = {name.lower(): value for name, value in extra
                   if name.lower() not in ("accept", "content-type", "content-length", "host",
                                           "transfer-encoding", ehbp.ENCAPSULATED_KEY_HEADER.lower())}
        headers["accept"] = "application/json, text/event-stream"
        if self.api_key and "authorization" not in headers:
            headers["authorization"] = f"Bearer {self.api_key}"
        sealer: ehbp.RequestSealer | None = None
        content: AsyncIterator[bytes] | None = None
        if body is not None:
            sealer = ehbp.RequestSealer(self.hpke_key)
            sealed = sealer.seal_frame(json.dumps(body).encode())
            headers["content-type"] = "application/json"
            headers[ehbp.ENCAPSULATED_KEY_HEADER] = sealer.encapsulated_key_header

            async def chunks() -> AsyncIterator[bytes]:  # no length: chunked, as SPEC §4.1 says
                yield sealed

            content = chunks()
        try:
            async with http.stream(method, url, content=content, headers={**headers, **IDENTITY},
                                   follow_redirects=False) as response:
                check_encoding(url, response)
                self._check_peer(response)
                nonces = response.headers.get_list(ehbp.RESPONSE_NONCE_HEADER)
                if sealer is None:
                    if nonces:
                        raise ChannelError("an answer to a bodyless request carries Ehbp-Response-Nonce: EHBP mode mismatch")
                    yield response.status_code, _headers(response)
                    async for piece in araw(response):
                        yield piece
                    return
                if not nonces:
                    problem = await aread(response, limit=MAX_PROBLEM_BYTES, seconds=PROBLEM_DEADLINE, what=url,
                                          truncate=True)
                    if response.status_code == 422 and ehbp.KEY_CONFIG_PROBLEM_TYPE.encode() in problem:
                        raise StaleKeyConfig("the service no longer holds the attested HPKE key")
                    if 200 <= response.status_code < 300:
                        raise ChannelError("a successful answer came without Ehbp-Response-Nonce: its body is not authenticated and is refused")
                    text = problem.decode(errors="replace")[:200]
                    raise ProtocolError(f"the service answered HTTP {response.status_code} without EHBP encryption (unauthenticated; from the service or a proxy): {text}")
                if len(nonces) != 1:
                    raise ChannelError("the answer carries Ehbp-Response-Nonce more than once")
                opener = sealer.response_opener(nonces[0])
                yield response.status_code, _headers(response)
                async for piece in araw(response):
                    for plaintext in opener.feed(piece):
                        yield plaintext
                opener.close()
        except (httpx.ConnectError, httpx.ConnectTimeout) as e:
            raise ServiceUnreachable(f"{url} could not be reached ({type(e).__name__}: {e or 'no answer'})") from None
        except httpx.HTTPError as e:
            raise TruncatedResponse(f"the connection broke mid-response ({type(e).__name__}); what arrived is incomplete") from None


def _headers(response: httpx.Response) -> tuple[tuple[bytes, bytes], ...]:
    return tuple((k.lower().encode(), v.encode()) for k, v in response.headers.multi_items()
                 if k.lower() not in ("content-length", "transfer-encoding"))
