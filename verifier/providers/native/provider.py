"""The native provider: the evidence bundle, its appraisal, then the gateway's key-consistency check."""

from __future__ import annotations

import asyncio

from verifier.channel.keyconfig import KeyConfig
from verifier.errors import ParseError
from verifier.providers.base import AttestContext, Attested
from verifier.providers.native import NAME as KIND
from verifier.providers.native import checks as ids
from verifier.providers.native.transport import NativeChannel, fetch_attestation, fetch_key_config
from verifier.result import Check


class NativeProvider:
    """The native profile: evidence bundle, appraisal, then the gateway's key-consistency check."""

    name = "native"

    async def attest(self, ctx: AttestContext) -> Attested:
        from verifier.providers.native.appraisal import appraise_native
        from verifier.result import AttestationResult, failed
        from verifier.urls import check_service_url

        url_check = check_service_url(ctx.base_url, ctx.policy, proxied=ctx.proxied)
        if url_check.status != "pass":
            return Attested(AttestationResult(KIND, ctx.at, ctx.nonce, ctx.policy.ref, (url_check,)), None, None)
        fetched = await fetch_attestation(ctx.http, ctx.base_url, ctx.nonce)
        if fetched.status != 200:
            check = failed(ids.BUNDLE_FETCH, f"The attestation endpoint answered HTTP {fetched.status} instead of evidence.", authenticity=True)
            return Attested(AttestationResult(KIND, ctx.at, ctx.nonce, ctx.policy.ref, (url_check, check)), None, None)
        result, bundle = await asyncio.to_thread(
            appraise_native, fetched.body, nonce=ctx.nonce, policy=ctx.policy, at=ctx.at,
            service_url=ctx.base_url, fetcher=ctx.fetcher, log_http=ctx.log_http,
            state_dir=ctx.state_dir)
        if bundle is None or not result.verified:
            return Attested(result, None, bundle.expires if bundle else None)
        key_check, key_config = await self._check_gateway_key(ctx, bundle.key_config)
        result = result.with_checks([key_check])
        channel = NativeChannel(key_config) if key_config is not None and result.verified else None
        return Attested(result, channel, bundle.expires)

    @staticmethod
    async def _check_gateway_key(ctx: AttestContext, attested: bytes) -> tuple[Check, KeyConfig | None]:
        """``channel.key_config``: the gateway's published key equals the attested bytes."""
        from verifier.channel.keyconfig import parse_ohttp_keys
        from verifier.result import failed, passed

        try:
            config = next(c for c in parse_ohttp_keys(attested) if c.supported_suites())
        except (ParseError, StopIteration):
            return failed(ids.CHANNEL_KEY_CONFIG, "The attested key configuration is not one this client can use."), None
        published = await fetch_key_config(ctx.http, ctx.base_url)
        if published.status != 200:
            return failed(ids.CHANNEL_KEY_CONFIG, f"The gateway's key endpoint answered HTTP {published.status}."), None
        if published.body != attested:
            return failed(ids.CHANNEL_KEY_CONFIG, "The gateway publishes a key configuration that differs from the attested one: requests could be read by someone outside the enclave."), None
        return passed(ids.CHANNEL_KEY_CONFIG, f"Requests are sealed to the attested key (key id {config.key_id}, KEM 0x{config.kem_id:04x}); the gateway publishes the same bytes."), config
