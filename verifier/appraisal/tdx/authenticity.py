"""Is a TDX quote authentic, and is Intel's collateral for it? (go-sev-guest's ``verify``, for TDX.)

The PCK chain to the pinned root, the QE report's signature and its binding of the attestation key,
the quote's signature (QVL 4.1.2.4.x); then the collateral, given or fetched from Intel PCS v4: the
two CRLs, revocation of the PCK certificate and its CA, the signed TCB info and QE identity.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from verifier.appraisal.checks import expect_one_of
from verifier.appraisal.tdx import checks as ids
from verifier.appraisal.tdx.checks import Run
from verifier.endorsements.intel_collateral import (
    CollateralInvalid,
    QeIdentity,
    TcbInfo,
    TdxCollateral,
    check_window,
    is_revoked,
    load_crl,
    parse_qe_identity,
    parse_tcb_info,
    raw_ecdsa_verify,
    split_signed_body,
    verify_crl,
    verify_signed_body,
)
from verifier.endorsements.intel_pck import (
    CERT_DECODE_ERRORS,
    ChainError,
    PckChain,
    PckExtensions,
    load_pck_chain,
    pck_extensions,
    root_pinned,
    verify_pck_chain,
)
from verifier.errors import CollateralError, ParseError
from verifier.evidence import azure_tdx
from verifier.evidence.tdx import TdxQuote, parse_quote
from verifier.result import failed, iso, passed, skipped

if TYPE_CHECKING:
    from verifier.endorsements.fetch import CollateralFetcher


TCB_TYPE_SVN_COMPONENTS = 0
"""The only ``tcbType`` Intel PCS API v4 defines: TCB levels are compared SVN component by component
(go-tdx-guest and Open Enclave refuse any other; dcap-qvl 0.7 ignores the field)."""


def not_a_quote_reason(data: bytes) -> str | None:
    """A sentence for evidence that is recognisably something other than a quote."""
    if azure_tdx.is_hcl_report(data):
        return ("this is an Azure HCL report around a TDREPORT, not a TDX quote: a TDREPORT is "
                "protected by a MAC that only the same CPU can check, so it can never be authentic "
                "here; ask the service for the TD quote (Azure's /acc/tdquote endpoint)")
    if len(data) == azure_tdx.TDREPORT_SIZE:
        return ("this is 1024 bytes, the size of a raw TDREPORT, not a TDX quote: a TDREPORT is "
                "MAC-protected only and can never be authentic here")
    return None


def parse(run: Run, quote: bytes, claims: dict[str, object]) -> TdxQuote | None:
    """``tdx.parse``; for evidence that is not a quote, says what it is instead."""
    try:
        q = parse_quote(quote)
    except ParseError as e:
        reason = not_a_quote_reason(quote)
        detail = reason or f"the evidence is not a TDX quote this verifier accepts: {e}"
        claims["evidence_kind"] = "azure-hcl-tdreport" if azure_tdx.is_hcl_report(quote) else "unknown"
        run.add(failed(ids.PARSE, detail, authenticity=True, reason=e.reason or "format"))
        return None
    run.add(passed(ids.PARSE, f"a TDX quote, version {q.version}, TDX {q.tdx_version} body, "
                              f"{len(q.raw)} bytes", authenticity=True))
    return q


def quote_authenticity(run: Run, q: TdxQuote) -> tuple[PckChain | None, PckExtensions | None]:
    chain: PckChain | None = None
    try:
        chain = load_pck_chain(q.pck_chain_pem)
    except ParseError as e:
        run.add(failed(ids.PCK_CHAIN, f"the quote's PCK certificate chain is unusable: {e}", authenticity=True,
                       reason=e.reason or "format"))
    if chain is not None:
        try:
            verify_pck_chain(chain, run.at)
            run.chain_ok = True
            run.add(passed(ids.PCK_CHAIN, f"PCK leaf <- {chain.ca} CA <- root: names, signatures and "
                                            f"validity hold at {iso(run.at)}", authenticity=True))
        except ChainError as e:
            run.add(failed(ids.PCK_CHAIN, f"the PCK chain does not hold: {e}", authenticity=True, reason=e.reason))
        if root_pinned(chain.root, run.pol.root_pins):
            run.add(passed(ids.PCK_ROOT_PINNED, f"the chain's root key is pinned ({run.pol.roots_name} roots)",
                           authenticity=True))
        else:
            run.add(failed(ids.PCK_ROOT_PINNED, "the chain's root key is not the pinned Intel SGX Root CA "
                                                  "(a root that only carries Intel's names is not Intel's)",
                           authenticity=True))
    else:
        run.add(failed(ids.PCK_ROOT_PINNED, "no root certificate to compare with the pin", authenticity=True))

    ext: PckExtensions | None = None
    if chain is not None:
        try:
            ext = pck_extensions(chain.leaf)
            run.add(passed(ids.PCK_EXTENSIONS, f"FMSPC {ext.fmspc.hex()}, PCE-ID {ext.pce_id.hex()}, "
                                                 f"PCESVN {ext.pcesvn}"))
        except ParseError as e:
            run.add(failed(ids.PCK_EXTENSIONS, f"the PCK certificate's SGX extension is unusable: {e}"))
    else:
        run.add(failed(ids.PCK_EXTENSIONS, "no PCK certificate to read the SGX extension from"))
    run.add(expect_one_of(ids.PCK_FMSPC, "FMSPC", ext.fmspc if ext is not None else None,
                          run.pol.fmspc or None, show=bytes.hex,
                          unset="the policy sets no expected {name} (found {value}): any platform",
                          fails="the PCK certificate's {name} {value} is not one of the {count} the policy "
                                "accepts: the chain is valid, but for another platform"))

    # QE report signed by the PCK leaf (QVL 4.1.2.4.12)
    try:
        leaf_key = chain.leaf.public_key() if chain is not None else None
    except CERT_DECODE_ERRORS:
        leaf_key = None
    if isinstance(leaf_key, ec.EllipticCurvePublicKey) and isinstance(leaf_key.curve, ec.SECP256R1):
        if raw_ecdsa_verify(leaf_key, q.qe_report_signature, q.qe_report.raw):
            run.add(passed(ids.QE_REPORT_SIGNATURE, "the QE report's signature verifies with the PCK key",
                           authenticity=True))
        else:
            run.add(failed(ids.QE_REPORT_SIGNATURE, "the QE report's signature does not verify with the "
                                                      "PCK certificate's key", authenticity=True))
    else:
        run.add(failed(ids.QE_REPORT_SIGNATURE, "no P-256 PCK key to verify the QE report with",
                       authenticity=True))

    # QE REPORTDATA binds the attestation key (QVL 4.1.2.4.13)
    want = hashlib.sha256(q.attestation_key + q.qe_auth_data).digest() + bytes(32)
    if hmac.compare_digest(want, q.qe_report.report_data):
        run.add(passed(ids.QE_BINDING, "QE REPORTDATA = SHA-256(attestation key || QE auth data) || 0^32",
                       authenticity=True))
    else:
        run.add(failed(ids.QE_BINDING, "QE REPORTDATA is not SHA-256(attestation key || QE auth data) "
                                         "|| 0^32: the attestation key is not the one the QE vouched for",
                       authenticity=True))

    # quote signature by the attestation key (QVL 4.1.2.4.16)
    try:
        key = ec.EllipticCurvePublicNumbers(int.from_bytes(q.attestation_key[:32], "big"),
                                            int.from_bytes(q.attestation_key[32:], "big"),
                                            ec.SECP256R1()).public_key()
    except ValueError:
        run.add(failed(ids.QUOTE_SIGNATURE, "the attestation key is not a point on P-256", authenticity=True))
    else:
        if raw_ecdsa_verify(key, q.signature, q.signed):
            run.add(passed(ids.QUOTE_SIGNATURE, "the quote's header and body verify with the attestation key",
                           authenticity=True))
        else:
            run.add(failed(ids.QUOTE_SIGNATURE, "the quote's signature over its header and body does not "
                                                  "verify with the attestation key", authenticity=True))
    return chain, ext


def obtain_collateral(collateral: TdxCollateral | None, fetcher: CollateralFetcher | None,
                      chain: PckChain | None, ext: PckExtensions | None) -> tuple[TdxCollateral | None, str | None]:
    """The collateral given, else fetched from Intel PCS for the PCK certificate's platform; or why none."""
    coll, problem = collateral, None
    if coll is None and fetcher is not None and ext is not None and chain is not None:
        # imported here: it loads httpx, which only a fetching appraisal needs
        from verifier.endorsements.intel_pcs import fetch_collateral

        try:
            coll = fetch_collateral(fetcher, ext.fmspc.hex(), chain.ca)
        except (CollateralError, ValueError, OSError) as e:
            problem = f"collateral could not be fetched from Intel PCS: {e}"
    if coll is None and problem is None:
        problem = "no collateral was given (pass --collateral DIR, or let the verifier fetch from Intel PCS)"
    return coll, problem


def _crl(run: Run, id: str, data: bytes | None, issuer: x509.Certificate | None, what: str,
         problem: str | None) -> x509.CertificateRevocationList | None:
    if data is None:
        run.collateral_skip(id, problem or f"no {what} in the collateral")
        return None
    if issuer is None:
        run.add(failed(id, f"no verified issuer certificate to check the {what} with", reason="no_issuer"))
        return None
    try:
        crl = load_crl(data, what)
        verify_crl(crl, issuer, run.at, what)
    except ParseError as e:
        run.add(failed(id, f"the {what} is refused: {e}", reason="format"))
        return None
    except CollateralInvalid as e:
        run.add(failed(id, f"the {what} is refused: {e}", reason=e.reason))
        return None
    run.add(passed(id, f"the {what} verifies with its issuer and is current at {iso(run.at)} "
                       f"(issued {iso(crl.last_update_utc)})"))
    return crl


def _signed_json(run: Run, id: str, body: bytes | None, chain_pem: bytes | None, key: str, what: str,
                 parse: Callable[[dict[str, Any]], Any], problem: str | None,
                 root_crl: x509.CertificateRevocationList | None) -> Any:
    if body is None:
        run.collateral_skip(id, problem or f"no {what} in the collateral")
        return None
    if chain_pem is None:
        run.add(failed(id, f"the {what} came without its issuer chain (the PCS response header)",
                       reason="no_issuer_chain"))
        return None
    try:
        signed = split_signed_body(body, key)
        signer = verify_signed_body(signed, chain_pem, run.pol.root_pins, run.at)
        parsed = parse(signed.inner)
        check_window(parsed.issue_date, parsed.next_update, run.at, f"the {what}")
    except ParseError as e:
        run.add(failed(id, f"the {what} does not parse: {e}", reason=e.reason or "format"))
        return None
    except CollateralInvalid as e:
        run.add(failed(id, f"the {what} is refused: {e}", reason=e.reason))
        return None
    if root_crl is not None and is_revoked(root_crl, signer):
        run.add(failed(id, f"the {what}'s signing certificate is revoked by the root CA CRL",
                       reason="signer_revoked"))
        return None
    if parsed.tcb_evaluation_data_number < run.pol.min_tcb_evaluation_data_number:
        run.add(failed(id, f"the {what}'s tcbEvaluationDataNumber {parsed.tcb_evaluation_data_number} is "
                           f"below the policy's minimum {run.pol.min_tcb_evaluation_data_number}",
                       reason="evaluation_data_number"))
        return None
    return parsed


def collateral_checks(run: Run, chain: PckChain | None, ext: PckExtensions | None, coll: TdxCollateral | None,
                problem: str | None) -> tuple[TcbInfo | None, QeIdentity | None]:
    """CRLs are checked with the quote's own root and PCK CA, once that chain held to the pin."""
    c = coll or TdxCollateral()
    trusted = chain if chain is not None and run.chain_ok and root_pinned(chain.root, run.pol.root_pins) else None
    root_crl = _crl(run, ids.COLLATERAL_ROOT_CRL, c.root_crl, trusted.root if trusted else None,
                    "root CA CRL", problem)
    pck_crl = _crl(run, ids.COLLATERAL_PCK_CRL, c.pck_crl, trusted.intermediate if trusted else None,
                   "PCK CRL", problem)

    if chain is None:
        run.add(skipped(ids.PCK_REVOCATION, "no PCK chain to check"))
    elif root_crl is None or pck_crl is None:
        run.collateral_skip(ids.PCK_REVOCATION, "revocation cannot be decided without both valid CRLs "
                                                  "(root CA CRL and PCK CRL)")
    elif is_revoked(root_crl, chain.intermediate):
        run.add(failed(ids.PCK_REVOCATION, f"the PCK {chain.ca} CA certificate is revoked by the root CA CRL",
                       authenticity=True, reason="ca_revoked"))
    elif is_revoked(pck_crl, chain.leaf):
        run.add(failed(ids.PCK_REVOCATION, f"the PCK certificate (serial {chain.leaf.serial_number:x}) is "
                                             "revoked by the PCK CRL", authenticity=True, reason="revoked"))
    else:
        run.add(passed(ids.PCK_REVOCATION, "neither the PCK certificate nor its CA is revoked",
                       authenticity=True))

    tcb_info: TcbInfo | None = _signed_json(run, ids.COLLATERAL_TCB_INFO, c.tcb_info, c.tcb_info_chain,
                                            "tcbInfo", "TCB info", parse_tcb_info, problem, root_crl)
    if tcb_info is not None:
        if ext is None:
            run.add(failed(ids.COLLATERAL_TCB_INFO, "no PCK extensions to match the TCB info's FMSPC with",
                           reason="no_pck_extensions"))
            tcb_info = None
        elif tcb_info.fmspc != ext.fmspc or tcb_info.pce_id != ext.pce_id:
            run.add(failed(ids.COLLATERAL_TCB_INFO,
                           f"the TCB info is for FMSPC {tcb_info.fmspc.hex()} / PCE-ID {tcb_info.pce_id.hex()}, "
                           f"the PCK certificate says {ext.fmspc.hex()} / {ext.pce_id.hex()}: fetch the TCB "
                           "info for this platform", reason="platform"))
            tcb_info = None
        elif tcb_info.tcb_type != TCB_TYPE_SVN_COMPONENTS:
            run.add(failed(ids.COLLATERAL_TCB_INFO,
                           f"the TCB info has tcbType {tcb_info.tcb_type}: PCS API v4 defines only tcbType 0 "
                           "(TCB levels compared SVN component by component), so its levels cannot be read",
                           reason="tcb_type"))
            tcb_info = None
        else:
            run.add(passed(ids.COLLATERAL_TCB_INFO,
                           f"TCB info for FMSPC {tcb_info.fmspc.hex()} (evaluation data "
                           f"{tcb_info.tcb_evaluation_data_number}, issued {iso(tcb_info.issue_date)}, next "
                           f"update {iso(tcb_info.next_update)}) is signed by a valid, pinned TCB signer"))
    qe_identity: QeIdentity | None = _signed_json(
        run, ids.COLLATERAL_QE_IDENTITY, c.qe_identity, c.qe_identity_chain, "enclaveIdentity",
        "QE identity", parse_qe_identity, problem, root_crl)
    if qe_identity is not None:
        run.add(passed(ids.COLLATERAL_QE_IDENTITY,
                       f"the TD_QE identity (evaluation data {qe_identity.tcb_evaluation_data_number}, issued "
                       f"{iso(qe_identity.issue_date)}, next update {iso(qe_identity.next_update)}) is signed "
                       "by a valid, pinned TCB signer"))
    return tcb_info, qe_identity
