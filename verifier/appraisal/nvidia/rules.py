"""The ``[gpu]`` table of a policy, parsed once into :class:`GpuPolicy` (docs/nvidia.md has every key)."""

from __future__ import annotations

from dataclasses import dataclass

from verifier.appraisal.policy import Policy, Section
from verifier.endorsements.nvidia_anchors import VENDOR_ANCHORS, GpuAnchors
from verifier.errors import PolicyError
from verifier.memo import PerObject

OCSP_CHOICES = ("required", "if-available", "off")
RIM_CHOICES = ("required", "if-available")
TOPOLOGY_CHOICES = ("none", "ppcie")
POLICY_KEYS = ("roots", "count", "ocsp", "rim_ocsp", "rims", "topology")
MAX_GPUS = 64


@dataclass(frozen=True)
class GpuPolicy:
    """The ``[gpu]`` table of a policy (docs/nvidia.md)."""

    anchors: GpuAnchors = VENDOR_ANCHORS
    count: int = 0
    """The fewest devices the evidence must have; 0: any number, none included."""
    ocsp: str = "required"
    rim_ocsp: str = "required"
    rims: str = "required"
    topology: str = "none"
    """``ppcie``: the evidence must be nvtrust's protected-PCIe system (8 GPUs in PPCIe mode, 4
    NVSwitches, each naming the others); ``none``: not required (NVSwitch evidence, when present,
    is still cross-checked with the GPUs')."""

    @classmethod
    def from_policy(cls, policy: Policy) -> GpuPolicy:
        """The ``[gpu]`` table of ``policy`` (read once per policy object: a parsed policy never
        changes, and a client re-attesting a service appraises under the same one every time)."""
        return _FROM_POLICY(policy)

    @classmethod
    def read(cls, policy: Policy) -> GpuPolicy:
        """Read the ``[gpu]`` table; PolicyError for an unknown key or a bad value."""
        section = policy.section("gpu")
        section.only(*POLICY_KEYS)
        count = section.get("count", int, 0)
        if not 0 <= count <= MAX_GPUS:
            raise PolicyError(f"policy [gpu] count must be 0..{MAX_GPUS}, not {count}")
        ocsp = section.choice("ocsp", OCSP_CHOICES, "required")
        return cls(
            anchors=anchors_from_policy(section),
            count=count,
            ocsp=ocsp,
            rim_ocsp=section.choice("rim_ocsp", OCSP_CHOICES, ocsp),
            rims=section.choice("rims", RIM_CHOICES, "required"),
            topology=section.choice("topology", TOPOLOGY_CHOICES, "none"),
        )


_FROM_POLICY: PerObject[Policy, GpuPolicy] = PerObject("parsed [gpu] policy tables", 64, GpuPolicy.read)


def anchors_from_policy(section: Section) -> GpuAnchors:
    """``roots``: ``"vendor"`` (default) or ``{device = "hex", rim = "hex"}`` (SPKI SHA-256 pins)."""
    value = section.values.get("roots", "vendor")
    if value == "vendor":
        return VENDOR_ANCHORS
    if not isinstance(value, dict):
        raise PolicyError(f'policy [{section.name}] roots must be "vendor" or a table '
                          '{device = "hex", rim = "hex"}')
    table = Section(f"{section.name}.roots", value)
    table.only("device", "rim")
    pins: dict[str, str] = {}
    for key in ("device", "rim"):
        pin = table.get(key, str, "").lower()
        if len(pin) != 64 or any(c not in "0123456789abcdef" for c in pin):
            raise PolicyError(f"policy [{table.name}] {key} must be 64 hex digits (an SPKI SHA-256)")
        pins[key] = pin
    vendor = pins["device"] == VENDOR_ANCHORS.device and pins["rim"] == VENDOR_ANCHORS.rim
    return GpuAnchors(pins["device"], pins["rim"], vendor=vendor)
