"""The NVIDIA appraisal run in its documented order (the package docstring lists it): one device
(:func:`appraise_gpu`) or a whole bundle's devices (:func:`appraise_gpus`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cryptography.exceptions import UnsupportedAlgorithm

from verifier.appraisal.checks import CheckCollector
from verifier.appraisal.nvidia import authenticity, validate
from verifier.appraisal.nvidia import checks as ids
from verifier.appraisal.nvidia.authenticity import Collateral
from verifier.appraisal.nvidia.checks import gpu_id
from verifier.appraisal.nvidia.claims import device_claims, report_claims
from verifier.appraisal.nvidia.rules import (
    MAX_GPUS,
    GpuPolicy,
)
from verifier.appraisal.nvidia.validate import DeviceModel, gpu_count_check
from verifier.appraisal.policy import Policy
from verifier.endorsements.nvidia_chain import key_pin
from verifier.evidence.nvidia import OpaqueField, SpdmReport
from verifier.reference.rim import Rim, driver_rim_id
from verifier.result import Check, Checked, utc

if TYPE_CHECKING:
    from verifier.endorsements.fetch import CollateralFetcher

_SWITCH_ARCHES = frozenset({"LS10"})


@dataclass(frozen=True)
class GpuAppraisal(Checked):
    """Checks (stable ids ``gpu.<index>.*`` and ``gpu.*``) and JSON-able claims."""

    checks: tuple[Check, ...]
    claims: dict[str, object] = field(default_factory=dict)


def appraise_gpu(report: bytes, certificate_chain: bytes, *, policy: Policy, at: dt.datetime,
                 expected_nonce: bytes | None, fetcher: CollateralFetcher | None = None,
                 rims: Sequence[bytes] = (), ocsp: Sequence[bytes] = (), index: int = 0,
                 arch: str | None = None) -> GpuAppraisal:
    """Appraise one GPU's (or NVSwitch's) report and chain at time ``at`` under ``policy``.

    ``rims`` and ``ocsp`` are collateral at hand (RIM XML; OCSP answers, DER or base64); with a
    ``fetcher`` whatever is missing is asked of NVIDIA's RIM service and OCSP responder. ``arch`` is
    what the bundle declares (``HOPPER``, ``BLACKWELL``, ``LS10``), checked against the chain.
    """
    gpu_policy = GpuPolicy.from_policy(policy)
    at = utc(at)
    collateral = Collateral(rims=rims, ocsp=ocsp, at=at, anchors=gpu_policy.anchors, fetcher=fetcher,
                            nonce_source=authenticity.random_nonce)
    out = CheckCollector()
    claims, _, _ = _appraise_one(out, report, certificate_chain, arch=arch, index=index,
                              policy=gpu_policy, expected_nonce=expected_nonce, collateral=collateral)
    return GpuAppraisal(out.checks, claims)


def appraise_gpus(gpus: Sequence[tuple[str, bytes, bytes]], *, policy: Policy, at: dt.datetime,
                  expected_nonce: bytes | None, fetcher: CollateralFetcher | None = None,
                  rims: Sequence[bytes] = (), ocsp: Sequence[bytes] = ()) -> GpuAppraisal:
    """Appraise ``(arch, report, certificate_chain)`` for each device, in bundle order.

    Adds ``gpu.count`` (:func:`gpu_count_check`: at least the policy's ``count`` devices; 0 accepts
    any number), ``gpu.distinct`` (no two devices share a device key: N reports prove N devices),
    ``gpu.topology`` (GPUs and NVSwitches name each other: :func:`validate.topology_check`) and
    ``gpu.mode`` (all GPUs in the same confidential-computing mode).
    """
    gpu_policy = GpuPolicy.from_policy(policy)
    at = utc(at)
    collateral = Collateral(rims=rims, ocsp=ocsp, at=at, anchors=gpu_policy.anchors, fetcher=fetcher,
                            nonce_source=authenticity.random_nonce)
    out = CheckCollector()
    n = len(gpus)
    out.add(gpu_count_check(n, gpu_policy))
    if n > MAX_GPUS:
        return GpuAppraisal(out.checks, {"count": n})
    per_device: list[dict[str, object]] = []
    leaf_keys: list[str | None] = []
    modes: list[str | None] = []
    views: list[validate.TopologyView] = []
    devices = CheckCollector()
    for i, (arch, report, chain) in enumerate(gpus):
        claims, leaf_key, parsed = _appraise_one(devices, report, chain, arch=arch, index=i, policy=gpu_policy,
                                                 expected_nonce=expected_nonce, collateral=collateral)
        per_device.append(claims)
        leaf_keys.append(leaf_key)
        mode = claims.get("mode") if isinstance(claims.get("mode"), str) else None
        switch = claims.get("arch") in _SWITCH_ARCHES
        if not switch:                       # an NVSwitch has no mode of its own: the GPUs' is compared
            modes.append(mode if isinstance(mode, str) else None)
        views.append(validate.TopologyView(i, switch, mode if isinstance(mode, str) else None,
                                           parsed.opaque if parsed is not None else None))
    out.add(validate.distinct_check(leaf_keys))
    out.extend(devices.checks)
    out.add(validate.topology_check(views, gpu_policy))
    out.add(validate.mode_check(modes))
    return GpuAppraisal(out.checks, {"count": n, "gpus": per_device})


def _appraise_one(out: CheckCollector, report_bytes: bytes, chain_bytes: bytes, *, arch: str | None,
                  index: int, policy: GpuPolicy, expected_nonce: bytes | None, collateral: Collateral
                  ) -> tuple[dict[str, object], str | None, SpdmReport | None]:
    """One device's checks, in the documented order, into ``out``; its claims, device key and report."""
    n = index
    claims: dict[str, object] = {"index": index}
    report = authenticity.parse_check(out, n, report_bytes)
    chain, path = authenticity.chain_checks(out, n, chain_bytes, policy, collateral.at)
    leaf = chain[0] if chain else None
    leaf_key = None
    if leaf is not None:
        claims.update(device_claims(chain))
        try:
            leaf_key = key_pin(leaf)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            leaf_key = None
    if report is None:
        return claims, leaf_key, None
    claims.update(report_claims(report))

    authenticity.fwid_check(out, n, report, leaf)
    authenticity.signature_check(out, n, report, leaf)
    validate.nonce_check(out, n, report, expected_nonce)
    device_arch = validate.arch_check(out, n, arch, claims.get("chain_arch"))
    claims["arch"] = device_arch
    ocsp_claims = authenticity.device_ocsp_check(out, n, chain, path, policy, collateral)
    claims["ocsp"] = ocsp_claims

    # RIMs: K is driver then vbios for GPUs, vbios (the switch BIOS) alone for NVSwitches
    is_switch = device_arch in _SWITCH_ARCHES
    kinds = ("vbios",) if is_switch else ("driver", "vbios")
    opaque = report.opaque
    versions = {"driver": opaque.driver_version, "vbios": opaque.vbios_version}
    rim_ids = {"driver": driver_rim_id(device_arch, opaque.driver_version,
                                   opaque.text(OpaqueField.CHIP_INFO)) if opaque.driver_version else None,
           "vbios": authenticity.vbios_id(report) if not is_switch else None}
    chip = claims.get("chip")
    device = DeviceModel(chip=chip if isinstance(chip, str) and chip else None, switch=is_switch,
                         project=opaque.project, project_sku=opaque.project_sku, chip_sku=opaque.chip_sku)
    verified: dict[str, Rim] = {}
    rim_claims: dict[str, object] = {}
    authenticity.rim_input_check(out, n, collateral)
    for kind in kinds:
        label = "driver" if kind == "driver" else ("switch BIOS" if is_switch else "VBIOS")
        outcome = collateral.rim_for(kind, versions[kind], rim_ids[kind], device)
        rim_claim, rim, rim_ocsp = authenticity.rim_checks(out, n, kind, label, outcome, versions[kind],
                                                           rim_ids[kind], policy, collateral, device)
        rim_claims[kind] = rim_claim
        if rim is not None:
            verified[kind] = rim
        if rim_ocsp is not None:
            ocsp_claims[f"{kind}_rim"] = rim_ocsp
    claims["rims"] = rim_claims

    out.add(validate.measurements_check(gpu_id(ids.MEASUREMENTS, n), report, verified, kinds,
                                        policy.rims == "required", claims))
    return claims, leaf_key, report
