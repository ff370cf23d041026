"""Issue 4 acceptance on the real NVIDIA vectors: each set, its time, its outcome, its reason.

Every expectation here is from ../shared/vectors/README.md ("NVIDIA GPU").
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.nvidia import nv, pki
from verifier.appraisal.nvidia import (
    GpuAppraisal,
    GpuPolicy,
    appraise_gpu,
    appraise_gpus,
    gpu_count_check,
)
from verifier.appraisal.policy import Policy, parse_policy
from verifier.result import Status

pytestmark = pytest.mark.vectors

DEFAULT = parse_policy(b'name = "default-like"\n')
RIM_OCSP_IF_AVAILABLE = parse_policy(b'name = "t"\n[gpu]\nrim_ocsp = "if-available"\n')
OCSP_IF_AVAILABLE = parse_policy(b'name = "t"\n[gpu]\nocsp = "if-available"\n')
NO_OCSP = parse_policy(b'name = "t"\n[gpu]\nocsp = "off"\n')


def h100(at: dt.datetime, policy: Policy = DEFAULT, *, rims: list[bytes] | None = None,
         nonce: bytes | None = nv.H100_NONCE) -> GpuAppraisal:
    report, chain = nv.h100()
    return appraise_gpu(report, chain, policy=policy, at=at, expected_nonce=nonce,
                        rims=nv.google_rims() if rims is None else rims, ocsp=nv.ocsp_answers())


def status(a: GpuAppraisal, id: str) -> Status:
    c = a.check(id)
    assert c is not None, f"no check {id}"
    return c.status


def first_failure(a: GpuAppraisal) -> str | None:
    bad = next((c for c in a.checks if c.status is Status.FAIL), None)
    bad = bad or next((c for c in a.checks if c.status is Status.SKIP and c.required), None)
    return bad.id if bad else None


PASSING_AT_0821 = ["gpu.0.parse", "gpu.0.chain.root_pinned", "gpu.0.chain", "gpu.0.fwid", "gpu.0.signature",
                   "gpu.0.nonce", "gpu.0.arch", "gpu.0.ocsp",
                   "gpu.0.rim.driver.chain", "gpu.0.rim.driver.signature", "gpu.0.rim.driver.version",
                   "gpu.0.rim.vbios.chain", "gpu.0.rim.vbios.signature", "gpu.0.rim.vbios.version",
                   "gpu.0.measurements"]


def test_h100_at_0821_everything_holds_but_rim_ocsp_not_yet_valid_refuses_by_default() -> None:
    a = h100(nv.T_GPU_OCSP)
    assert [status(a, i) for i in PASSING_AT_0821] == [Status.PASS] * len(PASSING_AT_0821)
    assert a.claims["measurements"] == {"active": 33, "equal": 32, "differ": [], "missing": [],
                                        "conflicts": [], "not_compared": [35], "rims": ["driver", "vbios"]}
    for kind in ("driver", "vbios"):
        c = a.check(f"gpu.0.rim.{kind}.ocsp")
        assert c is not None and c.status is Status.FAIL and "not yet valid" in c.detail
    assert a.authentic and not a.verified
    assert first_failure(a) == "gpu.0.rim.driver.ocsp"


def test_h100_at_0821_rim_ocsp_if_available_skips_and_verifies() -> None:
    a = h100(nv.T_GPU_OCSP, RIM_OCSP_IF_AVAILABLE)
    assert status(a, "gpu.0.rim.driver.ocsp") is Status.SKIP
    assert status(a, "gpu.0.rim.vbios.ocsp") is Status.SKIP
    assert status(a, "gpu.0.ocsp") is Status.PASS
    assert a.verified


def test_h100_at_1024_rim_chain_answers_good_gpu_chain_answers_stale() -> None:
    a = h100(nv.T_RIM_OCSP)
    assert status(a, "gpu.0.rim.driver.ocsp") is Status.PASS
    assert status(a, "gpu.0.rim.vbios.ocsp") is Status.PASS
    gpu = a.check("gpu.0.ocsp")
    assert gpu is not None and gpu.status is Status.FAIL and "stale" in gpu.detail
    assert first_failure(a) == "gpu.0.ocsp"
    assert h100(nv.T_RIM_OCSP, OCSP_IF_AVAILABLE).verified


def test_resigned_vbios_rim_at_0301_verifies_only_without_ocsp() -> None:
    rims = [nv.read(nv.GOOGLE + "rim/NV_GPU_DRIVER_GH100_550.90.07.xml"),
            nv.read(nv.RESIGNED + "NV_GPU_VBIOS_1010_0200_882_96009F0001.swidtag")]
    strict = h100(nv.T_RESIGNED, rims=rims)
    assert [status(strict, f"gpu.0.rim.{k}.{s}") for k in ("driver", "vbios") for s in ("chain", "signature", "version")] \
        == [Status.PASS] * 6
    assert status(strict, "gpu.0.measurements") is Status.PASS
    assert not strict.verified and first_failure(strict) == "gpu.0.ocsp"
    relaxed = h100(nv.T_RESIGNED, OCSP_IF_AVAILABLE, rims=rims)
    assert relaxed.verified
    assert [status(relaxed, i) for i in ("gpu.0.ocsp", "gpu.0.rim.driver.ocsp", "gpu.0.rim.vbios.ocsp")] \
        == [Status.SKIP] * 3


def test_google_vbios_rim_at_0301_is_refused_as_signer_expired() -> None:
    a = h100(nv.T_RESIGNED, OCSP_IF_AVAILABLE)
    c = a.check("gpu.0.rim.vbios.chain")
    assert c is not None and c.status is Status.FAIL and "expired" in c.detail and "2026-02-22" in c.detail
    assert first_failure(a) == "gpu.0.rim.vbios.chain"


def test_resigned_and_expired_vbios_rims_together_use_the_valid_one() -> None:
    rims = [*nv.google_rims(), nv.read(nv.RESIGNED + "NV_GPU_VBIOS_1010_0200_882_96009F0001.swidtag")]
    assert h100(nv.T_RESIGNED, OCSP_IF_AVAILABLE, rims=rims).verified


def test_at_1127_the_driver_rim_signer_is_expired() -> None:
    rims = [nv.read(nv.RESIGNED + "NV_GPU_DRIVER_GH100_550.90.07.swidtag"),
            nv.read(nv.RESIGNED + "NV_GPU_VBIOS_1010_0200_882_96009F0001.swidtag")]
    a = h100(nv.T_DRIVER_EXPIRED, OCSP_IF_AVAILABLE, rims=rims)
    c = a.check("gpu.0.rim.driver.chain")
    assert c is not None and c.status is Status.FAIL and "expired" in c.detail and "2026-06-01" in c.detail
    assert status(a, "gpu.0.rim.vbios.chain") is Status.PASS
    assert first_failure(a) == "gpu.0.rim.driver.chain"


def test_wrong_nonce_is_refused_and_no_nonce_is_never_verified() -> None:
    wrong = h100(nv.T_GPU_OCSP, RIM_OCSP_IF_AVAILABLE, nonce=bytes(32))
    assert status(wrong, "gpu.0.nonce") is Status.FAIL and first_failure(wrong) == "gpu.0.nonce"
    none = h100(nv.T_GPU_OCSP, RIM_OCSP_IF_AVAILABLE, nonce=None)
    c = none.check("gpu.0.nonce")
    assert c is not None and c.status is Status.SKIP and c.required
    assert none.authentic and not none.verified


def test_a_flipped_bit_in_any_measurement_is_refused() -> None:
    report, chain = nv.h100()
    record = 37 + 8
    for block in range(64):
        value_at = record + block * 55 + 7               # 4-byte block header, 3-byte DMTF header
        for bit in (0, 7):
            mutated = bytearray(report)
            mutated[value_at + (block % 48)] ^= 1 << bit
            a = appraise_gpu(bytes(mutated), chain, policy=NO_OCSP, at=nv.T_GPU_OCSP,
                             expected_nonce=nv.H100_NONCE)
            assert status(a, "gpu.0.signature") is Status.FAIL, (block, bit)
            assert not a.authentic


def test_look_alike_chain_is_refused_by_the_pin(device: pki.DevicePki) -> None:
    """Names like NVIDIA's, other keys: the report verifies under the look-alike leaf, the pin refuses."""
    report = pki.report(device, nv.H100_NONCE, pki.measurements())
    a = appraise_gpu(report, device.chain_pem, policy=NO_OCSP, at=pki.AT, expected_nonce=nv.H100_NONCE)
    assert status(a, "gpu.0.chain.root_pinned") is Status.FAIL
    assert status(a, "gpu.0.signature") is Status.PASS            # self-consistent, yet
    assert not a.authentic and first_failure(a) == "gpu.0.chain.root_pinned"


def test_swapped_chain_is_refused() -> None:
    """The real H100 report with another real GPU's chain: pinned, valid, but not the signer."""
    report = nv.h100()[0]
    other_chain = nv.read(nv.SAMPLES + "gpu/hopperCertChain.txt")
    a = appraise_gpu(report, other_chain, policy=NO_OCSP, at=nv.T_GPU_OCSP, expected_nonce=nv.H100_NONCE)
    assert status(a, "gpu.0.chain") is Status.PASS
    assert status(a, "gpu.0.fwid") is Status.FAIL and status(a, "gpu.0.signature") is Status.FAIL


# -- NVIDIA's deliberately broken files, each for its own reason ---------------------------------


def test_invalid_signature_report() -> None:
    a = appraise_gpu(nv.report(nv.SAMPLES + "gpu/hopperAttestationReportInvalidSignature.txt"),
                     nv.read(nv.SAMPLES + "gpu/hopperCertChain.txt"), policy=NO_OCSP, at=nv.T_SAMPLE_RIMS,
                     expected_nonce=nv.H100_NONCE)
    assert status(a, "gpu.0.chain") is Status.PASS
    assert status(a, "gpu.0.signature") is Status.FAIL and not a.authentic


def test_invalid_signature_switch_report() -> None:
    a = appraise_gpu(nv.report(nv.SAMPLES + "switch/switchAttestationReportInvalidSignature.txt"),
                     nv.read(nv.SAMPLES + "switch/switchCertChain.txt"), policy=NO_OCSP, at=nv.T_SAMPLE_RIMS,
                     expected_nonce=None, arch="LS10")
    assert status(a, "gpu.0.chain") is Status.PASS and status(a, "gpu.0.signature") is Status.FAIL


@pytest.mark.parametrize(("rim", "replaces", "check", "text"), [
    ("incorrect_signature_driver_rim.xml", 0, "gpu.0.rim.driver.signature", "does not verify"),
    # despite its name, a (Blackwell) VBIOS RIM, 97.00.83.00.09, under a "Debug Only" root
    ("incorrect_cert_chain_driver_rim.xml", 1, "gpu.0.rim.vbios.chain", "Debug Only"),
])
def test_broken_rims_with_the_h100(rim: str, replaces: int, check: str, text: str) -> None:
    rims = nv.google_rims()
    rims[replaces] = nv.read(nv.SDK + rim)
    a = h100(nv.T_SAMPLE_RIMS, NO_OCSP, rims=rims)
    c = a.check(check)
    assert c is not None and c.status is Status.FAIL and text in c.detail
    assert first_failure(a) == check
    other = "vbios" if replaces == 0 else "driver"
    assert status(a, f"gpu.0.rim.{other}.signature") is Status.PASS


def test_incorrect_rim_root_as_anchor_refuses_the_real_rims() -> None:
    from cryptography import x509

    from verifier.endorsements.anchors import spki_sha256
    from verifier.endorsements.nvidia_anchors import DEVICE_IDENTITY_CA_SPKI_SHA256

    wrong = spki_sha256(x509.load_pem_x509_certificate(nv.read(nv.SDK + "incorrect_rim_root.crt")))
    policy = parse_policy(pki.policy_text(DEVICE_IDENTITY_CA_SPKI_SHA256, wrong, ocsp="off"))
    a = h100(nv.T_GPU_OCSP, policy)
    assert a.authentic                                            # the device side is still NVIDIA's
    assert status(a, "gpu.0.rim.driver.chain") is Status.FAIL
    assert status(a, "gpu.0.rim.vbios.chain") is Status.FAIL


def test_measurement_mismatch_rims_with_the_535_report() -> None:
    """NVIDIA counts 16 differing indices: 15 in the driver RIM, 1 in the VBIOS RIM. The driver RIM's
    measurements were edited after signing, so its XML digest no longer matches: we refuse it at its
    signature and never compare its (unsigned) values. The VBIOS RIM is intact and index 9 differs.
    The 15 + 1 = 16 is shown below by comparing the unsigned driver values, for the record only."""
    rims = [nv.read(nv.SDK + "sample_rims/NV_GPU_DRIVER_GH100_535.86.09_measurement_mismatch.xml"),
            nv.read(nv.SDK + "sample_rims/NV_GPU_VBIOS_1010_0200_882_96005E0001_measurement_mismatch.xml")]
    report = nv.report(nv.SAMPLES + "gpu/hopperAttestationReport.txt")
    a = appraise_gpu(report, nv.read(nv.SAMPLES + "gpu/hopperCertChain.txt"), policy=NO_OCSP,
                     at=nv.T_SAMPLE_RIMS, expected_nonce=bytes.fromhex(
                         "27a328247bf7935c993341cf587be6f05986ccce4fe7ba2c54100bd616a58f66"), rims=rims)
    assert a.authentic
    drv = a.check("gpu.0.rim.driver.signature")
    assert drv is not None and drv.status is Status.FAIL and "Digest mismatch" in drv.detail
    assert status(a, "gpu.0.rim.vbios.signature") is Status.PASS
    m = a.check("gpu.0.measurements")
    assert m is not None and m.status is Status.FAIL
    assert a.claims["measurements"]["differ"] == [9]  # type: ignore[index]

    from lxml import etree

    from verifier.evidence.nvidia import parse_report
    from verifier.reference.rim import NS_SHA384, NS_SWID

    values = parse_report(report).measurements()
    unsigned = etree.fromstring(rims[0])
    differ = []
    for r in unsigned.iter(f"{{{NS_SWID}}}Resource"):
        if r.get("active") == "True":
            alternatives = {bytes.fromhex(r.get(f"{{{NS_SHA384}}}Hash{n}")) for n in range(int(r.get("alternatives")))}
            if values[int(r.get("index")) + 1] not in alternatives:
                differ.append(int(r.get("index")))
    assert len(differ) == 15 and len(differ) + 1 == 16


def test_expired_driver_rim_with_its_report() -> None:
    a = appraise_gpu(nv.report(nv.SAMPLES + "gpu/hopperAttestationReportExpired.txt"),
                     nv.read(nv.SAMPLES + "gpu/hopperCertChainExpired.txt"), policy=NO_OCSP,
                     at=nv.T_SAMPLE_RIMS, expected_nonce=nv.H100_NONCE,
                     rims=[nv.read(nv.SDK + "sample_rims/NV_GPU_DRIVER_GH100_570.124.03_expired.xml")])
    c = a.check("gpu.0.rim.driver.chain")
    assert c is not None and c.status is Status.FAIL and "expired" in c.detail and "2025-01-02" in c.detail
    assert a.authentic


@pytest.mark.parametrize(("rim", "check"), [
    ("sample_rims/NV_SWITCH_BIOS_5612_0002_890_9610550001_invalid_signature.xml", "gpu.0.rim.vbios.signature"),
    ("sample_rims/NV_SWITCH_BIOS_5612_0002_890_9610550001_measurement_mismatch.xml", "gpu.0.rim.vbios.signature"),
])
def test_broken_switch_rims(rim: str, check: str) -> None:
    """Both are refused at their signature (the second is a GH100 VBIOS RIM edited after signing)."""
    a = appraise_gpu(nv.report(nv.SDK + "switchAttestationReport.txt"), nv.read(nv.SDK + "switchCertChain.txt"),
                     policy=NO_OCSP, at=nv.T_SAMPLE_RIMS, expected_nonce=nv.H100_NONCE, arch="LS10",
                     rims=[nv.read(nv.SDK + rim)])
    assert status(a, check) is Status.FAIL and first_failure(a) == check


# -- other real reports: signature and chain --------------------------------------------------------


@pytest.mark.parametrize(("report", "chain", "arch"), [
    (nv.SDK + "hopperAttestationReport.txt", nv.SDK + "hopperCertChain.txt", "HOPPER"),
    (nv.SAMPLES + "gpu/hopperAttestationReport.txt", nv.SAMPLES + "gpu/hopperCertChain.txt", "HOPPER"),
    (nv.SAMPLES + "gpu/hopperAttestationReportExpired.txt", nv.SAMPLES + "gpu/hopperCertChainExpired.txt", "HOPPER"),
    (nv.SAMPLES + "gpu/blackwellAttestationReport.txt", nv.SAMPLES + "gpu/blackwellCertChain.txt", "BLACKWELL"),
    (nv.SDK + "switchAttestationReport.txt", nv.SDK + "switchCertChain.txt", "LS10"),
    (nv.SAMPLES + "switch/switchAttestationReport.txt", nv.SAMPLES + "switch/switchCertChain.txt", "LS10"),
])
def test_other_real_reports_are_authentic(report: str, chain: str, arch: str) -> None:
    a = appraise_gpu(nv.report(report), nv.read(chain), policy=NO_OCSP, at=nv.T_GPU_OCSP,
                     expected_nonce=None, arch=arch)
    assert a.authentic, [c for c in a.checks if c.authenticity and c.status is not Status.PASS]
    assert status(a, "gpu.0.arch") is Status.PASS


def test_google_switch_fixture_does_not_verify() -> None:
    """go-nvattest-tools' raw switch report (placeholder nonce 1234…) is not signed by the chain shipped
    beside it; the README does not list it as verifying, and neither do we."""
    a = appraise_gpu(nv.read(nv.GOOGLE + "test_raw_switch_attestation_report.dat"),
                     nv.read(nv.GOOGLE + "test_switch_attestation_certificate_chain.dat"), policy=NO_OCSP,
                     at=nv.T_GPU_OCSP, expected_nonce=None, arch="LS10")
    assert status(a, "gpu.0.chain") is Status.PASS and status(a, "gpu.0.signature") is Status.FAIL


@pytest.mark.parametrize("relative", [
    "serialized_test_evidence/hopper_evidence.json", "serialized_test_evidence/hopper_evidence_cert_hold.json",
    "serialized_test_evidence/multi_gpu_hopper.json", "serialized_test_evidence/switch_evidence_ls10.json",
    "serialized_test_evidence/multi_switch_ls10.json", "evidence_hopper_590_12.json",
])
def test_serialized_evidence_is_authentic_and_nonce_bound(relative: str) -> None:
    devices = nv.json_devices(nv.SDK + relative)
    a = appraise_gpus([(arch, r, c) for arch, r, c, _ in devices], policy=NO_OCSP, at=nv.T_GPU_OCSP,
                      expected_nonce=bytes.fromhex(devices[0][3]))
    per_device = [c for c in a.checks if c.id.startswith("gpu.") and c.id.split(".")[1].isdigit()]
    assert all(c.status is Status.PASS for c in per_device if c.authenticity)
    assert all(a.check(f"gpu.{i}.nonce").status is Status.PASS for i in range(len(devices)))  # type: ignore[union-attr]
    assert status(a, "gpu.mode") is Status.PASS


def test_the_same_switch_four_times_is_not_four_switches() -> None:
    devices = nv.json_devices(nv.SDK + "serialized_test_evidence/multi_switch_ls10.json")
    a = appraise_gpus([(arch, r, c) for arch, r, c, _ in devices], policy=NO_OCSP, at=nv.T_GPU_OCSP,
                      expected_nonce=nv.H100_NONCE)
    assert status(a, "gpu.distinct") is Status.FAIL


def _count_policy(count: int) -> Policy:
    return parse_policy(f'name = "t"\n[gpu]\ncount = {count}\nocsp = "off"\n'.encode())


def test_gpu_count_is_the_policys_minimum() -> None:
    devices = nv.json_devices(nv.SDK + "serialized_test_evidence/multi_gpu_hopper.json")
    gpus = [(arch, r, c) for arch, r, c, _ in devices]
    assert len(gpus) == 4
    nonce = bytes.fromhex(devices[0][3])
    for count, want in ((8, Status.FAIL), (5, Status.FAIL), (4, Status.PASS), (2, Status.PASS), (0, Status.PASS)):
        a = appraise_gpus(gpus, policy=_count_policy(count), at=nv.T_GPU_OCSP, expected_nonce=nonce)
        assert status(a, "gpu.count") is want, count
        assert [c.id for c in a.checks].count("gpu.count") == 1


@pytest.mark.parametrize(("found", "count", "want", "required"), [
    (0, 0, Status.PASS, False), (3, 0, Status.PASS, False),      # 0: any number, none included
    (0, 1, Status.FAIL, True), (1, 1, Status.PASS, True), (3, 1, Status.PASS, True),
    (7, 8, Status.FAIL, True), (8, 8, Status.PASS, True), (65, 0, Status.FAIL, True),
])
def test_gpu_count_check_reads_count_as_a_minimum(found: int, count: int, want: Status, required: bool) -> None:
    policy = _count_policy(count)
    for given in (policy, GpuPolicy.from_policy(policy)):
        check = gpu_count_check(found, given)
        assert (check.id, check.status, check.required) == ("gpu.count", want, required)
        assert str(found) in check.detail


def test_mixed_modes_are_refused() -> None:
    ppcie = nv.json_devices(nv.SDK + "serialized_test_evidence/hopper_evidence.json")[0]
    legacy = nv.json_devices(nv.SDK + "serialized_test_evidence/hopper_evidence_cert_hold.json")[0]
    a = appraise_gpus([ppcie[:3], legacy[:3]], policy=NO_OCSP, at=nv.T_GPU_OCSP, expected_nonce=None)
    c = a.check("gpu.mode")
    assert c is not None and c.status is Status.FAIL and "ppcie" in c.detail and "legacy" in c.detail


def test_nvswitch_with_its_bios_rim_verifies_in_the_rim_signers_window() -> None:
    at = dt.datetime(2026, 6, 10, tzinfo=dt.UTC)
    a = appraise_gpu(nv.report(nv.SDK + "switchAttestationReport.txt"), nv.read(nv.SDK + "switchCertChain.txt"),
                     policy=parse_policy(b'name = "t"\n[gpu]\nocsp = "if-available"\n'), at=at,
                     expected_nonce=nv.H100_NONCE, arch="LS10",
                     rims=[nv.read(nv.SDK + "switchVBIOSRim_NV_SWITCH_BIOS_5612_0002_890_9610550001.xml")])
    assert a.verified
    assert a.claims["measurements"]["equal"] == 31  # type: ignore[index]
    assert a.check("gpu.0.rim.driver.chain") is None


def test_hostile_inputs_never_raise() -> None:
    report, chain = nv.h100()
    for r, c in [(b"", b""), (report[:100], chain), (report, b"garbage"), (b"\x11\xe0" * 3000, chain[:500]),
                 (report, chain + b"-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n")]:
        a = appraise_gpu(r, c, policy=DEFAULT, at=nv.T_GPU_OCSP, expected_nonce=nv.H100_NONCE,
                         rims=[b"<x/>", b"\0" * 10], ocsp=[b"junk", b"\x30\x03\x02\x01\x00"])
        assert not a.verified


def test_documented_check_order_is_the_order_emitted() -> None:
    """docs/nvidia.md lists the check ids in order; the appraisal emits them in that order."""
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "nvidia.md").read_text()
    table = doc.split("## The checks, in order", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\| `(gpu\.[^`]+)`", table, re.M)
    devices = nv.json_devices(nv.SDK + "serialized_test_evidence/multi_gpu_hopper.json")[:1]
    a = appraise_gpus([d[:3] for d in devices] * 1, policy=NO_OCSP, at=nv.T_GPU_OCSP, expected_nonce=None,
                      rims=nv.google_rims())
    emitted = [c.id.replace("gpu.0.", "gpu.N.").replace(".driver.", ".K.").replace(".vbios.", ".K.")
               for c in a.checks]
    emitted = list(dict.fromkeys(emitted))                        # K appears for driver and vbios
    assert [i for i in documented if i in emitted] == emitted
    assert set(documented) - set(emitted) == {"gpu.N.rim.input"}


def test_unreadable_rims_make_one_rim_input_check() -> None:
    """Check ids are unique in a result: every RIM that cannot be read is named in one check."""
    report, chain = nv.h100()
    a = appraise_gpu(report, chain, policy=DEFAULT, at=nv.T_GPU_OCSP, expected_nonce=nv.H100_NONCE,
                     rims=[b"\0" * 10, b"not xml"])
    inputs = [c for c in a.checks if c.id == "gpu.0.rim.input"]
    assert len(inputs) == 1 and inputs[0].status is Status.FAIL
    assert "2 RIMs given could not be read" in inputs[0].detail and "RIM #2" in inputs[0].detail
    assert len({c.id for c in a.checks}) == len(a.checks)
