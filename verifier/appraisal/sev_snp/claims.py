"""What a user wants to see about an SEV-SNP report and its chain, JSON-able; never a verdict."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from verifier.endorsements.amd import AmdCertificate, Chain, Role
from verifier.errors import VerifierError
from verifier.evidence import azure_hcl
from verifier.evidence.sev_snp import Product, SnpReport


def fw_text(version: tuple[int, int, int]) -> str:
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
        "firmware": {"current": fw_text(report.firmware("current")),
                     "committed": fw_text(report.firmware("committed"))},
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


def cert_claims(cert: AmdCertificate) -> dict[str, object]:
    return {"subject": cert.common_name, "serial": cert.serial, "spki_sha256": cert.spki_sha256,
            "not_before": cert.cert.not_valid_before_utc.isoformat(),
            "not_after": cert.cert.not_valid_after_utc.isoformat()}


def appraisal_claims(report: SnpReport, product: Product, hcl: azure_hcl.HclReport | None,
                     chain: Chain, notes: Sequence[str]) -> dict[str, object]:
    """:func:`report_claims`, the certificates used, a VLEK's cloud provider, collateral notes."""
    claims = report_claims(report, product, hcl)
    for name, cert in (("leaf", chain.leaf), ("intermediate", chain.intermediate), ("ark", chain.ark)):
        if cert is not None:
            claims.setdefault("certificates", {})[name] = {"role": cert.role.value, **cert_claims(cert)}  # type: ignore[index]
    if chain.leaf is not None and chain.leaf.role is Role.VLEK:
        try:
            claims["csp_id"] = chain.leaf.extensions().csp_id
        except VerifierError:
            pass
    if notes:
        claims["collateral"] = list(notes)
    return claims
