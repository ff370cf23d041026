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
``gpu.N.rim.K.device``          RIM K's signed product / PlatformModel is the device's chip
``gpu.N.rim.K.ocsp``            OCSP says good for RIM K's chain L4..L2 (policy ``rim_ocsp``)
``gpu.N.measurements``          every active RIM index equals one of its alternatives
==============================  ==============================================================  =====

K is ``driver`` then ``vbios`` for GPUs, ``vbios`` alone for NVSwitches. (*) ``gpu.N.fwid`` is an
authenticity check when it runs; reports from drivers that predate the FWID field skip it.
For several devices (:func:`appraise_gpus`) the per-device checks come after ``gpu.count``,
``gpu.distinct`` and before ``gpu.topology`` (the protected-PCIe topology: GPUs and NVSwitches
name each other, ``[gpu] topology``) and ``gpu.mode``. ``gpu.count`` (:func:`gpu_count_check`) reads the policy's
``[gpu] count`` as a minimum: 0 accepts any number of devices, none included.

The ids are the templates of :mod:`~verifier.appraisal.nvidia.checks` (``CATALOGUE`` in this order,
``gpu_id`` fills in N and K). The modules, in go-sev-guest's split: :mod:`~verifier.appraisal.nvidia.rules`
(the ``[gpu]`` table), :mod:`~verifier.appraisal.nvidia.authenticity` (the report, the device chain,
its signature and OCSP; RIM chains, signatures, versions, OCSP; collateral fetching),
:mod:`~verifier.appraisal.nvidia.validate` (nonce, architecture, the device a RIM names,
measurements, count, distinct, mode), :mod:`~verifier.appraisal.nvidia.claims`, and
:mod:`~verifier.appraisal.nvidia.files` (``evidence verify nvidia-gpu``, not imported here).

Sources: DMTF DSP0274 (SPDM 1.1) for the report and its signature; TCG DICE Attestation
Architecture §6.1.1 for the FWID; RFC 5280 §6.1 for the paths; RFC 6960 for OCSP; TCG RIM
information model / ISO 19770-2 SWID for the RIMs.

Nothing here raises on hostile evidence: anything that does not parse, decode or verify is a failing
check with a sentence. A malformed *policy* raises :class:`verifier.errors.PolicyError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from verifier.appraisal.nvidia.checks import CATALOGUE, gpu_id
from verifier.appraisal.nvidia.rules import (
    MAX_GPUS,
    OCSP_CHOICES,
    POLICY_KEYS,
    RIM_CHOICES,
    TOPOLOGY_CHOICES,
    GpuPolicy,
    anchors_from_policy,
)

if TYPE_CHECKING:
    from verifier.appraisal.nvidia.appraise import GpuAppraisal, appraise_gpu, appraise_gpus
    from verifier.appraisal.nvidia.validate import gpu_count_check

__all__ = ["CATALOGUE", "MAX_GPUS", "OCSP_CHOICES", "POLICY_KEYS", "RIM_CHOICES", "TOPOLOGY_CHOICES", "GpuAppraisal",
           "GpuPolicy", "anchors_from_policy", "appraise_gpu", "appraise_gpus", "gpu_count_check", "gpu_id"]

_LAZY = {"GpuAppraisal": "verifier.appraisal.nvidia.appraise", "appraise_gpu": "verifier.appraisal.nvidia.appraise",
         "appraise_gpus": "verifier.appraisal.nvidia.appraise", "gpu_count_check": "verifier.appraisal.nvidia.validate"}
"""Names imported when first used (PEP 562): a policy's ``[gpu]`` table is checked through
:mod:`.rules` without loading the appraisal, its SPDM parser and the RIM reader (lxml)."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
