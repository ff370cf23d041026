"""The ``[snp]`` table of a policy, parsed once into :class:`SnpPolicy` (docs/sev-snp.md has every key)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from verifier.appraisal.policy import Policy, Section
from verifier.endorsements import anchors
from verifier.errors import PolicyError
from verifier.evidence.sev_snp import Product

PRODUCTS = (Product.MILAN, Product.GENOA, Product.TURIN)
TCB_FIELDS = ("bootloader", "tee", "snp", "microcode", "fmc")

DEFAULT_MIN_TCB: dict[Product, dict[str, int]] = {
    # AMD-SB-3019 (CVE-2024-56161, February 2025): the SEV-SNP firmware and microcode that stop
    # the microcode-signature bypass. The values are the TCB that AMD's KDS certifies for patched
    # platforms: Milan SNP SPL 0x18 / microcode 0xDB (seen as the committed TCB of the Milan VLEK
    # report in the vectors), Genoa SNP SPL 0x17 / microcode 0x54 (the Genoa VCEKs of 2025).
    Product.MILAN: {"bootloader": 4, "tee": 0, "snp": 24, "microcode": 219},
    Product.GENOA: {"bootloader": 10, "tee": 0, "snp": 23, "microcode": 84},
    # Turin: the TCB at which AMD's Turin firmware carries the AMD-SB-3019 (CVE-2024-56161) and
    # AMD-SB-3020 (CVE-2025-0033, RMPocalypse) fixes, as Tinfoil's signed production policy for
    # Turin (2026-09) requires it: fmc 1, bootloader 1, tee 1, snp 4, microcode 82 (0x52). The
    # bulletins name platform-initialization (TurinPI) versions, not SPLs: re-check each release.
    Product.TURIN: {"fmc": 1, "bootloader": 1, "tee": 1, "snp": 4, "microcode": 82},
}

POLICY_KEYS = (
    "roots", "products", "allow_debug", "allow_migration_agent", "vmpl",
    "allow_provisional_firmware", "require_alias_check", "min_tcb", "revocation", "signing_keys",
    "vlek_csp_ids", "allow_smt", "require_single_socket", "allow_cxl", "require_aes_256_xts",
    "require_page_swap_disable", "allow_platform_smt", "require_tsme", "min_firmware",
    "measurements", "host_data", "id_key_digests", "author_key_digests",
    "min_guest_svn", "min_policy_abi", "require_platform", "refuse_platform", "family_ids",
    "image_ids", "report_ids", "min_launch_mitigation_vector", "min_current_mitigation_vector",
    "require_id_block", "require_author_key",
)
PLATFORM_BITS: dict[str, int] = {
    # PLATFORM_INFO (ABI spec 56860 Table 23; go-sev-guest abi.SnpPlatformInfo). Bit 6 is IOMMU
    # write safety on Turin (go-sev-guest still calls it reserved and refuses it).
    "smt": 0, "tsme": 1, "ecc": 2, "rapl_disabled": 3, "ciphertext_hiding": 4, "alias_check": 5,
    "iommu_write_safe": 6, "tio": 7,
}
DEFAULT_REFUSE_PLATFORM = ("tio",)
REVOCATION_MODES = ("required", "if-available", "off")
_HEX64 = re.compile(r"\A[0-9a-f]{64}\Z")


# -- parsing ---------------------------------------------------------------------------------------
def _product(name: str, where: str) -> Product:
    for p in PRODUCTS:
        if p.value.lower() == name.lower():
            return p
    raise PolicyError(f"policy [snp] {where}: {name!r} is not one of Milan, Genoa, Turin")


def _hex_list(section: Section, key: str, size: int) -> frozenset[bytes] | None:
    values = section.hex_allow_list(key, size)
    return None if values is None else frozenset(values)


def _uint(section: Section, key: str, bits: int) -> int | None:
    if key not in section.values:
        return None
    value = section.values[key]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < (1 << bits):
        raise PolicyError(f"policy [snp] {key} must be an integer 0 to 2^{bits}-1")
    return value


def _platform_names(section: Section, key: str, default: tuple[str, ...]) -> frozenset[str]:
    names = section.str_list(key, list(default))
    unknown = [n for n in names if n not in PLATFORM_BITS]
    if unknown:
        raise PolicyError(f"policy [snp] {key}: {', '.join(map(repr, unknown))} not among "
                          f"{', '.join(PLATFORM_BITS)} (PLATFORM_INFO bits 0-7)")
    return frozenset(names)


def _tcb_table(values: Mapping[str, Any], where: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for key, value in values.items():
        if key not in TCB_FIELDS:
            raise PolicyError(f"policy [snp] {where}: unknown TCB component {key!r}")
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 255:
            raise PolicyError(f"policy [snp] {where}.{key} must be an integer 0-255")
        out[key] = value
    return out


@dataclass(frozen=True)
class SnpPolicy:
    """The ``[snp]`` table of a policy, validated (docs/sev-snp.md documents every key)."""

    roots: Mapping[Product, frozenset[str]]
    products: frozenset[Product] = frozenset(PRODUCTS)
    allow_debug: bool = False
    allow_migration_agent: bool = False
    vmpl: frozenset[int] = frozenset({0})
    allow_provisional_firmware: bool = False
    require_alias_check: bool = True
    min_tcb: Mapping[Product, Mapping[str, int]] = field(
        default_factory=lambda: dict(DEFAULT_MIN_TCB))
    revocation: str = "if-available"
    signing_keys: frozenset[str] = frozenset({"vcek"})
    vlek_csp_ids: frozenset[str] = frozenset()
    allow_smt: bool = True
    require_single_socket: bool = False
    allow_cxl: bool = True
    require_aes_256_xts: bool = False
    require_page_swap_disable: bool = False
    allow_platform_smt: bool = True
    require_tsme: bool = False
    min_firmware: tuple[int, int, int] | None = None
    measurements: frozenset[bytes] | None = None
    host_data: frozenset[bytes] | None = None
    id_key_digests: frozenset[bytes] | None = None
    author_key_digests: frozenset[bytes] | None = None
    min_guest_svn: int | None = None
    min_policy_abi: tuple[int, int] | None = None
    require_platform: frozenset[str] = frozenset()
    refuse_platform: frozenset[str] = frozenset(DEFAULT_REFUSE_PLATFORM)
    family_ids: frozenset[bytes] | None = None
    image_ids: frozenset[bytes] | None = None
    report_ids: frozenset[bytes] | None = None
    min_launch_mitigation_vector: int | None = None
    min_current_mitigation_vector: int | None = None
    require_id_block: bool = False
    require_author_key: bool = False

    @classmethod
    def from_policy(cls, policy: Policy) -> SnpPolicy:
        s = policy.section("snp")
        s.only(*POLICY_KEYS)
        roots_value = s.values.get("roots", "vendor")
        roots: dict[Product, frozenset[str]] = {}
        if roots_value == "vendor":
            roots = {_product(k, "roots"): frozenset({v}) for k, v in anchors.AMD_ARK_SPKI_SHA256.items()}
        elif isinstance(roots_value, dict):
            for name, pins in roots_value.items():
                pin_list = [pins] if isinstance(pins, str) else pins
                if not isinstance(pin_list, list) or not all(isinstance(p, str) for p in pin_list):
                    raise PolicyError(f"policy [snp] roots.{name} must be a hex string or a list of them")
                clean = {p.strip().lower() for p in pin_list}
                if not all(_HEX64.match(p) for p in clean):
                    raise PolicyError(f"policy [snp] roots.{name}: a pin is not 64 hex digits (SPKI SHA-256)")
                roots[_product(name, "roots")] = frozenset(clean)
        else:
            raise PolicyError('policy [snp] roots must be "vendor" or a table {Product = "spki sha256 hex"}')
        products = frozenset(_product(p, "products") for p in s.str_list("products", [p.value for p in PRODUCTS]))
        vmpl = s.get("vmpl", list, [0])
        if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 3 for v in vmpl):
            raise PolicyError("policy [snp] vmpl must be a list of integers 0-3")
        min_tcb: dict[Product, Mapping[str, int]] = dict(DEFAULT_MIN_TCB)
        raw_min = s.get("min_tcb", dict, {})
        if raw_min and all(isinstance(v, dict) for v in raw_min.values()):
            for name, table in raw_min.items():
                min_tcb[_product(name, "min_tcb")] = _tcb_table(table, f"min_tcb.{name}")
        elif raw_min:
            flat = _tcb_table(raw_min, "min_tcb")
            min_tcb = {p: flat for p in PRODUCTS}
        signing = s.str_list("signing_keys", ["vcek"])
        if not set(signing) <= {"vcek", "vlek"}:
            raise PolicyError('policy [snp] signing_keys may hold only "vcek" and "vlek"')
        min_fw: tuple[int, int, int] | None = None
        if "min_firmware" in s.values:
            text = s.get("min_firmware", str, "")
            m = re.fullmatch(r"(\d{1,3})\.(\d{1,3})(?:\.(\d{1,3}))?", text)
            if not m:
                raise PolicyError('policy [snp] min_firmware must look like "1.55" or "1.55.21"')
            min_fw = (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))
        min_abi: tuple[int, int] | None = None
        if "min_policy_abi" in s.values:
            text = s.get("min_policy_abi", str, "")
            m = re.fullmatch(r"(\d{1,3})\.(\d{1,3})", text)
            if not m or int(m.group(1)) > 255 or int(m.group(2)) > 255:
                raise PolicyError('policy [snp] min_policy_abi must be "MAJOR.MINOR", each 0-255 (e.g. "1.55")')
            min_abi = (int(m.group(1)), int(m.group(2)))
        require_platform = _platform_names(s, "require_platform", ())
        refuse_platform = _platform_names(s, "refuse_platform", DEFAULT_REFUSE_PLATFORM)
        both = require_platform & refuse_platform
        if both:
            raise PolicyError(f"policy [snp] require_platform and refuse_platform both name {', '.join(sorted(both))}")
        id_keys = _hex_list(s, "id_key_digests", 48)
        author_keys = _hex_list(s, "author_key_digests", 48)
        require_author = s.get("require_author_key", bool, False)
        require_block = s.get("require_id_block", bool, False)
        if require_author and author_keys is None:
            raise PolicyError("policy [snp] require_author_key needs author_key_digests (the trusted author keys)")
        if require_block and id_keys is None and author_keys is None:
            raise PolicyError("policy [snp] require_id_block needs id_key_digests or author_key_digests (the trusted keys)")
        return cls(
            roots=roots,
            products=products,
            allow_debug=s.get("allow_debug", bool, False),
            allow_migration_agent=s.get("allow_migration_agent", bool, False),
            vmpl=frozenset(vmpl),
            allow_provisional_firmware=s.get("allow_provisional_firmware", bool, False),
            require_alias_check=s.get("require_alias_check", bool, True),
            min_tcb=min_tcb,
            revocation=s.choice("revocation", REVOCATION_MODES, "if-available"),
            signing_keys=frozenset(signing),
            vlek_csp_ids=frozenset(s.str_list("vlek_csp_ids")),
            allow_smt=s.get("allow_smt", bool, True),
            require_single_socket=s.get("require_single_socket", bool, False),
            allow_cxl=s.get("allow_cxl", bool, True),
            require_aes_256_xts=s.get("require_aes_256_xts", bool, False),
            require_page_swap_disable=s.get("require_page_swap_disable", bool, False),
            allow_platform_smt=s.get("allow_platform_smt", bool, True),
            require_tsme=s.get("require_tsme", bool, False),
            min_firmware=min_fw,
            measurements=_hex_list(s, "measurements", 48),
            host_data=_hex_list(s, "host_data", 32),
            id_key_digests=id_keys,
            author_key_digests=author_keys,
            min_guest_svn=_uint(s, "min_guest_svn", 32),
            min_policy_abi=min_abi,
            require_platform=require_platform,
            refuse_platform=refuse_platform,
            family_ids=_hex_list(s, "family_ids", 16),
            image_ids=_hex_list(s, "image_ids", 16),
            report_ids=_hex_list(s, "report_ids", 32),
            min_launch_mitigation_vector=_uint(s, "min_launch_mitigation_vector", 64),
            min_current_mitigation_vector=_uint(s, "min_current_mitigation_vector", 64),
            require_id_block=require_block or require_author,
            require_author_key=require_author,
        )


_POLICY_CACHE: dict[str, tuple[dict[str, Any], SnpPolicy]] = {}


def snp_policy(policy: Policy) -> SnpPolicy:
    """:meth:`SnpPolicy.from_policy`, remembered per policy digest (the table is compared too)."""
    table = policy.tables.get("snp", {})
    hit = _POLICY_CACHE.get(policy.sha256)
    if hit is not None and hit[0] == table:
        return hit[1]
    rules = SnpPolicy.from_policy(policy)
    if isinstance(table, dict):
        if len(_POLICY_CACHE) > 32:
            _POLICY_CACHE.clear()
        _POLICY_CACHE[policy.sha256] = (dict(table), rules)
    return rules
