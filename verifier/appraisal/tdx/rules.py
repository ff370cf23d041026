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
               "mrconfigid", "mrowner", "mrownerconfig", "mrservicetd", "allow_service_td",
               "td_attributes_fixed0", "td_attributes_fixed1", "xfam_fixed0", "xfam_fixed1",
               "min_tee_tcb_svn", "min_qe_svn", "min_pce_svn", "fmspc", "qe_vendor_id", "td_attributes",
               "seam_attributes", "mrsignerseam", "collateral_from_bundle")
MEASUREMENTS = ("mrseam", "mrsignerseam", "mrtd", "rtmr0", "rtmr1", "rtmr2", "rtmr3", "mrconfigid", "mrowner",
                "mrownerconfig", "mrservicetd")
TRAILING_CHOICES = ("zero-padding", "none", "any")
COLLATERAL_CHOICES = ("required", "if-available")


# -- policy --------------------------------------------------------------------------------------
def _hex_values(section: Section, key: str, size: int) -> tuple[bytes, ...]:
    """An allow-list of hex values (empty: the key is absent, any value)."""
    return section.hex_allow_list(key, size) or ()


def _hex_one(section: Section, key: str, size: int) -> bytes | None:
    """One hex value of ``size`` bytes, or None when the key is absent."""
    if key not in section.values:
        return None
    return section.hex_value(key, section.get(key, str, ""), size)


def _uint16(section: Section, key: str) -> int | None:
    if key not in section.values:
        return None
    n = section.get(key, int, 0)
    if not 0 <= n <= 0xFFFF:
        raise PolicyError(f"policy [{section.name}] {key} must be between 0 and 65535, not {n}")
    return n


@dataclass(frozen=True)
class FixedBits:
    """Intel's fixed-bit masks for one 64-bit field (TDX module ABI, TD_ATTRIBUTES_FIXED0/1 and
    XFAM_FIXED0/1): a bit clear in ``fixed0`` must be 0, a bit set in ``fixed1`` must be 1. Both
    are the field's 8 bytes in the quote's byte order (little-endian); None: not constrained."""

    fixed0: bytes | None = None
    fixed1: bytes | None = None

    @property
    def set(self) -> bool:
        return self.fixed0 is not None or self.fixed1 is not None

    def violations(self, value: bytes) -> tuple[int, int]:
        """(bits set that fixed0 says must be 0, bits clear that fixed1 says must be 1)."""
        v = int.from_bytes(value, "little")
        must_be_zero = ~int.from_bytes(self.fixed0, "little") & 0xFFFF_FFFF_FFFF_FFFF if self.fixed0 else 0
        must_be_one = int.from_bytes(self.fixed1, "little") if self.fixed1 else 0
        return v & must_be_zero, must_be_one & ~v


def _fixed(section: Section, field_name: str) -> FixedBits:
    f0, f1 = _hex_one(section, f"{field_name}_fixed0", 8), _hex_one(section, f"{field_name}_fixed1", 8)
    if f0 is not None and f1 is not None:
        conflict = int.from_bytes(f1, "little") & ~int.from_bytes(f0, "little")
        if conflict:
            raise PolicyError(f"policy [{section.name}] {field_name}_fixed1 requires bits {conflict:#x} that "
                              f"{field_name}_fixed0 requires to be clear: no value can pass")
    return FixedBits(f0, f1)


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
    allow_service_td: bool = False
    td_attributes_fixed: FixedBits = FixedBits()
    xfam_fixed: FixedBits = FixedBits()
    min_tee_tcb_svn: bytes | None = None
    min_qe_svn: int | None = None
    min_pce_svn: int | None = None
    fmspc: tuple[bytes, ...] = ()
    """Accepted FMSPCs of the PCK certificate (empty: any platform)."""
    qe_vendor_id: tuple[bytes, ...] = ()
    """Accepted QE vendor IDs of the quote header; empty: Intel's, the only QE the parser reads."""
    td_attributes: tuple[bytes, ...] = ()
    """Accepted TD_ATTRIBUTES values, exactly (empty: any, under the other TD attribute rules)."""
    seam_attributes: tuple[bytes, ...] = ()
    """Accepted SEAMATTRIBUTES values, exactly (empty: any)."""
    collateral_from_bundle: bool = False
    """Use the collateral a native bundle carries (``cpu.collateral.tdx``) instead of fetching it
    from Intel PCS; False (the default): such collateral is ignored (docs/protocol.md)."""

    @property
    def has_minimums(self) -> bool:
        return self.min_tee_tcb_svn is not None or self.min_qe_svn is not None or self.min_pce_svn is not None

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
        expected = {m: _hex_values(s, m, 48) for m in MEASUREMENTS}
        allow_service_td = s.get("allow_service_td", bool, False)
        if not allow_service_td and any(v != bytes(48) for v in expected["mrservicetd"]):
            raise PolicyError("policy [tdx] mrservicetd lists a non-zero value (a bound service TD) but "
                              "allow_service_td is false: set allow_service_td = true to accept one")
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
            expected=expected,
            allow_service_td=allow_service_td,
            td_attributes_fixed=_fixed(s, "td_attributes"),
            xfam_fixed=_fixed(s, "xfam"),
            min_tee_tcb_svn=_hex_one(s, "min_tee_tcb_svn", 16),
            min_qe_svn=_uint16(s, "min_qe_svn"),
            min_pce_svn=_uint16(s, "min_pce_svn"),
            fmspc=_hex_values(s, "fmspc", 6),
            qe_vendor_id=_hex_values(s, "qe_vendor_id", 16),
            td_attributes=_hex_values(s, "td_attributes", 8),
            seam_attributes=_hex_values(s, "seam_attributes", 8),
            collateral_from_bundle=s.get("collateral_from_bundle", bool, False),
        )
