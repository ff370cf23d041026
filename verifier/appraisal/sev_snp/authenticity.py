"""Is an SEV-SNP report authentic? Its certificate chain, its signature, revocation (go-sev-guest's ``verify``).

The VCEK/VLEK, ASK/ASVK and ARK are told apart by role, whatever order they come in; what is missing
is fetched from AMD KDS when a fetcher is given. The ARK must be the policy's pin for the report's
product line. Collateral notes (what was fetched, what was not) go to ``notes`` for the claims.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from verifier.appraisal.checks import CheckCollector
from verifier.appraisal.sev_snp import checks as ids
from verifier.appraisal.sev_snp.rules import PRODUCTS, SnpPolicy
from verifier.endorsements import amd
from verifier.endorsements.amd import AmdCertificate, AmdCrl, Chain, Role
from verifier.errors import VerifierError
from verifier.evidence import azure_hcl
from verifier.evidence.sev_snp import (
    REPORT_SIZE,
    SIGNED_SIZE,
    Product,
    SigningKey,
    SnpReport,
    parse_report,
)
from verifier.result import failed, passed, skipped

if TYPE_CHECKING:
    from verifier.endorsements.fetch import CollateralFetcher
    from verifier.endorsements.kds import KdsClient


def parse(out: CheckCollector, data: bytes) -> tuple[bytes, SnpReport, azure_hcl.HclReport | None] | None:
    """``snp.parse``: the signed report bytes, the report and the Azure HCL report around it, if any."""
    hcl: azure_hcl.HclReport | None = None
    in_hcl = azure_hcl.is_hcl_report(data)
    try:
        if in_hcl:
            hcl = azure_hcl.parse_hcl_report(data)
            raw, report = hcl.snp_bytes, hcl.snp
        else:
            raw = bytes(data)
            report = parse_report(raw)
    except VerifierError as e:
        out.add(failed(ids.PARSE, f"The SEV-SNP report does not parse: {e}.", authenticity=True,
                       reason=_parse_reason(e, len(data), in_hcl)))
        return None
    form = "An Azure HCL report carrying a" if hcl else "A"
    signer = "not signed" if report.signing_key is SigningKey.NONE else f"signed by a {report.signing_key.name}"
    out.add(passed(ids.PARSE, f"{form} version {report.version} SEV-SNP report, {signer} ({len(data)} bytes).", authenticity=True))
    return raw, report, hcl


_PARSE_REASONS = {
    "version": "version", "policy": "policy_reserved", "signature_algo": "signature_algo",
    "key_info": "key_info", "reserved": "reserved", "signature_r": "signature_padding",
    "signature_s": "signature_padding",
}
"""``snp.parse``'s ``reason`` by the field :func:`parse_report` refuses (docs/sev-snp.md)."""


def _parse_reason(e: VerifierError, size: int, hcl: bool) -> str:
    """``truncated`` / ``oversized`` (not 1184 bytes), the field's reason, else ``hcl`` or ``format``."""
    field = getattr(e, "field", None)
    if field == "report" and not hcl:
        return "truncated" if size < REPORT_SIZE else "oversized"
    return _PARSE_REASONS.get(field or "") or ("hcl" if hcl else "format")


class Authenticity:
    """The authenticity checks of one report, in order, into ``out``."""

    def __init__(self, rules: SnpPolicy, at: dt.datetime, fetcher: CollateralFetcher | None,
                 out: CheckCollector) -> None:
        self.rules = rules
        self.at = at
        self.kds: KdsClient | None = None
        if fetcher is not None:
            # imported here: it loads httpx, which only a fetching appraisal needs
            from verifier.endorsements.kds import KdsClient

            self.kds = KdsClient(fetcher)
        self.out = out
        self.notes: list[str] = []

    def run(self, raw: bytes, report: SnpReport, blobs: Sequence[bytes],
            crl_blobs: Sequence[bytes], vlek_crl_blobs: Sequence[bytes] = ()) -> tuple[Chain, Product]:
        """The chain checks, ``snp.report.signature``, ``snp.revocation``; the chain and product used."""
        certs, cert_problem = self._load_certs(blobs)
        leaf_role = {SigningKey.VCEK: Role.VCEK, SigningKey.VLEK: Role.VLEK}.get(report.signing_key)
        product = self._product(report, certs, leaf_role)
        chain = Chain(None, None, None)
        if leaf_role is not None:
            chain = amd.pick_chain(certs, leaf_role, report.chip_id)
            chain, product = self._fetch_missing(report, chain, certs, leaf_role, product)
        self._chain_checks(report, chain, leaf_role, product, cert_problem)
        self._signature_check(raw, report, chain.leaf)
        self._revocation_check(chain, leaf_role, product, crl_blobs, vlek_crl_blobs)
        return chain, product

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
        later = (ids.CHAIN_ARK_PINNED, ids.CHAIN_ASK, ids.CHAIN_VCEK, ids.CHAIN_VALIDITY, ids.VCEK_EXTENSIONS)
        if leaf_role is None:
            self.out.add(failed(ids.CHAIN_CERTIFICATES, "The report is not signed (SIGNING_KEY = none, MASK_CHIP_KEY): it cannot be authenticated.", authenticity=True, reason="unsigned"))
            for i in later:
                self.out.add(skipped(i, "Not checked: the report is not signed.", authenticity=True))
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
            self.out.add(failed(ids.CHAIN_CERTIFICATES, detail, authenticity=True, reason="missing"))
        elif cert_problem:
            self.out.add(failed(ids.CHAIN_CERTIFICATES, f"The chain is complete, but {cert_problem}: refusing ambiguous input.", authenticity=True, reason="unreadable"))
        else:
            assert chain.leaf and chain.intermediate and chain.ark
            self.out.add(passed(ids.CHAIN_CERTIFICATES, f"{leaf_name} {chain.leaf.common_name!r}, {mid_name} {chain.intermediate.common_name!r} and ARK {chain.ark.common_name!r} identified.", authenticity=True))

        # ARK pinned and self-signed
        ark = chain.ark
        if ark is None:
            self.out.add(skipped(ids.CHAIN_ARK_PINNED, "Not checked: no ARK.", authenticity=True))
        elif product is Product.UNKNOWN:
            self.out.add(failed(ids.CHAIN_ARK_PINNED, "The product line is unknown (no CPUID in the report, no productName in the VCEK), so no ARK pin applies.", authenticity=True))
        else:
            pins = self.rules.roots.get(product)
            if not pins:
                self.out.add(failed(ids.CHAIN_ARK_PINNED, f"The policy pins no ARK for {product.value}.", authenticity=True))
            elif ark.spki_sha256 not in pins:
                self.out.add(failed(ids.CHAIN_ARK_PINNED, f"The ARK's key (SPKI SHA-256 {ark.spki_sha256}) is not the pinned {product.value} root ({', '.join(sorted(pins))}): a look-alike root.", authenticity=True))
            else:
                problem = amd.certificate_signature_problem(ark, ark)
                if problem:
                    self.out.add(failed(ids.CHAIN_ARK_PINNED, f"The ARK's key is pinned, but its self-signature is bad: {problem}.", authenticity=True))
                else:
                    self.out.add(passed(ids.CHAIN_ARK_PINNED, f"ARK {ark.common_name!r} is the pinned {product.value} root (SPKI SHA-256 {ark.spki_sha256[:16]}…) and self-signed.", authenticity=True))

        mid = chain.intermediate
        if mid is None or ark is None:
            self.out.add(skipped(ids.CHAIN_ASK, f"Not checked: no {mid_name if mid is None else 'ARK'}.", authenticity=True))
        else:
            problem = amd.certificate_signature_problem(mid, ark)
            if problem is None and product is not Product.UNKNOWN and mid.product and mid.product != product.value:
                problem = f"{mid.common_name!r} is for {mid.product}, the report is {product.value}"
            if problem:
                self.out.add(failed(ids.CHAIN_ASK, f"The {mid_name} does not chain to the ARK: {problem}.", authenticity=True))
            else:
                self.out.add(passed(ids.CHAIN_ASK, f"{mid_name} {mid.common_name!r} (serial 0x{mid.serial:x}) is signed by the ARK with RSASSA-PSS SHA-384.", authenticity=True))

        leaf = chain.leaf
        if leaf is None or mid is None:
            self.out.add(skipped(ids.CHAIN_VCEK, f"Not checked: no {leaf_name if leaf is None else mid_name}.", authenticity=True))
        else:
            problem = amd.certificate_signature_problem(leaf, mid)
            key = leaf.cert.public_key()
            if problem is None and not (isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP384R1)):
                problem = f"the {leaf_name} key is not ECDSA P-384"
            if problem:
                self.out.add(failed(ids.CHAIN_VCEK, f"The {leaf_name} does not chain to the {mid_name}: {problem}.", authenticity=True))
            else:
                serial_note = " (serial 0, as all AMD VCEKs/VLEKs have)" if leaf.serial == 0 else f" (serial {leaf.serial})"
                self.out.add(passed(ids.CHAIN_VCEK, f"{leaf_name}{serial_note} is a P-384 key signed by the {mid_name}.", authenticity=True))

        present = [c for c in (leaf, mid, ark) if c is not None]
        if not present:
            self.out.add(skipped(ids.CHAIN_VALIDITY, "Not checked: no certificates.", authenticity=True))
        else:
            problems = [p for p in (amd.validity_problem(c, self.at) for c in present) if p]
            if problems:
                self.out.add(failed(ids.CHAIN_VALIDITY, f"At {self.at.isoformat()}: " + "; ".join(problems) + ".", authenticity=True))
            elif len(present) < 3:
                self.out.add(skipped(ids.CHAIN_VALIDITY, "Not checked: the chain is incomplete.", authenticity=True))
            else:
                first_end = min(c.cert.not_valid_after_utc for c in present)
                self.out.add(passed(ids.CHAIN_VALIDITY, f"Every certificate is valid at {self.at.isoformat()} (the first expires {first_end.date().isoformat()}).", authenticity=True))

        if leaf is None:
            self.out.add(skipped(ids.VCEK_EXTENSIONS, f"Not checked: no {leaf_name}.", authenticity=True))
        else:
            found = self._extension_problem(report, leaf, product)
            if found:
                reason, problem = found
                self.out.add(failed(ids.VCEK_EXTENSIONS, f"The {leaf_name} does not match the report: {problem}.", authenticity=True, reason=reason))
            else:
                self.out.add(passed(ids.VCEK_EXTENSIONS, f"The {leaf_name}'s product, hwID and TCB extensions match the report.", authenticity=True))

    def _extension_problem(self, report: SnpReport, leaf: AmdCertificate,
                           product: Product) -> tuple[str, str] | None:
        """(reason, problem) when the leaf's extensions do not match the report: ``malformed``,
        ``product``, ``hwid_missing``, ``hwid``, ``csp_id`` or ``tcb`` (docs/sev-snp.md)."""
        try:
            ext = leaf.extensions()
        except VerifierError as e:
            return "malformed", f"its AMD extensions are malformed ({e})"
        if ext.product_line is None:
            return "product", "it has no productName extension (1.3.6.1.4.1.3704.1.2)"
        if product is Product.UNKNOWN or ext.product_line != product.value:
            return "product", f"it is for {ext.product_line!r}, the report is from {product.value}"
        if leaf.role is Role.VCEK:
            if ext.csp_id is not None:
                return "csp_id", "a VCEK must not carry a cspID"
            if ext.hwid is None:
                return "hwid_missing", "it has no hwID extension (1.3.6.1.4.1.3704.1.4)"
            want = 8 if product is Product.TURIN else 64
            if len(ext.hwid) != want:
                return "hwid", f"its hwID is {len(ext.hwid)} bytes, {product.value} uses {want}"
            if not any(report.chip_id):
                self.notes.append("CHIP_ID is masked (zero): the VCEK's hwID was not compared")
            elif ext.hwid != report.chip_id[:want] or any(report.chip_id[want:]):
                return "hwid", f"hwID {ext.hwid.hex()[:16]}… is not CHIP_ID {report.chip_id.hex()[:16]}…"
        else:
            if ext.hwid is not None:
                return "hwid", "a VLEK must not carry a hwID"
            if ext.csp_id is None:
                return "csp_id", "a VLEK must carry a cspID (1.3.6.1.4.1.3704.1.5)"
        reported = report.tcb("reported", product).components()
        spls = ext.spls()
        if product is Product.TURIN and ext.fmc is None:
            return "tcb", "a Turin VCEK must carry fmcSPL (1.3.6.1.4.1.3704.1.3.9)"
        diffs = []
        for name, value in reported.items():
            got = spls.get(name)
            if got is None:
                return "tcb", f"it has no {name} SPL extension"
            if got != value:
                diffs.append(f"{name} {got} vs REPORTED_TCB {value}")
        # The reserved TCB bytes and the VCEK's spl_4..spl_7 (go-sev-guest compares the whole
        # TCB_VERSION): Milan/Genoa bytes 2-5 are spl_4..spl_7; Turin bytes 4-6 are spl_5..spl_7
        # and it has no spl_4. An absent extension stands for 0.
        raw = report.reported_tcb_raw.to_bytes(8, "little")
        places = {5: 4, 6: 5, 7: 6} if product is Product.TURIN else {4: 2, 5: 3, 6: 4, 7: 5}
        for n in (4, 5, 6, 7):
            got = ext.reserved_spls.get(n) or 0
            want = raw[places[n]] if n in places else 0
            if got != want:
                where = f"REPORTED_TCB byte {places[n]}" if n in places else f"{product.value}, which has no spl_4"
                diffs.append(f"spl_{n} {got} vs {where} {want}")
        if diffs:
            return "tcb", "TCB " + ", ".join(diffs)
        return None

    def _signature_check(self, raw: bytes, report: SnpReport, leaf: AmdCertificate | None) -> None:
        if leaf is None:
            self.out.add(skipped(ids.REPORT_SIGNATURE, "Not checked: no VCEK/VLEK to verify the report with.", authenticity=True))
            return
        key = leaf.cert.public_key()
        if not (isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP384R1)):
            self.out.add(failed(ids.REPORT_SIGNATURE, "The VCEK/VLEK key is not ECDSA P-384.", authenticity=True))
            return
        r, s = report.signature_rs
        try:
            key.verify(encode_dss_signature(r, s), raw[:SIGNED_SIZE], ec.ECDSA(hashes.SHA384()))
        except (InvalidSignature, ValueError):
            self.out.add(failed(ids.REPORT_SIGNATURE, f"The report's ECDSA P-384 signature does not verify under the {leaf.role.value}: the report was altered or signed by another chip.", authenticity=True))
            return
        self.out.add(passed(ids.REPORT_SIGNATURE, f"The report is signed by the {leaf.role.value} (ECDSA P-384, SHA-384).", authenticity=True))

    def _revocation_check(self, chain: Chain, leaf_role: Role | None, product: Product,
                          crl_blobs: Sequence[bytes], vlek_crl_blobs: Sequence[bytes] = ()) -> None:
        """The ASK's CRL is AMD's ``/vcek/v1/<product>/crl`` (``crl_blobs``), the ASVK's
        ``/vlek/v1/<product>/crl`` (``vlek_crl_blobs``, or fetched from there). Both are ARK-signed
        and carry no distribution point, so their bytes cannot tell them apart: only where a CRL
        came from says which it is. The other one can still refuse (a serial it lists is revoked),
        never pass."""
        mode = self.rules.revocation
        required = mode == "required"
        cid = ids.REVOCATION
        if mode == "off":
            self.out.add(skipped(cid, "Revocation is not checked: the policy turns it off.", required=False))
            return
        mid, ark = chain.intermediate, chain.ark
        if mid is None or ark is None or leaf_role is None:
            self.out.add(skipped(cid, "Not checked: no ASK/ASVK and ARK to check against a CRL.", required=required))
            return
        try:
            vcek_crls = amd.load_crls([bytes(b) for b in crl_blobs])
            vlek_crls = amd.load_crls([bytes(b) for b in vlek_crl_blobs])
        except VerifierError as e:
            self.out.add(failed(cid, f"A CRL given is unreadable: {e}."))
            return
        key = "vcek" if leaf_role is Role.VCEK else "vlek"
        other_key = "vlek" if key == "vcek" else "vcek"
        mine = [c for c in (vcek_crls if key == "vcek" else vlek_crls) if c.issuer_der == ark.subject_der]
        others = [c for c in (vlek_crls if key == "vcek" else vcek_crls) if c.issuer_der == ark.subject_der]
        for crl in others:
            entry = crl.entry(mid.serial)
            if entry is not None and amd.crl_signature_problem(crl, ark) is None:
                since = entry.revocation_date_utc.date().isoformat()
                self.out.add(failed(cid, f"The {mid.role.value} {mid.common_name!r} (serial 0x{mid.serial:x}) is revoked by the ARK's /{other_key} CRL (since {since}).", authenticity=True))
                return
        if not mine and self.kds is not None and product is not Product.UNKNOWN:
            try:
                mine = [c for c in amd.load_crls([self.kds.crl(product, key)])
                        if c.issuer_der == ark.subject_der]
                self.notes.append(f"{key} CRL fetched from AMD KDS for {product.value}")
            except VerifierError as e:
                self.notes.append(f"{key} CRL not fetched: {e}")
        if not mine:
            also = (f" The CRL given is AMD's /{other_key}/v1/{product.value}/crl, which does not cover the {mid.role.value}."
                    if others else "")
            self.out.add(skipped(cid, f"No CRL issued by {ark.common_name!r} from the {mid.role.value}'s distribution point (AMD KDS /{key}/v1/{product.value}/crl) is available, so revocation of the {mid.role.value} is unknown.{also}", required=required))
            return
        stale: list[str] = []
        good: AmdCrl | None = None
        for crl in mine:
            problem = amd.crl_signature_problem(crl, ark)
            if problem:
                self.out.add(failed(cid, f"A CRL naming {ark.common_name!r} as issuer is not signed by it: {problem}."))
                return
            entry = crl.entry(mid.serial)
            if entry is not None:
                since = entry.revocation_date_utc.date().isoformat()
                self.out.add(failed(cid, f"The {mid.role.value} {mid.common_name!r} (serial 0x{mid.serial:x}) is revoked by the ARK's CRL (since {since}).", authenticity=True))
                return
            last, nxt = crl.crl.last_update_utc, crl.crl.next_update_utc
            if self.at < last or nxt is None or self.at > nxt:
                stale.append(f"valid {last.date().isoformat()}..{nxt.date().isoformat() if nxt else '?'}")
            elif good is None:
                good = crl
        if good is not None:
            number = _crl_number(good)
            self.out.add(passed(cid, f"The {mid.role.value} (serial 0x{mid.serial:x}) is not among the {len(good.crl)} serial(s) revoked by the ARK's CRL{number}, valid until {good.crl.next_update_utc.date().isoformat() if good.crl.next_update_utc else '?'}."))
            return
        detail = f"The ARK's CRL is not current at {self.at.isoformat()} ({'; '.join(stale)}): revocation of the {mid.role.value} is unknown."
        if required:
            self.out.add(failed(cid, detail))
        else:
            self.out.add(skipped(cid, detail, required=False))


def _crl_number(crl: AmdCrl) -> str:
    from cryptography import x509

    try:
        return f" #{crl.crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number}"
    except x509.ExtensionNotFound:
        return ""
