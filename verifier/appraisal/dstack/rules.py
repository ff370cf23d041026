"""The ``[dstack]`` table of a policy, parsed once into :class:`DstackPolicy` (docs/dstack.md and
docs/policies.md have every key). The TD quote inside is appraised under ``[tdx]`` as any other.

```toml
[dstack]
compose_hashes = ["<SHA-256 of an app compose>", ...]
allow_unset_mrconfigid = false

[dstack.os_images."dstack-nvidia-0.5.5"]        # one table per dstack OS image build
mrtd = "<48 bytes>"
rtmr1 = "<48 bytes>"
rtmr2 = "<48 bytes>"
rtmr0 = { "64 vCPU, 1 TiB, 8 GPU" = "<48 bytes>", "64 vCPU, 2 TiB, 8 GPU" = "<48 bytes>" }
```
"""

from __future__ import annotations

from dataclasses import dataclass

from verifier.appraisal.policy import Policy, Section
from verifier.errors import PolicyError

POLICY_KEYS = ("os_images", "compose_hashes", "allow_unset_mrconfigid")
IMAGE_KEYS = ("mrtd", "rtmr1", "rtmr2", "rtmr0")


@dataclass(frozen=True)
class OsImage:
    """One dstack OS image build's launch measurements: MRTD (the firmware), RTMR1 (kernel and
    boot), RTMR2 (command line and initrd) are the image's; RTMR0 (the virtual hardware: CPUs,
    memory, GPUs, ACPI tables) is one per VM configuration it is launched in."""

    name: str
    mrtd: bytes
    rtmr1: bytes
    rtmr2: bytes
    rtmr0: tuple[tuple[str, bytes], ...]
    """(VM configuration name, RTMR0), in the policy's order."""


def _image(section: Section, name: str) -> OsImage:
    t = section.table(name)
    t.only(*IMAGE_KEYS)
    values = {}
    for key in ("mrtd", "rtmr1", "rtmr2"):
        if key not in t.values:
            raise PolicyError(f"policy [{t.name}] lacks {key}: an OS image is named by MRTD, RTMR1 and RTMR2")
        values[key] = t.hex_value(key, t.get(key, str, ""), 48, " (a SHA-384 measurement)")
    vms = t.table("rtmr0")
    if not vms.values:
        raise PolicyError(f"policy [{t.name}] rtmr0 must name at least one VM configuration "
                          '(rtmr0 = { "NAME" = "<48 bytes hex>" })')
    rtmr0 = tuple((vm, vms.hex_value(vm, vms.get(vm, str, ""), 48, " (a SHA-384 measurement)"))
                  for vm in vms.values)
    return OsImage(name, values["mrtd"], values["rtmr1"], values["rtmr2"], rtmr0)


@dataclass(frozen=True)
class DstackPolicy:
    """The ``[dstack]`` table, every key typed and documented in docs/dstack.md."""

    os_images: tuple[OsImage, ...] | None = None
    """The accepted OS images (None: the policy names none, ``dstack.os_image`` is an optional skip)."""
    compose_hashes: tuple[bytes, ...] | None = None
    """Accepted SHA-256 hashes of the app compose (None: any app, shown)."""
    allow_unset_mrconfigid: bool = False
    """Accept an all-zero MRCONFIGID (the compose then bound by RTMR3's ``compose-hash`` event only)."""

    @classmethod
    def from_policy(cls, policy: Policy) -> DstackPolicy:
        s = policy.section("dstack")
        s.only(*POLICY_KEYS)
        images: tuple[OsImage, ...] | None = None
        if "os_images" in s.values:
            table = s.table("os_images")
            if not table.values:
                raise PolicyError("policy [dstack.os_images] is empty: no OS image would be accepted; "
                                  "remove the table to accept any image")
            images = tuple(_image(table, name) for name in table.values)
        return cls(os_images=images,
                   compose_hashes=s.hex_allow_list("compose_hashes", 32, " (a SHA-256 of the app compose)"),
                   allow_unset_mrconfigid=s.get("allow_unset_mrconfigid", bool, False))
