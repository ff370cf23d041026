"""The reference enclave's simulated H100 (enclave/gpu.py): its evidence verifies under the INSECURE
demo roots and only there, and each way of making it wrong is refused for its own reason."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from enclave import gpu
from verifier.appraisal.nvidia import GpuAppraisal, GpuPolicy, appraise_gpus
from verifier.appraisal.policy import Policy, parse_policy
from verifier.endorsements.nvidia_anchors import VENDOR_ANCHORS
from verifier.endorsements.nvidia_chain import common_name, leaf_fwids, load_chain
from verifier.evidence.nvidia import OpaqueField, parse_report
from verifier.providers.native.bundle import (
    GpuEvidence,
    encode_bundle,
    gpu_digest,
    parse_bundle,
    report_data_binding,
)
from verifier.result import Status

ROOT = Path(__file__).resolve().parents[2]
NONCE = bytes(range(32))
AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
SIM = gpu.SimulatedGpu()


def demo_policy(**gpu_keys: str) -> Policy:
    lines = ['name = "t"', "[gpu]",
             f'roots = {{ device = "{gpu.device_root_pin()}", rim = "{gpu.rim_root_pin()}" }}',
             "count = 1", 'ocsp = "off"', *(f'{k} = "{v}"' for k, v in gpu_keys.items())]
    return parse_policy("\n".join(lines).encode())


def appraise(evidence: GpuEvidence, *, policy: Policy | None = None, nonce: bytes = NONCE,
             rims: list[bytes] | None = None, at: dt.datetime = AT) -> GpuAppraisal:
    return appraise_gpus([(evidence.arch, evidence.report, evidence.certificate_chain)],
                         policy=policy or demo_policy(), at=at, expected_nonce=nonce,
                         rims=SIM.rims() if rims is None else rims)


def failing(a: GpuAppraisal) -> list[str]:
    return [c.id for c in a.checks if c.status is Status.FAIL]


def not_passing(a: GpuAppraisal) -> list[tuple[str, str]]:
    return [(c.id, c.detail) for c in a.checks if c.status is not Status.PASS]


# -- verified under the demo roots ----------------------------------------------------------------


def test_demo_evidence_verifies_under_the_demo_roots() -> None:
    a = appraise(SIM.evidence(NONCE))
    assert a.verified and a.authentic, not_passing(a)
    skipped = {c.id for c in a.checks if c.status is Status.SKIP}
    assert skipped == {"gpu.0.ocsp", "gpu.0.rim.driver.ocsp", "gpu.0.rim.vbios.ocsp"}
    assert not any(c.required for c in a.checks if c.status is Status.SKIP)
    for check in ("gpu.count", "gpu.0.chain.root_pinned", "gpu.0.chain", "gpu.0.fwid", "gpu.0.signature",
                  "gpu.0.nonce", "gpu.0.arch", "gpu.0.rim.driver.signature", "gpu.0.rim.vbios.version",
                  "gpu.0.measurements"):
        assert a.check(check).status is Status.PASS, check  # type: ignore[union-attr]
    claims = a.claims["gpus"][0]  # type: ignore[index]
    # the demo H100 reports NVDEC0 disabled (0x55): index 35 is not compared (nvtrust's rule)
    assert claims["measurements"]["active"] == len(gpu.DRIVER_RIM_INDICES) + len(gpu.VBIOS_RIM_INDICES) == 33
    assert claims["measurements"]["equal"] == 32 and claims["measurements"]["not_compared"] == [35]
    assert claims["driver_version"] == gpu.DRIVER_VERSION and claims["vbios_version"] == gpu.VBIOS_VERSION
    assert claims["device"].endswith("(INSECURE DEMO)") and claims["arch"] == "HOPPER"


def test_the_policy_table_for_demo_toml_pins_the_demo_roots_and_verifies() -> None:
    policy = parse_policy(b'name = "t"\n' + gpu.demo_gpu_policy_table().encode())
    anchors = GpuPolicy.from_policy(policy).anchors
    assert (anchors.device, anchors.rim, anchors.vendor) == (gpu.device_root_pin(), gpu.rim_root_pin(), False)
    assert GpuPolicy.from_policy(policy).count == 1
    assert appraise(SIM.evidence(NONCE), policy=policy).verified


def test_verifies_now_too() -> None:
    """The enclave attests at the wall-clock time: the demo chains are valid 2025..2050."""
    assert appraise(SIM.evidence(NONCE), at=dt.datetime.now(dt.UTC)).verified


def test_every_report_is_fresh_but_the_chain_is_stable() -> None:
    """A fresh responder nonce per report: two honest answers for one nonce differ, so G binds one of
    them (what the ``gpu-binding`` attack relies on); the chain's bytes never change."""
    first, second = SIM.evidence(NONCE), SIM.evidence(NONCE)
    assert first.report != second.report and first.certificate_chain == second.certificate_chain
    assert appraise(first).verified and appraise(second).verified
    assert gpu_digest([first]) != gpu_digest([second])
    assert report_data_binding(NONCE, b"k", [first], {}) != report_data_binding(NONCE, b"k", [second], {})


def test_evidence_survives_the_bundle() -> None:
    ev = SIM.evidence(NONCE)
    data = encode_bundle(nonce=NONCE, key_config=b"k", platform="sev-snp", report=b"r", certificates=[],
                         gpus=[ev], release=None, config={}, expires=AT)
    assert parse_bundle(data).gpus == (ev,)


# -- refused, each for its own reason ---------------------------------------------------------------


@pytest.mark.parametrize(("spdm_index", "offset"), [(1, 0), (13, 47), (22, 5), (64, 0)])
def test_a_flipped_measurement_byte_breaks_the_signature(spdm_index: int, offset: int) -> None:
    ev = SIM.evidence(NONCE)
    tampered = GpuEvidence(ev.arch, gpu.flip_measurement_byte(ev.report, spdm_index, offset),
                           ev.certificate_chain)
    assert parse_report(tampered.report).measurements()[spdm_index] != parse_report(ev.report).measurements()[spdm_index]
    a = appraise(tampered)
    assert "gpu.0.signature" in failing(a) and not a.authentic and not a.verified


def test_tamper_measurement() -> None:
    a = appraise(SIM.evidence(NONCE, tamper=gpu.Tamper.MEASUREMENT))
    assert failing(a)[0] == "gpu.0.signature" and not a.authentic
    # index 0 is active in the VBIOS RIM, so even the comparison would refuse it
    assert a.claims["gpus"][0]["measurements"]["differ"] == [0]  # type: ignore[index]


def test_any_flipped_byte_after_the_request_breaks_the_signature() -> None:
    report = SIM.report(NONCE)
    for position in (37, 100, len(report) - 200, len(report) - 97):   # header, record, opaque, last signed
        flipped = bytearray(report)
        flipped[position] ^= 0x80
        a = appraise(GpuEvidence("HOPPER", bytes(flipped), gpu.device_chain_pem()))
        assert "gpu.0.signature" in failing(a) or "gpu.0.parse" in failing(a), position
        assert not a.authentic


def test_evidence_signed_for_another_nonce_fails_the_nonce_check_alone() -> None:
    a = appraise(SIM.evidence(NONCE, tamper=gpu.Tamper.NONCE))
    assert failing(a) == ["gpu.0.nonce"] and a.authentic and not a.verified
    replayed = appraise(SIM.evidence(bytes(32)))
    assert failing(replayed) == ["gpu.0.nonce"]


def test_the_default_policy_never_trusts_the_demo_roots() -> None:
    a = appraise(SIM.evidence(NONCE), policy=parse_policy(b'name = "d"\n'))
    assert "gpu.0.chain.root_pinned" in failing(a) and not a.authentic
    assert {"gpu.0.rim.driver.chain", "gpu.0.rim.vbios.chain"} <= set(failing(a))


@pytest.mark.parametrize("path", sorted(p.name for p in (ROOT / "policies").glob("*.toml")
                                        if p.name != "demo.toml"))
def test_no_other_built_in_policy_trusts_the_demo_roots(path: str) -> None:
    policy = parse_policy((ROOT / "policies" / path).read_bytes())
    anchors = GpuPolicy.from_policy(policy).anchors
    assert anchors == VENDOR_ANCHORS
    assert "gpu.0.chain.root_pinned" in failing(appraise(SIM.evidence(NONCE), policy=policy))


def test_demo_root_fingerprints_appear_in_no_file_but_the_demo_policy() -> None:
    pins = (gpu.device_root_pin(), gpu.rim_root_pin())
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    holders = {f for f in tracked if (ROOT / f).is_file()
               and any(p in (ROOT / f).read_text(errors="ignore") for p in pins)}
    assert holders <= {"policies/demo.toml"}


def test_firmware_the_rims_do_not_describe_is_refused_at_the_comparison() -> None:
    values = dict(gpu.demo_measurements())
    values[22] = bytes(48)                                # RIM index 21, active in the driver RIM
    a = appraise(gpu.SimulatedGpu(measurements=values).evidence(NONCE))
    assert failing(a) == ["gpu.0.measurements"] and a.authentic
    assert a.claims["gpus"][0]["measurements"]["differ"] == [21]  # type: ignore[index]


def test_an_alternative_listed_in_the_rim_is_accepted() -> None:
    values = dict(gpu.demo_measurements())
    values[36] = gpu._alternatives(35, values[36])[0]     # index 35 lists 4 alternatives
    assert appraise(gpu.SimulatedGpu(measurements=values).evidence(NONCE)).verified


def test_a_driver_the_rims_do_not_cover_is_refused_at_the_version() -> None:
    a = appraise(gpu.SimulatedGpu(driver_version="550.90.08").evidence(NONCE))
    assert "gpu.0.rim.driver.version" in failing(a) and a.authentic


def test_without_the_rims_the_gpu_is_authentic_but_not_verified() -> None:
    a = appraise(SIM.evidence(NONCE), rims=[])
    assert a.authentic and not a.verified and not failing(a)
    assert a.check("gpu.0.measurements").status is Status.SKIP  # type: ignore[union-attr]


# -- the shapes the verifier relies on --------------------------------------------------------------


def test_the_chain_is_shaped_like_nvidias() -> None:
    chain = load_chain(SIM.evidence(NONCE).certificate_chain)
    names = [common_name(c) for c in chain]
    assert names == [n + " (INSECURE DEMO)" for n in (
        "GH100 A01 GSP FMC LF", "GH100 A01 GSP BROM", "NVIDIA GH100 Provisioner ICA 1",
        "NVIDIA GH100 Identity", "NVIDIA Device Identity CA")]
    assert chain[-1].issuer == chain[-1].subject
    assert leaf_fwids(chain[0]) == (gpu.demo_fwid(),)
    rim_names = [common_name(c) for c in gpu.rim_chain()]
    assert all(n.endswith("(INSECURE DEMO)") for n in rim_names)
    assert rim_names[-1].startswith("NVIDIA CoRIM signing Root CA")


def test_the_report_carries_an_h100s_opaque_fields() -> None:
    report = parse_report(SIM.report(NONCE))
    o = report.opaque
    assert report.nonce == NONCE and len(report.response.blocks) == 64
    assert (o.driver_version, o.vbios_version, o.project, o.project_sku, o.chip_sku) == (
        "550.90.07", "96.00.9F.00.01", "1010", "0200", "882")
    assert o.fwid == gpu.demo_fwid() and o.protected_pcie_status == 0x55
    assert o.measurement_counts == (1,) * 64
    assert o.get(OpaqueField.BOARD_ID) is not None and o.feature_flag is None


def test_the_demo_keys_are_committed_p384_keys() -> None:
    folder = ROOT / "enclave" / "demo_keys" / "gpu"
    assert "INSECURE DEMO" in (folder / "README.md").read_text()
    keys = sorted(folder.glob("*-INSECURE-DEMO.pem"))
    assert len(keys) == 9
    for path in keys:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp384r1"
