"""Appraise a dstack attestation (TDX): the TD quote, its event log replayed to RTMR0-3 with every
runtime event's payload bound, the app compose bound to MRCONFIGID and RTMR3, and the OS image by
the policy's reference values (kind ``dstack``).

The chain, in order (docs/dstack.md): ``dstack.parse``; the TD quote by the TDX appraisal
(``tdx.*``, ids unchanged: Intel's signatures, collateral and TCB, the ``[tdx]`` table, REPORTDATA
against the caller's expected value); ``dstack.event_log``, ``dstack.rtmr0``..``dstack.rtmr3``,
``dstack.event.payload``, ``dstack.mrconfigid``, ``dstack.compose``, ``dstack.compose.content``,
``dstack.compose.allowed``, ``dstack.os_image``.

Nothing here raises on hostile evidence; a bad ``[dstack]`` or ``[tdx]`` table raises
:class:`~verifier.errors.PolicyError`. The modules: :mod:`.rules` (``[dstack]``), :mod:`.checks`
(the catalogue), :mod:`.authenticity` (the quote), :mod:`.validate` (the bindings and reference
values), :mod:`.claims`, and :mod:`.files` (``evidence verify dstack``, not imported here).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from verifier.appraisal.dstack.checks import CATALOGUE, Run
from verifier.appraisal.dstack.rules import POLICY_KEYS, DstackPolicy, OsImage
from verifier.appraisal.policy import Policy
from verifier.result import Check, Checked, utc

if TYPE_CHECKING:
    from verifier.appraisal.tdx import TdxAppraisal
    from verifier.endorsements.fetch import CollateralFetcher
    from verifier.endorsements.intel_collateral import TdxCollateral
    from verifier.evidence.dstack import AppCompose, DstackEvidence
    from verifier.evidence.dstack_eventlog import EventLog

__all__ = ["CATALOGUE", "POLICY_KEYS", "DstackAppraisal", "DstackPolicy", "OsImage", "appraise_dstack"]


@dataclass(frozen=True)
class DstackAppraisal(Checked):
    """Checks in their fixed order and claims; the pieces as parsed (None where they did not)."""

    checks: tuple[Check, ...]
    claims: dict[str, object]
    tdx: TdxAppraisal | None = None
    event_log: EventLog | None = None
    app_compose: AppCompose | None = None
    """The app compose, only when it is the one the quote binds."""

    @property
    def collateral(self) -> TdxCollateral | None:
        return self.tdx.collateral if self.tdx is not None else None


def appraise_dstack(evidence: DstackEvidence, *, policy: Policy, at: dt.datetime,
                    expected_report_data: bytes | None, collateral: TdxCollateral | None = None,
                    fetcher: CollateralFetcher | None = None) -> DstackAppraisal:
    """Appraise one dstack attestation at ``at`` under ``policy``'s ``[dstack]`` and ``[tdx]`` tables.

    ``evidence``: the document's members as decoded (:func:`verifier.evidence.dstack.find_evidence`,
    or built by a provider from its own answer). ``expected_report_data`` (up to 64 bytes,
    zero-padded) is compared with the quote's REPORTDATA (``tdx.report_data``): the provider's
    binding of its keys and the client's nonce. ``collateral`` / ``fetcher``: as
    :func:`verifier.appraisal.tdx.appraise_tdx`.
    """
    from verifier.appraisal.dstack import authenticity, validate
    from verifier.appraisal.dstack.claims import compose_claims, document_claims, event_claims

    run = Run(DstackPolicy.from_policy(policy), utc(at))
    claims = document_claims(evidence)
    quote = authenticity.parse(run, evidence)
    if quote is None:
        return DstackAppraisal(run.checks, claims)
    tdx = authenticity.td_quote(run, quote, policy=policy, at=run.at, expected_report_data=expected_report_data,
                                collateral=collateral, fetcher=fetcher)
    claims["tdx"] = tdx.claims
    body = tdx.quote.body if tdx.quote is not None else None
    log = validate.event_log(run, evidence.event_log)
    if log is not None:
        claims.update(event_claims(log))
    validate.rtmrs(run, log, body)
    validate.payloads(run, log)
    bound_hash = validate.mrconfigid(run, log, body)
    raw = validate.compose(run, evidence.app_compose, log, bound_hash)
    app = validate.compose_content(run, raw, evidence.app_compose is not None)
    if app is not None:
        claims["app_compose"] = compose_claims(app)
    validate.compose_allowed(run, raw, log, bound_hash)
    validate.os_image(run, body, claims)
    return DstackAppraisal(run.checks, claims, tdx, log, app)
