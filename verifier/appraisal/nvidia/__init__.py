"""Appraisal of NVIDIA GPU (and NVSwitch) evidence: one :class:`Check` per step, in a fixed order.

For one device (index N), the checks are, in this order (docs/nvidia.md has one line on each):

==============================  ==============================================================  =====
id                              what passes                                                     auth
==============================  ==============================================================  =====
``gpu.N.parse``                 the report is an SPDM 1.1 GET_MEASUREMENTS request + response   yes
``gpu.N.chain.root_pinned``     the certificate chain ends at the pinned Device Identity CA key  yes
``gpu.N.chain``                 each certificate is signed by the next, valid, CA where it must  yes
``gpu.N.fwid``                  the leaf's TCG DICE FWID equals the report's FWID                yes*
``gpu.N.signature``             ECDSA P-384/SHA-384 by the leaf over request || response        yes
``gpu.N.nonce``                 the request nonce is the expected (client's) nonce
``gpu.N.arch``                  the declared architecture is the chain's (GH100 = HOPPER, ...)
``gpu.N.ocsp``                  OCSP says good for chain certificates 1..n-2 (policy ``ocsp``)
``gpu.N.rim.input``             (only when a RIM given is unreadable) fails, naming each
``gpu.N.rim.K.chain``           RIM K's signer chain holds to the pinned CoRIM root at ``at``
``gpu.N.rim.K.signature``       RIM K's XML signature verifies with that signer (signxml)
``gpu.N.rim.K.version``         RIM K's signed version equals the report's (driver / VBIOS)
``gpu.N.rim.K.ocsp``            OCSP says good for RIM K's chain L4..L2 (policy ``rim_ocsp``)
``gpu.N.measurements``          every active RIM index equals one of its alternatives
==============================  ==============================================================  =====

K is ``driver`` then ``vbios`` for GPUs, ``vbios`` alone for NVSwitches. (*) ``gpu.N.fwid`` is an
authenticity check when it runs; reports from drivers that predate the FWID field skip it.
For several devices (:func:`appraise_gpus`) the per-device checks come after ``gpu.count``,
``gpu.distinct`` and before ``gpu.mode``. ``gpu.count`` (:func:`gpu_count_check`) reads the policy's
``[gpu] count`` as a minimum: 0 accepts any number of devices, none included.

The ids are the templates of :mod:`~verifier.appraisal.nvidia.checks` (``CATALOGUE`` in this order,
``gpu_id`` fills in N and K). The modules, in go-sev-guest's split: :mod:`~verifier.appraisal.nvidia.rules`
(the ``[gpu]`` table), :mod:`~verifier.appraisal.nvidia.authenticity` (the report, the device chain,
its signature and OCSP; RIM chains, signatures, versions, OCSP; collateral fetching),
:mod:`~verifier.appraisal.nvidia.validate` (nonce, architecture, measurements, count, distinct,
mode), :mod:`~verifier.appraisal.nvidia.claims`, and :mod:`~verifier.appraisal.nvidia.files`
(``evidence verify nvidia-gpu``, not imported here).

Sources: DMTF DSP0274 (SPDM 1.1) for the report and its signature; TCG DICE Attestation
Architecture §6.1.1 for the FWID; RFC 5280 §6.1 for the paths; RFC 6960 for OCSP; TCG RIM
information model / ISO 19770-2 SWID for the RIMs.

Nothing here raises on hostile evidence: anything that does not parse, decode or verify is a failing
check with a sentence. A malformed *policy* raises :class:`verifier.errors.PolicyError`.
"""

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
from verifier.appraisal.nvidia.checks import CATALOGUE, gpu_id
from verifier.appraisal.nvidia.claims import device_claims, report_claims
from verifier.appraisal.nvidia.rules import (
    MAX_GPUS,
    OCSP_CHOICES,
    POLICY_KEYS,
    RIM_CHOICES,
    GpuPolicy,
    anchors_from_policy,
)
from verifier.appraisal.nvidia.validate import gpu_count_check
from verifier.appraisal.policy import Policy
from verifier.endorsements.anchors import spki_sha256
from verifier.evidence.nvidia import OpaqueField
from verifier.reference.rim import Rim, driver_rim_id
from verifier.result import Check, Checked, utc

if TYPE_CHECKING:
    from verifier.endorsements.fetch import CollateralFetcher

__all__ = ["CATALOGUE", "MAX_GPUS", "OCSP_CHOICES", "POLICY_KEYS", "RIM_CHOICES", "GpuAppraisal",
           "GpuPolicy", "anchors_from_policy", "appraise_gpu", "appraise_gpus", "gpu_count_check", "gpu_id"]

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
    claims, _ = _appraise_one(out, report, certificate_chain, arch=arch, index=index,
                              policy=gpu_policy, expected_nonce=expected_nonce, collateral=collateral)
    return GpuAppraisal(out.checks, claims)


def appraise_gpus(gpus: Sequence[tuple[str, bytes, bytes]], *, policy: Policy, at: dt.datetime,
                  expected_nonce: bytes | None, fetcher: CollateralFetcher | None = None,
                  rims: Sequence[bytes] = (), ocsp: Sequence[bytes] = ()) -> GpuAppraisal:
    """Appraise ``(arch, report, certificate_chain)`` for each device, in bundle order.

    Adds ``gpu.count`` (:func:`gpu_count_check`: at least the policy's ``count`` devices; 0 accepts
    any number), ``gpu.distinct`` (no two devices share a device key: N reports prove N devices) and
    ``gpu.mode`` (all devices in the same confidential-computing mode).
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
    devices = CheckCollector()
    for i, (arch, report, chain) in enumerate(gpus):
        claims, leaf_key = _appraise_one(devices, report, chain, arch=arch, index=i, policy=gpu_policy,
                                         expected_nonce=expected_nonce, collateral=collateral)
        per_device.append(claims)
        leaf_keys.append(leaf_key)
        mode = claims.get("mode")
        modes.append(mode if isinstance(mode, str) else None)
    out.add(validate.distinct_check(leaf_keys))
    out.extend(devices.checks)
    out.add(validate.mode_check(modes))
    return GpuAppraisal(out.checks, {"count": n, "gpus": per_device})


def _appraise_one(out: CheckCollector, report_bytes: bytes, chain_bytes: bytes, *, arch: str | None,
                  index: int, policy: GpuPolicy, expected_nonce: bytes | None, collateral: Collateral
                  ) -> tuple[dict[str, object], str | None]:
    """One device's checks, in the documented order, into ``out``; its claims and device key."""
    n = index
    claims: dict[str, object] = {"index": index}
    report = authenticity.parse_check(out, n, report_bytes)
    chain, path = authenticity.chain_checks(out, n, chain_bytes, policy, collateral.at)
    leaf = chain[0] if chain else None
    leaf_key = None
    if leaf is not None:
        claims.update(device_claims(chain))
        try:
            leaf_key = spki_sha256(leaf)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            leaf_key = None
    if report is None:
        return claims, leaf_key
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
    verified: dict[str, Rim] = {}
    rim_claims: dict[str, object] = {}
    authenticity.rim_input_check(out, n, collateral)
    for kind in kinds:
        label = "driver" if kind == "driver" else ("switch BIOS" if is_switch else "VBIOS")
        outcome = collateral.rim_for(kind, versions[kind], rim_ids[kind])
        rim_claim, rim, rim_ocsp = authenticity.rim_checks(out, n, kind, label, outcome, versions[kind],
                                                           rim_ids[kind], policy, collateral)
        rim_claims[kind] = rim_claim
        if rim is not None:
            verified[kind] = rim
        if rim_ocsp is not None:
            ocsp_claims[f"{kind}_rim"] = rim_ocsp
    claims["rims"] = rim_claims

    out.add(validate.measurements_check(gpu_id(ids.MEASUREMENTS, n), report, verified, kinds,
                                        policy.rims == "required", claims))
    return claims, leaf_key
