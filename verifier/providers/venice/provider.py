"""The ``venice`` profile for ``--provider venice``.

Its one HTTP exchange: ``GET {service}/api/v1/tee/attestation?model=<[venice] model>&nonce=<64 hex>``
(Venice's documented TEE attestation endpoint; the recordings' URL), bounded, keeping the TLS
peer's key. The answer is appraised by :mod:`verifier.providers.venice.appraisal`. No channel is
ever handed back: Venice's end-to-end encryption is not implemented here and no TLS key is
attested (``venice.e2ee``), so the session sends no prompt.
"""

from __future__ import annotations

import asyncio

import httpx

from verifier.bounded_http import aget
from verifier.providers.base import AttestContext, Attested
from verifier.providers.venice import NAME as KIND
from verifier.providers.venice import checks as ids
from verifier.providers.venice.appraisal import MAX_ANSWER, appraise_answer
from verifier.providers.venice.rules import VenicePolicy
from verifier.result import AttestationResult, failed

ATTESTATION_PATH = "/api/v1/tee/attestation"


def attestation_url(base: str, model: str, nonce: bytes) -> str:
    return str(httpx.URL(f"{base}{ATTESTATION_PATH}", params={"model": model, "nonce": nonce.hex()}))


class VeniceProvider:
    name = KIND

    async def attest(self, ctx: AttestContext) -> Attested:
        from verifier.urls import check_service_url

        venice = VenicePolicy.from_policy(ctx.policy)
        url_check = check_service_url(ctx.base_url, ctx.policy, proxied=ctx.proxied)
        if url_check.status != "pass":
            return Attested(AttestationResult(KIND, ctx.at, ctx.nonce, ctx.policy.ref, (url_check,)), None, None)
        if not venice.model:
            check = failed(ids.FETCH, "The policy names no Venice model ([venice] model): there is no TD to attest.", authenticity=True)
            return Attested(AttestationResult(KIND, ctx.at, ctx.nonce, ctx.policy.ref, (url_check, check)), None, None)
        answer = await aget(ctx.http, attestation_url(ctx.base_url, venice.model, ctx.nonce), limit=MAX_ANSWER)
        if answer.status != 200:
            check = failed(ids.FETCH, f"The attestation endpoint answered HTTP {answer.status} instead of an attestation.", authenticity=True)
            return Attested(AttestationResult(KIND, ctx.at, ctx.nonce, ctx.policy.ref, (url_check, check)), None, None)
        host = httpx.URL(ctx.base_url).host
        result = await asyncio.to_thread(
            appraise_answer, answer.body, nonce=ctx.nonce, policy=ctx.policy, at=ctx.at,
            service_check=url_check, peer_spki=answer.peer_spki, host=host, fetcher=ctx.fetcher)
        return Attested(result, None, None)
