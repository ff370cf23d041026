"""The NVIDIA check catalogue: every check id, in the order docs/nvidia.md lists them.

Per-device ids are templates: ``{n}`` is the device's index in the bundle (0 for a single report)
and ``{kind}`` the RIM (``driver`` or ``vbios``); :func:`gpu_id` fills them in. The documentation
writes them with ``N`` and ``K`` (:func:`doc_form`). ``gpu.count``, ``gpu.distinct``,
``gpu.topology`` and ``gpu.mode`` appear only when several devices are appraised together (:func:`appraise_gpus`).
"""

from __future__ import annotations

import functools

COUNT = "gpu.count"
DISTINCT = "gpu.distinct"
PARSE = "gpu.{n}.parse"
CHAIN_ROOT_PINNED = "gpu.{n}.chain.root_pinned"
CHAIN = "gpu.{n}.chain"
FWID = "gpu.{n}.fwid"
SIGNATURE = "gpu.{n}.signature"
NONCE = "gpu.{n}.nonce"
ARCH = "gpu.{n}.arch"
OCSP = "gpu.{n}.ocsp"
RIM_INPUT = "gpu.{n}.rim.input"
RIM_CHAIN = "gpu.{n}.rim.{kind}.chain"
RIM_SIGNATURE = "gpu.{n}.rim.{kind}.signature"
RIM_VERSION = "gpu.{n}.rim.{kind}.version"
RIM_DEVICE = "gpu.{n}.rim.{kind}.device"
RIM_OCSP = "gpu.{n}.rim.{kind}.ocsp"
MEASUREMENTS = "gpu.{n}.measurements"
TOPOLOGY = "gpu.topology"
MODE = "gpu.mode"

CATALOGUE: tuple[str, ...] = (
    COUNT, DISTINCT, PARSE, CHAIN_ROOT_PINNED, CHAIN, FWID, SIGNATURE, NONCE, ARCH, OCSP, RIM_INPUT,
    RIM_CHAIN, RIM_SIGNATURE, RIM_VERSION, RIM_DEVICE, RIM_OCSP, MEASUREMENTS, TOPOLOGY, MODE,
)
"""Every id (or id template) an NVIDIA appraisal can emit, in documented order. Per device, the
RIM group (``RIM_CHAIN`` .. ``RIM_OCSP``) repeats for each RIM kind, ``driver`` then ``vbios``."""

AUTHENTICITY: tuple[str, ...] = (PARSE, CHAIN_ROOT_PINNED, CHAIN, SIGNATURE)
"""The templates that always decide ``authentic`` (``FWID`` does too, when it runs)."""


@functools.lru_cache(maxsize=4096)
def gpu_id(template: str, n: int, kind: str = "") -> str:
    """The id ``template`` names for device ``n`` (and RIM ``kind``): ``gpu_id(SIGNATURE, 0)``
    (remembered: every appraisal of a bundle names the same ids)."""
    return template.format(n=n, kind=kind)


def doc_form(template: str) -> str:
    """How docs/nvidia.md writes ``template``: ``gpu.N.rim.K.chain``."""
    return template.replace("{n}", "N").replace("{kind}", "K")
