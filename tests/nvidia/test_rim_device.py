"""Issue 12, finding 11: a RIM is for one device. ``gpu.N.rim.K.device`` compares what a verified RIM's
signed Meta names (``product``, ``rim:PlatformModel``, ``edition``) with the device (the chip its
leaf certificate names), so that a genuine RIM of another device is refused for its own id and its
measurements are never used (docs/nvidia.md "Which device a RIM is for")."""

from __future__ import annotations

import datetime as dt

import pytest

from enclave import gpu
from tests.nvidia import nv, pki
from verifier.appraisal.nvidia import GpuAppraisal, appraise_gpu, appraise_gpus
from verifier.appraisal.policy import Policy, parse_policy
from verifier.reference.rim import build_rim, sign_rim
from verifier.result import Check, Status

NONCE = bytes(range(32))
DRIVER_ACTIVE = range(20, 41)
VBIOS_ACTIVE = range(0, 13)


def failing(a: GpuAppraisal) -> list[str]:
    return [c.id for c in a.checks if c.status is Status.FAIL]


def check(a: GpuAppraisal, cid: str) -> Check:
    c = a.check(cid)
    assert c is not None, f"no check {cid}: {[c.id for c in a.checks]}"
    return c


# -- under test roots: genuine (signed under the pinned CoRIM root) RIMs of other devices -----------


def _rims(rim_signers: pki.RimPki, values: dict[int, bytes], **vbios_meta: str) -> list[bytes]:
    """The device's driver RIM and a VBIOS RIM of the report's version and measurements, whose Meta
    is ``vbios_meta`` (build_rim's product, platform_model, edition)."""
    driver = sign_rim(build_rim(version="550.90.07", measurements={i: [values[i + 1]] for i in DRIVER_ACTIVE}),
                      rim_signers.l4.key, rim_signers.chain)
    vbios = sign_rim(build_rim(version="96.00.9F.00.01", measurements={i: [values[i + 1]] for i in VBIOS_ACTIVE},
                               **vbios_meta),  # type: ignore[arg-type]
                     rim_signers.l4.key, rim_signers.chain)
    return [driver, vbios]


def _appraise(device: pki.DevicePki, rim_signers: pki.RimPki, rims: list[bytes]) -> GpuAppraisal:
    values = pki.measurements()
    policy = parse_policy(pki.policy_text(device.pin, rim_signers.pin, ocsp="off"))
    return appraise_gpu(pki.report(device, NONCE, values), device.chain_pem, policy=policy, at=pki.AT,
                        expected_nonce=NONCE, rims=rims, arch="HOPPER")


def test_the_devices_own_rims_pass_the_device_check(device: pki.DevicePki, rim_signers: pki.RimPki) -> None:
    a = _appraise(device, rim_signers, _rims(rim_signers, pki.measurements(), platform_model="GH100"))
    assert a.verified, [(c.id, c.detail) for c in a.checks if c.status is not Status.PASS]
    for kind in ("driver", "vbios"):
        c = check(a, f"gpu.0.rim.{kind}.device")
        assert c.status is Status.PASS and c.required and "GH100" in c.detail
    assert "names no board" in check(a, "gpu.0.rim.vbios.device").detail


@pytest.mark.parametrize(("meta", "text"), [
    ({"product": "GB100"}, "GB100"),                                   # a Blackwell board's VBIOS RIM
    ({"product": "GH100", "platform_model": "GB100"}, "GB100"),        # one of the two names another chip
    ({"product": "LS10", "platform_model": "LS10", "edition": "SWITCH"}, "LS10"),   # an NVSwitch's
    ({"product": "GH100", "platform_model": "GH100", "edition": "SWITCH"}, "SWITCH"),
    ({"product": ""}, "names no device"),                              # says nothing of its device
])
def test_a_genuine_vbios_rim_of_another_device_is_refused_for_its_own_id(
        device: pki.DevicePki, rim_signers: pki.RimPki, meta: dict[str, str], text: str) -> None:
    """Same version, same (equal) measurements, signed under the pinned root: only the device differs."""
    a = _appraise(device, rim_signers, _rims(rim_signers, pki.measurements(), **meta))
    assert failing(a) == ["gpu.0.rim.vbios.device"]
    c = check(a, "gpu.0.rim.vbios.device")
    assert text in c.detail
    assert check(a, "gpu.0.rim.vbios.version").status is Status.PASS
    # its measurements are not used: only the driver RIM's are compared, and the rest is unverified
    m = check(a, "gpu.0.measurements")
    assert m.status is Status.SKIP and m.required and "vbios" in m.detail
    assert a.claims["measurements"]["rims"] == ["driver"]  # type: ignore[index]
    assert a.authentic and not a.verified


def test_a_genuine_driver_rim_of_another_chip_is_refused(device: pki.DevicePki, rim_signers: pki.RimPki) -> None:
    values = pki.measurements()
    rims = _rims(rim_signers, values)
    rims[0] = sign_rim(build_rim(version="550.90.07", measurements={i: [values[i + 1]] for i in DRIVER_ACTIVE},
                                 product="GB100", platform_model="GB100"), rim_signers.l4.key, rim_signers.chain)
    a = _appraise(device, rim_signers, rims)
    assert failing(a) == ["gpu.0.rim.driver.device"]
    assert "GB100" in check(a, "gpu.0.rim.driver.device").detail and not a.verified


def test_of_two_rims_of_the_reports_version_the_one_for_the_device_is_used(
        device: pki.DevicePki, rim_signers: pki.RimPki) -> None:
    values = pki.measurements()
    other = _rims(rim_signers, values, product="GB100")[1]
    a = _appraise(device, rim_signers, [*_rims(rim_signers, values)[:1], other, _rims(rim_signers, values)[1]])
    assert a.verified, failing(a)
    # alone, the other device's RIM is the one of that kind, and it is refused
    alone = _appraise(device, rim_signers, [_rims(rim_signers, values)[0], other])
    assert failing(alone) == ["gpu.0.rim.vbios.device"]


def test_an_unverified_rim_is_not_compared_with_the_device(device: pki.DevicePki, rim_signers: pki.RimPki) -> None:
    stranger = pki.rim_pki()
    rims = _rims(stranger, pki.measurements(), product="GB100")
    a = _appraise(device, rim_signers, rims)
    c = check(a, "gpu.0.rim.vbios.device")
    assert c.status is Status.SKIP and c.required
    none = _appraise(device, rim_signers, [])
    c = check(none, "gpu.0.rim.driver.device")
    assert c.status is Status.SKIP and c.required


# -- the reference enclave's simulated H100 and its demo RIMs -------------------------------------


def _demo_policy() -> Policy:
    return parse_policy(("name = \"t\"\n[gpu]\n" f'roots = {{ device = "{gpu.device_root_pin()}", '
                         f'rim = "{gpu.rim_root_pin()}" }}\ncount = 1\nocsp = "off"\n').encode())


def test_the_demo_gpu_refuses_a_demo_rim_built_for_another_board() -> None:
    sim = gpu.SimulatedGpu()
    evidence = sim.evidence(NONCE)
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    def run(rims: list[bytes]) -> GpuAppraisal:
        return appraise_gpus([(evidence.arch, evidence.report, evidence.certificate_chain)], policy=_demo_policy(),
                             at=at, expected_nonce=NONCE, rims=rims)

    own = run(list(sim.rims()))
    assert own.verified and check(own, "gpu.0.rim.driver.device").status is Status.PASS
    values = gpu.demo_measurements()
    blackwell = sign_rim(build_rim(version=gpu.VBIOS_VERSION, product="GB100", indices=gpu.MEASUREMENT_COUNT,
                                   measurements={i: [values[i + 1]] for i in gpu.VBIOS_RIM_INDICES}),
                         gpu.rim_signer_key(), gpu.rim_chain())
    a = run([sim.rims()[0], blackwell])
    assert failing(a) == ["gpu.0.rim.vbios.device"] and not a.verified


# -- the real vectors ------------------------------------------------------------------------------

NO_OCSP = parse_policy(b'name = "t"\n[gpu]\nocsp = "off"\n')
SWITCH_RIM = nv.SDK + "switchVBIOSRim_NV_SWITCH_BIOS_5612_0002_890_9610550001.xml"
T_SWITCH_RIM = dt.datetime(2026, 6, 10, tzinfo=dt.UTC)
"""Inside the switch BIOS RIM signer's validity (from 2026-05-20)."""


@pytest.mark.vectors
def test_real_matching_sets_pass_the_device_check() -> None:
    report, chain = nv.h100()
    a = appraise_gpu(report, chain, policy=NO_OCSP, at=nv.T_GPU_OCSP, expected_nonce=nv.H100_NONCE,
                     rims=nv.google_rims())
    assert a.verified
    for kind in ("driver", "vbios"):
        c = check(a, f"gpu.0.rim.{kind}.device")
        assert c.status is Status.PASS and "GH100" in c.detail, c.detail
    switch = appraise_gpu(nv.report(nv.SDK + "switchAttestationReport.txt"), nv.read(nv.SDK + "switchCertChain.txt"),
                          policy=NO_OCSP, at=T_SWITCH_RIM, expected_nonce=nv.H100_NONCE, arch="LS10",
                          rims=[nv.read(SWITCH_RIM)])
    assert switch.verified
    c = check(switch, "gpu.0.rim.vbios.device")
    assert c.status is Status.PASS and "LS10" in c.detail


@pytest.mark.vectors
def test_the_real_nvswitch_bios_rim_is_refused_for_an_h100() -> None:
    """NVIDIA's genuine LS10 BIOS RIM, offered as the H100's VBIOS RIM (the only one of that kind)."""
    report, chain = nv.h100()
    a = appraise_gpu(report, chain, policy=NO_OCSP, at=T_SWITCH_RIM, expected_nonce=nv.H100_NONCE,
                     rims=[nv.read(SWITCH_RIM)])
    assert check(a, "gpu.0.rim.vbios.signature").status is Status.PASS
    c = check(a, "gpu.0.rim.vbios.device")
    assert c.status is Status.FAIL and "LS10" in c.detail and "GH100" in c.detail


@pytest.mark.vectors
@pytest.mark.parametrize(("rim", "kind"), [
    (nv.GOOGLE + "rim/NV_GPU_DRIVER_GH100_550.90.07.xml", "driver"),
    (nv.GOOGLE + "rim/NV_GPU_VBIOS_1010_0200_882_96009F0001.xml", "vbios"),
])
def test_real_gh100_rims_are_refused_for_a_blackwell_gpu(rim: str, kind: str) -> None:
    a = appraise_gpu(nv.report(nv.SAMPLES + "gpu/blackwellAttestationReport.txt"),
                     nv.read(nv.SAMPLES + "gpu/blackwellCertChain.txt"), policy=NO_OCSP, at=nv.T_GPU_OCSP,
                     expected_nonce=None, arch="BLACKWELL", rims=[nv.read(rim)])
    assert check(a, f"gpu.0.rim.{kind}.signature").status is Status.PASS
    c = check(a, f"gpu.0.rim.{kind}.device")
    assert c.status is Status.FAIL and "GH100" in c.detail and "GB100" in c.detail


@pytest.mark.vectors
def test_a_real_vbios_rim_of_another_gh100_board_names_only_the_chip() -> None:
    """NVIDIA's VBIOS RIMs name the chip, never the board (project, SKU, chip SKU): a G520 / 0200 / 885
    board's RIM passes the device check for the 1010 / 0200 / 882 H100, and is refused at its version,
    which is the board's own (no VBIOS version in the vectors belongs to two boards)."""
    report, chain = nv.h100()
    a = appraise_gpu(report, chain, policy=NO_OCSP, at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
                     expected_nonce=nv.H100_NONCE,
                     rims=[nv.google_rims()[0], nv.read(nv.PYPI + "g520_0200_885_9600740001_PROD.swidtag")])
    assert check(a, "gpu.0.rim.vbios.version").status is Status.FAIL
    c = check(a, "gpu.0.rim.vbios.device")
    assert c.status is Status.PASS and "names no board" in c.detail and "1010" in c.detail
