"""One face for every CPU platform a bundle may carry: appraise its report, and read the launch
measurement that release statements are compared with.

The registry (:mod:`verifier.kinds`) names, for each CPU kind, its function here; a provider
appraises ``bundle.cpu`` through :func:`appraise_cpu` without knowing which platform it is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from verifier import kinds
from verifier.appraisal.policy import Policy
from verifier.endorsements.fetch import CollateralFetcher
from verifier.errors import InputError
from verifier.result import Check, Checked


@dataclass(frozen=True)
class CpuAppraisal(Checked):
    """A CPU report's checks and claims, and its launch measurement when the report is authentic
    enough to read one (None: there is nothing to compare with a release)."""

    platform: str
    checks: tuple[Check, ...]
    claims: Mapping[str, Any] = field(default_factory=dict)
    measurement: bytes | None = None


def appraise_snp_cpu(report: bytes, certificates: Sequence[bytes], *, policy: Policy, at: dt.datetime,
                     expected_report_data: bytes | None, fetcher: CollateralFetcher | None) -> CpuAppraisal:
    from verifier.appraisal.sev_snp import appraise_snp

    snp = appraise_snp(report, certificates, policy=policy, at=at,
                       expected_report_data=expected_report_data, fetcher=fetcher)
    return CpuAppraisal("sev-snp", snp.checks, dict(snp.claims),
                        snp.report.measurement if snp.report is not None else None)


def appraise_tdx_cpu(report: bytes, certificates: Sequence[bytes], *, policy: Policy, at: dt.datetime,
                     expected_report_data: bytes | None, fetcher: CollateralFetcher | None) -> CpuAppraisal:
    """A TD quote carries its own PCK chain: ``certificates`` are not used."""
    from verifier.appraisal.tdx import appraise_tdx
    from verifier.reference.release import tdx_launch_measurement

    tdx = appraise_tdx(report, policy=policy, at=at, expected_report_data=expected_report_data,
                       fetcher=fetcher)
    measurement = None
    if tdx.quote is not None:
        body = tdx.quote.body
        measurement = tdx_launch_measurement(body.mrtd, body.rtmr0, body.rtmr1, body.rtmr2)
    return CpuAppraisal("tdx", tdx.checks, dict(tdx.claims), measurement)


def appraise_cpu(platform: str, report: bytes, certificates: Sequence[bytes], *, policy: Policy,
                 at: dt.datetime, expected_report_data: bytes | None,
                 fetcher: CollateralFetcher | None) -> CpuAppraisal:
    """Appraise a CPU report of the registered ``platform``."""
    kind = kinds.get_kind(platform)
    if kind.cpu is None:
        raise InputError(f"{platform!r} is not a CPU platform")
    appraisal: CpuAppraisal = kinds.callable_of(kind.cpu)(
        report, certificates, policy=policy, at=at, expected_report_data=expected_report_data,
        fetcher=fetcher)
    return appraisal
