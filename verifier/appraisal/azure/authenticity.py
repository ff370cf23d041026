"""The authenticity checks of an Azure vTPM appraisal: ``hcl.parse``, the hardware report (by the
SEV-SNP or TDX appraisal, with REPORT_DATA expected to be H(variable data) zero-padded to 64
bytes), ``hcl.ak`` (the attestation key of the runtime claims) and ``tpm.quote.signature``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from verifier.appraisal.azure import checks as ids
from verifier.appraisal.azure.checks import Run
from verifier.appraisal.policy import Policy
from verifier.errors import VerifierError
from verifier.evidence import azure_hcl, azure_tdx
from verifier.evidence.azure_hcl import RuntimeClaims
from verifier.evidence.tpm import QuoteInfo
from verifier.result import failed, passed, skipped

if TYPE_CHECKING:
    from verifier.appraisal.sev_snp import SnpAppraisal
    from verifier.appraisal.tdx import TdxAppraisal
    from verifier.endorsements.fetch import CollateralFetcher
    from verifier.endorsements.intel_collateral import TdxCollateral

REPORT_DATA_SIZE = 64


def expected_report_data(digest: bytes) -> bytes:
    """What the paravisor puts in REPORT_DATA: H(variable data) followed by zeros to 64 bytes."""
    return digest + bytes(REPORT_DATA_SIZE - len(digest))


def parse_snp_hcl(run: Run, data: bytes) -> azure_hcl.HclReport | None:
    """``hcl.parse`` for an HCL report around an SEV-SNP report."""
    try:
        hcl = azure_hcl.parse_hcl_report(data)
    except VerifierError as e:
        run.add(failed(ids.HCL_PARSE, f"The HCL report does not parse: {e}.", authenticity=True))
        return None
    run.add(passed(ids.HCL_PARSE, f"An HCL report version {hcl.version} ({len(data)} bytes) carrying an "
                   f"SEV-SNP report and {len(hcl.runtime_data)} bytes of variable data "
                   f"({hcl.hash_name.upper()}).", authenticity=True))
    return hcl


def parse_tdx_hcl(run: Run, data: bytes) -> azure_tdx.HclTdxEnvelope | None:
    """``hcl.parse`` for an HCL report around a TDREPORT."""
    try:
        env = azure_tdx.parse_hcl_tdx_strict(data)
    except VerifierError as e:
        run.add(failed(ids.HCL_PARSE, f"The HCL report does not parse: {e}.", authenticity=True))
        return None
    run.add(passed(ids.HCL_PARSE, f"An HCL report version {env.report.version} ({len(data)} bytes) "
                   f"carrying a TDREPORT and {len(env.report.runtime_data)} bytes of variable data "
                   f"({env.hash_name.upper()}).", authenticity=True))
    return env


def snp_hardware(run: Run, hcl: azure_hcl.HclReport, certificates: Sequence[bytes], *, policy: Policy,
                 at: dt.datetime, fetcher: CollateralFetcher | None,
                 crls: Sequence[bytes]) -> SnpAppraisal:
    """The ``snp.*`` checks of the SEV-SNP report inside, as :func:`appraise_snp` emits them."""
    from verifier.appraisal.sev_snp import appraise_snp

    snp = appraise_snp(hcl.snp_bytes, certificates, policy=policy, at=at,
                       expected_report_data=expected_report_data(hcl.runtime_data_digest()),
                       fetcher=fetcher, crls=crls)
    run.extend(snp.checks)
    return snp


def tdx_hardware(run: Run, td_quote: bytes, digest: bytes, *, policy: Policy, at: dt.datetime,
                 collateral: TdxCollateral | None, fetcher: CollateralFetcher | None) -> TdxAppraisal:
    """The ``tdx.*`` checks of the TD quote, as :func:`appraise_tdx` emits them."""
    from verifier.appraisal.tdx import appraise_tdx

    tdx = appraise_tdx(td_quote, policy=policy, at=at, expected_report_data=expected_report_data(digest),
                       collateral=collateral, fetcher=fetcher)
    run.extend(tdx.checks)
    return tdx


def attestation_key(run: Run, claims: RuntimeClaims | None, bound: bool) -> rsa.RSAPublicKey | None:
    """``hcl.ak``: ``HCLAkPub`` is an RSA signing key of at least ``min_ak_bits`` bits, in runtime
    claims that the hardware report binds."""
    cid = ids.HCL_AK
    if claims is None:
        run.add(skipped(cid, "No runtime claims to take the attestation key from.", authenticity=True))
        return None
    try:
        jwk = claims.rsa_key(azure_hcl.AK_KID)
        key = rsa.RSAPublicNumbers(jwk.e, jwk.n).public_key()
    except (VerifierError, ValueError) as e:
        run.add(failed(cid, f"The runtime claims hold no usable attestation key: {e}.", authenticity=True))
        return None
    if key.key_size < run.pol.min_ak_bits or jwk.e < 3 or jwk.e % 2 == 0:
        run.add(failed(cid, f"HCLAkPub is RSA-{key.key_size} with exponent {jwk.e}: the policy needs at least "
                       f"{run.pol.min_ak_bits} bits and an odd exponent.", authenticity=True))
        return None
    if jwk.key_ops and "sign" not in jwk.key_ops:
        run.add(failed(cid, f"HCLAkPub's key_ops {list(jwk.key_ops)} do not include 'sign'.", authenticity=True))
        return None
    if not bound:
        run.add(failed(cid, "HCLAkPub is in runtime claims the hardware report does not bind: it speaks for nobody.",
                       authenticity=True))
        return None
    run.add(passed(cid, f"HCLAkPub, an RSA-{key.key_size} signing key, is in the runtime claims the hardware "
                   "report binds.", authenticity=True))
    return key


def quote_signature(run: Run, ak: rsa.RSAPublicKey | None, info: QuoteInfo | None, signature: bytes) -> bool:
    """``tpm.quote.signature``: RSASSA-PKCS1-v1_5 with SHA-256 over the TPMS_ATTEST, by the AK."""
    cid = ids.TPM_QUOTE_SIGNATURE
    if ak is None or info is None:
        what = "attestation key" if ak is None else "parsed quote"
        run.add(skipped(cid, f"No {what}: the quote's signature cannot be checked.", authenticity=True))
        return False
    try:
        ak.verify(signature, info.raw, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        run.add(failed(cid, "The quote's signature does not verify with HCLAkPub (RSASSA-PKCS1-v1_5, SHA-256): "
                       "the quote was altered or made by another key.", authenticity=True))
        return False
    run.add(passed(cid, f"HCLAkPub signed the quote (RSASSA-PKCS1-v1_5, SHA-256, {len(signature)}-byte signature).",
                   authenticity=True))
    return True

