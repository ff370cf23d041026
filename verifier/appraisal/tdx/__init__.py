"""Appraise an Intel TDX quote: authenticity, Intel's collateral and TCB status, then the policy.

:func:`appraise_tdx` never raises on hostile evidence or collateral: whatever is wrong becomes a
failing check (an unparseable quote is a failing ``tdx.parse``). It raises only
:class:`~verifier.errors.PolicyError` for a malformed ``[tdx]`` policy table. The check ids and
their order are stable and documented in ``docs/tdx.md`` (``A``: decides ``authentic``):

    tdx.parse (A), tdx.quote.trailing_bytes, tdx.quote.qe_vendor, tdx.pck.chain (A),
    tdx.pck.root_pinned (A), tdx.pck.extensions, tdx.pck.fmspc, tdx.qe.report_signature (A),
    tdx.qe.binding (A), tdx.quote.signature (A),
    tdx.collateral.root_crl, tdx.collateral.pck_crl, tdx.pck.revocation (A once decidable),
    tdx.collateral.tcb_info, tdx.collateral.qe_identity,
    tdx.td.debug, tdx.td.sept_ve_disable, tdx.td.migratable, tdx.td.service_td, tdx.td.attributes,
    tdx.td.attributes_fixed, tdx.td.xfam, tdx.td.xfam_fixed, tdx.td.seam_attributes,
    tdx.qe.identity, tdx.tcb.module, tdx.tcb.status (Intel's evaluation, ``intel_tcb``),
    tdx.tcb.minimum,
    tdx.td.mrseam, tdx.td.mrsignerseam, tdx.td.mrtd, tdx.td.rtmr0..3, tdx.td.mrconfigid, tdx.td.mrowner,
    tdx.td.mrownerconfig, tdx.td.mrservicetd, tdx.report_data

The ids are the constants of :mod:`~verifier.appraisal.tdx.checks` (``CATALOGUE`` in this order).
The modules, in go-sev-guest's split: :mod:`~verifier.appraisal.tdx.rules` (the ``[tdx]`` table),
:mod:`~verifier.appraisal.tdx.authenticity` (parse, PCK chain, signatures, collateral and
revocation), :mod:`~verifier.appraisal.tdx.validate` (trailing bytes, TD configuration, TCB,
measurements, REPORTDATA), :mod:`~verifier.appraisal.tdx.claims`, and
:mod:`~verifier.appraisal.tdx.files` (``evidence verify tdx``, not imported here).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from verifier.appraisal.policy import Policy
from verifier.appraisal.tdx.checks import CATALOGUE, Run
from verifier.appraisal.tdx.rules import (
    COLLATERAL_CHOICES,
    MEASUREMENTS,
    POLICY_KEYS,
    TRAILING_CHOICES,
    TdxPolicy,
)
from verifier.result import Check, Checked, utc

if TYPE_CHECKING:
    from verifier.appraisal.tdx.authenticity import not_a_quote_reason
    from verifier.appraisal.tdx.claims import pck_claims, quote_claims
    from verifier.endorsements.fetch import CollateralFetcher
    from verifier.endorsements.intel_collateral import TdxCollateral
    from verifier.evidence.tdx import TdxQuote

_LAZY = {"not_a_quote_reason": "verifier.appraisal.tdx.authenticity",
         "pck_claims": "verifier.appraisal.tdx.claims", "quote_claims": "verifier.appraisal.tdx.claims"}
"""Names imported when first used (PEP 562): a policy's ``[tdx]`` table is checked through
:mod:`.rules` without loading the appraisal (``evidence verify sev-snp`` starts faster)."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["CATALOGUE", "COLLATERAL_CHOICES", "MEASUREMENTS", "POLICY_KEYS", "TRAILING_CHOICES",
           "TdxAppraisal", "TdxPolicy", "appraise_tdx", "not_a_quote_reason", "pck_claims",
           "quote_claims"]


@dataclass(frozen=True)
class TdxAppraisal(Checked):
    """Checks in their fixed order, the parsed quote (``None`` when it did not parse), claims."""

    checks: tuple[Check, ...]
    quote: TdxQuote | None
    claims: dict[str, object]
    collateral: TdxCollateral | None = None
    """The collateral the appraisal used (given or fetched), for evidence digests."""


def appraise_tdx(quote: bytes, *, policy: Policy, at: dt.datetime, expected_report_data: bytes | None,
                 collateral: TdxCollateral | None = None,
                 fetcher: CollateralFetcher | None = None) -> TdxAppraisal:
    """Appraise raw quote bytes at time ``at`` under ``policy``'s ``[tdx]`` table.

    ``expected_report_data`` (up to 64 bytes, zero-padded to 64) is compared with REPORTDATA;
    ``None`` leaves ``tdx.report_data`` skipped (required unless the policy says otherwise).
    ``collateral`` is used as given; without it, ``fetcher`` (if any) fetches it from Intel PCS
    v4; without either, the collateral checks are skipped.
    """
    from verifier.appraisal.tdx import authenticity, validate
    from verifier.appraisal.tdx.claims import pck_claims, quote_claims

    pol = TdxPolicy.from_policy(policy)
    run = Run(pol, utc(at))
    claims: dict[str, object] = {}
    q = authenticity.parse(run, quote, claims)
    if q is None:
        return TdxAppraisal(run.checks, None, claims)
    claims.update(quote_claims(q))
    validate.trailing_bytes(run, q)
    validate.qe_vendor(run, q)
    chain, ext = authenticity.quote_authenticity(run, q)
    if ext is not None:
        claims.update(pck_claims(ext, chain))
    coll, problem = authenticity.obtain_collateral(collateral, fetcher, chain, ext)
    tcb_info, qe_identity = authenticity.collateral_checks(run, chain, ext, coll, problem)
    validate.td_config(run, q)
    validate.tcb(run, q, ext, tcb_info, qe_identity, claims)
    validate.tcb_minimum(run, q, ext)
    validate.measurements(run, q)
    validate.report_data(run, q, expected_report_data)
    return TdxAppraisal(run.checks, q, claims, coll)
