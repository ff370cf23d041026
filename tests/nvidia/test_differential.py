"""Differential: our appraisal of the H100 matching set against NVIDIA's own cloud verdict (NRAS).

``hopperClaimsv3_decoded.json`` is NRAS's claims for exactly this report. Every NRAS claim is either
compared with ours (COMPARED) or its difference is explained (EXPLAINED); a claim in neither makes the
test fail, so a new NRAS claim cannot slip by unexamined.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.nvidia import nv
from verifier.appraisal.nvidia import GpuAppraisal, appraise_gpu
from verifier.appraisal.policy import parse_policy
from verifier.result import Status

pytestmark = pytest.mark.vectors


def _passed(id: str) -> Callable[[GpuAppraisal], Any]:
    def get(a: GpuAppraisal) -> Any:
        c = a.check(id)
        return c is not None and c.status is Status.PASS
    return get


def _claim(*path: str) -> Callable[[GpuAppraisal], Any]:
    def get(a: GpuAppraisal) -> Any:
        value: Any = a.claims
        for key in path:
            value = value[key]
        return value
    return get


def _chain_claims(kind: str | None) -> Callable[[GpuAppraisal], Any]:
    """NRAS's {cert-status, ocsp-status, expiration-date, revocation-reason} for one chain."""
    def get(a: GpuAppraisal) -> Any:
        if kind is None:
            ok, expiry, ocsp = _passed("gpu.0.chain")(a), a.claims["chain_not_after"], _OCSP["gpu"]
        else:
            ok = _passed(f"gpu.0.rim.{kind}.chain")(a)
            expiry = a.claims["rims"][kind]["signer_not_after"]  # type: ignore[index]
            ocsp = _OCSP[kind]
        return {"x-nvidia-cert-status": "valid" if ok else "invalid", "x-nvidia-cert-ocsp-status": ocsp,
                "x-nvidia-cert-expiration-date": expiry, "x-nvidia-cert-revocation-reason": None}
    return get


COMPARED: dict[str, Callable[[GpuAppraisal], Any]] = {
    "eat_nonce": _claim("nonce"),
    "ueid": _claim("ueid"),
    "hwmodel": _claim("hwmodel"),
    "oemid": _claim("rims", "driver", "manufacturer_id"),
    "x-nvidia-gpu-driver-version": _claim("driver_version"),
    "x-nvidia-gpu-vbios-version": _claim("vbios_version"),
    "x-nvidia-gpu-attestation-report-parsed": _passed("gpu.0.parse"),
    "x-nvidia-gpu-attestation-report-nonce-match": _passed("gpu.0.nonce"),
    "x-nvidia-gpu-attestation-report-signature-verified": _passed("gpu.0.signature"),
    "x-nvidia-gpu-attestation-report-cert-chain-fwid-match": _passed("gpu.0.fwid"),
    "x-nvidia-gpu-arch-check": _passed("gpu.0.arch"),
    "x-nvidia-gpu-attestation-report-cert-chain": _chain_claims(None),
    "x-nvidia-gpu-driver-rim-fetched": _claim("rims", "driver", "present"),
    "x-nvidia-gpu-vbios-rim-fetched": _claim("rims", "vbios", "present"),
    "x-nvidia-gpu-driver-rim-signature-verified": _passed("gpu.0.rim.driver.signature"),
    "x-nvidia-gpu-vbios-rim-signature-verified": _passed("gpu.0.rim.vbios.signature"),
    "x-nvidia-gpu-driver-rim-version-match": _passed("gpu.0.rim.driver.version"),
    "x-nvidia-gpu-vbios-rim-version-match": _passed("gpu.0.rim.vbios.version"),
    "x-nvidia-gpu-driver-rim-cert-chain": _chain_claims("driver"),
    "x-nvidia-gpu-vbios-rim-cert-chain": _chain_claims("vbios"),
    "x-nvidia-gpu-driver-rim-measurements-available": lambda a: "driver" in a.claims["measurements"]["rims"],  # type: ignore[index]
    "x-nvidia-gpu-vbios-rim-measurements-available": lambda a: "vbios" in a.claims["measurements"]["rims"],  # type: ignore[index]
    "x-nvidia-gpu-vbios-index-no-conflict": lambda a: a.claims["measurements"]["conflicts"] == [],  # type: ignore[index]
    "measres": lambda a: "success" if _passed("gpu.0.measurements")(a) else "fail",
    # NRAS sets secboot when the measured boot state equals the reference values: our measurements check
    "secboot": _passed("gpu.0.measurements"),
}

EXPLAINED: dict[str, str] = {
    "iss": "NRAS token metadata (issuer); we issue no token",
    "iat": "NRAS token metadata: its issue time 2025-06-11T00:30:58Z, which we use as our verification time",
    "nbf": "NRAS token metadata (not before)",
    "exp": "NRAS token metadata (one hour after iat)",
    "jti": "NRAS token metadata (token id)",
    "x-nvidia-attestation-warning": "NRAS's free-text warning channel; we have checks with details instead",
    "x-nvidia-gpu-driver-rim-schema-validated":
        "NRAS validates the RIM against the SWID XSD; we parse the signed content strictly instead "
        "(one Meta, one Payload, integer indices, hex of the declared size) and refuse anything else",
    "x-nvidia-gpu-vbios-rim-schema-validated": "as for the driver RIM",
    "dbgstat":
        "NRAS says 'disabled'; the SPDM report has no debug field we can read, so we claim nothing. "
        "Debug firmware is refused another way: its measurements differ from the production RIMs",
}

NRAS_TIME = dt.datetime.fromtimestamp(1749601858, tz=dt.UTC)
# NRAS fetched OCSP live; our saved answers are good at their own times (README), not at NRAS_TIME
_OCSP = {"gpu": "good", "driver": "good", "vbios": "good"}


def test_every_nras_claim_is_compared_or_explained() -> None:
    nras = json.loads(nv.read(nv.SAMPLES + "hopperClaimsv3_decoded.json"))["GPU-0"]
    assert set(nras) == set(COMPARED) | set(EXPLAINED), set(nras) ^ (set(COMPARED) | set(EXPLAINED))
    assert not set(COMPARED) & set(EXPLAINED)
    assert nras["iat"] == int(NRAS_TIME.timestamp())


def test_claims_agree_with_nras_at_its_verification_time() -> None:
    nras = json.loads(nv.read(nv.SAMPLES + "hopperClaimsv3_decoded.json"))["GPU-0"]
    report, chain = nv.h100()
    at_nras = appraise_gpu(report, chain, policy=parse_policy(b'name = "t"\n[gpu]\nocsp = "off"\n'), at=NRAS_TIME,
                           expected_nonce=bytes.fromhex(nras["eat_nonce"]), rims=nv.google_rims())
    ours = {key: get(at_nras) for key, get in COMPARED.items()}
    assert ours == {key: nras[key] for key in COMPARED}


@pytest.mark.parametrize(("kind", "check", "at"), [("gpu", "gpu.0.ocsp", nv.T_GPU_OCSP),
                                                   ("driver", "gpu.0.rim.driver.ocsp", nv.T_RIM_OCSP),
                                                   ("vbios", "gpu.0.rim.vbios.ocsp", nv.T_RIM_OCSP)])
def test_ocsp_good_where_nras_says_good_at_the_answers_own_times(kind: str, check: str, at: dt.datetime) -> None:
    report, chain = nv.h100()
    a = appraise_gpu(report, chain, policy=parse_policy(b'name = "t"\n'), at=at, expected_nonce=nv.H100_NONCE,
                     rims=nv.google_rims(), ocsp=nv.ocsp_answers())
    assert _passed(check)(a) == (_OCSP[kind] == "good")
