"""Appraise one AMD SEV-SNP attestation report: authenticity (chain, signature) and the ``[snp]`` policy.

The checks run in this fixed order; ids are stable (docs/sev-snp.md lists them with examples):

==========================  =====  ==========================================================
id                          auth   what it checks
==========================  =====  ==========================================================
snp.parse                   yes    the report (or Azure HCL report) parses strictly
snp.chain.certificates      yes    a VCEK/VLEK, its ASK/ASVK and the ARK are available
snp.chain.ark_pinned        yes    the ARK's SPKI SHA-256 is the policy's pin for the product;
                                   the ARK's self-signature holds
snp.chain.ask               yes    the ARK signed the ASK/ASVK (RSASSA-PSS SHA-384 salt 48)
snp.chain.vcek              yes    the ASK/ASVK signed the VCEK/VLEK, a P-384 key
snp.chain.validity          yes    every certificate is valid at the verification time
snp.vcek.extensions         yes    productName, hwID == CHIP_ID, SPLs == REPORTED_TCB
snp.report.signature        yes    ECDSA P-384 SHA-384 over bytes 0x000-0x29F
snp.revocation              (1)    the ARK-signed CRL does not list the ASK/ASVK
snp.hcl.runtime_data        no     Azure only: REPORT_DATA = H(runtime data)
snp.product                 no     the product line is one the policy accepts
snp.signing_key             no     VCEK/VLEK as the policy allows; VLEK cloud provider
snp.policy.debug            no     guest policy DEBUG
snp.policy.migrate_ma       no     guest policy MIGRATE_MA
snp.policy.smt              no     guest policy SMT
snp.policy.single_socket    no     guest policy SINGLE_SOCKET
snp.policy.cxl              no     guest policy CXL_ALLOW
snp.policy.aes_256_xts      no     guest policy MEM_AES_256_XTS
snp.policy.page_swap        no     guest policy PAGE_SWAP_DISABLE
snp.vmpl                    no     VMPL in the allowed list
snp.platform.alias_check    no     PLATFORM_INFO ALIAS_CHECK_COMPLETE (BadRAM, AMD-SB-3015)
snp.platform.smt            no     PLATFORM_INFO SMT_EN
snp.platform.tsme           no     PLATFORM_INFO TSME_EN
snp.tcb.committed           no     COMMITTED_TCB == CURRENT_TCB (no provisional firmware)
snp.tcb.minimum             no     current, reported, committed, launch TCB >= minimum
snp.firmware                no     current and committed firmware >= min_firmware
snp.measurement             no     MEASUREMENT in the policy's allow-list, if it has one
snp.host_data               no     HOST_DATA in the policy's allow-list, if it has one
snp.id_key                  no     ID_KEY_DIGEST in the policy's allow-list, if it has one
snp.author_key              no     AUTHOR_KEY_DIGEST in the policy's allow-list, if it has one
snp.report_data             no     REPORT_DATA == the expected 64 bytes (freshness, binding)
==========================  =====  ==========================================================

(1) ``snp.revocation`` counts towards ``authentic`` only when it finds the ASK/ASVK revoked.

Only ``snp.parse`` appears when the report does not parse. Checks that cannot run because an
input is missing are ``skip``. Nothing here raises on hostile evidence; a bad policy raises
:class:`verifier.errors.PolicyError`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from verifier.appraisal.policy import Policy, Section
from verifier.endorsements import amd, anchors
from verifier.endorsements.amd import AmdCertificate, AmdCrl, Chain, Role
from verifier.endorsements.fetch import CollateralFetcher
from verifier.endorsements.kds import KdsClient
from verifier.errors import PolicyError, VerifierError
from verifier.evidence import azure_hcl
from verifier.evidence.sev_snp import (
    SIGNED_SIZE,
    Product,
    SigningKey,
    SnpReport,
    TcbVersion,
    parse_report,
)
from verifier.result import Check, Checked, failed, passed, skipped

log = logging.getLogger(__name__)

PRODUCTS = (Product.MILAN, Product.GENOA, Product.TURIN)
TCB_FIELDS = ("bootloader", "tee", "snp", "microcode", "fmc")

DEFAULT_MIN_TCB: dict[Product, dict[str, int]] = {
    # AMD-SB-3019 (CVE-2024-56161, February 2025): the SEV-SNP firmware and microcode that stop
    # the microcode-signature bypass. The values are the TCB that AMD's KDS certifies for patched
    # platforms: Milan SNP SPL 0x18 / microcode 0xDB (seen as the committed TCB of the Milan VLEK
    # report in the vectors), Genoa SNP SPL 0x17 / microcode 0x54 (the Genoa VCEKs of 2025).
    Product.MILAN: {"bootloader": 4, "tee": 0, "snp": 24, "microcode": 219},
    Product.GENOA: {"bootloader": 10, "tee": 0, "snp": 23, "microcode": 84},
    # No Turin figure from a bulletin could be checked here: no minimum until a policy sets one.
    Product.TURIN: {"bootloader": 0, "tee": 0, "snp": 0, "microcode": 0, "fmc": 0},
}

POLICY_KEYS = (
    "roots", "products", "allow_debug", "allow_migration_agent", "vmpl",
    "allow_provisional_firmware", "require_alias_check", "min_tcb", "revocation", "signing_keys",
    "vlek_csp_ids", "allow_smt", "require_single_socket", "allow_cxl", "require_aes_256_xts",
    "require_page_swap_disable", "allow_platform_smt", "require_tsme", "min_firmware",
    "measurements", "host_data", "id_key_digests", "author_key_digests",
)
REVOCATION_MODES = ("required", "if-available", "off")
_HEX64 = re.compile(r"\A[0-9a-f]{64}\Z")


# -- policy ----------------------------------------------------------------------------------------
def _product(name: str, where: str) -> Product:
    for p in PRODUCTS:
        if p.value.lower() == name.lower():
            return p
    raise PolicyError(f"policy [snp] {where}: {name!r} is not one of Milan, Genoa, Turin")


def _hex_list(section: Section, key: str, size: int) -> frozenset[bytes] | None:
    if key not in section.values:
        return None
    out = set()
    for item in section.str_list(key):
        text = item.strip().lower()
        try:
            value = bytes.fromhex(text)
        except ValueError:
            raise PolicyError(f"policy [snp] {key}: {item!r} is not hex") from None
        if len(value) != size:
            raise PolicyError(f"policy [snp] {key}: {item!r} is not {size} bytes")
        out.add(value)
    return frozenset(out)


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
            id_key_digests=_hex_list(s, "id_key_digests", 48),
            author_key_digests=_hex_list(s, "author_key_digests", 48),
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


# -- result ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SnpAppraisal(Checked):
    """The checks (fixed order, stable ids), the parsed report and its claims (JSON-able)."""

    checks: tuple[Check, ...]
    report: SnpReport | None
    claims: dict[str, object]




def _fw(version: tuple[int, int, int]) -> str:
    return ".".join(str(v) for v in version)


def report_claims(report: SnpReport, product: Product, hcl: azure_hcl.HclReport | None) -> dict[str, object]:
    """What a user wants to see about a report, JSON-able; never a verdict."""
    claims: dict[str, object] = {
        "platform": "sev-snp",
        "product": product.value,
        "version": report.version,
        "signing_key": report.signing_key.name.lower(),
        "vmpl": report.vmpl,
        "guest_svn": report.guest_svn,
        "policy": f"0x{report.policy:x}",
        "policy_flags": report.policy_flags(),
        "platform_info": f"0x{report.platform_info:x}",
        "platform_flags": report.platform_flags(),
        "measurement": report.measurement.hex(),
        "report_data": report.report_data.hex(),
        "host_data": report.host_data.hex(),
        "id_key_digest": report.id_key_digest.hex(),
        "author_key_digest": report.author_key_digest.hex(),
        "family_id": report.family_id.hex(),
        "image_id": report.image_id.hex(),
        "report_id": report.report_id.hex(),
        "report_id_ma": report.report_id_ma.hex(),
        "chip_id": report.chip_id.hex(),
        "chip_id_masked": not any(report.chip_id),
        "author_key_en": report.author_key_en,
        "mask_chip_key": report.mask_chip_key,
        "tcb": {which: {**report.tcb(which, product).components(),
                        "raw": f"0x{getattr(report, which + '_tcb_raw'):016x}"}
                for which in ("current", "reported", "committed", "launch")},
        "firmware": {"current": _fw(report.firmware("current")),
                     "committed": _fw(report.firmware("committed"))},
        "azure_hcl": hcl is not None,
    }
    if report.version >= 3:
        claims["cpuid"] = {"family": report.cpuid_fam_id, "model": report.cpuid_mod_id,
                           "stepping": report.cpuid_step}
    if report.version >= 5:
        claims["mit_vector"] = {"launch": f"0x{report.launch_mit_vector:x}",
                                "current": f"0x{report.current_mit_vector:x}"}
    if hcl is not None:
        claims["hcl"] = {"version": hcl.version, "hash": hcl.hash_name,
                         "runtime_data_sha256": hashlib.sha256(hcl.runtime_data).hexdigest()}
    return claims


def _cert_claims(cert: AmdCertificate) -> dict[str, object]:
    return {"subject": cert.common_name, "serial": cert.serial, "spki_sha256": cert.spki_sha256,
            "not_before": cert.cert.not_valid_before_utc.isoformat(),
            "not_after": cert.cert.not_valid_after_utc.isoformat()}


# -- the appraisal -----------------------------------------------------------------------------------
def appraise_snp(report: bytes, certificates: Sequence[bytes], *, policy: Policy, at: dt.datetime,
                 expected_report_data: bytes | None, fetcher: CollateralFetcher | None = None,
                 crls: Sequence[bytes] = ()) -> SnpAppraisal:
    """Appraise ``report`` (1184 raw bytes, or an Azure HCL report) at time ``at``.

    ``certificates``: DER or PEM blobs (a PEM blob may hold several) in any order; the VCEK/VLEK,
    ASK/ASVK and ARK are told apart by role. Missing ones are fetched from AMD KDS through
    ``fetcher`` (which answers from its cache only when offline). ``crls``: DER or PEM CRLs.
    ``expected_report_data``: the exact 64 bytes REPORT_DATA must hold, or None (no binding: the
    check is a required ``skip``, so the result is never verified).
    """
    rules = snp_policy(policy)
    when = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    try:
        return _Appraiser(rules, when, fetcher).run(report, certificates, crls, expected_report_data)
    except Exception as e:  # defence in depth: a bug must refuse, never crash the caller
        log.exception("SEV-SNP appraisal failed unexpectedly")
        return SnpAppraisal((failed("snp.internal", f"The verifier failed unexpectedly ({type(e).__name__}: {e}); the evidence is refused.", authenticity=True),), None, {})


class _Appraiser:
    def __init__(self, rules: SnpPolicy, at: dt.datetime, fetcher: CollateralFetcher | None) -> None:
        self.rules = rules
        self.at = at
        self.kds = KdsClient(fetcher) if fetcher is not None else None
        self.checks: list[Check] = []
        self.notes: list[str] = []

    def add(self, check: Check) -> Check:
        self.checks.append(check)
        return check

    # -- main sequence ---------------------------------------------------------------------------
    def run(self, data: bytes, blobs: Sequence[bytes], crl_blobs: Sequence[bytes],
            expected: bytes | None) -> SnpAppraisal:
        hcl: azure_hcl.HclReport | None = None
        try:
            if azure_hcl.is_hcl_report(data):
                hcl = azure_hcl.parse_hcl_report(data)
                raw, report = hcl.snp_bytes, hcl.snp
            else:
                raw = bytes(data)
                report = parse_report(raw)
        except VerifierError as e:
            return SnpAppraisal((failed("snp.parse", f"The SEV-SNP report does not parse: {e}.", authenticity=True),), None, {})
        form = "An Azure HCL report carrying a" if hcl else "A"
        signer = "not signed" if report.signing_key is SigningKey.NONE else f"signed by a {report.signing_key.name}"
        self.add(passed("snp.parse", f"{form} version {report.version} SEV-SNP report, {signer} ({len(data)} bytes).", authenticity=True))

        certs, cert_problem = self._load_certs(blobs)
        leaf_role = {SigningKey.VCEK: Role.VCEK, SigningKey.VLEK: Role.VLEK}.get(report.signing_key)
        product = self._product(report, certs, leaf_role)
        chain = Chain(None, None, None)
        if leaf_role is not None:
            chain = amd.pick_chain(certs, leaf_role, report.chip_id)
            chain, product = self._fetch_missing(report, chain, certs, leaf_role, product)
        self._chain_checks(report, chain, leaf_role, product, cert_problem)
        self._signature_check(raw, report, chain.leaf)
        self._revocation_check(chain, leaf_role, product, crl_blobs)
        if hcl is not None:
            if hcl.report_data_binds_runtime_data():
                self.add(passed("snp.hcl.runtime_data", f"REPORT_DATA is the {hcl.hash_name.upper()} of the HCL runtime data (the vTPM key), as Azure's paravisor sets it."))
            else:
                self.add(failed("snp.hcl.runtime_data", f"REPORT_DATA is not the {hcl.hash_name.upper()} of the HCL runtime data: the runtime data was altered."))
        self._policy_checks(report, product, chain.leaf)
        self._report_data_check(report, expected, hcl)

        claims = report_claims(report, product, hcl)
        for name, cert in (("leaf", chain.leaf), ("intermediate", chain.intermediate), ("ark", chain.ark)):
            if cert is not None:
                claims.setdefault("certificates", {})[name] = {"role": cert.role.value, **_cert_claims(cert)}  # type: ignore[index]
        if chain.leaf is not None and chain.leaf.role is Role.VLEK:
            try:
                claims["csp_id"] = chain.leaf.extensions().csp_id
            except VerifierError:
                pass
        if self.notes:
            claims["collateral"] = list(self.notes)
        return SnpAppraisal(tuple(self.checks), report, claims)

    # -- inputs ----------------------------------------------------------------------------------
    def _load_certs(self, blobs: Sequence[bytes]) -> tuple[list[AmdCertificate], str | None]:
        certs: list[AmdCertificate] = []
        problems: list[str] = []
        for index, blob in enumerate(blobs):
            try:
                certs.extend(amd.load_certificates([bytes(blob)]))
            except VerifierError as e:
                problems.append(f"certificate input {index + 1} is unreadable ({e})")
        return certs, "; ".join(problems) or None

    def _product(self, report: SnpReport, certs: Sequence[AmdCertificate], leaf_role: Role | None) -> Product:
        """CPUID (v3+) first; else the VCEK's productName, else the chain's names (v2 reports)."""
        if report.product is not Product.UNKNOWN:
            return report.product
        for role in (leaf_role, Role.ASK, Role.ASVK, Role.ARK):
            for c in certs:
                if c.role is role and c.product:
                    for p in PRODUCTS:
                        if p.value == c.product:
                            return p
        return Product.UNKNOWN

    def _fetch_missing(self, report: SnpReport, chain: Chain, certs: list[AmdCertificate],
                       leaf_role: Role, product: Product) -> tuple[Chain, Product]:
        """Fetch from AMD KDS what is missing: the VCEK first (for a version-2 report, product by
        product as the policy lists them, until KDS knows the chip), then the chain for the
        product the VCEK names. VLEKs are not served by chip; their chain is."""
        if self.kds is None or not chain.missing(leaf_role):
            return chain, product
        if chain.leaf is None and leaf_role is Role.VCEK:
            candidates = [product] if product is not Product.UNKNOWN else [p for p in PRODUCTS if p in self.rules.products]
            for p in candidates:
                try:
                    certs.extend(amd.load_certificates([self.kds.vcek(p, report)]))
                except VerifierError as e:
                    self.notes.append(f"VCEK not fetched for {p.value}: {e}")
                    continue
                self.notes.append(f"VCEK fetched from AMD KDS ({p.value})")
                break
            chain = amd.pick_chain(certs, leaf_role, report.chip_id)
            if product is Product.UNKNOWN:
                product = self._product(report, certs, leaf_role)
        if (chain.intermediate is None or chain.ark is None) and product is not Product.UNKNOWN:
            key = "vcek" if leaf_role is Role.VCEK else "vlek"
            try:
                certs.extend(amd.load_certificates([self.kds.cert_chain(product, key)]))
                self.notes.append(f"{key} cert_chain fetched from AMD KDS ({product.value})")
            except VerifierError as e:
                self.notes.append(f"{key} cert_chain not fetched: {e}")
            chain = amd.pick_chain(certs, leaf_role, report.chip_id)
        return chain, product

    # -- authenticity ----------------------------------------------------------------------------
    def _chain_checks(self, report: SnpReport, chain: Chain, leaf_role: Role | None,
                      product: Product, cert_problem: str | None) -> None:
        ids = ("snp.chain.ark_pinned", "snp.chain.ask", "snp.chain.vcek", "snp.chain.validity", "snp.vcek.extensions")
        if leaf_role is None:
            self.add(failed("snp.chain.certificates", "The report is not signed (SIGNING_KEY = none, MASK_CHIP_KEY): it cannot be authenticated.", authenticity=True))
            for i in ids:
                self.add(skipped(i, "Not checked: the report is not signed.", authenticity=True))
            return
        leaf_name = leaf_role.value
        mid_name = "ASK" if leaf_role is Role.VCEK else "ASVK"
        missing = chain.missing(leaf_role)
        if missing:
            what = " and ".join(missing)
            hint = ("pass it with --cert, or allow fetching from AMD KDS (not --offline)"
                    if self.kds is None or self.kds.fetcher.offline else "AMD KDS did not provide it")
            detail = f"{what} not available: {hint}."
            if leaf_name in missing:
                detail = f"{leaf_name} not available" + (f" (and {', '.join(m for m in missing if m != leaf_name)})" if len(missing) > 1 else "") + f": {hint}."
            if cert_problem:
                detail += f" Also: {cert_problem}."
            self.add(failed("snp.chain.certificates", detail, authenticity=True))
        elif cert_problem:
            self.add(failed("snp.chain.certificates", f"The chain is complete, but {cert_problem}: refusing ambiguous input.", authenticity=True))
        else:
            assert chain.leaf and chain.intermediate and chain.ark
            self.add(passed("snp.chain.certificates", f"{leaf_name} {chain.leaf.common_name!r}, {mid_name} {chain.intermediate.common_name!r} and ARK {chain.ark.common_name!r} identified.", authenticity=True))

        # ARK pinned and self-signed
        ark = chain.ark
        if ark is None:
            self.add(skipped("snp.chain.ark_pinned", "Not checked: no ARK.", authenticity=True))
        elif product is Product.UNKNOWN:
            self.add(failed("snp.chain.ark_pinned", "The product line is unknown (no CPUID in the report, no productName in the VCEK), so no ARK pin applies.", authenticity=True))
        else:
            pins = self.rules.roots.get(product)
            if not pins:
                self.add(failed("snp.chain.ark_pinned", f"The policy pins no ARK for {product.value}.", authenticity=True))
            elif ark.spki_sha256 not in pins:
                self.add(failed("snp.chain.ark_pinned", f"The ARK's key (SPKI SHA-256 {ark.spki_sha256}) is not the pinned {product.value} root ({', '.join(sorted(pins))}): a look-alike root.", authenticity=True))
            else:
                problem = amd.certificate_signature_problem(ark, ark)
                if problem:
                    self.add(failed("snp.chain.ark_pinned", f"The ARK's key is pinned, but its self-signature is bad: {problem}.", authenticity=True))
                else:
                    self.add(passed("snp.chain.ark_pinned", f"ARK {ark.common_name!r} is the pinned {product.value} root (SPKI SHA-256 {ark.spki_sha256[:16]}…) and self-signed.", authenticity=True))

        mid = chain.intermediate
        if mid is None or ark is None:
            self.add(skipped("snp.chain.ask", f"Not checked: no {mid_name if mid is None else 'ARK'}.", authenticity=True))
        else:
            problem = amd.certificate_signature_problem(mid, ark)
            if problem is None and product is not Product.UNKNOWN and mid.product and mid.product != product.value:
                problem = f"{mid.common_name!r} is for {mid.product}, the report is {product.value}"
            if problem:
                self.add(failed("snp.chain.ask", f"The {mid_name} does not chain to the ARK: {problem}.", authenticity=True))
            else:
                self.add(passed("snp.chain.ask", f"{mid_name} {mid.common_name!r} (serial 0x{mid.serial:x}) is signed by the ARK with RSASSA-PSS SHA-384.", authenticity=True))

        leaf = chain.leaf
        if leaf is None or mid is None:
            self.add(skipped("snp.chain.vcek", f"Not checked: no {leaf_name if leaf is None else mid_name}.", authenticity=True))
        else:
            problem = amd.certificate_signature_problem(leaf, mid)
            key = leaf.cert.public_key()
            if problem is None and not (isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP384R1)):
                problem = f"the {leaf_name} key is not ECDSA P-384"
            if problem:
                self.add(failed("snp.chain.vcek", f"The {leaf_name} does not chain to the {mid_name}: {problem}.", authenticity=True))
            else:
                serial_note = " (serial 0, as all AMD VCEKs/VLEKs have)" if leaf.serial == 0 else f" (serial {leaf.serial})"
                self.add(passed("snp.chain.vcek", f"{leaf_name}{serial_note} is a P-384 key signed by the {mid_name}.", authenticity=True))

        present = [c for c in (leaf, mid, ark) if c is not None]
        if not present:
            self.add(skipped("snp.chain.validity", "Not checked: no certificates.", authenticity=True))
        else:
            problems = [p for p in (amd.validity_problem(c, self.at) for c in present) if p]
            if problems:
                self.add(failed("snp.chain.validity", f"At {self.at.isoformat()}: " + "; ".join(problems) + ".", authenticity=True))
            elif len(present) < 3:
                self.add(skipped("snp.chain.validity", "Not checked: the chain is incomplete.", authenticity=True))
            else:
                first_end = min(c.cert.not_valid_after_utc for c in present)
                self.add(passed("snp.chain.validity", f"Every certificate is valid at {self.at.isoformat()} (the first expires {first_end.date().isoformat()}).", authenticity=True))

        if leaf is None:
            self.add(skipped("snp.vcek.extensions", f"Not checked: no {leaf_name}.", authenticity=True))
        else:
            problem = self._extension_problem(report, leaf, product)
            if problem:
                self.add(failed("snp.vcek.extensions", f"The {leaf_name} does not match the report: {problem}.", authenticity=True))
            else:
                self.add(passed("snp.vcek.extensions", f"The {leaf_name}'s product, hwID and TCB extensions match the report.", authenticity=True))

    def _extension_problem(self, report: SnpReport, leaf: AmdCertificate, product: Product) -> str | None:
        try:
            ext = leaf.extensions()
        except VerifierError as e:
            return f"its AMD extensions are malformed ({e})"
        if ext.product_line is None:
            return "it has no productName extension (1.3.6.1.4.1.3704.1.2)"
        if product is Product.UNKNOWN or ext.product_line != product.value:
            return f"it is for {ext.product_line!r}, the report is from {product.value}"
        if leaf.role is Role.VCEK:
            if ext.csp_id is not None:
                return "a VCEK must not carry a cspID"
            if ext.hwid is None:
                return "it has no hwID extension (1.3.6.1.4.1.3704.1.4)"
            want = 8 if product is Product.TURIN else 64
            if len(ext.hwid) != want:
                return f"its hwID is {len(ext.hwid)} bytes, {product.value} uses {want}"
            if not any(report.chip_id):
                self.notes.append("CHIP_ID is masked (zero): the VCEK's hwID was not compared")
            elif ext.hwid != report.chip_id[:want] or any(report.chip_id[want:]):
                return f"hwID {ext.hwid.hex()[:16]}… is not CHIP_ID {report.chip_id.hex()[:16]}…"
        else:
            if ext.hwid is not None:
                return "a VLEK must not carry a hwID"
            if ext.csp_id is None:
                return "a VLEK must carry a cspID (1.3.6.1.4.1.3704.1.5)"
        reported = report.tcb("reported", product).components()
        spls = ext.spls()
        if product is Product.TURIN and ext.fmc is None:
            return "a Turin VCEK must carry fmcSPL (1.3.6.1.4.1.3704.1.3.9)"
        diffs = []
        for name, value in reported.items():
            got = spls.get(name)
            if got is None:
                return f"it has no {name} SPL extension"
            if got != value:
                diffs.append(f"{name} {got} vs REPORTED_TCB {value}")
        if diffs:
            return "TCB " + ", ".join(diffs)
        return None

    def _signature_check(self, raw: bytes, report: SnpReport, leaf: AmdCertificate | None) -> None:
        if leaf is None:
            self.add(skipped("snp.report.signature", "Not checked: no VCEK/VLEK to verify the report with.", authenticity=True))
            return
        key = leaf.cert.public_key()
        if not (isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP384R1)):
            self.add(failed("snp.report.signature", "The VCEK/VLEK key is not ECDSA P-384.", authenticity=True))
            return
        r, s = report.signature_rs
        try:
            key.verify(encode_dss_signature(r, s), raw[:SIGNED_SIZE], ec.ECDSA(hashes.SHA384()))
        except (InvalidSignature, ValueError):
            self.add(failed("snp.report.signature", f"The report's ECDSA P-384 signature does not verify under the {leaf.role.value}: the report was altered or signed by another chip.", authenticity=True))
            return
        self.add(passed("snp.report.signature", f"The report is signed by the {leaf.role.value} (ECDSA P-384, SHA-384).", authenticity=True))

    def _revocation_check(self, chain: Chain, leaf_role: Role | None, product: Product,
                          crl_blobs: Sequence[bytes]) -> None:
        mode = self.rules.revocation
        required = mode == "required"
        cid = "snp.revocation"
        if mode == "off":
            self.add(skipped(cid, "Revocation is not checked: the policy turns it off.", required=False))
            return
        mid, ark = chain.intermediate, chain.ark
        if mid is None or ark is None or leaf_role is None:
            self.add(skipped(cid, "Not checked: no ASK/ASVK and ARK to check against a CRL.", required=required))
            return
        try:
            crls = amd.load_crls([bytes(b) for b in crl_blobs])
        except VerifierError as e:
            self.add(failed(cid, f"A CRL given is unreadable: {e}."))
            return
        mine = [c for c in crls if c.issuer_der == ark.subject_der]
        key = "vcek" if leaf_role is Role.VCEK else "vlek"
        if not mine and self.kds is not None and product is not Product.UNKNOWN:
            try:
                mine = [c for c in amd.load_crls([self.kds.crl(product, key)])
                        if c.issuer_der == ark.subject_der]
                self.notes.append(f"{key} CRL fetched from AMD KDS for {product.value}")
            except VerifierError as e:
                self.notes.append(f"{key} CRL not fetched: {e}")
        if not mine:
            self.add(skipped(cid, f"No CRL issued by {ark.common_name!r} is available (AMD KDS /{key}/v1/{product.value}/crl), so revocation of the {mid.role.value} is unknown.", required=required))
            return
        stale: list[str] = []
        good: AmdCrl | None = None
        for crl in mine:
            problem = amd.crl_signature_problem(crl, ark)
            if problem:
                self.add(failed(cid, f"A CRL naming {ark.common_name!r} as issuer is not signed by it: {problem}."))
                return
            entry = crl.entry(mid.serial)
            if entry is not None:
                since = entry.revocation_date_utc.date().isoformat()
                self.add(failed(cid, f"The {mid.role.value} {mid.common_name!r} (serial 0x{mid.serial:x}) is revoked by the ARK's CRL (since {since}).", authenticity=True))
                return
            last, nxt = crl.crl.last_update_utc, crl.crl.next_update_utc
            if self.at < last or nxt is None or self.at > nxt:
                stale.append(f"valid {last.date().isoformat()}..{nxt.date().isoformat() if nxt else '?'}")
            elif good is None:
                good = crl
        if good is not None:
            number = _crl_number(good)
            self.add(passed(cid, f"The {mid.role.value} (serial 0x{mid.serial:x}) is not among the {len(good.crl)} serial(s) revoked by the ARK's CRL{number}, valid until {good.crl.next_update_utc.date().isoformat() if good.crl.next_update_utc else '?'}."))
            return
        detail = f"The ARK's CRL is not current at {self.at.isoformat()} ({'; '.join(stale)}): revocation of the {mid.role.value} is unknown."
        if required:
            self.add(failed(cid, detail))
        else:
            self.add(skipped(cid, detail, required=False))

    # -- policy ----------------------------------------------------------------------------------
    def _policy_checks(self, report: SnpReport, product: Product, leaf: AmdCertificate | None) -> None:
        r = self.rules
        names = ", ".join(sorted(p.value for p in r.products))
        if product in r.products:
            self.add(passed("snp.product", f"{product.value} is a product line the policy accepts."))
        else:
            self.add(failed("snp.product", f"{product.value} is not a product line the policy accepts ({names})."))

        key = report.signing_key
        if key is SigningKey.VCEK:
            if "vcek" in r.signing_keys:
                self.add(passed("snp.signing_key", "Signed by a VCEK (chip-unique key), which the policy accepts."))
            else:
                self.add(failed("snp.signing_key", "Signed by a VCEK, but the policy accepts only VLEKs."))
        elif key is SigningKey.VLEK:
            csp: str | None = None
            if leaf is not None:
                try:
                    csp = leaf.extensions().csp_id
                except VerifierError:
                    csp = None
            if "vlek" not in r.signing_keys:
                self.add(failed("snp.signing_key", f"Signed by a VLEK (cloud provider {csp!r}); the policy accepts only VCEKs (add \"vlek\" to signing_keys and the provider to vlek_csp_ids)."))
            elif csp is None or csp not in r.vlek_csp_ids:
                self.add(failed("snp.signing_key", f"Signed by a VLEK of cloud provider {csp!r}, which is not in the policy's vlek_csp_ids."))
            else:
                self.add(passed("snp.signing_key", f"Signed by a VLEK of {csp!r}, a cloud provider the policy accepts."))
        else:
            self.add(failed("snp.signing_key", "The report is not signed."))

        flags = report.policy_flags()
        self._flag("snp.policy.debug", bool(flags["debug"]), r.allow_debug, "DEBUG", "the hypervisor can read and write guest memory")
        self._flag("snp.policy.migrate_ma", bool(flags["migrate_ma"]), r.allow_migration_agent, "MIGRATE_MA", "a migration agent can export the guest")
        self._flag("snp.policy.smt", bool(flags["smt"]), r.allow_smt, "SMT", "sibling threads may run other tenants")
        self._required("snp.policy.single_socket", bool(flags["single_socket"]), r.require_single_socket, "SINGLE_SOCKET")
        self._flag("snp.policy.cxl", bool(flags["cxl_allow"]), r.allow_cxl, "CXL_ALLOW", "CXL memory may back the guest")
        self._required("snp.policy.aes_256_xts", bool(flags["mem_aes_256_xts"]), r.require_aes_256_xts, "MEM_AES_256_XTS")
        self._required("snp.policy.page_swap", bool(flags["page_swap_disable"]), r.require_page_swap_disable, "PAGE_SWAP_DISABLE")

        if report.vmpl in r.vmpl:
            self.add(passed("snp.vmpl", f"The report was requested at VMPL {report.vmpl}, which the policy allows."))
        else:
            vmpls = ", ".join(str(v) for v in sorted(r.vmpl))
            self.add(failed("snp.vmpl", f"The report was requested at VMPL {report.vmpl}; the policy allows only {vmpls} (a lower-privileged guest layer could have asked for it)."))

        pf = report.platform_flags()
        if report.version < 3:
            self.add(skipped("snp.platform.alias_check", "Report version 2 predates the ALIAS_CHECK_COMPLETE bit; the BadRAM mitigation cannot be seen.", required=False))
        elif pf["alias_check_complete"]:
            self.add(passed("snp.platform.alias_check", "PLATFORM_INFO says the memory alias check completed (BadRAM mitigation, AMD-SB-3015)."))
        elif r.require_alias_check:
            self.add(failed("snp.platform.alias_check", "PLATFORM_INFO does not have ALIAS_CHECK_COMPLETE: the platform may be open to BadRAM (AMD-SB-3015); update its firmware."))
        else:
            self.add(passed("snp.platform.alias_check", "ALIAS_CHECK_COMPLETE is not set; the policy does not require it."))
        if pf["smt_en"] and not r.allow_platform_smt:
            self.add(failed("snp.platform.smt", "SMT is enabled on the platform; the policy requires it off."))
        else:
            self.add(passed("snp.platform.smt", f"SMT is {'enabled' if pf['smt_en'] else 'disabled'} on the platform; the policy allows it."))
        if r.require_tsme and not pf["tsme_en"]:
            self.add(failed("snp.platform.tsme", "TSME is off on the platform; the policy requires it."))
        else:
            self.add(passed("snp.platform.tsme", f"TSME is {'on' if pf['tsme_en'] else 'off'}; the policy {'requires' if r.require_tsme else 'does not require'} it."))

        self._tcb_checks(report, product)

        if r.min_firmware is None:
            self.add(skipped("snp.firmware", "The policy sets no firmware minimum.", required=False))
        else:
            low = [f"{w} {_fw(report.firmware(w))}" for w in ("current", "committed") if report.firmware(w) < r.min_firmware]
            if low:
                self.add(failed("snp.firmware", f"SNP firmware below the policy's {_fw(r.min_firmware)}: {', '.join(low)}."))
            else:
                self.add(passed("snp.firmware", f"SNP firmware {_fw(report.firmware('current'))} (committed {_fw(report.firmware('committed'))}) is at least {_fw(r.min_firmware)}."))

        lists: tuple[tuple[str, bytes, frozenset[bytes] | None, str], ...] = (
            ("snp.measurement", report.measurement, r.measurements, "MEASUREMENT"),
            ("snp.host_data", report.host_data, r.host_data, "HOST_DATA"),
            ("snp.id_key", report.id_key_digest, r.id_key_digests, "ID_KEY_DIGEST"),
            ("snp.author_key", report.author_key_digest, r.author_key_digests, "AUTHOR_KEY_DIGEST"),
        )
        for cid, value, allowed, label in lists:
            if allowed is None:
                self.add(skipped(cid, f"The policy names no {label} values (a release statement may decide instead).", required=False))
            elif value in allowed:
                self.add(passed(cid, f"{label} {value.hex()[:16]}… is one the policy names."))
            else:
                self.add(failed(cid, f"{label} {value.hex()[:16]}… is not among the {len(allowed)} value(s) the policy names."))

    def _flag(self, cid: str, is_set: bool, allowed: bool, bit: str, risk: str) -> None:
        if is_set and not allowed:
            self.add(failed(cid, f"Guest policy has {bit} set ({risk}); the policy forbids it."))
        else:
            self.add(passed(cid, f"Guest policy {bit} is {'set' if is_set else 'clear'}; the policy {'allows' if allowed else 'requires'} {'it' if allowed else 'it clear'}."))

    def _required(self, cid: str, is_set: bool, required: bool, bit: str) -> None:
        if required and not is_set:
            self.add(failed(cid, f"Guest policy {bit} is clear; the policy requires it set."))
        else:
            self.add(passed(cid, f"Guest policy {bit} is {'set' if is_set else 'clear'}; the policy {'requires it' if required else 'does not require it'}."))

    def _tcb_checks(self, report: SnpReport, product: Product) -> None:
        r = self.rules
        cur, com = report.tcb("current", product), report.tcb("committed", product)
        if cur.raw == com.raw:
            self.add(passed("snp.tcb.committed", f"The committed TCB equals the current TCB ({_tcb_text(cur)})."))
        elif r.allow_provisional_firmware:
            self.add(passed("snp.tcb.committed", f"Provisional firmware: current TCB {_tcb_text(cur)} differs from committed {_tcb_text(com)}; the policy allows it."))
        else:
            self.add(failed("snp.tcb.committed", f"Provisional firmware: current TCB {_tcb_text(cur)} is not the committed TCB {_tcb_text(com)}; the host can roll back to the committed one."))
        minimum = r.min_tcb.get(product)
        if not minimum or not any(minimum.values()):
            self.add(skipped("snp.tcb.minimum", f"The policy sets no minimum TCB for {product.value}.", required=False))
            return
        low: list[str] = []
        for which in ("current", "reported", "committed", "launch"):
            comps = report.tcb(which, product).components()
            below = [f"{name} {comps[name]}" for name, floor in minimum.items()
                     if name in comps and comps[name] < floor]
            if below:
                low.append(f"{which} {', '.join(below)}")
        floor_text = ", ".join(f"{k} {v}" for k, v in minimum.items())
        if low:
            self.add(failed("snp.tcb.minimum", f"TCB below the policy's {product.value} minimum ({floor_text}): {'; '.join(low)}. Update the platform firmware."))
        else:
            self.add(passed("snp.tcb.minimum", f"Current, reported, committed and launch TCB are at least the {product.value} minimum ({floor_text})."))

    def _report_data_check(self, report: SnpReport, expected: bytes | None, hcl: azure_hcl.HclReport | None) -> None:
        cid = "snp.report_data"
        if hcl is not None and expected is None:
            self.add(skipped(cid, "An Azure vTPM guest cannot set REPORT_DATA (the paravisor does): this evidence can be authentic but not bound to a session."))
            return
        if expected is None:
            self.add(skipped(cid, "No expected REPORT_DATA (nonce) was given: freshness is unknown, so the report cannot be verified."))
            return
        if len(expected) != 64:
            self.add(failed(cid, f"The expected REPORT_DATA is {len(expected)} bytes; it must be 64."))
            return
        if hmac.compare_digest(report.report_data, expected):
            self.add(passed(cid, "REPORT_DATA equals the expected 64 bytes (fresh and bound)."))
        elif hcl is not None:
            self.add(failed(cid, "REPORT_DATA is not the expected value: an Azure vTPM guest cannot put a nonce there, so this evidence cannot be bound to a session."))
        else:
            self.add(failed(cid, f"REPORT_DATA {report.report_data.hex()[:32]}… is not the expected {expected.hex()[:32]}…: stale, replayed or bound to another key."))


def _tcb_text(tcb: TcbVersion) -> str:
    return "/".join(f"{k} {v}" for k, v in tcb.components().items())


def _crl_number(crl: AmdCrl) -> str:
    from cryptography import x509

    try:
        return f" #{crl.crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number}"
    except x509.ExtensionNotFound:
        return ""
