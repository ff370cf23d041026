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
snp.policy.abi              no     guest policy ABI major.minor >= min_policy_abi
snp.vmpl                    no     VMPL in the allowed list
snp.guest_svn               no     GUEST_SVN >= min_guest_svn
snp.platform.alias_check    no     PLATFORM_INFO ALIAS_CHECK_COMPLETE (BadRAM, AMD-SB-3015)
snp.platform.smt            no     PLATFORM_INFO SMT_EN
snp.platform.tsme           no     PLATFORM_INFO TSME_EN
snp.platform.features       no     require_platform set, refuse_platform (default tio) clear
snp.platform.reserved       no     PLATFORM_INFO bits 8-63 clear
snp.tcb.committed           no     committed TCB and firmware == current (no provisional firmware)
snp.tcb.reported            no     REPORTED_TCB <= CURRENT_TCB
snp.tcb.minimum             no     current, reported, committed, launch TCB >= minimum
snp.firmware                no     current and committed firmware >= min_firmware
snp.mitigation.launch       no     LAUNCH_MIT_VECTOR has min_launch_mitigation_vector's bits
snp.mitigation.current      no     CURRENT_MIT_VECTOR has min_current_mitigation_vector's bits
snp.measurement             no     MEASUREMENT in the policy's allow-list, if it has one
snp.host_data               no     HOST_DATA in the policy's allow-list, if it has one
snp.family_id               no     FAMILY_ID in the policy's allow-list, if it has one
snp.image_id                no     IMAGE_ID in the policy's allow-list, if it has one
snp.report_id               no     REPORT_ID in the policy's allow-list, if it has one
snp.id_key                  no     ID_KEY_DIGEST in the policy's allow-list, if it has one
snp.author_key              no     AUTHOR_KEY_DIGEST in the policy's allow-list, if it has one
snp.id_block                no     require_id_block / require_author_key: a trusted ID or author key
snp.report_data             no     REPORT_DATA == the expected 64 bytes (freshness, binding)
snp.internal                yes    never passes: alone, for a verifier bug (the evidence is refused)
==========================  =====  ==========================================================

(1) ``snp.revocation`` counts towards ``authentic`` only when it finds the ASK/ASVK revoked.

The ids are the constants of :mod:`~verifier.appraisal.sev_snp.checks` (``CATALOGUE`` in this order).
The modules, in go-sev-guest's split: :mod:`~verifier.appraisal.sev_snp.rules` (the ``[snp]`` table),
:mod:`~verifier.appraisal.sev_snp.authenticity` (``snp.parse`` to ``snp.revocation``: chain,
signature, revocation, AMD KDS), :mod:`~verifier.appraisal.sev_snp.validate` (the policy checks),
:mod:`~verifier.appraisal.sev_snp.claims`, and :mod:`~verifier.appraisal.sev_snp.files` (``evidence
verify sev-snp``, not imported here).

Only ``snp.parse`` appears when the report does not parse. Checks that cannot run because an
input is missing are ``skip``. Nothing here raises on hostile evidence; a bad policy raises
:class:`verifier.errors.PolicyError`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from verifier.appraisal.checks import CheckCollector
from verifier.appraisal.policy import Policy
from verifier.appraisal.sev_snp import checks as ids
from verifier.appraisal.sev_snp import validate
from verifier.appraisal.sev_snp.authenticity import Authenticity, parse
from verifier.appraisal.sev_snp.checks import CATALOGUE
from verifier.appraisal.sev_snp.claims import appraisal_claims, report_claims
from verifier.appraisal.sev_snp.rules import (
    DEFAULT_MIN_TCB,
    POLICY_KEYS,
    PRODUCTS,
    REVOCATION_MODES,
    TCB_FIELDS,
    SnpPolicy,
    snp_policy,
)
from verifier.evidence.sev_snp import SnpReport
from verifier.result import Check, Checked, failed

if TYPE_CHECKING:
    from verifier.endorsements.fetch import CollateralFetcher

__all__ = ["CATALOGUE", "DEFAULT_MIN_TCB", "POLICY_KEYS", "PRODUCTS", "REVOCATION_MODES", "TCB_FIELDS",
           "SnpAppraisal", "SnpPolicy", "appraise_snp", "report_claims", "snp_policy"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SnpAppraisal(Checked):
    """The checks (fixed order, stable ids), the parsed report and its claims (JSON-able)."""

    checks: tuple[Check, ...]
    report: SnpReport | None
    claims: dict[str, object]


def appraise_snp(report: bytes, certificates: Sequence[bytes], *, policy: Policy, at: dt.datetime,
                 expected_report_data: bytes | None, fetcher: CollateralFetcher | None = None,
                 crls: Sequence[bytes] = (), vlek_crls: Sequence[bytes] = ()) -> SnpAppraisal:
    """Appraise ``report`` (1184 raw bytes, or an Azure HCL report) at time ``at``.

    ``certificates``: DER or PEM blobs (a PEM blob may hold several) in any order; the VCEK/VLEK,
    ASK/ASVK and ARK are told apart by role. Missing ones are fetched from AMD KDS through
    ``fetcher`` (which answers from its cache only when offline). ``crls``: DER or PEM CRLs from
    AMD's ``/vcek/v1/<product>/crl`` (the ASK's); ``vlek_crls``: from ``/vlek/v1/<product>/crl``
    (the ASVK's). The two cannot be told apart by content, so each counts only for its own chain.
    ``expected_report_data``: the exact 64 bytes REPORT_DATA must hold, or None (no binding: the
    check is a required ``skip``, so the result is never verified).
    """
    rules = snp_policy(policy)
    when = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    try:
        return _appraise(rules, when, fetcher, report, certificates, crls, expected_report_data, vlek_crls)
    except Exception as e:  # defence in depth: a bug must refuse, never crash the caller
        log.exception("SEV-SNP appraisal failed unexpectedly")
        return SnpAppraisal((failed(ids.INTERNAL, f"The verifier failed unexpectedly ({type(e).__name__}: {e}); the evidence is refused.", authenticity=True),), None, {})


def _appraise(rules: SnpPolicy, at: dt.datetime, fetcher: CollateralFetcher | None, data: bytes,
              blobs: Sequence[bytes], crl_blobs: Sequence[bytes], expected: bytes | None,
              vlek_crl_blobs: Sequence[bytes] = ()) -> SnpAppraisal:
    out = CheckCollector()
    parsed = parse(out, data)
    if parsed is None:
        return SnpAppraisal(out.checks, None, {})
    raw, report, hcl = parsed
    auth = Authenticity(rules, at, fetcher, out)
    chain, product = auth.run(raw, report, blobs, crl_blobs, vlek_crl_blobs)
    if hcl is not None:
        validate.hcl_runtime_data_check(out, hcl)
    validate.policy_checks(out, rules, report, product, chain.leaf)
    validate.report_data_check(out, report, expected, hcl)
    return SnpAppraisal(out.checks, report, appraisal_claims(report, product, hcl, chain, auth.notes))
