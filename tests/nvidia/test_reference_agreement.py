"""Issue 13: where NVIDIA's nvtrust verifier refuses (or does not compare), we do the same.

Point 7, the NVDEC0 rule: a report whose opaque field NVDEC0_STATUS (id 11) is 0x55 has its video
decoder disabled, and nvtrust does not compare RIM measurement index 35 (``is_msr_35_valid``).
Point 8, the protected-PCIe topology (``gpu.topology``). Point 9 is in test_ocsp.py.
"""

from __future__ import annotations

import pytest

from tests.nvidia import nv, pki
from verifier.appraisal.nvidia import GpuAppraisal, appraise_gpu
from verifier.appraisal.policy import parse_policy
from verifier.evidence.nvidia import OpaqueField
from verifier.reference.rim import build_rim, sign_rim
from verifier.result import Check, Status

NONCE = bytes(range(32))
DRIVER_ACTIVE = range(20, 41)          # RIM indices: 35 among them
VBIOS_ACTIVE = range(0, 13)


def check(a: GpuAppraisal, cid: str) -> Check:
    c = a.check(cid)
    assert c is not None, f"no check {cid}: {[c.id for c in a.checks]}"
    return c


def _nvdec_appraisal(device: pki.DevicePki, rim_signers: pki.RimPki, nvdec0: bytes | None) -> GpuAppraisal:
    """A report whose block 36 (RIM index 35) is not the driver RIM's value, with NVDEC0 ``nvdec0``."""
    values = pki.measurements()
    reference = {i: [values[i + 1]] for i in DRIVER_ACTIVE}
    reference[35] = [b"\x35" * 48]                           # the RIM's index 35 differs from the report
    driver = sign_rim(build_rim(version="550.90.07", measurements=reference), rim_signers.l4.key, rim_signers.chain)
    vbios = sign_rim(build_rim(version="96.00.9F.00.01", measurements={i: [values[i + 1]] for i in VBIOS_ACTIVE}),
                     rim_signers.l4.key, rim_signers.chain)
    extra = {int(OpaqueField.NVDEC0_STATUS): nvdec0} if nvdec0 is not None else None
    policy = parse_policy(pki.policy_text(device.pin, rim_signers.pin, ocsp="off"))
    return appraise_gpu(pki.report(device, NONCE, values, extra=extra), device.chain_pem, policy=policy,
                        at=pki.AT, expected_nonce=NONCE, rims=[driver, vbios], arch="HOPPER")


def test_nvdec0_disabled_leaves_index_35_uncompared(device: pki.DevicePki, rim_signers: pki.RimPki) -> None:
    a = _nvdec_appraisal(device, rim_signers, b"\x55")
    c = check(a, "gpu.0.measurements")
    assert c.status is Status.PASS, c.detail
    assert "35" in c.detail and "NVDEC0" in c.detail
    m = a.claims["measurements"]
    assert isinstance(m, dict) and m["not_compared"] == [35] and m["differ"] == []
    assert a.verified


@pytest.mark.parametrize("nvdec0", [None, b"\xaa", b"\x00", b"\x55\x55"])
def test_otherwise_index_35_is_compared(device: pki.DevicePki, rim_signers: pki.RimPki, nvdec0: bytes | None) -> None:
    a = _nvdec_appraisal(device, rim_signers, nvdec0)
    c = check(a, "gpu.0.measurements")
    assert c.status is Status.FAIL and "[35]" in c.detail
    m = a.claims["measurements"]
    assert isinstance(m, dict) and m["differ"] == [35] and m["not_compared"] == []


@pytest.mark.vectors
def test_the_real_h100_passes_by_the_nvdec0_rule() -> None:
    """The matching H100 set reports NVDEC0 0x55: index 35 is not compared (its RIM happens to list
    the report's value among four alternatives, which no longer decides anything)."""
    report, chain = nv.h100()
    a = appraise_gpu(report, chain, policy=parse_policy(b'name = "t"\n[gpu]\nrim_ocsp = "if-available"\n'),
                     at=nv.T_GPU_OCSP, expected_nonce=nv.H100_NONCE, rims=nv.google_rims(), ocsp=nv.ocsp_answers())
    assert a.verified
    m = a.claims["measurements"]
    assert isinstance(m, dict)
    assert (m["active"], m["equal"], m["not_compared"], m["differ"]) == (33, 32, [35], [])


# -- point 8: the protected-PCIe topology (gpu.topology) ------------------------------------------

NO_COLLATERAL = 'ocsp = "off"\nrims = "if-available"\n'


def _topology(devices: list[tuple[str, bytes, bytes]], topology: str | None = None) -> GpuAppraisal:
    from verifier.appraisal.nvidia import appraise_gpus

    extra = f'topology = "{topology}"\n' if topology else ""
    policy = parse_policy(f'name = "t"\n[gpu]\n{NO_COLLATERAL}{extra}'.encode())
    return appraise_gpus(devices, policy=policy, at=nv.T_PPCIE, expected_nonce=None)


def _forged_gpu(device: pki.DevicePki, switch_pdis: list[bytes]) -> tuple[str, bytes, bytes]:
    """A PPCIe-mode H100 report (test roots) naming ``switch_pdis`` (each as the switch writes its own
    PDI; the GPU lists them byte-reversed, twice each, as the real GPUs do)."""
    listed = b"".join(p[::-1] * 2 for p in switch_pdis)
    extra = {int(OpaqueField.PROTECTED_PCIE_STATUS): b"\xaa", int(OpaqueField.SWITCH_PDI): listed}
    return "HOPPER", pki.report(device, NONCE, pki.measurements(), extra=extra), device.chain_pem


def _switch_pdis() -> list[bytes]:
    from verifier.evidence.nvidia import parse_report

    return [parse_report(r).opaque.get(OpaqueField.SWITCH_PDI) or b"" for _, r, _ in nv.ppcie_devices()[8:]]


@pytest.mark.vectors
@pytest.mark.parametrize("topology", [None, "none", "ppcie"])
def test_the_real_ppcie_set_holds_together(topology: str | None) -> None:
    """8 H100s in PPCIe mode name the same 4 NVSwitches, which are the 4 switches given, and each
    switch names the same 8 GPUs (README "More NVIDIA")."""
    a = _topology(nv.ppcie_devices(), topology)
    c = check(a, "gpu.topology")
    assert c.status is Status.PASS and c.required, c.detail
    assert "8 GPUs" in c.detail and "4 NVSwitches" in c.detail
    assert check(a, "gpu.mode").status is Status.PASS          # the switches have no mode of their own
    assert a.authentic
    assert [c.id for c in a.checks][-2:] == ["gpu.topology", "gpu.mode"]


@pytest.mark.vectors
def test_a_gpu_that_names_other_switches_is_refused(device: pki.DevicePki) -> None:
    devices = nv.ppcie_devices()
    others = [bytes([0x11 * (k + 1)] * 8) for k in range(4)]
    a = _topology([_forged_gpu(device, others), *devices[1:]])
    c = check(a, "gpu.topology")
    assert c.status is Status.FAIL and "GPU 0" in c.detail, c.detail


@pytest.mark.vectors
def test_a_gpu_that_names_three_of_the_four_switches_is_refused(device: pki.DevicePki) -> None:
    devices = nv.ppcie_devices()
    a = _topology([*devices[:7], _forged_gpu(device, _switch_pdis()[:3]), *devices[8:]])
    c = check(a, "gpu.topology")
    assert c.status is Status.FAIL and "7" in c.detail, c.detail


@pytest.mark.vectors
def test_a_switch_named_by_the_gpus_but_missing_is_refused() -> None:
    devices = nv.ppcie_devices()
    a = _topology(devices[:11])
    c = check(a, "gpu.topology")
    assert c.status is Status.FAIL and "switch" in c.detail.lower(), c.detail


@pytest.mark.vectors
def test_a_gpu_missing_from_the_set_is_refused() -> None:
    """7 GPUs given, but every switch names 8: one GPU of the system is not attested."""
    devices = nv.ppcie_devices()
    a = _topology(devices[1:])
    c = check(a, "gpu.topology")
    assert c.status is Status.FAIL and "8" in c.detail and "7" in c.detail, c.detail


@pytest.mark.vectors
def test_ppcie_policy_requires_the_switches() -> None:
    """topology = "ppcie" requires nvtrust's protected-PCIe system: 8 GPUs in PPCIe mode and 4 NVSwitches."""
    gpus = nv.ppcie_devices()[:8]
    assert check(_topology(gpus), "gpu.topology").required is False
    a = _topology(gpus, "ppcie")
    c = check(a, "gpu.topology")
    assert c.status is Status.FAIL and c.required and "4 NVSwitches" in c.detail, c.detail


@pytest.mark.vectors
def test_without_switches_the_default_does_not_require_a_topology() -> None:
    devices = nv.json_devices(nv.SDK + "serialized_test_evidence/multi_gpu_hopper.json")
    a = _topology([d[:3] for d in devices])
    c = check(a, "gpu.topology")
    assert c.status is Status.PASS and not c.required
