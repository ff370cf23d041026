"""Validate NVIDIA devices' evidence against the caller and the ``[gpu]`` policy (go-sev-guest's ``validate``).

Per device: the SPDM nonce is the expected one, the declared architecture is the chain's, each
verified RIM names the device (:func:`rim_device_check`), the measurements equal the verified RIMs'
reference values. Across devices: how many there are (``[gpu] count`` is a minimum), that no device
key stands for two devices, that all are in one mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from verifier.appraisal.checks import CheckCollector, expect_one_of
from verifier.appraisal.nvidia import checks as ids
from verifier.appraisal.nvidia.checks import gpu_id
from verifier.appraisal.nvidia.rules import MAX_GPUS, GpuPolicy
from verifier.appraisal.policy import Policy
from verifier.evidence.nvidia import NVDEC0_INDEX, OpaqueData, OpaqueField, SpdmReport
from verifier.reference.rim import Rim
from verifier.result import Check, failed, passed, skipped


def gpu_count_check(found: int, policy_or_rules: Policy | GpuPolicy) -> Check:
    """``gpu.count``: ``found`` devices against the policy's ``[gpu] count``, a minimum.

    ``count = 0`` accepts any number, none included (a pass that is not required); otherwise at
    least ``count`` devices pass. More than :data:`MAX_GPUS` devices always fail: this verifier
    reads no more.
    """
    rules = policy_or_rules if isinstance(policy_or_rules, GpuPolicy) else GpuPolicy.from_policy(policy_or_rules)
    if found > MAX_GPUS:
        return failed(ids.COUNT, f"{found} devices, more than the {MAX_GPUS} this verifier reads")
    if rules.count == 0:
        return passed(ids.COUNT, f"the policy requires no particular number of GPUs; {found} present",
                      required=False)
    if found >= rules.count:
        return passed(ids.COUNT, f"{found} device(s), at least the {rules.count} the policy requires")
    return failed(ids.COUNT, f"the policy requires at least {rules.count} device(s), the evidence has {found}")


def distinct_check(leaf_keys: Sequence[str | None]) -> Check:
    """``gpu.distinct``: no two devices present the same device key (N reports prove N devices)."""
    known = [k for k in leaf_keys if k is not None]
    if len(set(known)) == len(known):
        return passed(ids.DISTINCT, f"{len(known)} distinct device keys")
    dupes = sorted({i for i, k in enumerate(leaf_keys) if k is not None and leaf_keys.count(k) > 1})
    return failed(ids.DISTINCT, f"devices {dupes} present the same device key: one device "
                  "cannot stand for several")


def mode_check(modes: Sequence[str | None]) -> Check:
    """``gpu.mode``: all devices in the same confidential-computing mode."""
    n = len(modes)
    known_modes = {m for m in modes if m is not None}
    if n <= 1:
        return passed(ids.MODE, "one device or none: nothing to compare", required=False)
    if len(known_modes) <= 1 and None not in modes:
        return passed(ids.MODE, f"all {n} devices are in mode {next(iter(known_modes))}")
    return failed(ids.MODE, f"the devices are not all in one mode: {list(modes)}")


def nonce_check(out: CheckCollector, n: int, report: SpdmReport, expected_nonce: bytes | None) -> None:
    """``gpu.N.nonce``: the SPDM request nonce is the expected (client's) nonce."""
    out.add(expect_one_of(
        gpu_id(ids.NONCE, n), "nonce", report.nonce,
        (expected_nonce,) if expected_nonce is not None else None, show=lambda b: b.hex()[:16],
        unset=f"no expected nonce was given (the report's is {report.nonce.hex()}): authentic perhaps, "
              "fresh unknown",
        unset_required=True,
        passes="the SPDM request nonce is the expected nonce",
        fails="the SPDM request nonce {value}… is not the expected {allowed}…: stale or replayed evidence"))


def arch_check(out: CheckCollector, n: int, arch: str | None, chain_arch: object) -> str:
    """``gpu.N.arch``: the declared architecture is the chain's; the device's architecture."""
    cid = gpu_id(ids.ARCH, n)
    declared = arch.upper() if arch else None
    if not isinstance(chain_arch, str):
        out.add(failed(cid, "the leaf certificate names no known NVIDIA device (GH100, GB100, LS_10)"))
    elif declared is None:
        out.add(passed(cid, f"{chain_arch} (from the chain; none declared)", required=False))
    elif declared == chain_arch:
        out.add(passed(cid, f"declared {declared}, the chain says {chain_arch}"))
    else:
        out.add(failed(cid, f"declared {declared}, but the chain is a {chain_arch} device"))
    return declared or (chain_arch if isinstance(chain_arch, str) else "HOPPER")


@dataclass(frozen=True)
class DeviceModel:
    """What a RIM must name to be this device's (docs/nvidia.md, "Which device a RIM is for")."""

    chip: str | None
    """``GH100``, ``GB100``, ``LS10``: the chip the leaf certificate's common name starts with; None
    when it names no known NVIDIA chip."""
    switch: bool
    """An NVSwitch (its RIMs' ``edition`` is ``SWITCH``; a GPU's is ``GPU``)."""
    project: str | None = None
    project_sku: str | None = None
    chip_sku: str | None = None
    """The report's board (opaque PROJECT, PROJECT_SKU, CHIP_SKU), which no NVIDIA RIM names."""

    @property
    def edition(self) -> str:
        return "SWITCH" if self.switch else "GPU"


def rim_device_problem(rim: Rim, device: DeviceModel) -> str | None:
    """Why ``rim`` (signed content) is not for ``device``; None when it names the device's chip.

    The signed Meta's ``product`` and ``rim:PlatformModel``, each where present (at least one must
    be), must be the device's chip, spelt as the certificate spells it (``LS_10`` as ``LS10``);
    ``edition``, where present, must be the device's kind (``GPU``, ``SWITCH``).
    """
    names = [(attr, value) for attr, value in (("product", rim.product), ("rim:PlatformModel", rim.platform_model))
             if value]
    if not names:
        return ("it names no device (its signed Meta has neither product nor rim:PlatformModel): it could be "
                "any device's")
    other = [(attr, value) for attr, value in names if value != device.chip]
    if other:
        said = ", ".join(f"{attr} {value!r}" for attr, value in other)
        return f"it is for another chip ({said}); the device's chip is {device.chip}"
    if rim.edition and rim.edition != device.edition:
        kind = "an NVSwitch" if device.switch else "a GPU"
        return f"it is for another kind of device (edition {rim.edition!r}); the device is {kind} ({device.edition!r})"
    return None


def rim_device_check(cid: str, label: str, rim: Rim, device: DeviceModel, *, fetched_as: str | None,
                     required: bool) -> Check:
    """``gpu.N.rim.K.device``: the verified RIM names the device's chip (:func:`rim_device_problem`)."""
    if device.chip is None:
        return skipped(cid, f"the device's leaf certificate names no known NVIDIA chip: the {label} RIM "
                       "cannot be matched to it", required=required)
    problem = rim_device_problem(rim, device)
    if problem is not None:
        return failed(cid, f"the {label} RIM {rim.version} is not this device's: {problem}")
    named = " and ".join(a for a, v in (("product", rim.product), ("rim:PlatformModel", rim.platform_model)) if v)
    detail = f"the {label} RIM names {device.chip} ({named}), the chip of the device's leaf certificate"
    if rim.kind == "vbios" and not device.switch:
        board = "/".join(str(x) for x in (device.project, device.project_sku, device.chip_sku))
        detail += (f"; it names no board (no NVIDIA RIM does): the report's project/SKU/chip SKU {board} is "
                   "bound by the VBIOS version")
        if fetched_as is not None:
            detail += f" and by the id it was fetched as ({fetched_as})"
    return passed(cid, detail)


def measurements_check(id: str, report: SpdmReport, verified: dict[str, Rim], kinds: tuple[str, ...],
                        rim_required: bool, claims: dict[str, object]) -> Check:
    if not verified:
        claims["measurements"] = {"compared": 0}
        return skipped(id, "no verified RIM to compare the measurements with", required=rim_required)
    values = report.measurements()
    # nvtrust's rule: with NVDEC0 disabled (opaque NVDEC0_STATUS 0x55) RIM index 35 is not compared
    uncompared = {NVDEC0_INDEX} if report.opaque.nvdec0_disabled else set()
    owner: dict[int, str] = {}
    conflicts: list[int] = []
    for kind, rim in verified.items():
        for idx in rim.active():
            if idx in owner:
                conflicts.append(idx)
            owner[idx] = kind
    differ: list[int] = []
    missing: list[int] = []
    equal = 0
    not_compared: set[int] = set()
    for rim in verified.values():
        for idx, ref in sorted(rim.active().items()):
            if idx in uncompared:
                not_compared.add(idx)
                continue
            got = values.get(idx + 1)
            if got is None:
                missing.append(idx)
            elif got in ref.alternatives:
                equal += 1
            else:
                differ.append(idx)
    active = sum(len(r.active()) for r in verified.values())
    claims["measurements"] = {"active": active, "equal": equal, "differ": sorted(differ),
                              "missing": sorted(missing), "conflicts": sorted(set(conflicts)),
                              "not_compared": sorted(not_compared), "rims": sorted(verified)}
    skipped_note = (f"; index {NVDEC0_INDEX} not compared: NVDEC0 is disabled (NVDEC0_STATUS 0x55)"
                    if not_compared else "")
    if conflicts:
        return failed(id, f"indices {sorted(set(conflicts))} are active in both RIMs: the reference is "
                      "ambiguous")
    if differ or missing:
        parts = []
        if differ:
            parts.append(f"{_indices(len(differ))} differ from the RIMs: {sorted(differ)}")
        if missing:
            parts.append(f"{_indices(len(missing))} active in a RIM are not in the report: {sorted(missing)}")
        return failed(id, "; ".join(parts) + f" ({equal} of {active} equal{skipped_note})")
    absent = [k for k in kinds if k not in verified]
    if absent:
        return skipped(id, f"{equal} active indices equal the {', '.join(sorted(verified))} RIM, but no "
                       f"verified {', '.join(absent)} RIM covers the rest", required=rim_required)
    return passed(id, f"{equal} active indices equal the signed reference values "
                  f"({', '.join(f'{k} {len(verified[k].active())}' for k in kinds)}){skipped_note}")


def _indices(n: int) -> str:
    return "1 index" if n == 1 else f"{n} indices"


# -- the protected-PCIe topology (gpu.topology) ----------------------------------------------------

PPCIE_GPUS = 8
PPCIE_SWITCHES = 4
"""nvtrust's protected-PCIe system (its PPCIe verifier's ``gpu_topology_check`` and
``switch_topology_check``): an HGX board of 8 GPUs and 4 NVSwitches."""
PDI_SIZE = 8
SWITCH_GPU_PDI_COUNT = 8
"""An NVSwitch's SWITCH_GPU_PDIS field starts with this many 8-byte GPU PDIs (its ports follow)."""


@dataclass(frozen=True)
class TopologyView:
    """What one device says of the topology: a GPU, the switches it names; an NVSwitch, its own PDI
    and the GPUs it names (docs/nvidia.md, "The protected-PCIe topology")."""

    index: int
    switch: bool
    mode: str | None
    opaque: OpaqueData | None


def _pdis(value: bytes) -> list[bytes]:
    return [value[i:i + PDI_SIZE] for i in range(0, len(value), PDI_SIZE)]


def _hex(pdis: set[bytes]) -> str:
    return "{" + ", ".join(sorted(p.hex() for p in pdis)) + "}"


def topology_check(views: Sequence[TopologyView], policy: GpuPolicy) -> Check:
    """``gpu.topology``: every GPU names the same NVSwitches, which are the NVSwitches given, and
    every NVSwitch names the same GPUs, as many as the GPUs given (nvtrust's PPCIe topology checks;
    go-nvattest-tools' ``ppcie`` validator for the all-zero PDIs of disabled links, which are not
    counted). A GPU lists each switch's PDI byte-reversed (nvtrust reads it little-endian); all-zero
    entries are disabled links.

    ``[gpu] topology = "ppcie"`` requires nvtrust's system: 8 GPUs in PPCIe mode and 4 NVSwitches.
    Otherwise the check runs only when the evidence holds both GPUs and NVSwitches.
    """
    required = policy.topology == "ppcie"
    gpus = [v for v in views if not v.switch]
    switches = [v for v in views if v.switch]
    if not required and not (gpus and switches):
        return passed(ids.TOPOLOGY, f"{len(gpus)} GPU(s) and {len(switches)} NVSwitch(es): no switch and GPU "
                      "to cross-check, and the policy does not require the protected-PCIe topology",
                      required=False)
    if required:
        if len(gpus) != PPCIE_GPUS or len(switches) != PPCIE_SWITCHES:
            return failed(ids.TOPOLOGY, f"the policy requires the protected-PCIe system of {PPCIE_GPUS} GPUs and "
                          f"{PPCIE_SWITCHES} NVSwitches; the evidence has {len(gpus)} GPU(s) and "
                          f"{len(switches)} NVSwitch(es)")
        other = [v.index for v in gpus if v.mode != "ppcie"]
        if other:
            return failed(ids.TOPOLOGY, f"the policy requires protected PCIe; devices {other} are not in PPCIe mode")
    # the GPUs' view: the same active switches for all
    named: set[bytes] | None = None
    for v in gpus:
        value = v.opaque.get(OpaqueField.SWITCH_PDI) if v.opaque is not None else None
        if not value or len(value) % PDI_SIZE:
            return failed(ids.TOPOLOGY, f"GPU {v.index} reports no switch PDIs (opaque SWITCH_PDI, a list of "
                          f"{PDI_SIZE}-byte PDIs): it is not part of a protected-PCIe system")
        mine = {p[::-1] for p in _pdis(value) if any(p)}
        if required and len(mine) != PPCIE_SWITCHES:
            return failed(ids.TOPOLOGY, f"GPU {v.index} names {len(mine)} NVSwitch(es), not {PPCIE_SWITCHES}: "
                          f"{_hex(mine)}")
        if named is None:
            named = mine
        elif mine != named:
            return failed(ids.TOPOLOGY, f"GPU {v.index} names the NVSwitches {_hex(mine)}, GPU {gpus[0].index} "
                          f"names {_hex(named)}: the GPUs are not on the same switches")
    named = named or set()
    # the switches given are the switches named, each once
    own: dict[bytes, int] = {}
    for v in switches:
        pdi = v.opaque.get(OpaqueField.SWITCH_PDI) if v.opaque is not None else None
        if pdi is None or len(pdi) != PDI_SIZE or not any(pdi):
            return failed(ids.TOPOLOGY, f"NVSwitch {v.index} reports no PDI of its own (opaque field 22, "
                          f"{PDI_SIZE} bytes)")
        if pdi in own:
            return failed(ids.TOPOLOGY, f"NVSwitches {own[pdi]} and {v.index} report the same PDI {pdi.hex()}")
        own[pdi] = v.index
    if set(own) != named:
        missing, unnamed = named - set(own), set(own) - named
        parts = []
        if missing:
            parts.append(f"{len(missing)} switch(es) the GPUs name are not in the evidence: {_hex(missing)}")
        if unnamed:
            parts.append(f"NVSwitches {sorted(own[p] for p in unnamed)} are not named by the GPUs")
        return failed(ids.TOPOLOGY, "; ".join(parts))
    # the switches' view: the same GPUs for all, as many as the GPUs given
    seen: set[bytes] | None = None
    for v in switches:
        value = v.opaque.get(OpaqueField.SWITCH_GPU_PDIS) if v.opaque is not None else None
        if value is None or len(value) < SWITCH_GPU_PDI_COUNT * PDI_SIZE:
            return failed(ids.TOPOLOGY, f"NVSwitch {v.index} reports no GPU PDIs (opaque SWITCH_GPU_PDIS, id 26, "
                          f"{SWITCH_GPU_PDI_COUNT} PDIs)")
        theirs = {p for p in _pdis(value[:SWITCH_GPU_PDI_COUNT * PDI_SIZE]) if any(p)}
        if seen is None:
            seen = theirs
        elif theirs != seen:
            return failed(ids.TOPOLOGY, f"NVSwitch {v.index} names the GPUs {_hex(theirs)}, NVSwitch "
                          f"{switches[0].index} names {_hex(seen)}: the switches do not serve the same GPUs")
    if seen is not None and len(seen) != len(gpus):
        return failed(ids.TOPOLOGY, f"every NVSwitch names {len(seen)} GPUs, the evidence has {len(gpus)}: "
                      "GPUs of the system are missing or extra")
    return passed(ids.TOPOLOGY, f"{len(gpus)} GPUs name the same {len(named)} NVSwitches, which are the "
                  f"{len(switches)} NVSwitches given, and each NVSwitch names the same {len(gpus)} GPUs",
                  required=True)
