"""One face for every CPU platform a bundle may carry: appraise its report, and read the launch
measurement that release statements are compared with.

The registry (:mod:`verifier.kinds`) names, for each CPU kind, its function here; a provider
appraises ``bundle.cpu`` through :func:`appraise_cpu` without knowing which platform it is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from verifier import kinds
from verifier.appraisal.azure import TpmQuote
from verifier.appraisal.policy import Policy
from verifier.endorsements.fetch import CollateralFetcher
from verifier.errors import InputError
from verifier.result import Check, Checked

if TYPE_CHECKING:
    from verifier.endorsements.intel_collateral import TdxCollateral


@dataclass(frozen=True)
class CpuAppraisal(Checked):
    """A CPU report's checks and claims, and its launch measurement when the report is authentic
    enough to read one (None: there is nothing to compare with a release)."""

    platform: str
    checks: tuple[Check, ...]
    claims: Mapping[str, Any] = field(default_factory=dict)
    measurement: bytes | None = None


@dataclass(frozen=True)
class VtpmEvidence:
    """What an Azure CVM's bundle carries beside its HCL report (``cpu.report``): the vTPM's quote
    and, on TDX, the TD quote made from the HCL report's TDREPORT."""

    quote: TpmQuote
    td_quote: bytes | None = None


def appraise_snp_cpu(report: bytes, certificates: Sequence[bytes], *, policy: Policy, at: dt.datetime,
                     expected_report_data: bytes | None, fetcher: CollateralFetcher | None) -> CpuAppraisal:
    from verifier.appraisal.sev_snp import appraise_snp

    snp = appraise_snp(report, certificates, policy=policy, at=at,
                       expected_report_data=expected_report_data, fetcher=fetcher)
    return CpuAppraisal("sev-snp", snp.checks, dict(snp.claims),
                        snp.report.measurement if snp.report is not None else None)


def bundle_collateral(policy: Policy, collateral: TdxCollateral | None) -> TdxCollateral | None:
    """The collateral a bundle carries (``cpu.collateral.tdx``) when the policy's ``[tdx]
    collateral_from_bundle`` lets the appraisal use it; None: fetch it (or skip without a fetcher)."""
    from verifier.appraisal.tdx.rules import TdxPolicy

    return collateral if collateral is not None and TdxPolicy.from_policy(policy).collateral_from_bundle else None


def appraise_tdx_cpu(report: bytes, certificates: Sequence[bytes], *, policy: Policy, at: dt.datetime,
                     expected_report_data: bytes | None, fetcher: CollateralFetcher | None,
                     collateral: TdxCollateral | None = None) -> CpuAppraisal:
    """A TD quote carries its own PCK chain: ``certificates`` are not used. ``collateral``: what
    the bundle carries, used as :func:`bundle_collateral` says."""
    from verifier.appraisal.tdx import appraise_tdx
    from verifier.reference.release import tdx_launch_measurement

    tdx = appraise_tdx(report, policy=policy, at=at, expected_report_data=expected_report_data,
                       collateral=bundle_collateral(policy, collateral), fetcher=fetcher)
    measurement = None
    if tdx.quote is not None:
        body = tdx.quote.body
        measurement = tdx_launch_measurement(body.mrtd, body.rtmr0, body.rtmr1, body.rtmr2)
    return CpuAppraisal("tdx", tdx.checks, dict(tdx.claims), measurement)


def _no_vtpm(platform: str, report: bytes) -> CpuAppraisal:
    from verifier.appraisal.azure import checks as ids
    from verifier.result import failed

    return CpuAppraisal(platform, (failed(ids.TPM_QUOTE_PARSE, "The evidence carries no vTPM quote: an Azure CVM's "
                                          "HCL report alone is bound to no session.", authenticity=True),))


def appraise_azure_snp_cpu(report: bytes, certificates: Sequence[bytes], *, policy: Policy, at: dt.datetime,
                           expected_report_data: bytes | None, fetcher: CollateralFetcher | None,
                           vtpm: VtpmEvidence | None = None) -> CpuAppraisal:
    """An Azure SEV-SNP CVM: ``report`` is the HCL report, ``certificates`` the VCEK chain; the
    launch measurement is the SEV-SNP MEASUREMENT inside (on a real CVM: the paravisor's).

    The guest cannot choose REPORT_DATA (the paravisor puts the hash of its runtime claims
    there): ``expected_report_data``, the binding value, must be both the runtime claims'
    ``user-data`` and the vTPM quote's qualifying data, exactly (docs/protocol.md)."""
    from verifier.appraisal.azure import appraise_azure_snp
    from verifier.errors import VerifierError
    from verifier.evidence.azure_hcl import parse_hcl_report

    if vtpm is None:
        return _no_vtpm("azure-snp-vtpm", report)
    azure = appraise_azure_snp(report, vtpm.quote, certificates, policy=policy, at=at, fetcher=fetcher,
                               nonce=expected_report_data, user_data=expected_report_data)
    try:
        measurement: bytes | None = parse_hcl_report(report).snp.measurement
    except VerifierError:
        measurement = None
    return CpuAppraisal("azure-snp-vtpm", azure.checks, dict(azure.claims), measurement)


def appraise_azure_tdx_cpu(report: bytes, certificates: Sequence[bytes], *, policy: Policy, at: dt.datetime,
                           expected_report_data: bytes | None, fetcher: CollateralFetcher | None,
                           vtpm: VtpmEvidence | None = None,
                           collateral: TdxCollateral | None = None) -> CpuAppraisal:
    """An Azure TDX CVM: ``report`` is the HCL report, the TD quote (with its own PCK chain:
    ``certificates`` are not used) rides in ``vtpm``; the launch measurement is the TD quote's
    MRTD || RTMR0 || RTMR1 || RTMR2. The binding as for :func:`appraise_azure_snp_cpu`;
    ``collateral`` as for :func:`appraise_tdx_cpu`."""
    from verifier.appraisal.azure import appraise_azure_tdx
    from verifier.errors import VerifierError
    from verifier.evidence.tdx import parse_quote
    from verifier.reference.release import tdx_launch_measurement

    if vtpm is None or vtpm.td_quote is None:
        return _no_vtpm("azure-tdx-vtpm", report)
    azure = appraise_azure_tdx(report, vtpm.td_quote, vtpm.quote, policy=policy, at=at, fetcher=fetcher,
                               collateral=bundle_collateral(policy, collateral), nonce=expected_report_data,
                               user_data=expected_report_data)
    measurement = None
    try:
        body = parse_quote(vtpm.td_quote).body
    except VerifierError:
        pass
    else:
        measurement = tdx_launch_measurement(body.mrtd, body.rtmr0, body.rtmr1, body.rtmr2)
    return CpuAppraisal("azure-tdx-vtpm", azure.checks, dict(azure.claims), measurement)


def appraise_cpu(platform: str, report: bytes, certificates: Sequence[bytes], *, policy: Policy,
                 at: dt.datetime, expected_report_data: bytes | None,
                 fetcher: CollateralFetcher | None, vtpm: VtpmEvidence | None = None,
                 collateral: TdxCollateral | None = None) -> CpuAppraisal:
    """Appraise a CPU report of the registered ``platform`` (``vtpm``: an Azure CVM's vTPM
    evidence; ``collateral``: the TDX collateral the bundle carries; each handed only to the
    platforms that read it)."""
    kind = kinds.get_kind(platform)
    if kind.cpu is None:
        raise InputError(f"{platform!r} is not a CPU platform")
    extra: dict[str, Any] = {"vtpm": vtpm} if vtpm is not None else {}
    if collateral is not None:
        extra["collateral"] = collateral
    appraisal: CpuAppraisal = kinds.callable_of(kind.cpu)(
        report, certificates, policy=policy, at=at, expected_report_data=expected_report_data,
        fetcher=fetcher, **extra)
    return appraisal
