"""Appraise an Azure confidential VM's evidence: the HCL report (hardware report + runtime claims)
and the vTPM's TPM2_Quote (kinds ``azure-snp-vtpm`` and ``azure-tdx-vtpm``).

The chain, in order (docs/azure.md): ``hcl.parse``; the hardware report by its own appraisal
(``snp.*``: the SEV-SNP report inside; ``tdx.*``: the TD quote beside it), with REPORT_DATA
expected to be H(variable data) zero-padded to 64 bytes; ``hcl.version``, ``hcl.variable_data``,
``hcl.binding``, ``hcl.td_report`` (TDX), ``hcl.runtime_claims``, ``hcl.user_data`` (the runtime
claims' ``user-data`` is the value a native session expects), ``hcl.ak`` (the attestation key
``HCLAkPub``); then ``tpm.quote.parse``, ``tpm.quote.signature`` (RSASSA-PKCS1-v1_5 SHA-256 with
the AK), ``tpm.nonce`` (``extraData`` = the nonce, exactly), ``tpm.pcr_digest`` and ``tpm.pcrs``.

Nothing here raises on hostile evidence; a bad ``[azure]``, ``[snp]`` or ``[tdx]`` table raises
:class:`~verifier.errors.PolicyError`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from verifier.appraisal.azure.checks import CATALOGUE, Run
from verifier.appraisal.azure.rules import POLICY_KEYS, AzurePolicy
from verifier.appraisal.policy import Policy
from verifier.result import Check, Checked, utc

if TYPE_CHECKING:
    from verifier.endorsements.fetch import CollateralFetcher
    from verifier.endorsements.intel_collateral import TdxCollateral

__all__ = ["CATALOGUE", "POLICY_KEYS", "AzureAppraisal", "AzurePolicy", "TpmQuote",
           "appraise_azure_snp", "appraise_azure_tdx"]


@dataclass(frozen=True)
class TpmQuote:
    """The vTPM's quote as the evidence carries it: TPMS_ATTEST bytes, signature, PCR values
    (indexed by PCR number, SHA-256 bank)."""

    message: bytes
    signature: bytes
    pcrs: tuple[bytes, ...]


@dataclass(frozen=True)
class AzureAppraisal(Checked):
    checks: tuple[Check, ...]
    claims: dict[str, object]
    collateral: TdxCollateral | None = None


def _tpm(run: Run, ak: object, quote: TpmQuote, nonce: bytes | None, claims: dict[str, object]) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    from verifier.appraisal.azure import authenticity, validate
    from verifier.appraisal.azure.claims import tpm_claims

    info = validate.quote_parse(run, quote.message)
    key = ak if isinstance(ak, rsa.RSAPublicKey) else None
    signed = authenticity.quote_signature(run, key, info, quote.signature)
    validate.nonce(run, info, nonce, signed)
    digest_ok = validate.pcr_values(run, info, quote.pcrs)
    selected = info.selected(0x000B) if info is not None else ()
    validate.pcr_policy(run, quote.pcrs, digest_ok and signed, selected)
    claims["tpm"] = tpm_claims(info, quote.pcrs)


def appraise_azure_snp(hcl_report: bytes, quote: TpmQuote, certificates: Sequence[bytes], *, policy: Policy,
                       at: dt.datetime, nonce: bytes | None, fetcher: CollateralFetcher | None = None,
                       crls: Sequence[bytes] = (), user_data: bytes | None = None) -> AzureAppraisal:
    """Appraise an HCL report around an SEV-SNP report, and the vTPM quote, at ``at``.

    ``certificates`` / ``crls`` / ``fetcher``: as :func:`verifier.appraisal.sev_snp.appraise_snp`.
    ``nonce``: the exact bytes the quote's ``extraData`` must hold (None: ``tpm.nonce`` is a
    required skip, never verified). ``user_data``: the exact bytes the runtime claims'
    ``user-data`` must hold (a native session's binding value; None: ``hcl.user_data`` is an
    optional skip).
    """
    from verifier.appraisal.azure import authenticity, validate
    from verifier.appraisal.azure.claims import hcl_claims

    run = Run(AzurePolicy.from_policy(policy), utc(at))
    claims: dict[str, object] = {}
    hcl = authenticity.parse_snp_hcl(run, hcl_report)
    if hcl is None:
        return AzureAppraisal(run.checks, claims)
    snp = authenticity.snp_hardware(run, hcl, certificates, policy=policy, at=run.at, fetcher=fetcher, crls=crls)
    claims["snp"] = snp.claims
    validate.hcl_version(run, hcl.version)
    rc = validate.variable_data(run, hcl.runtime_data)
    bound = validate.binding(run, hcl.snp.report_data, hcl.runtime_data_digest(), hcl.hash_name, "The SEV-SNP report's")
    validate.runtime_claims(run, rc)
    validate.user_data(run, rc, user_data)
    ak = authenticity.attestation_key(run, rc, bound)
    claims["hcl"] = hcl_claims(hcl.version, rc)
    _tpm(run, ak, quote, nonce, claims)
    return AzureAppraisal(run.checks, claims)


def appraise_azure_tdx(hcl_report: bytes, td_quote: bytes, quote: TpmQuote, *, policy: Policy, at: dt.datetime,
                       nonce: bytes | None, collateral: TdxCollateral | None = None,
                       fetcher: CollateralFetcher | None = None, user_data: bytes | None = None) -> AzureAppraisal:
    """Appraise an HCL report around a TDREPORT, the TD quote made from it and the vTPM quote.

    ``collateral`` / ``fetcher``: as :func:`verifier.appraisal.tdx.appraise_tdx`; ``nonce`` and
    ``user_data`` as for :func:`appraise_azure_snp`.
    """
    import hashlib

    from verifier.appraisal.azure import authenticity, validate
    from verifier.appraisal.azure.claims import hcl_claims

    run = Run(AzurePolicy.from_policy(policy), utc(at))
    claims: dict[str, object] = {}
    env = authenticity.parse_tdx_hcl(run, hcl_report)
    if env is None:
        return AzureAppraisal(run.checks, claims)
    report = env.report
    digest = hashlib.new(env.hash_name, report.runtime_data).digest()
    tdx = authenticity.tdx_hardware(run, td_quote, digest, policy=policy, at=run.at, collateral=collateral,
                                    fetcher=fetcher)
    claims["tdx"] = tdx.claims
    body = tdx.quote.body if tdx.quote is not None else None
    validate.hcl_version(run, report.version)
    rc = validate.variable_data(run, report.runtime_data)
    bound = validate.binding(run, body.report_data if body is not None else None, digest, env.hash_name,
                             "The TD quote's" if body is not None else "TD quote")
    validate.td_report(run, report.tdreport, body)
    validate.runtime_claims(run, rc)
    validate.user_data(run, rc, user_data)
    ak = authenticity.attestation_key(run, rc, bound)
    claims["hcl"] = hcl_claims(report.version, rc)
    _tpm(run, ak, quote, nonce, claims)
    return AzureAppraisal(run.checks, claims, tdx.collateral)
