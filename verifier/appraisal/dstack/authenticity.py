"""The document's TD quote: it decodes (``dstack.parse``), and the TDX appraisal's ``tdx.*`` checks
(Intel's signatures, collateral, TCB, the ``[tdx]`` table, REPORTDATA), ids unchanged."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from verifier.appraisal.dstack import checks as ids
from verifier.appraisal.dstack.checks import Run
from verifier.appraisal.policy import Policy
from verifier.errors import ParseError
from verifier.evidence.dstack import DstackEvidence, quote_bytes
from verifier.result import failed, passed

if TYPE_CHECKING:
    from verifier.appraisal.tdx import TdxAppraisal
    from verifier.endorsements.fetch import CollateralFetcher
    from verifier.endorsements.intel_collateral import TdxCollateral


def parse(run: Run, evidence: DstackEvidence) -> bytes | None:
    """``dstack.parse``: the document's quote member decodes (hex)."""
    try:
        quote = quote_bytes(evidence.quote)
    except ParseError as e:
        run.add(failed(ids.PARSE, f"The {evidence.form} document's {e}.", authenticity=True, reason="quote"))
        return None
    run.add(passed(ids.PARSE, f"A dstack {evidence.form} document: a {len(quote)}-byte TD quote beside its event "
                              "log" + (" and app compose" if evidence.app_compose is not None else "")
                   + ".", authenticity=True))
    return quote


def td_quote(run: Run, quote: bytes, *, policy: Policy, at: dt.datetime, expected_report_data: bytes | None,
             collateral: TdxCollateral | None, fetcher: CollateralFetcher | None) -> TdxAppraisal:
    """The ``tdx.*`` checks of the TD quote, as :func:`appraise_tdx` emits them."""
    from verifier.appraisal.tdx import appraise_tdx

    tdx = appraise_tdx(quote, policy=policy, at=at, expected_report_data=expected_report_data,
                       collateral=collateral, fetcher=fetcher)
    run.extend(tdx.checks)
    return tdx
