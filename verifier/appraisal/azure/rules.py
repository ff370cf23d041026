"""The ``[azure]`` table of a policy, parsed once into :class:`AzurePolicy` (docs/azure.md and
docs/policies.md have every key). Both Azure vTPM kinds read it; the hardware report inside is
appraised under ``[snp]`` or ``[tdx]`` as any other."""

from __future__ import annotations

from dataclasses import dataclass, field

from verifier.appraisal.policy import Policy, Section
from verifier.errors import PolicyError

PCR_KEYS = tuple(f"pcr{i}" for i in range(24))
POLICY_KEYS = ("hcl_versions", "runtime_claims", "min_ak_bits", *PCR_KEYS, "maa")
KNOWN_HCL_VERSIONS = (1, 2)
ClaimValue = bool | int | str


def _versions(section: Section) -> tuple[int, ...]:
    if "hcl_versions" not in section.values:
        return KNOWN_HCL_VERSIONS
    value = section.values["hcl_versions"]
    items = [value] if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(items, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in items):
        raise PolicyError(f"policy [{section.name}] hcl_versions must be an integer or a list of them")
    if not items:
        raise PolicyError(f"policy [{section.name}] hcl_versions = []: an empty list allows nothing; "
                          "remove the key to allow any value")
    unknown = [v for v in items if v not in KNOWN_HCL_VERSIONS]
    if unknown:
        raise PolicyError(f"policy [{section.name}] hcl_versions: {unknown} are not HCL report versions "
                          f"this verifier reads ({', '.join(map(str, KNOWN_HCL_VERSIONS))})")
    return tuple(items)


def _pcrs(section: Section) -> dict[int, tuple[bytes, ...]]:
    out: dict[int, tuple[bytes, ...]] = {}
    for i, key in enumerate(PCR_KEYS):
        values = section.hex_allow_list(key, 32, " (a SHA-256 PCR)")
        if values is not None:
            out[i] = values
    return out


def _claims(section: Section) -> dict[str, tuple[ClaimValue, ...]]:
    table = section.get("runtime_claims", dict, {})
    out: dict[str, tuple[ClaimValue, ...]] = {}
    for path, value in table.items():
        items = value if isinstance(value, list) else [value]
        if not items:
            raise PolicyError(f"policy [{section.name}.runtime_claims] {path!r} = []: an empty list allows "
                              "nothing; remove the key to allow any value")
        if not all(isinstance(v, bool | int | str) for v in items):
            raise PolicyError(f"policy [{section.name}.runtime_claims] {path!r} must be a boolean, integer "
                              "or string, or a list of them")
        if not path or any(not part for part in path.split(".")):
            raise PolicyError(f"policy [{section.name}.runtime_claims] {path!r} is not a dotted claim path")
        out[path] = tuple(items)
    return out


@dataclass(frozen=True)
class AzurePolicy:
    """The ``[azure]`` table, every key typed."""

    hcl_versions: tuple[int, ...] = KNOWN_HCL_VERSIONS
    pcrs: dict[int, tuple[bytes, ...]] = field(default_factory=dict)
    runtime_claims: dict[str, tuple[ClaimValue, ...]] = field(default_factory=dict)
    min_ak_bits: int = 2048

    @classmethod
    def from_policy(cls, policy: Policy) -> AzurePolicy:
        """Parse and check ``[azure]``; a :class:`PolicyError` for a bad key or value."""
        section = policy.section("azure")
        section.only(*POLICY_KEYS)
        bits = section.get("min_ak_bits", int, 2048)
        if bits < 2048:
            raise PolicyError(f"policy [azure] min_ak_bits must be at least 2048, not {bits}")
        if "maa" in section.values:  # [azure.maa], MAA tokens: checked here, read by maa.py when a token is given
            from verifier.appraisal.azure.maa_rules import MaaPolicy

            MaaPolicy.from_policy(policy)
        return cls(_versions(section), _pcrs(section), _claims(section), bits)
