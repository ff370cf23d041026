"""The ``chutes`` profile for ``--provider chutes`` (and the shared attest flow of the Chutes format).

Chutes' HTTP exchanges (the recordings' URLs): ``GET {service}/e2e/instances/{[chutes] chute}``
(each instance's ML-KEM-768 key), then ``GET {service}/chutes/{chute}/evidence?nonce=<64 hex>``
(each instance's TD quote, GPU evidence and certificate), bounded, keeping the TLS peer's key.
No channel is ever handed back: Chutes' ML-KEM-768 end-to-end encryption is not implemented here
and TLS ends at a front end (``chutes.e2ee``), so the session sends no prompt.
"""

from __future__ import annotations

import asyncio

import httpx

from verifier.bounded_http import Answer, aget
from verifier.errors import ParseError
from verifier.providers.base import AttestContext, Attested
from verifier.providers.chutes import NAME
from verifier.providers.chutes import checks as ids
from verifier.providers.chutes.appraisal import (
    MAX_ANSWER,
    ChutesAnswer,
    appraise_answer,
    parse_chutes,
)
from verifier.providers.chutes.rules import ChutesPolicy
from verifier.result import AttestationResult, Check, failed


def _refused(kind: str, ctx: AttestContext, *checks: Check) -> Attested:
    return Attested(AttestationResult(kind, ctx.at, ctx.nonce, ctx.policy.ref, checks), None, None)


def fetch_failed(kind: str, ctx: AttestContext, url_check: Check, what: str) -> Attested:
    return _refused(kind, ctx, url_check, failed(ids.FETCH, what, authenticity=True))


async def appraise_fetched(kind: str, ctx: AttestContext, url_check: Check, answer: ChutesAnswer | str,
                           peer_spki: bytes | None) -> Attested:
    result = await asyncio.to_thread(
        appraise_answer, answer, kind=kind, nonce=ctx.nonce, policy=ctx.policy, at=ctx.at,
        service_check=url_check, peer_spki=peer_spki, host=httpx.URL(ctx.base_url).host, fetcher=ctx.fetcher)
    return Attested(result, None, None)


class ChutesProvider:
    name = NAME

    async def attest(self, ctx: AttestContext) -> Attested:
        from verifier.urls import check_service_url

        chutes = ChutesPolicy.from_policy(ctx.policy)
        url_check = check_service_url(ctx.base_url, ctx.policy, proxied=ctx.proxied)
        if url_check.status != "pass":
            return _refused(NAME, ctx, url_check)
        if not chutes.chute:
            return fetch_failed(NAME, ctx, url_check, "The policy names no chute ([chutes] chute): there is no instance to attest.")
        base = f"{ctx.base_url}/e2e/instances/{chutes.chute}"
        listed: Answer = await aget(ctx.http, base, limit=MAX_ANSWER)
        if listed.status != 200:
            return fetch_failed(NAME, ctx, url_check, f"The instances endpoint answered HTTP {listed.status} instead of the instances' keys.")
        url = str(httpx.URL(f"{ctx.base_url}/chutes/{chutes.chute}/evidence", params={"nonce": ctx.nonce.hex()}))
        evidence = await aget(ctx.http, url, limit=MAX_ANSWER)
        if evidence.status != 200:
            return fetch_failed(NAME, ctx, url_check, f"The evidence endpoint answered HTTP {evidence.status} instead of evidence.")
        try:
            parsed: ChutesAnswer | str = parse_chutes(listed.body, evidence.body)
        except ParseError as e:
            parsed = str(e)
        return await appraise_fetched(NAME, ctx, url_check, parsed, evidence.peer_spki)
