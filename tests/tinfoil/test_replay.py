"""Acceptance: each real v3 recording in the vectors, replayed through the same Session code a live
verification runs (verifier.replay), verifies under policies/tinfoil.toml with exactly the passes
and skips the vectors README lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tinfoil.conftest import CLOUD, DIRECT
from verifier.appraisal.policy import Policy
from verifier.replay import replay
from verifier.result import AttestationResult, Status

pytestmark = pytest.mark.vectors

# What the recordings lack, or what the policy leaves open, and nothing else: every one optional.
CLOUD_SKIPS = {
    "snp.revocation",  # no AMD CRL recorded (the Genoa CRL in the vectors expired 2025-11-03)
    "snp.firmware", "snp.measurement", "snp.host_data", "snp.id_key", "snp.author_key",  # the release decides
    "sigstore.artifact",  # the digest is checked; the deployment file itself is not fetched
    # optional SEV-SNP rules the tinfoil policy does not set (docs/sev-snp.md)
    "snp.policy.abi", "snp.guest_svn", "snp.mitigation.launch", "snp.mitigation.current",
    "snp.family_id", "snp.image_id", "snp.report_id", "snp.id_block",
}
GPU_COLLATERAL = {f"gpu.0.{k}" for k in (
    "ocsp", "measurements", "rim.driver.chain", "rim.driver.signature", "rim.driver.version", "rim.driver.device",
    "rim.driver.ocsp", "rim.vbios.chain", "rim.vbios.signature", "rim.vbios.version", "rim.vbios.device",
    "rim.vbios.ocsp")}
DIRECT_SKIPS = {
    "tdx.td.mrseam", "tdx.td.mrtd", "tdx.td.rtmr0", "tdx.td.rtmr1", "tdx.td.rtmr2", "tdx.td.mrservicetd",
    "tdx.td.attributes_fixed", "tdx.td.xfam_fixed", "tdx.tcb.minimum",  # the policy sets no fixed bits, no floors
    "tdx.pck.fmspc", "tdx.td.seam_attributes", "tdx.td.mrsignerseam",  # nor an FMSPC or SEAM pins
    *GPU_COLLATERAL,  # NVIDIA's RIMs for driver 595.71.05 and OCSP answers are not recorded
    "sigstore.artifact", "tinfoil.hardware.sigstore.artifact",
}


async def run(vectors: Path, name: str, policy: Policy) -> AttestationResult:
    return await replay(vectors / name, policy=policy, provider="tinfoil")


def status(result: AttestationResult, cid: str) -> Status:
    check = result.check(cid)
    assert check is not None, f"{cid} is missing: {[c.id for c in result.checks]}"
    return check.status


async def test_cloud_router_recording_verifies(vectors: Path, tinfoil_policy: Policy) -> None:
    result = await run(vectors, CLOUD, tinfoil_policy)
    assert result.verified, result.verdict()
    assert result.kind == "tinfoil" and result.nonce is not None
    assert result.nonce.hex() == "229471a8453a3521eac3d6ada9f1d52e42c97a527c3a50d565e999401dfd3e9b"
    skips = {c.id for c in result.checks if c.status is Status.SKIP}
    assert skips == CLOUD_SKIPS
    assert all(not c.required for c in result.checks if c.status is Status.SKIP)
    for cid in ("tinfoil.nonce", "snp.report_data", "tinfoil.signature", "tinfoil.tls_key",
                "snp.report.signature", "snp.chain.ark_pinned", "sigstore.signature",
                "sigstore.identity.workflow", "tinfoil.release.tag", "tinfoil.release.measurement"):
        assert status(result, cid) is Status.PASS
    assert result.claims["repository"] == "tinfoilsh/confidential-model-router"
    assert result.claims["release"]["tag"] == "v0.0.110"
    assert result.claims["cpu"]["measurement"].startswith("7adcb574b1e22ab5")


async def test_direct_tdx_recording_verifies_with_the_h100_checked_by_our_gpu_verifier(
        vectors: Path, tinfoil_policy: Policy) -> None:
    result = await run(vectors, DIRECT, tinfoil_policy)
    assert result.verified, result.verdict()
    skips = {c.id for c in result.checks if c.status is Status.SKIP}
    assert skips == DIRECT_SKIPS
    for cid in ("gpu.0.chain.root_pinned", "gpu.0.chain", "gpu.0.fwid", "gpu.0.signature", "gpu.0.nonce",
                "gpu.0.arch", "tinfoil.gpu_hash", "tdx.report_data", "tdx.quote.signature",
                "tdx.collateral.root_crl", "tdx.td.rtmr3", "tinfoil.release.measurement",
                "tinfoil.hardware.measurement", "tinfoil.hardware.sigstore.signature"):
        assert status(result, cid) is Status.PASS
    for cid in GPU_COLLATERAL:
        assert status(result, cid) is Status.SKIP
    assert result.claims["repository"] == "tinfoilsh/confidential-gemma4-31b"
    assert result.claims["hardware_platform"] == "medium_2d_new"
    assert result.claims["host"] == "gemma4-31b-1.inf10.tinfoil.sh"


async def test_checks_come_in_the_documented_order(vectors: Path, tinfoil_policy: Policy) -> None:
    result = await run(vectors, DIRECT, tinfoil_policy)
    ids = [c.id for c in result.checks]
    order = ["service.url", "tinfoil.parse", "tinfoil.downgrade", "tinfoil.nonce", "tinfoil.gpu_hash",
             "tdx.parse", "tdx.report_data", "tinfoil.certificate", "tinfoil.signature", "tinfoil.tls_key",
             "tinfoil.hpke_key", "gpu.count", "gpu.0.parse", "gpu.mode", "tinfoil.repository",
             "tinfoil.release.latest", "tinfoil.release.digest", "tinfoil.release.attestation",
             "sigstore.bundle", "sigstore.digest", "tinfoil.release.tag", "tinfoil.release.predicate",
             "tinfoil.release.measurement", "tinfoil.hardware.latest", "tinfoil.hardware.measurement"]
    assert [i for i in ids if i in order] == order
    assert len(ids) == len(set(ids))


async def test_the_default_policy_refuses_for_want_of_a_repository(vectors: Path) -> None:
    from enclave_chat.paths import resolve_policy

    result = await run(vectors, CLOUD, resolve_policy("default"))
    assert result.authentic and not result.verified
    assert result.first_failure is not None and result.first_failure.id == "tinfoil.repository"


async def test_a_replay_at_a_later_time_uses_that_time(vectors: Path, tinfoil_policy: Policy) -> None:
    import datetime as dt

    later = dt.datetime(2034, 1, 1, tzinfo=dt.UTC)  # after the VCEK's notAfter (2033)
    result = await replay(vectors / CLOUD, policy=tinfoil_policy, provider="tinfoil", at=later)
    assert not result.verified and status(result, "snp.chain.validity") is Status.FAIL
