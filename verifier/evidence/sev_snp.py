"""AMD SEV-SNP attestation reports: parse and pack (SEV-SNP ABI spec 56860, Table 23 "ATTESTATION_REPORT").

Sans-IO: bytes in, a frozen :class:`SnpReport` out; :func:`pack_report` is the inverse, used by the
reference enclave's simulated hardware and by tests that build mutations. The report is 1184 bytes;
bytes 0x000-0x29F are signed, the signature (ECDSA P-384 with SHA-384, r and s little-endian, 72
bytes each) sits at 0x2A0.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields, replace

from verifier.errors import ParseError
from verifier.evidence.encoding import is_text

REPORT_SIZE = 0x4A0
SIGNED_SIZE = 0x2A0
SIGNATURE_OFFSET = 0x2A0
SIG_COMPONENT_SIZE = 72
SIG_SCALAR_SIZE = 48
"""r and s are P-384 scalars (48 bytes) zero-extended to 72 bytes, little-endian (ABI spec 56860,
"Signature Formats": ECDSA P-384 with SHA-384)."""
SUPPORTED_VERSIONS = (2, 3, 4, 5)
SIG_ALGO_ECDSA_P384_SHA384 = 1

# GUEST_POLICY bits (ABI spec §4.3, Table 9)
POLICY_SMT = 1 << 16
POLICY_RESERVED_ONE = 1 << 17
POLICY_MIGRATE_MA = 1 << 18
POLICY_DEBUG = 1 << 19
POLICY_SINGLE_SOCKET = 1 << 20
POLICY_CXL_ALLOW = 1 << 21
POLICY_MEM_AES_256_XTS = 1 << 22
POLICY_RAPL_DIS = 1 << 23
POLICY_CIPHERTEXT_HIDING = 1 << 24
POLICY_PAGE_SWAP_DISABLE = 1 << 25
POLICY_MBZ_MASK = ~((1 << 26) - 1) & 0xFFFF_FFFF_FFFF_FFFF

# PLATFORM_INFO bits (ABI spec Table 23)
PLATFORM_SMT_EN = 1 << 0
PLATFORM_TSME_EN = 1 << 1
PLATFORM_ECC_EN = 1 << 2
PLATFORM_RAPL_DIS = 1 << 3
PLATFORM_CIPHERTEXT_HIDING_EN = 1 << 4
PLATFORM_ALIAS_CHECK_COMPLETE = 1 << 5
PLATFORM_IOMMU_WRITE_SAFE = 1 << 6  # Turin (the real Oak Turin report has 0x67); go-sev-guest: reserved
PLATFORM_TIO_EN = 1 << 7
PLATFORM_RESERVED_MASK = ~0xFF & 0xFFFF_FFFF_FFFF_FFFF
"""PLATFORM_INFO bits 8-63: reserved, refused by ``snp.platform.reserved`` (go-sev-guest refuses
"unrecognized platform info bit(s)")."""


class SigningKey(enum.IntEnum):
    """Bits 4:2 of the word at 0x48: which key signed the report."""

    VCEK = 0
    VLEK = 1
    NONE = 7


class Product(enum.StrEnum):
    MILAN = "Milan"
    GENOA = "Genoa"
    TURIN = "Turin"
    UNKNOWN = "unknown"


# CPUID family/model -> product (AMD PPR; go-sev-guest abi.go "SevProductFromCpuid1Eax")
_FAMILY_MODELS: dict[tuple[int, range], Product] = {
    (0x19, range(0x00, 0x10)): Product.MILAN,
    (0x19, range(0x10, 0x20)): Product.GENOA,
    (0x19, range(0xA0, 0xB0)): Product.GENOA,
    (0x1A, range(0x00, 0x20)): Product.TURIN,
}


@dataclass(frozen=True)
class TcbVersion:
    """TCB_VERSION, decoded with the layout of the product (Turin adds FMC and moves the fields)."""

    raw: int
    bootloader: int
    tee: int
    snp: int
    microcode: int
    fmc: int | None = None

    @classmethod
    def decode(cls, raw: int, product: Product) -> TcbVersion:
        b = raw.to_bytes(8, "little")
        if product is Product.TURIN:
            return cls(raw, bootloader=b[1], tee=b[2], snp=b[3], microcode=b[7], fmc=b[0])
        return cls(raw, bootloader=b[0], tee=b[1], snp=b[6], microcode=b[7])

    @classmethod
    def encode(cls, product: Product, *, bootloader: int, tee: int, snp: int, microcode: int,
               fmc: int = 0) -> TcbVersion:
        b = bytearray(8)
        if product is Product.TURIN:
            b[0], b[1], b[2], b[3], b[7] = fmc, bootloader, tee, snp, microcode
        else:
            b[0], b[1], b[6], b[7] = bootloader, tee, snp, microcode
        return cls.decode(int.from_bytes(b, "little"), product)

    def components(self) -> dict[str, int]:
        out = {"bootloader": self.bootloader, "tee": self.tee, "snp": self.snp,
               "microcode": self.microcode}
        if self.fmc is not None:
            out["fmc"] = self.fmc
        return out

    def at_least(self, other: TcbVersion) -> bool:
        mine, theirs = self.components(), other.components()
        return all(mine[k] >= theirs.get(k, 0) for k in mine)


@dataclass(frozen=True)
class SnpReport:
    """Every field of ATTESTATION_REPORT (ABI spec Table 23), in order."""

    version: int
    guest_svn: int
    policy: int
    family_id: bytes
    image_id: bytes
    vmpl: int
    signature_algo: int
    current_tcb_raw: int
    platform_info: int
    key_info: int
    report_data: bytes
    measurement: bytes
    host_data: bytes
    id_key_digest: bytes
    author_key_digest: bytes
    report_id: bytes
    report_id_ma: bytes
    reported_tcb_raw: int
    cpuid_fam_id: int
    cpuid_mod_id: int
    cpuid_step: int
    chip_id: bytes
    committed_tcb_raw: int
    current_build: int
    current_minor: int
    current_major: int
    committed_build: int
    committed_minor: int
    committed_major: int
    launch_tcb_raw: int
    launch_mit_vector: int
    current_mit_vector: int
    signature_r: bytes
    signature_s: bytes

    # -- derived views -------------------------------------------------------------------------
    @property
    def signing_key(self) -> SigningKey:
        return SigningKey((self.key_info >> 2) & 0x7)

    @property
    def author_key_en(self) -> bool:
        return bool(self.key_info & 1)

    @property
    def mask_chip_key(self) -> bool:
        return bool(self.key_info & 2)

    @property
    def product(self) -> Product:
        """The product line from CPUID (report v3+); v2 reports do not say."""
        if self.version < 3:
            return Product.UNKNOWN
        for (family, models), product in _FAMILY_MODELS.items():
            if self.cpuid_fam_id == family and self.cpuid_mod_id in models:
                return product
        return Product.UNKNOWN

    def tcb(self, which: str, product: Product | None = None) -> TcbVersion:
        raw = getattr(self, f"{which}_tcb_raw")
        assert isinstance(raw, int)
        return TcbVersion.decode(raw, product or self.product)

    @property
    def debug(self) -> bool:
        return bool(self.policy & POLICY_DEBUG)

    @property
    def migrate_ma(self) -> bool:
        return bool(self.policy & POLICY_MIGRATE_MA)

    def policy_flags(self) -> dict[str, object]:
        """GUEST_POLICY decoded (ABI spec §4.3 Table 9), for claims and policy checks."""
        p = self.policy
        return {
            "abi_minor": p & 0xFF, "abi_major": (p >> 8) & 0xFF,
            "smt": bool(p & POLICY_SMT), "migrate_ma": bool(p & POLICY_MIGRATE_MA),
            "debug": bool(p & POLICY_DEBUG), "single_socket": bool(p & POLICY_SINGLE_SOCKET),
            "cxl_allow": bool(p & POLICY_CXL_ALLOW),
            "mem_aes_256_xts": bool(p & POLICY_MEM_AES_256_XTS),
            "rapl_dis": bool(p & POLICY_RAPL_DIS),
            "ciphertext_hiding": bool(p & POLICY_CIPHERTEXT_HIDING),
            "page_swap_disable": bool(p & POLICY_PAGE_SWAP_DISABLE),
        }

    def platform_flags(self) -> dict[str, bool]:
        """PLATFORM_INFO decoded (ABI spec Table 23)."""
        i = self.platform_info
        return {
            "smt_en": bool(i & PLATFORM_SMT_EN), "tsme_en": bool(i & PLATFORM_TSME_EN),
            "ecc_en": bool(i & PLATFORM_ECC_EN), "rapl_dis": bool(i & PLATFORM_RAPL_DIS),
            "ciphertext_hiding_en": bool(i & PLATFORM_CIPHERTEXT_HIDING_EN),
            "alias_check_complete": bool(i & PLATFORM_ALIAS_CHECK_COMPLETE),
            "iommu_write_safe": bool(i & PLATFORM_IOMMU_WRITE_SAFE),
            "tio_en": bool(i & PLATFORM_TIO_EN),
        }

    def firmware(self, which: str) -> tuple[int, int, int]:
        """(major, minor, build) of the ``current`` or ``committed`` SNP firmware (v2 has both)."""
        if which not in ("current", "committed"):
            raise ValueError(which)
        return (int(getattr(self, f"{which}_major")), int(getattr(self, f"{which}_minor")),
                int(getattr(self, f"{which}_build")))

    @property
    def signed_bytes(self) -> bytes:
        return pack_report(self)[:SIGNED_SIZE]

    @property
    def signature_rs(self) -> tuple[int, int]:
        return int.from_bytes(self.signature_r, "little"), int.from_bytes(self.signature_s, "little")


# (name, offset, size, kind) kind: "u" little-endian unsigned int, "b" bytes
_LAYOUT: tuple[tuple[str, int, int, str], ...] = (
    ("version", 0x000, 4, "u"),
    ("guest_svn", 0x004, 4, "u"),
    ("policy", 0x008, 8, "u"),
    ("family_id", 0x010, 16, "b"),
    ("image_id", 0x020, 16, "b"),
    ("vmpl", 0x030, 4, "u"),
    ("signature_algo", 0x034, 4, "u"),
    ("current_tcb_raw", 0x038, 8, "u"),
    ("platform_info", 0x040, 8, "u"),
    ("key_info", 0x048, 4, "u"),
    ("report_data", 0x050, 64, "b"),
    ("measurement", 0x090, 48, "b"),
    ("host_data", 0x0C0, 32, "b"),
    ("id_key_digest", 0x0E0, 48, "b"),
    ("author_key_digest", 0x110, 48, "b"),
    ("report_id", 0x140, 32, "b"),
    ("report_id_ma", 0x160, 32, "b"),
    ("reported_tcb_raw", 0x180, 8, "u"),
    ("cpuid_fam_id", 0x188, 1, "u"),
    ("cpuid_mod_id", 0x189, 1, "u"),
    ("cpuid_step", 0x18A, 1, "u"),
    ("chip_id", 0x1A0, 64, "b"),
    ("committed_tcb_raw", 0x1E0, 8, "u"),
    ("current_build", 0x1E8, 1, "u"),
    ("current_minor", 0x1E9, 1, "u"),
    ("current_major", 0x1EA, 1, "u"),
    ("committed_build", 0x1EC, 1, "u"),
    ("committed_minor", 0x1ED, 1, "u"),
    ("committed_major", 0x1EE, 1, "u"),
    ("launch_tcb_raw", 0x1F0, 8, "u"),
    ("launch_mit_vector", 0x1F8, 8, "u"),
    ("current_mit_vector", 0x200, 8, "u"),
    ("signature_r", 0x2A0, 72, "b"),
    ("signature_s", 0x2E8, 72, "b"),
)

# Reserved ranges that must be zero: (offset, size, first version where it is reserved)
_RESERVED: tuple[tuple[int, int, int], ...] = (
    (0x04C, 4, 2),
    (0x188, 24, 2),   # CPUID bytes before v3 (checked only for v2), reserved 0x18B-0x19F always
    (0x1EB, 1, 2),
    (0x1EF, 1, 2),
    (0x1F8, 16, 2),   # mitigation vectors before v5 (checked only below v5)
    (0x208, 0x98, 2),
    (0x330, 0x170, 2),  # after the signature's r and s
)


def is_report_sized(data: bytes) -> bool:
    """Binary-detection test for :func:`verifier.evidence.encoding.decode_evidence`: exactly a
    report's size and not text. Whatever its version field says: a report of a version this
    verifier does not read (a future one, or a flipped bit) is a report that does not parse
    (``snp.parse``), not a file of an unknown format."""
    return len(data) == REPORT_SIZE and not is_text(data)


def _check_reserved(data: bytes, version: int) -> None:
    for offset, size, _ in _RESERVED:
        start, end = offset, offset + size
        if offset == 0x188 and version >= 3:
            start = 0x18B
        if offset == 0x1F8 and version >= 5:
            continue
        if any(data[start:end]):
            raise ParseError(f"reserved bytes 0x{start:03x}-0x{end - 1:03x} are not zero",
                             field="reserved")


def parse_report(data: bytes) -> SnpReport:
    """Parse exactly one 1184-byte report. A truncated or padded buffer is an error, not a guess."""
    if len(data) != REPORT_SIZE:
        raise ParseError(f"an SEV-SNP report is {REPORT_SIZE} bytes, this one is {len(data)}",
                         field="report")
    values: dict[str, int | bytes] = {}
    for name, offset, size, kind in _LAYOUT:
        chunk = data[offset:offset + size]
        values[name] = int.from_bytes(chunk, "little") if kind == "u" else bytes(chunk)
    version = values["version"]
    assert isinstance(version, int)
    if version not in SUPPORTED_VERSIONS:
        raise ParseError(f"unsupported report version {version} (this verifier reads versions "
                         f"{', '.join(map(str, SUPPORTED_VERSIONS))})", field="version")
    policy = values["policy"]
    assert isinstance(policy, int)
    if not policy & POLICY_RESERVED_ONE:
        raise ParseError("bit 17 must be 1", field="policy")
    if policy & POLICY_MBZ_MASK:
        raise ParseError("bits 26-63 must be zero", field="policy")
    algo = values["signature_algo"]
    if algo != SIG_ALGO_ECDSA_P384_SHA384:
        raise ParseError(f"algorithm {algo!r} is not ECDSA P-384 with SHA-384 (1)",
                         field="signature_algo")
    key_info = values["key_info"]
    assert isinstance(key_info, int)
    if key_info & ~0x1F:
        raise ParseError("reserved bits 5-31 are not zero", field="key_info")
    if (key_info >> 2) & 7 not in tuple(SigningKey):
        raise ParseError(f"signing key {(key_info >> 2) & 7} is reserved", field="key_info")
    if version < 3 and any(data[0x188:0x18B]):
        raise ParseError("CPUID bytes are reserved before version 3", field="reserved")
    _check_reserved(data, version)
    for name in ("signature_r", "signature_s"):
        component = values[name]
        assert isinstance(component, bytes)
        if any(component[SIG_SCALAR_SIZE:]):
            raise ParseError(f"bytes {SIG_SCALAR_SIZE}-{SIG_COMPONENT_SIZE - 1} of a P-384 scalar "
                             "must be zero", field=name)
    return SnpReport(**values)  # type: ignore[arg-type]


def pack_report(report: SnpReport) -> bytes:
    """The exact 1184 bytes of ``report`` (the inverse of :func:`parse_report`)."""
    out = bytearray(REPORT_SIZE)
    for name, offset, size, kind in _LAYOUT:
        value = getattr(report, name)
        if kind == "u":
            out[offset:offset + size] = int(value).to_bytes(size, "little")
        else:
            if len(value) != size:
                raise ParseError(f"must be {size} bytes", field=name)
            out[offset:offset + size] = value
    return bytes(out)


def empty_report(**overrides: int | bytes) -> SnpReport:
    """A zeroed version-3 report with the fields in ``overrides`` set (for builders and tests)."""
    base: dict[str, int | bytes] = {}
    for f in fields(SnpReport):
        layout = next(item for item in _LAYOUT if item[0] == f.name)
        base[f.name] = 0 if layout[3] == "u" else bytes(layout[2])
    base.update(version=3, policy=POLICY_RESERVED_ONE, signature_algo=SIG_ALGO_ECDSA_P384_SHA384)
    base.update(overrides)
    return SnpReport(**base)  # type: ignore[arg-type]


def with_signature(report: SnpReport, r: int, s: int) -> SnpReport:
    return replace(report, signature_r=r.to_bytes(SIG_COMPONENT_SIZE, "little"),
                   signature_s=s.to_bytes(SIG_COMPONENT_SIZE, "little"))


