"""Appraise a native-protocol evidence bundle (docs/protocol.md) into one AttestationResult.

The checks run in a fixed order and a refusal names the first that failed:

1. ``service.url``       the policy accepts this service URL (demo policy: loopback only)
2. ``bundle.parse``      the bundle is a well-formed version-1 document
3. ``bundle.nonce``      it answers the nonce this client chose (freshness)
4. ``bundle.expires``    it has not expired at the verification time
5. ``<cpu>.*``           the CPU evidence (``snp.*`` or ``tdx.*``: parse, chain to the pinned root,
                         signature, platform policy, and ``snp.report_data`` / ``tdx.report_data``:
                         the binding of nonce, key configuration, GPU evidence and configuration;
                         on an Azure CVM ``hcl.*``, the hardware's, then ``tpm.*``, the binding in
                         ``hcl.user_data`` and ``tpm.nonce``)
6. ``gpu.*``             the GPU count the policy requires and each GPU's evidence
7. ``release.*``         the measurement is a published release signed by a trusted publisher
8. ``config.upstream``   where decrypted prompts go: a non-loopback upstream leaves the enclave
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx

from verifier.appraisal import release_checks as release_ids
from verifier.appraisal.cpu import appraise_cpu
from verifier.appraisal.policy import Policy
from verifier.appraisal.release import appraise_release
from verifier.endorsements.fetch import CollateralFetcher
from verifier.errors import ParseError
from verifier.providers.native import checks as ids
from verifier.providers.native.bundle import EvidenceBundle, parse_bundle, report_data_binding
from verifier.result import AttestationResult, Check, failed, passed, skipped
from verifier.urls import check_service_url, is_loopback_host, url_host

KIND = "native"


def upstream_check(config: dict[str, Any] | Any, policy: Policy) -> Check:
    """``config.upstream``: where the enclave sends decrypted prompts."""
    upstream = config.get("upstream") if isinstance(config, dict) else None
    if not isinstance(upstream, str) or not upstream:
        return failed(ids.CONFIG_UPSTREAM, "The attested configuration does not say where prompts go.")
    if upstream.startswith("builtin:"):
        return passed(ids.CONFIG_UPSTREAM, f"Prompts stay inside the enclave ({upstream}).")
    host = url_host(upstream) or ""
    if is_loopback_host(host):
        return passed(ids.CONFIG_UPSTREAM, f"Prompts go to {upstream}, on the enclave's own loopback.")
    if policy.section("service").get("allow_remote_upstream", bool, False):
        return passed(ids.CONFIG_UPSTREAM, f"Prompts leave the enclave for {upstream}; the policy allows it.")
    return failed(ids.CONFIG_UPSTREAM, f"The enclave forwards decrypted prompts to {upstream}, outside the enclave; the policy refuses this.")


def appraise_native(data: bytes, *, nonce: bytes, policy: Policy, at: dt.datetime,
                    service_url: str, fetcher: CollateralFetcher | None = None,
                    log_http: httpx.Client | None = None,
                    state_dir: Path | None = None) -> tuple[AttestationResult, EvidenceBundle | None]:
    """Appraise the bytes of ``GET /.well-known/attestation`` for ``nonce``.

    ``fetcher`` gets CPU/GPU collateral; ``log_http`` fetches the transparency log's own
    checkpoint (None: no fetch, as in a replay); ``state_dir`` keeps the last checkpoint accepted
    per log (the split-view defence)."""
    checks: list[Check] = [check_service_url(service_url, policy)]
    claims: dict[str, Any] = {"service": service_url}
    evidence: dict[str, str] = {}
    cpu_kind: list[str] = []

    def result() -> AttestationResult:
        return AttestationResult(KIND, at, nonce, policy.ref, tuple(checks), evidence, claims,
                                 provider=KIND, evidence_kind=cpu_kind[0] if cpu_kind else None)

    try:
        bundle = parse_bundle(data)
    except ParseError as e:
        checks.append(failed(ids.BUNDLE_PARSE, f"The evidence bundle is malformed: {e}.", authenticity=True))
        return result(), None
    checks.append(passed(ids.BUNDLE_PARSE, f"Version {bundle.version} bundle, {bundle.cpu.platform} CPU evidence, {len(bundle.gpus)} GPU(s)."))
    evidence.update(bundle.digests())
    cpu_kind.append(bundle.cpu.platform)
    if bundle.nonce == nonce:
        checks.append(passed(ids.BUNDLE_NONCE, "The evidence answers the nonce this client chose just now."))
    else:
        checks.append(failed(ids.BUNDLE_NONCE, f"The evidence was made for nonce {bundle.nonce.hex()[:16]}…, not this client's {nonce.hex()[:16]}…: it is replayed or stale."))
    if bundle.expires > at:
        checks.append(passed(ids.BUNDLE_EXPIRES, f"The evidence is valid until {bundle.expires.isoformat()}."))
    else:
        checks.append(failed(ids.BUNDLE_EXPIRES, f"The evidence expired at {bundle.expires.isoformat()}."))
    claims["expires"] = bundle.expires.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    claims["config"] = dict(bundle.config)
    expected = report_data_binding(nonce, bundle.key_config, bundle.gpus, bundle.config)

    cpu = appraise_cpu(bundle.cpu.platform, bundle.cpu.report, bundle.cpu.certificates, policy=policy,
                       at=at, expected_report_data=expected, fetcher=fetcher, vtpm=bundle.cpu.vtpm,
                       collateral=bundle.cpu.tdx_collateral)
    checks.extend(cpu.checks)
    claims["cpu"] = dict(cpu.claims)
    measurement = cpu.measurement

    checks.extend(_gpu_checks(bundle, policy, at, nonce, fetcher, claims))

    if measurement is not None:
        try:
            release = appraise_release(bundle.release, platform=bundle.cpu.platform,
                                       measurement=measurement, policy=policy, log_http=log_http,
                                       state_dir=state_dir, at=at)
        except RecursionError:  # JSON nested inside the base64 envelope, parsed by plain json.loads
            checks.append(failed(release_ids.ENVELOPE, "The release statement nests too deeply to be read."))
        else:
            checks.extend(release.checks)
            claims["release"] = dict(release.claims)
    else:
        checks.append(skipped(release_ids.MEASUREMENT, "No authentic measurement to compare with a release."))
    checks.append(upstream_check(dict(bundle.config), policy))
    claims["key_config_sha256"] = evidence.get("key_config")
    return result(), bundle


def _gpu_checks(bundle: EvidenceBundle, policy: Policy, at: dt.datetime, nonce: bytes,
                fetcher: CollateralFetcher | None, claims: dict[str, Any]) -> list[Check]:
    """``gpu.count`` (the policy's ``[gpu] count`` is a minimum) and, for each GPU, ``gpu.*``."""
    from verifier.appraisal.nvidia import appraise_gpus, gpu_count_check

    if not bundle.gpus:
        return [gpu_count_check(0, policy)]
    gpus = appraise_gpus([(g.arch, g.report, g.certificate_chain) for g in bundle.gpus],
                         policy=policy, at=at, expected_nonce=nonce, fetcher=fetcher,
                         rims=[r for g in bundle.gpus for r in g.rims])
    claims["gpus"] = gpus.claims
    return list(gpus.checks)
