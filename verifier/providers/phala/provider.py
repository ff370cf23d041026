"""The ``phala`` profile for ``--provider phala``: one exchange,
``GET {service}/v1/attestation/report?model=<[phala] model>&nonce=<64 hex>`` (the recording's URL),
answered in the Chutes format and appraised by :mod:`verifier.providers.chutes.appraisal` (the
answer must say ``attestation_type: "chutes"``). No channel is handed back (``chutes.e2ee``).
"""

from __future__ import annotations

import httpx

from verifier.bounded_http import aget
from verifier.errors import ParseError
from verifier.providers.base import AttestContext, Attested
from verifier.providers.chutes.appraisal import MAX_ANSWER, ChutesAnswer, parse_typed
from verifier.providers.chutes.provider import appraise_fetched, fetch_failed
from verifier.providers.phala import NAME
from verifier.providers.phala.rules import phala_rules
from verifier.result import AttestationResult

REPORT_PATH = "/v1/attestation/report"


class PhalaProvider:
    name = NAME

    async def attest(self, ctx: AttestContext) -> Attested:
        from verifier.urls import check_service_url

        phala = phala_rules(ctx.policy)
        url_check = check_service_url(ctx.base_url, ctx.policy, proxied=ctx.proxied)
        if url_check.status != "pass":
            return Attested(AttestationResult(NAME, ctx.at, ctx.nonce, ctx.policy.ref, (url_check,)), None, None)
        if not phala.model:
            return fetch_failed(NAME, ctx, url_check, "The policy names no model ([phala] model): there is nothing to attest.")
        url = str(httpx.URL(f"{ctx.base_url}{REPORT_PATH}", params={"model": phala.model, "nonce": ctx.nonce.hex()}))
        answer = await aget(ctx.http, url, limit=MAX_ANSWER)
        if answer.status != 200:
            return fetch_failed(NAME, ctx, url_check, f"The attestation endpoint answered HTTP {answer.status} instead of an attestation.")
        try:
            parsed: ChutesAnswer | str = parse_typed(answer.body)
        except ParseError as e:
            parsed = str(e)
        return await appraise_fetched(NAME, ctx, url_check, parsed, answer.peer_spki)
