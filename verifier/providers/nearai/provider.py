"""The ``nearai`` profile: NEAR AI's attestation report, appraised, then TLS to the attested key.

Its HTTP exchange (what to trust is :mod:`verifier.providers.nearai.appraisal`'s):

- ``GET {service}/v1/attestation/report?include_tls_fingerprint=true&nonce=<64 hex>&signing_algo=ed25519``
  (and ``&model=<[nearai] model>`` for a host in ``[nearai] gateway_hosts``, NEAR AI's cloud gateway),
  the request shape of teep's recordings, keeping the TLS peer's key for ``nearai.tls_key``;
- the Intel PCS collateral of each quote, through the collateral fetcher (the GPUs' RIMs and OCSP
  answers too, when the policy asks for them);
- Rekor's index and entries for the compose's images (``POST https://rekor.sigstore.dev/api/v1/index/retrieve``
  and ``/api/v1/log/entries/retrieve``), through the same fetcher (never cached, refused offline).

After a verified result every request goes to the service over a TLS connection whose peer must
hold the attested TLS key (SHA-256 of its SPKI DER = the attested ``tls_cert_fingerprint``; behind
the gateway, the gateway's). No end-to-end encryption is used: NEAR AI's OHTTP key config is
checked (``nearai.ohttp_key``) but not used, so only TLS to the attested key protects the prompt
(``nearai.e2ee`` says so in the result). ``NEARAI_API_KEY``, when set, is sent as the bearer token.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import urllib.parse
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from verifier.bounded_http import IDENTITY, aget, araw, check_encoding, peer_spki_der
from verifier.errors import ChannelError, ServiceUnreachable, TruncatedResponse
from verifier.providers.base import AttestContext, Attested, Event, StaleKeyConfig
from verifier.providers.nearai import NAME
from verifier.providers.nearai import checks as ids
from verifier.providers.nearai.document import MAX_DOCUMENT
from verifier.providers.nearai.rules import NearAiPolicy
from verifier.result import AttestationResult, failed
from verifier.urls import is_loopback_url

REPORT_PATH = "/v1/attestation/report"


def report_url(base: str, nonce: bytes, rules: NearAiPolicy) -> str:
    host = (httpx.URL(base).host or "").lower()
    params = [("include_tls_fingerprint", "true"), ("nonce", nonce.hex()), ("signing_algo", "ed25519")]
    if host in rules.gateway_hosts and rules.model:
        params.insert(1, ("model", rules.model))
    return f"{base}{REPORT_PATH}?{urllib.parse.urlencode(params)}"


class NearAiProvider:
    """NEAR AI's report (model host or cloud gateway), appraised in full, then TLS to the attested key."""

    name = NAME

    async def attest(self, ctx: AttestContext) -> Attested:
        from verifier.providers.nearai.appraisal import appraise_report
        from verifier.urls import check_service_url

        rules = NearAiPolicy.from_policy(ctx.policy)
        url_check = check_service_url(ctx.base_url, ctx.policy, proxied=ctx.proxied)
        if url_check.status != "pass":
            return Attested(AttestationResult(NAME, ctx.at, ctx.nonce, ctx.policy.ref, (url_check,)), None, None)
        url = report_url(ctx.base_url, ctx.nonce, rules)
        answer = await aget(ctx.http, url, limit=MAX_DOCUMENT)
        if answer.status != 200:
            check = failed(ids.FETCH, f"The attestation endpoint answered HTTP {answer.status} instead of a report.", authenticity=True)
            return Attested(AttestationResult(NAME, ctx.at, ctx.nonce, ctx.policy.ref, (url_check, check)), None, None)
        appraised = await asyncio.to_thread(
            appraise_report, answer.body, nonce=ctx.nonce, policy=ctx.policy, at=ctx.at, peer_spki=answer.peer_spki,
            transport=httpx.URL(url).scheme, fetcher=ctx.fetcher, service_check=url_check)
        channel = None
        if appraised.result.verified and appraised.tls_fp is not None:
            channel = TlsChannel(appraised.tls_fp, os.environ.get("NEARAI_API_KEY") or None,
                                 require_tls=rules.tls_key == "required")
        return Attested(appraised.result, channel, None)


@dataclass(frozen=True)
class TlsChannel:
    """Requests as they are (OpenAI-compatible JSON) over TLS whose peer must hold the attested key.

    Not end-to-end encrypted: the prompt is protected by TLS to the attested key alone. A peer with
    another key causes one re-attestation and one retry (:class:`StaleKeyConfig`); an answer not
    over TLS is refused. INSECURE DEMO (``[nearai] tls_key = "off"``, loopback demo policies only):
    ``require_tls`` False takes plain http answers from a loopback service, with no peer check at all."""

    tls_key_fp: bytes
    api_key: str | None = None
    truncation_detectable: bool = True
    require_tls: bool = True

    def exchange(self, http: httpx.AsyncClient, base_url: str, method: str, path: str,
                 body: dict[str, Any] | None, *,
                 headers: Sequence[tuple[str, str]] = ()) -> AsyncIterator[Event]:
        return self._exchange(http, base_url, method, path, body, headers)

    def _check_peer(self, response: httpx.Response) -> None:
        if not self.require_tls:
            if not is_loopback_url(str(response.url)):
                raise ChannelError("without TLS (INSECURE DEMO) only a loopback service is spoken to")
            return
        spki = peer_spki_der(response)
        if spki is None:
            raise ChannelError("the answer did not come over TLS, so its peer cannot be shown to be the attested TD")
        if not hmac.compare_digest(hashlib.sha256(spki).digest(), self.tls_key_fp):
            raise StaleKeyConfig("the TLS peer is not the attested TD (its key changed)")

    async def _exchange(self, http: httpx.AsyncClient, base_url: str, method: str, path: str,
                        body: dict[str, Any] | None, extra: Sequence[tuple[str, str]]) -> AsyncIterator[Event]:
        url = f"{base_url}{path}"
        sent = {name.lower(): value for name, value in extra
                if name.lower() not in ("accept", "content-type", "content-length", "host", "transfer-encoding")}
        sent["accept"] = "application/json, text/event-stream"
        if self.api_key and "authorization" not in sent:
            sent["authorization"] = f"Bearer {self.api_key}"
        content: bytes | None = None
        if body is not None:
            content = json.dumps(body).encode()
            sent["content-type"] = "application/json"
        try:
            async with http.stream(method, url, content=content, headers={**sent, **IDENTITY},
                                   follow_redirects=False) as response:
                check_encoding(url, response)
                self._check_peer(response)
                yield response.status_code, tuple((k.lower().encode(), v.encode()) for k, v in response.headers.multi_items()
                                                  if k.lower() not in ("content-length", "transfer-encoding"))
                async for piece in araw(response):
                    yield piece
        except (httpx.ConnectError, httpx.ConnectTimeout) as e:
            raise ServiceUnreachable(f"{url} could not be reached ({type(e).__name__}: {e or 'no answer'})") from None
        except httpx.HTTPError as e:
            raise TruncatedResponse(f"the connection broke mid-response ({type(e).__name__}); what arrived is incomplete") from None
