"""The ``[tdx]`` table of a policy, parsed once into :class:`TdxPolicy` (docs/tdx.md has every key)."""

from __future__ import annotations

from dataclasses import dataclass, field

from verifier.appraisal.policy import Policy, Section
from verifier.endorsements.intel_anchors import INTEL_ROOT_PINS
from verifier.endorsements.intel_status import ALL_STATUSES
from verifier.errors import PolicyError

POLICY_KEYS = ("roots", "accepted_tcb_status", "allow_debug", "require_sept_ve_disable",
               "allow_migratable", "trailing_bytes", "collateral", "min_tcb_evaluation_data_number",
               "require_report_data", "xfam", "mrseam", "mrtd", "rtmr0", "rtmr1", "rtmr2", "rtmr3",
               "mrconfigid", "mrowner", "mrownerconfig", "mrservicetd")
MEASUREMENTS = ("mrseam", "mrtd", "rtmr0", "rtmr1", "rtmr2", "rtmr3", "mrconfigid", "mrowner",
                "mrownerconfig", "mrservicetd")
TRAILING_CHOICES = ("zero-padding", "none", "any")
COLLATERAL_CHOICES = ("required", "if-available")


# -- policy --------------------------------------------------------------------------------------
def _hex_values(section: Section, key: str, size: int) -> tuple[bytes, ...]:
    """An allow-list of hex values (empty: the key is absent, any value)."""
    items = section.allow_list(key, "hex string") or []
    out = []
    for v in items:
        try:
            raw = bytes.fromhex(v)
        except ValueError:
            raise PolicyError(f"policy [{section.name}] {key}: {v!r} is not hex") from None
        if len(raw) != size:
            raise PolicyError(f"policy [{section.name}] {key}: {v!r} is not {size} bytes")
        out.append(raw)
    return tuple(out)


@dataclass(frozen=True)
class TdxPolicy:
    """The ``[tdx]`` table of a policy, every key typed and documented in docs/tdx.md."""

    root_pins: tuple[str, ...] = INTEL_ROOT_PINS
    roots_name: str = "vendor"
    accepted_tcb_status: tuple[str, ...] = ("UpToDate",)
    allow_debug: bool = False
    require_sept_ve_disable: bool = True
    allow_migratable: bool = False
    trailing_bytes: str = "zero-padding"
    collateral: str = "required"
    min_tcb_evaluation_data_number: int = 0
    require_report_data: bool = True
    xfam: tuple[bytes, ...] = ()
    expected: dict[str, tuple[bytes, ...]] = field(default_factory=dict)

    @classmethod
    def from_policy(cls, policy: Policy) -> TdxPolicy:
        s = policy.section("tdx")
        s.only(*POLICY_KEYS)
        roots = s.values.get("roots", "vendor")
        if roots == "vendor":
            pins, roots_name = INTEL_ROOT_PINS, "vendor"
        elif isinstance(roots, dict):
            t = Section("tdx.roots", roots)
            t.only("spki_sha256")
            pins = tuple(p.lower() for p in t.str_list("spki_sha256"))
            if not pins or not all(len(p) == 64 and all(c in "0123456789abcdef" for c in p) for p in pins):
                raise PolicyError("policy [tdx.roots] spki_sha256 must list SHA-256 fingerprints (64 hex digits)")
            roots_name = "policy"
        else:
            raise PolicyError('policy [tdx] roots must be "vendor" or a table with spki_sha256')
        accepted = tuple(s.str_list("accepted_tcb_status", ["UpToDate"]))
        unknown = [a for a in accepted if a not in ALL_STATUSES]
        if unknown:
            raise PolicyError(f"policy [tdx] accepted_tcb_status names unknown statuses {unknown}; "
                              f"known: {', '.join(ALL_STATUSES)}")
        min_eval = s.get("min_tcb_evaluation_data_number", int, 0)
        if min_eval < 0:
            raise PolicyError("policy [tdx] min_tcb_evaluation_data_number must not be negative")
        return cls(
            root_pins=pins, roots_name=roots_name, accepted_tcb_status=accepted,
            allow_debug=s.get("allow_debug", bool, False),
            require_sept_ve_disable=s.get("require_sept_ve_disable", bool, True),
            allow_migratable=s.get("allow_migratable", bool, False),
            trailing_bytes=s.choice("trailing_bytes", TRAILING_CHOICES, "zero-padding"),
            collateral=s.choice("collateral", COLLATERAL_CHOICES, "required"),
            min_tcb_evaluation_data_number=min_eval,
            require_report_data=s.get("require_report_data", bool, True),
            xfam=_hex_values(s, "xfam", 8),
            expected={m: _hex_values(s, m, 48) for m in MEASUREMENTS},
        )
