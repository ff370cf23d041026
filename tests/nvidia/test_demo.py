"""The whole GPU path under test roots (what the reference enclave's simulator will emit): builders,
RIM comparison, revocation and fetching, where every input is ours to vary."""

from __future__ import annotations

import base64
import itertools
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.x509 import ocsp as x509_ocsp

from tests.nvidia import pki
from verifier.appraisal.nvidia import GpuAppraisal, appraise_gpu, appraise_gpus
from verifier.appraisal.policy import parse_policy
from verifier.endorsements.fetch import CollateralFetcher
from verifier.endorsements.nvidia_anchors import RIM_SERVICE_URL
from verifier.reference.rim import build_rim, sign_rim
from verifier.result import Status

NONCE = bytes(range(32))
DRIVER_ACTIVE = range(20, 41)            # RIM indices (SPDM index - 1), like NVIDIA's driver RIM
VBIOS_ACTIVE = range(0, 13)


@pytest.fixture(scope="module")
def setup(device: pki.DevicePki, rim_signers: pki.RimPki) -> dict[str, object]:
    values = pki.measurements()
    driver = sign_rim(build_rim(version="550.90.07", measurements={i: [bytes(48), values[i + 1]] for i in DRIVER_ACTIVE}),
                      rim_signers.l4.key, rim_signers.chain)
    vbios = sign_rim(build_rim(version="96.00.9F.00.01", measurements={i: [values[i + 1]] for i in VBIOS_ACTIVE}),
                     rim_signers.l4.key, rim_signers.chain)
    chain = device.chain
    answers = [pki.ocsp_answer(chain[i].cert, chain[i + 1]) for i in (1, 2, 3)]
    rc = (rim_signers.l4, rim_signers.l3, rim_signers.l2, rim_signers.root)
    answers += [pki.ocsp_answer(rc[i].cert, rc[i + 1]) for i in (0, 1, 2)]
    return {"values": values, "rims": [driver, vbios], "ocsp": answers}


def policy(device: pki.DevicePki, rim_signers: pki.RimPki, **gpu: object) -> object:
    return parse_policy(pki.policy_text(device.pin, rim_signers.pin, **gpu))


def appraise(device: pki.DevicePki, rim_signers: pki.RimPki, setup: dict[str, object], *,
             report: bytes | None = None, rim_files: Sequence[bytes] | None = None, answers: Sequence[bytes] | None = None,
             fetcher: CollateralFetcher | None = None, **gpu: object) -> GpuAppraisal:
    values = setup["values"]
    assert isinstance(values, dict)
    return appraise_gpu(report or pki.report(device, NONCE, values), device.chain_pem,
                        policy=policy(device, rim_signers, **gpu), at=pki.AT, expected_nonce=NONCE,  # type: ignore[arg-type]
                        rims=setup["rims"] if rim_files is None else rim_files,  # type: ignore[arg-type]
                        ocsp=setup["ocsp"] if answers is None else answers, fetcher=fetcher, arch="HOPPER")  # type: ignore[arg-type]


def failing(a: GpuAppraisal) -> list[str]:
    return [c.id for c in a.checks if c.status is Status.FAIL]


def test_demo_evidence_verifies_under_its_pinned_roots(device: pki.DevicePki, rim_signers: pki.RimPki,
                                                       setup: dict[str, object]) -> None:
    a = appraise(device, rim_signers, setup)
    assert a.verified, [(c.id, c.detail) for c in a.checks if c.status is not Status.PASS]
    assert a.claims["measurements"]["equal"] == len(DRIVER_ACTIVE) + len(VBIOS_ACTIVE)  # type: ignore[index]


def test_demo_evidence_is_refused_under_the_vendor_roots(device: pki.DevicePki, setup: dict[str, object]) -> None:
    values = setup["values"]
    assert isinstance(values, dict)
    a = appraise_gpu(pki.report(device, NONCE, values), device.chain_pem, policy=parse_policy(b'name = "d"\n'),
                     at=pki.AT, expected_nonce=NONCE, rims=setup["rims"], ocsp=setup["ocsp"])  # type: ignore[arg-type]
    assert not a.authentic and "gpu.0.chain.root_pinned" in failing(a)
    assert "gpu.0.rim.driver.chain" in failing(a)


@pytest.mark.parametrize("spdm_index", [1, 13, 21, 41])
def test_flipped_measurement_bit_re_signed_by_the_device_fails_at_that_index(
        device: pki.DevicePki, rim_signers: pki.RimPki, setup: dict[str, object], spdm_index: int) -> None:
    values = dict(setup["values"])  # type: ignore[call-overload]
    values[spdm_index] = bytes([values[spdm_index][0] ^ 0x01]) + values[spdm_index][1:]
    a = appraise(device, rim_signers, setup, report=pki.report(device, NONCE, values))
    assert a.authentic and failing(a) == ["gpu.0.measurements"]
    assert a.claims["measurements"]["differ"] == [spdm_index - 1]  # type: ignore[index]


def test_an_alternative_is_accepted(device: pki.DevicePki, rim_signers: pki.RimPki, setup: dict[str, object]) -> None:
    values = dict(setup["values"])  # type: ignore[call-overload]
    values[DRIVER_ACTIVE[0] + 1] = bytes(48)          # Hash0 of every driver index is the zero value
    assert appraise(device, rim_signers, setup, report=pki.report(device, NONCE, values)).verified


def test_index_active_in_both_rims_is_refused(device: pki.DevicePki, rim_signers: pki.RimPki,
                                              setup: dict[str, object]) -> None:
    values = setup["values"]
    assert isinstance(values, dict)
    vbios = sign_rim(build_rim(version="96.00.9F.00.01",
                               measurements={i: [values[i + 1]] for i in [*VBIOS_ACTIVE, 20]}),
                     rim_signers.l4.key, rim_signers.chain)
    a = appraise(device, rim_signers, setup, rim_files=[setup["rims"][0], vbios])  # type: ignore[index]
    c = a.check("gpu.0.measurements")
    assert c is not None and c.status is Status.FAIL and "both RIMs" in c.detail


def test_rim_for_another_version_is_refused(device: pki.DevicePki, rim_signers: pki.RimPki,
                                            setup: dict[str, object]) -> None:
    values = setup["values"]
    assert isinstance(values, dict)
    other = sign_rim(build_rim(version="550.90.08", measurements={i: [values[i + 1]] for i in DRIVER_ACTIVE}),
                     rim_signers.l4.key, rim_signers.chain)
    a = appraise(device, rim_signers, setup, rim_files=[other, setup["rims"][1]])  # type: ignore[index]
    assert failing(a) == ["gpu.0.rim.driver.version"]


def test_rim_signed_by_a_key_outside_the_pinned_root_is_refused(device: pki.DevicePki, rim_signers: pki.RimPki,
                                                                setup: dict[str, object]) -> None:
    stranger = pki.rim_pki()
    values = setup["values"]
    assert isinstance(values, dict)
    forged = sign_rim(build_rim(version="550.90.07", measurements={i: [values[i + 1]] for i in DRIVER_ACTIVE}),
                      stranger.l4.key, stranger.chain)
    a = appraise(device, rim_signers, setup, rim_files=[forged, setup["rims"][1]])  # type: ignore[index]
    assert "gpu.0.rim.driver.chain" in failing(a)


def test_revoked_device_certificate_refuses_whatever_the_ocsp_policy(
        device: pki.DevicePki, rim_signers: pki.RimPki, setup: dict[str, object]) -> None:
    chain = device.chain
    revoked = [pki.ocsp_answer(chain[1].cert, chain[2], status="revoked"), *setup["ocsp"]]  # type: ignore[misc]
    a = appraise(device, rim_signers, setup, answers=revoked, ocsp="if-available")
    c = a.check("gpu.0.ocsp")
    assert c is not None and c.status is Status.FAIL and "revoked" in c.detail


def test_missing_collateral_under_each_policy(device: pki.DevicePki, rim_signers: pki.RimPki,
                                              setup: dict[str, object]) -> None:
    strict = appraise(device, rim_signers, setup, rim_files=[], answers=[])
    assert not strict.verified and strict.authentic
    assert "gpu.0.ocsp" in failing(strict)
    c = strict.check("gpu.0.rim.driver.chain")
    assert c is not None and c.status is Status.SKIP and c.required
    lax = appraise(device, rim_signers, setup, rim_files=[], answers=[], ocsp="if-available", rims="if-available")
    assert lax.verified
    assert all(c.status is Status.SKIP for c in lax.checks if ".rim." in c.id or c.id.endswith("ocsp"))


def _services(device: pki.DevicePki, rim_signers: pki.RimPki, setup: dict[str, object],
              calls: list[str]) -> httpx.MockTransport:
    """NVIDIA's RIM service (JSON, base64 'rim') and OCSP responder (RFC 6960 A.1 POST, nonce echoed)."""
    rims = dict(zip(["NV_GPU_DRIVER_GH100_550.90.07", "NV_GPU_VBIOS_1010_0200_882_96009F0001"],
                    setup["rims"], strict=True))  # type: ignore[call-overload]
    issuers: dict[int, tuple[x509.Certificate, pki.Issued]] = {}
    for seq in (device.chain, (rim_signers.l4, rim_signers.l3, rim_signers.l2, rim_signers.root)):
        for child, parent in itertools.pairwise(seq):
            issuers[child.cert.serial_number] = (child.cert, parent)

    def handle(request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        calls.append(url)
        if url.startswith(RIM_SERVICE_URL):
            rim_id = url[len(RIM_SERVICE_URL):]
            if rim_id not in rims:
                return httpx.Response(404)
            return httpx.Response(200, json={"id": rim_id, "rim": base64.b64encode(rims[rim_id]).decode()})
        assert request.method == "POST"
        assert request.headers["content-type"] == "application/ocsp-request"
        req = x509_ocsp.load_der_ocsp_request(request.content)
        nonce = req.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
        cert, issuer = issuers[req.serial_number]
        return httpx.Response(200, content=pki.ocsp_answer(cert, issuer, nonce=nonce, next_update=None))

    return httpx.MockTransport(handle)


def test_fetches_rims_and_ocsp_when_none_are_given(device: pki.DevicePki, rim_signers: pki.RimPki,
                                                  setup: dict[str, object], tmp_path: Path) -> None:
    calls: list[str] = []
    fetcher = CollateralFetcher(tmp_path, client=httpx.Client(transport=_services(device, rim_signers, setup, calls)))
    a = appraise(device, rim_signers, setup, rim_files=[], answers=[], fetcher=fetcher)
    assert a.verified, [(c.id, c.detail) for c in a.checks if c.status is not Status.PASS]
    assert sum(u.startswith(RIM_SERVICE_URL) for u in calls) == 2
    assert a.claims["rims"]["driver"]["source"] == RIM_SERVICE_URL + "NV_GPU_DRIVER_GH100_550.90.07"  # type: ignore[index]
    # the RIM chain is shared by both RIMs: each of its certificates is asked about once
    assert len(calls) == 2 + 3 + 3


def test_offline_fetcher_fetches_nothing(device: pki.DevicePki, rim_signers: pki.RimPki,
                                         setup: dict[str, object], tmp_path: Path) -> None:
    a = appraise(device, rim_signers, setup, rim_files=[], answers=[], fetcher=CollateralFetcher(tmp_path, offline=True))
    c = a.check("gpu.0.rim.driver.chain")
    assert c is not None and c.status is Status.SKIP and "offline" in c.detail
    assert not a.verified


def test_two_demo_gpus_verify_together(device: pki.DevicePki, rim_signers: pki.RimPki,
                                       setup: dict[str, object]) -> None:
    values = setup["values"]
    assert isinstance(values, dict)
    second = pki.device_pki()
    pol = parse_policy(pki.policy_text(device.pin, rim_signers.pin, count=2, ocsp="if-available"))
    # the second device hangs off another test root: pin refuses it, the first passes
    a = appraise_gpus([("HOPPER", pki.report(device, NONCE, values), device.chain_pem),
                       ("HOPPER", pki.report(second, NONCE, values), second.chain_pem)],
                      policy=pol, at=pki.AT, expected_nonce=NONCE, rims=setup["rims"])  # type: ignore[arg-type]
    assert [c.status for c in a.checks if c.id in ("gpu.count", "gpu.distinct", "gpu.mode")] == [Status.PASS] * 3
    assert a.check("gpu.0.chain.root_pinned").status is Status.PASS  # type: ignore[union-attr]
    assert a.check("gpu.1.chain.root_pinned").status is Status.FAIL  # type: ignore[union-attr]
    assert not a.authentic


def test_an_unreadable_answer_beside_good_ones_changes_nothing(device: pki.DevicePki, rim_signers: pki.RimPki,
                                                               setup: dict[str, object]) -> None:
    answers = [b"junk", b"", *setup["ocsp"]]  # type: ignore[misc]
    assert appraise(device, rim_signers, setup, answers=answers).verified
