"""Appraise an Intel TDX quote: authenticity, Intel's collateral and TCB status, then the policy.

:func:`appraise_tdx` never raises on hostile evidence or collateral: whatever is wrong becomes a
failing check (an unparseable quote is a failing ``tdx.parse``). It raises only
:class:`~verifier.errors.PolicyError` for a malformed ``[tdx]`` policy table. The check ids and
their order are stable and documented in ``docs/tdx.md`` (``A``: decides ``authentic``):

    tdx.parse (A), tdx.quote.trailing_bytes, tdx.pck.chain (A), tdx.pck.root_pinned (A),
    tdx.pck.extensions, tdx.qe.report_signature (A), tdx.qe.binding (A), tdx.quote.signature (A),
    tdx.collateral.root_crl, tdx.collateral.pck_crl, tdx.pck.revocation (A once decidable),
    tdx.collateral.tcb_info, tdx.collateral.qe_identity,
    tdx.td.debug, tdx.td.sept_ve_disable, tdx.td.migratable, tdx.td.attributes, tdx.td.xfam,
    tdx.qe.identity, tdx.tcb.module, tdx.tcb.status (Intel's evaluation, ``intel_tcb``),
    tdx.td.mrseam, tdx.td.mrtd, tdx.td.rtmr0..3, tdx.td.mrconfigid, tdx.td.mrowner,
    tdx.td.mrownerconfig, tdx.td.mrservicetd, tdx.report_data
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from verifier.appraisal.policy import Policy, Section
from verifier.endorsements.fetch import CollateralFetcher
from verifier.endorsements.intel_anchors import INTEL_ROOT_PINS, SGX_TYPES
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
from verifier.endorsements.intel_pcs import fetch_collateral
from verifier.endorsements.intel_tcb import (
    ALL_STATUSES,
    MODULE_MISMATCH,
    NOT_SUPPORTED,
    evaluate_qe,
    evaluate_tcb,
)
from verifier.errors import CollateralError, ParseError, PolicyError
from verifier.evidence import azure_tdx
from verifier.evidence.tdx import (
    TD_ATTR_KNOWN,
    TD_ATTR_MIGRATABLE,
    TD_ATTR_SEPT_VE_DISABLE,
    TD_ATTR_TUD_MASK,
    TdxQuote,
    Trailing,
    parse_quote,
    trailing_kind,
)
from verifier.result import Check, Checked, failed, iso, passed, skipped, utc

POLICY_KEYS = ("roots", "accepted_tcb_status", "allow_debug", "require_sept_ve_disable",
               "allow_migratable", "trailing_bytes", "collateral", "min_tcb_evaluation_data_number",
               "require_report_data", "xfam", "mrseam", "mrtd", "rtmr0", "rtmr1", "rtmr2", "rtmr3",
               "mrconfigid", "mrowner", "mrownerconfig", "mrservicetd")
MEASUREMENTS = ("mrseam", "mrtd", "rtmr0", "rtmr1", "rtmr2", "rtmr3", "mrconfigid", "mrowner",
                "mrownerconfig", "mrservicetd")
TRAILING_CHOICES = ("zero-padding", "none", "any")
COLLATERAL_CHOICES = ("required", "if-available")


# -- policy --------------------------------------------------------------------------------------
def _hex_values(section: Section, key: str, size: int) -> tuple[bytes, ...]:
    value = section.values.get(key, [])
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        raise PolicyError(f"policy [{section.name}] {key} must be a hex string or a list of them")
    out = []
    for v in items:
        try:
            raw = bytes.fromhex(v)
        except ValueError:
            raise PolicyError(f"policy [{section.name}] {key}: {v!r} is not hex") from None
        if len(raw) != size:
            raise PolicyError(f"policy [{section.name}] {key}: {v!r} is not {size} bytes")
        out.append(raw)
    return tuple(out)


@dataclass(frozen=True)
class TdxPolicy:
    """The ``[tdx]`` table of a policy, every key typed and documented in docs/tdx.md."""

    root_pins: tuple[str, ...] = INTEL_ROOT_PINS
    roots_name: str = "vendor"
    accepted_tcb_status: tuple[str, ...] = ("UpToDate",)
    allow_debug: bool = False
    require_sept_ve_disable: bool = True
    allow_migratable: bool = False
    trailing_bytes: str = "zero-padding"
    collateral: str = "required"
    min_tcb_evaluation_data_number: int = 0
    require_report_data: bool = True
    xfam: tuple[bytes, ...] = ()
    expected: dict[str, tuple[bytes, ...]] = field(default_factory=dict)

    @classmethod
    def from_policy(cls, policy: Policy) -> TdxPolicy:
        s = policy.section("tdx")
        s.only(*POLICY_KEYS)
        roots = s.values.get("roots", "vendor")
        if roots == "vendor":
            pins, roots_name = INTEL_ROOT_PINS, "vendor"
        elif isinstance(roots, dict):
            t = Section("tdx.roots", roots)
            t.only("spki_sha256")
            pins = tuple(p.lower() for p in t.str_list("spki_sha256"))
            if not pins or not all(len(p) == 64 and all(c in "0123456789abcdef" for c in p) for p in pins):
                raise PolicyError("policy [tdx.roots] spki_sha256 must list SHA-256 fingerprints (64 hex digits)")
            roots_name = "policy"
        else:
            raise PolicyError('policy [tdx] roots must be "vendor" or a table with spki_sha256')
        accepted = tuple(s.str_list("accepted_tcb_status", ["UpToDate"]))
        unknown = [a for a in accepted if a not in ALL_STATUSES]
        if unknown:
            raise PolicyError(f"policy [tdx] accepted_tcb_status names unknown statuses {unknown}; "
                              f"known: {', '.join(ALL_STATUSES)}")
        min_eval = s.get("min_tcb_evaluation_data_number", int, 0)
        if min_eval < 0:
            raise PolicyError("policy [tdx] min_tcb_evaluation_data_number must not be negative")
        return cls(
            root_pins=pins, roots_name=roots_name, accepted_tcb_status=accepted,
            allow_debug=s.get("allow_debug", bool, False),
            require_sept_ve_disable=s.get("require_sept_ve_disable", bool, True),
            allow_migratable=s.get("allow_migratable", bool, False),
            trailing_bytes=s.choice("trailing_bytes", TRAILING_CHOICES, "zero-padding"),
            collateral=s.choice("collateral", COLLATERAL_CHOICES, "required"),
            min_tcb_evaluation_data_number=min_eval,
            require_report_data=s.get("require_report_data", bool, True),
            xfam=_hex_values(s, "xfam", 8),
            expected={m: _hex_values(s, m, 48) for m in MEASUREMENTS},
        )


# -- result --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TdxAppraisal(Checked):
    """Checks in their fixed order, the parsed quote (``None`` when it did not parse), claims."""

    checks: tuple[Check, ...]
    quote: TdxQuote | None
    claims: dict[str, object]
    collateral: TdxCollateral | None = None
    """The collateral the appraisal used (given or fetched), for evidence digests."""






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


class _Run:
    """Collects the checks of one appraisal."""

    def __init__(self, pol: TdxPolicy, at: dt.datetime) -> None:
        self.pol = pol
        self.at = at
        self.checks: list[Check] = []
        self.chain_ok = False

    def add(self, check: Check) -> Check:
        self.checks.append(check)
        return check

    def collateral_skip(self, id: str, detail: str) -> Check:
        return self.add(skipped(id, detail, required=self.pol.collateral == "required"))


def _expect(run: _Run, id: str, name: str, actual: bytes | None, allowed: tuple[bytes, ...]) -> None:
    if not allowed:
        run.add(skipped(id, f"the policy sets no expected {name}; any value is accepted", required=False))
        return
    if actual is not None and any(hmac.compare_digest(actual, a) for a in allowed):
        run.add(passed(id, f"{name} {actual.hex()} is one the policy accepts"))
        return
    shown = actual.hex() if actual is not None else "absent"
    run.add(failed(id, f"{name} is {shown}, not one of the {len(allowed)} value(s) the policy "
                       f"accepts; if this TD is yours, add its {name} to the policy"))


def appraise_tdx(quote: bytes, *, policy: Policy, at: dt.datetime, expected_report_data: bytes | None,
                 collateral: TdxCollateral | None = None,
                 fetcher: CollateralFetcher | None = None) -> TdxAppraisal:
    """Appraise raw quote bytes at time ``at`` under ``policy``'s ``[tdx]`` table.

    ``expected_report_data`` (up to 64 bytes, zero-padded to 64) is compared with REPORTDATA;
    ``None`` leaves ``tdx.report_data`` skipped (required unless the policy says otherwise).
    ``collateral`` is used as given; without it, ``fetcher`` (if any) fetches it from Intel PCS
    v4; without either, the collateral checks are skipped.
    """
    pol = TdxPolicy.from_policy(policy)
    at = utc(at)
    run = _Run(pol, at)
    claims: dict[str, object] = {}
    try:
        q = parse_quote(quote)
    except ParseError as e:
        reason = not_a_quote_reason(quote)
        detail = reason or f"the evidence is not a TDX quote this verifier accepts: {e}"
        claims["evidence_kind"] = "azure-hcl-tdreport" if azure_tdx.is_hcl_report(quote) else "unknown"
        return TdxAppraisal((failed("tdx.parse", detail, authenticity=True),), None, claims)
    run.add(passed("tdx.parse", f"a TDX quote, version {q.version}, TDX {q.tdx_version} body, "
                                f"{len(q.raw)} bytes", authenticity=True))
    claims.update(quote_claims(q))
    _trailing(run, q)
    chain, ext = _authenticity(run, q)
    if ext is not None:
        claims.update(pck_claims(ext, chain))

    coll, problem = collateral, None
    if coll is None and fetcher is not None and ext is not None and chain is not None:
        try:
            coll = fetch_collateral(fetcher, ext.fmspc.hex(), chain.ca)
        except (CollateralError, ValueError, OSError) as e:
            problem = f"collateral could not be fetched from Intel PCS: {e}"
    if coll is None and problem is None:
        problem = "no collateral was given (pass --collateral DIR, or let the verifier fetch from Intel PCS)"
    tcb_info, qe_identity = _collateral(run, chain, ext, coll, problem)

    _td_config(run, q)
    _tcb(run, q, ext, tcb_info, qe_identity, claims)
    _measurements(run, q)
    _report_data(run, q, expected_report_data)
    return TdxAppraisal(tuple(run.checks), q, claims, coll)


# -- steps ---------------------------------------------------------------------------------------
def _trailing(run: _Run, q: TdxQuote) -> None:
    kind = trailing_kind(q.trailing)
    n = len(q.trailing)
    allowed = {"none": (Trailing.NONE,), "zero-padding": (Trailing.NONE, Trailing.ZERO_PADDING),
               "any": tuple(Trailing)}[run.pol.trailing_bytes]
    what = {Trailing.NONE: "no bytes follow the quote",
            Trailing.ZERO_PADDING: f"{n} zero bytes of padding follow the quote (outside every signature)",
            Trailing.OTHER: f"{n} bytes that are not zero follow the quote (outside every signature, ignored)"}[kind]
    if kind in allowed:
        run.add(passed("tdx.quote.trailing_bytes", f"{what}; the policy allows {run.pol.trailing_bytes!r}"))
    else:
        run.add(failed("tdx.quote.trailing_bytes", f"{what}; the policy allows only {run.pol.trailing_bytes!r} "
                                                   "(set [tdx] trailing_bytes = \"any\" to accept them)"))


def _authenticity(run: _Run, q: TdxQuote) -> tuple[PckChain | None, PckExtensions | None]:
    chain: PckChain | None = None
    try:
        chain = load_pck_chain(q.pck_chain_pem)
    except ParseError as e:
        run.add(failed("tdx.pck.chain", f"the quote's PCK certificate chain is unusable: {e}", authenticity=True))
    if chain is not None:
        try:
            verify_pck_chain(chain, run.at)
            run.chain_ok = True
            run.add(passed("tdx.pck.chain", f"PCK leaf <- {chain.ca} CA <- root: names, signatures and "
                                            f"validity hold at {iso(run.at)}", authenticity=True))
        except ChainError as e:
            run.add(failed("tdx.pck.chain", f"the PCK chain does not hold: {e}", authenticity=True))
        if root_pinned(chain.root, run.pol.root_pins):
            run.add(passed("tdx.pck.root_pinned", f"the chain's root key is pinned ({run.pol.roots_name} roots)",
                           authenticity=True))
        else:
            run.add(failed("tdx.pck.root_pinned", "the chain's root key is not the pinned Intel SGX Root CA "
                                                  "(a root that only carries Intel's names is not Intel's)",
                           authenticity=True))
    else:
        run.add(failed("tdx.pck.root_pinned", "no root certificate to compare with the pin", authenticity=True))

    ext: PckExtensions | None = None
    if chain is not None:
        try:
            ext = pck_extensions(chain.leaf)
            run.add(passed("tdx.pck.extensions", f"FMSPC {ext.fmspc.hex()}, PCE-ID {ext.pce_id.hex()}, "
                                                 f"PCESVN {ext.pcesvn}"))
        except ParseError as e:
            run.add(failed("tdx.pck.extensions", f"the PCK certificate's SGX extension is unusable: {e}"))
    else:
        run.add(failed("tdx.pck.extensions", "no PCK certificate to read the SGX extension from"))

    # QE report signed by the PCK leaf (QVL 4.1.2.4.12)
    try:
        leaf_key = chain.leaf.public_key() if chain is not None else None
    except CERT_DECODE_ERRORS:
        leaf_key = None
    if isinstance(leaf_key, ec.EllipticCurvePublicKey) and isinstance(leaf_key.curve, ec.SECP256R1):
        if raw_ecdsa_verify(leaf_key, q.qe_report_signature, q.qe_report.raw):
            run.add(passed("tdx.qe.report_signature", "the QE report's signature verifies with the PCK key",
                           authenticity=True))
        else:
            run.add(failed("tdx.qe.report_signature", "the QE report's signature does not verify with the "
                                                      "PCK certificate's key", authenticity=True))
    else:
        run.add(failed("tdx.qe.report_signature", "no P-256 PCK key to verify the QE report with",
                       authenticity=True))

    # QE REPORTDATA binds the attestation key (QVL 4.1.2.4.13)
    want = hashlib.sha256(q.attestation_key + q.qe_auth_data).digest() + bytes(32)
    if hmac.compare_digest(want, q.qe_report.report_data):
        run.add(passed("tdx.qe.binding", "QE REPORTDATA = SHA-256(attestation key || QE auth data) || 0^32",
                       authenticity=True))
    else:
        run.add(failed("tdx.qe.binding", "QE REPORTDATA is not SHA-256(attestation key || QE auth data) "
                                         "|| 0^32: the attestation key is not the one the QE vouched for",
                       authenticity=True))

    # quote signature by the attestation key (QVL 4.1.2.4.16)
    try:
        key = ec.EllipticCurvePublicNumbers(int.from_bytes(q.attestation_key[:32], "big"),
                                            int.from_bytes(q.attestation_key[32:], "big"),
                                            ec.SECP256R1()).public_key()
    except ValueError:
        run.add(failed("tdx.quote.signature", "the attestation key is not a point on P-256", authenticity=True))
    else:
        if raw_ecdsa_verify(key, q.signature, q.signed):
            run.add(passed("tdx.quote.signature", "the quote's header and body verify with the attestation key",
                           authenticity=True))
        else:
            run.add(failed("tdx.quote.signature", "the quote's signature over its header and body does not "
                                                  "verify with the attestation key", authenticity=True))
    return chain, ext


def _crl(run: _Run, id: str, data: bytes | None, issuer: x509.Certificate | None, what: str,
         problem: str | None) -> x509.CertificateRevocationList | None:
    if data is None:
        run.collateral_skip(id, problem or f"no {what} in the collateral")
        return None
    if issuer is None:
        run.add(failed(id, f"no verified issuer certificate to check the {what} with"))
        return None
    try:
        crl = load_crl(data, what)
        verify_crl(crl, issuer, run.at, what)
    except (ParseError, CollateralInvalid) as e:
        run.add(failed(id, f"the {what} is refused: {e}"))
        return None
    run.add(passed(id, f"the {what} verifies with its issuer and is current at {iso(run.at)} "
                       f"(issued {iso(crl.last_update_utc)})"))
    return crl


def _signed_json(run: _Run, id: str, body: bytes | None, chain_pem: bytes | None, key: str, what: str,
                 parse: Callable[[dict[str, Any]], Any], problem: str | None,
                 root_crl: x509.CertificateRevocationList | None) -> Any:
    if body is None:
        run.collateral_skip(id, problem or f"no {what} in the collateral")
        return None
    if chain_pem is None:
        run.add(failed(id, f"the {what} came without its issuer chain (the PCS response header)"))
        return None
    try:
        signed = split_signed_body(body, key)
        signer = verify_signed_body(signed, chain_pem, run.pol.root_pins, run.at)
        parsed = parse(signed.inner)
        check_window(parsed.issue_date, parsed.next_update, run.at, f"the {what}")
    except ParseError as e:
        run.add(failed(id, f"the {what} does not parse: {e}"))
        return None
    except CollateralInvalid as e:
        run.add(failed(id, f"the {what} is refused: {e}"))
        return None
    if root_crl is not None and is_revoked(root_crl, signer):
        run.add(failed(id, f"the {what}'s signing certificate is revoked by the root CA CRL"))
        return None
    if parsed.tcb_evaluation_data_number < run.pol.min_tcb_evaluation_data_number:
        run.add(failed(id, f"the {what}'s tcbEvaluationDataNumber {parsed.tcb_evaluation_data_number} is "
                           f"below the policy's minimum {run.pol.min_tcb_evaluation_data_number}"))
        return None
    return parsed


def _collateral(run: _Run, chain: PckChain | None, ext: PckExtensions | None, coll: TdxCollateral | None,
                problem: str | None) -> tuple[TcbInfo | None, QeIdentity | None]:
    """CRLs are checked with the quote's own root and PCK CA, once that chain held to the pin."""
    c = coll or TdxCollateral()
    trusted = chain if chain is not None and run.chain_ok and root_pinned(chain.root, run.pol.root_pins) else None
    root_crl = _crl(run, "tdx.collateral.root_crl", c.root_crl, trusted.root if trusted else None,
                    "root CA CRL", problem)
    pck_crl = _crl(run, "tdx.collateral.pck_crl", c.pck_crl, trusted.intermediate if trusted else None,
                   "PCK CRL", problem)

    if chain is None:
        run.add(skipped("tdx.pck.revocation", "no PCK chain to check"))
    elif root_crl is None or pck_crl is None:
        run.collateral_skip("tdx.pck.revocation", "revocation cannot be decided without both valid CRLs "
                                                  "(root CA CRL and PCK CRL)")
    elif is_revoked(root_crl, chain.intermediate):
        run.add(failed("tdx.pck.revocation", f"the PCK {chain.ca} CA certificate is revoked by the root CA CRL",
                       authenticity=True))
    elif is_revoked(pck_crl, chain.leaf):
        run.add(failed("tdx.pck.revocation", f"the PCK certificate (serial {chain.leaf.serial_number:x}) is "
                                             "revoked by the PCK CRL", authenticity=True))
    else:
        run.add(passed("tdx.pck.revocation", "neither the PCK certificate nor its CA is revoked",
                       authenticity=True))

    tcb_info: TcbInfo | None = _signed_json(run, "tdx.collateral.tcb_info", c.tcb_info, c.tcb_info_chain,
                                            "tcbInfo", "TCB info", parse_tcb_info, problem, root_crl)
    if tcb_info is not None:
        if ext is None:
            run.add(failed("tdx.collateral.tcb_info", "no PCK extensions to match the TCB info's FMSPC with"))
            tcb_info = None
        elif tcb_info.fmspc != ext.fmspc or tcb_info.pce_id != ext.pce_id:
            run.add(failed("tdx.collateral.tcb_info",
                           f"the TCB info is for FMSPC {tcb_info.fmspc.hex()} / PCE-ID {tcb_info.pce_id.hex()}, "
                           f"the PCK certificate says {ext.fmspc.hex()} / {ext.pce_id.hex()}: fetch the TCB "
                           "info for this platform"))
            tcb_info = None
        else:
            run.add(passed("tdx.collateral.tcb_info",
                           f"TCB info for FMSPC {tcb_info.fmspc.hex()} (evaluation data "
                           f"{tcb_info.tcb_evaluation_data_number}, issued {iso(tcb_info.issue_date)}, next "
                           f"update {iso(tcb_info.next_update)}) is signed by a valid, pinned TCB signer"))
    qe_identity: QeIdentity | None = _signed_json(
        run, "tdx.collateral.qe_identity", c.qe_identity, c.qe_identity_chain, "enclaveIdentity",
        "QE identity", parse_qe_identity, problem, root_crl)
    if qe_identity is not None:
        run.add(passed("tdx.collateral.qe_identity",
                       f"the TD_QE identity (evaluation data {qe_identity.tcb_evaluation_data_number}, issued "
                       f"{iso(qe_identity.issue_date)}, next update {iso(qe_identity.next_update)}) is signed "
                       "by a valid, pinned TCB signer"))
    return tcb_info, qe_identity


def _td_config(run: _Run, q: TdxQuote) -> None:
    """TD attributes and XFAM (TDX module ABI spec, TD_ATTRIBUTES; DESIGN.md default minimums)."""
    attrs = q.body.td_attributes_int
    tud = attrs & TD_ATTR_TUD_MASK
    if not tud:
        run.add(passed("tdx.td.debug", "the TD is not under debug (TD_ATTRIBUTES bits 7:0 are zero)"))
    elif run.pol.allow_debug:
        run.add(passed("tdx.td.debug", f"the TD is under debug (TUD bits {tud:#x}); the policy allows it"))
    else:
        run.add(failed("tdx.td.debug", f"the TD is under debug (TD_ATTRIBUTES TUD bits {tud:#x}): the host can "
                                       "read and write its memory; refused"))
    sept = bool(attrs & TD_ATTR_SEPT_VE_DISABLE)
    if sept:
        run.add(passed("tdx.td.sept_ve_disable", "SEPT_VE_DISABLE (bit 28) is set"))
    elif run.pol.require_sept_ve_disable:
        run.add(failed("tdx.td.sept_ve_disable", "SEPT_VE_DISABLE (TD_ATTRIBUTES bit 28) is not set: the host "
                                                 "can inject #VE on pending pages; the policy requires it"))
    else:
        run.add(passed("tdx.td.sept_ve_disable", "SEPT_VE_DISABLE is not set; the policy does not require it"))
    if not attrs & TD_ATTR_MIGRATABLE:
        run.add(passed("tdx.td.migratable", "the TD is not migratable (bit 29 clear)"))
    elif run.pol.allow_migratable:
        run.add(passed("tdx.td.migratable", "the TD is migratable; the policy allows it"))
    else:
        run.add(failed("tdx.td.migratable", "the TD is migratable (TD_ATTRIBUTES bit 29): a migration TD can "
                                            "move it to another platform; the policy refuses it"))
    reserved = attrs & ~TD_ATTR_KNOWN & 0xFFFF_FFFF_FFFF_FFFF
    if reserved:
        run.add(failed("tdx.td.attributes", f"reserved TD_ATTRIBUTES bits {reserved:#x} are set"))
    else:
        run.add(passed("tdx.td.attributes", f"TD_ATTRIBUTES {q.body.td_attributes.hex()}: no reserved bit set"))
    if not run.pol.xfam:
        run.add(skipped("tdx.td.xfam", f"the policy sets no expected XFAM (found {q.body.xfam.hex()})",
                        required=False))
    elif q.body.xfam in run.pol.xfam:
        run.add(passed("tdx.td.xfam", f"XFAM {q.body.xfam.hex()} is one the policy accepts"))
    else:
        run.add(failed("tdx.td.xfam", f"XFAM {q.body.xfam.hex()} is not one the policy accepts"))


def _tcb(run: _Run, q: TdxQuote, ext: PckExtensions | None, info: TcbInfo | None,
         identity: QeIdentity | None, claims: dict[str, object]) -> None:
    qe_status: str | None = None
    qe_advisories: tuple[str, ...] = ()
    if identity is None:
        run.collateral_skip("tdx.qe.identity", "no valid QE identity to compare the QE report with")
    else:
        qe = evaluate_qe(q.qe_report, identity)
        if not qe.matches or qe.status == NOT_SUPPORTED:
            run.add(failed("tdx.qe.identity", f"the quoting enclave is not the one Intel's TD_QE identity "
                                              f"names: {qe.reason}"))
        else:
            qe_status = qe.status
            qe_advisories = qe.level.advisory_ids if qe.level else ()
            run.add(passed("tdx.qe.identity", f"the QE matches Intel's TD_QE identity; {qe.reason}"))
        claims["qe_tcb_status"] = qe.status
    if info is None or ext is None:
        run.collateral_skip("tdx.tcb.module", "no valid TCB info to evaluate the TDX module with")
        run.collateral_skip("tdx.tcb.status", "no valid TCB info to evaluate the TCB with")
        return
    ev = evaluate_tcb(q, ext, info, qe_status)
    mod = ev.module
    claims["tdx_module_identity"] = (mod.identity.id or "tdxModule") if mod.identity else None
    claims["tdx_module_tcb_status"] = mod.status
    if mod.status in (MODULE_MISMATCH, NOT_SUPPORTED):
        run.add(failed("tdx.tcb.module", f"the TDX module is not one Intel's TCB info supports: {mod.reason}"))
    else:
        run.add(passed("tdx.tcb.module", mod.reason))
    advisories = ev.advisory_ids + tuple(a for a in qe_advisories if a not in ev.advisory_ids)
    claims["tcb_status"] = ev.status
    claims["advisory_ids"] = list(advisories)
    if ev.platform_level is not None:
        claims["tcb_date"] = iso(ev.platform_level.tcb_date)
    claims["tcb_evaluation_data_number"] = info.tcb_evaluation_data_number
    adv = f"; advisories {', '.join(advisories)}" if advisories else ""
    if ev.status in run.pol.accepted_tcb_status:
        run.add(passed("tdx.tcb.status", f"TCB status {ev.status} is accepted ({ev.reason}){adv}"))
    else:
        shown = "no matching TCB level" if ev.status == NOT_SUPPORTED else ev.status
        run.add(failed("tdx.tcb.status", f"TCB status {shown}: the policy accepts only "
                                         f"{', '.join(run.pol.accepted_tcb_status)} ({ev.reason}){adv}"))


def _measurements(run: _Run, q: TdxQuote) -> None:
    body = q.body
    values = {"mrseam": body.mrseam, "mrtd": body.mrtd, "rtmr0": body.rtmr0, "rtmr1": body.rtmr1,
              "rtmr2": body.rtmr2, "rtmr3": body.rtmr3, "mrconfigid": body.mrconfigid,
              "mrowner": body.mrowner, "mrownerconfig": body.mrownerconfig,
              # TDX 1.0 bodies have no MRSERVICETD: no service TD is bound, as if all zero.
              "mrservicetd": body.mrservicetd if body.mrservicetd is not None else bytes(48)}
    for name in MEASUREMENTS:
        _expect(run, f"tdx.td.{name}", name.upper(), values[name], run.pol.expected.get(name, ()))


def _report_data(run: _Run, q: TdxQuote, expected: bytes | None) -> None:
    if expected is None:
        run.add(skipped("tdx.report_data", "no expected REPORTDATA (no nonce or session binding) was given: the "
                                           "quote may be authentic but it is not bound to this session",
                        required=run.pol.require_report_data))
        return
    if len(expected) > 64:
        run.add(failed("tdx.report_data", f"the expected REPORTDATA is {len(expected)} bytes, more than 64"))
        return
    want = expected + bytes(64 - len(expected))
    if hmac.compare_digest(want, q.body.report_data):
        run.add(passed("tdx.report_data", "REPORTDATA equals the expected value"))
    else:
        run.add(failed("tdx.report_data", f"REPORTDATA is {q.body.report_data.hex()}, expected {want.hex()}: "
                                          "the quote is not bound to this session (stale or replayed)"))


# -- claims --------------------------------------------------------------------------------------
def quote_claims(q: TdxQuote) -> dict[str, object]:
    """JSON-able facts of the quote (hex for bytes), never a verdict."""
    b = q.body
    out: dict[str, object] = {
        "quote_version": q.version,
        "tdx_version": q.tdx_version,
        "tee_tcb_svn": b.tee_tcb_svn.hex(),
        "mrseam": b.mrseam.hex(),
        "mrsignerseam": b.mrsignerseam.hex(),
        "seam_attributes": b.seam_attributes.hex(),
        "td_attributes": b.td_attributes.hex(),
        "debug": b.debug,
        "sept_ve_disable": b.sept_ve_disable,
        "xfam": b.xfam.hex(),
        "mrtd": b.mrtd.hex(),
        "mrconfigid": b.mrconfigid.hex(),
        "mrowner": b.mrowner.hex(),
        "mrownerconfig": b.mrownerconfig.hex(),
        "rtmr0": b.rtmr0.hex(),
        "rtmr1": b.rtmr1.hex(),
        "rtmr2": b.rtmr2.hex(),
        "rtmr3": b.rtmr3.hex(),
        "report_data": b.report_data.hex(),
        "qe_isvsvn": q.qe_report.isvsvn,
        "trailing_bytes": {"length": len(q.trailing), "kind": str(trailing_kind(q.trailing))},
    }
    if b.tee_tcb_svn2 is not None:
        out["tee_tcb_svn2"] = b.tee_tcb_svn2.hex()
    if b.mrservicetd is not None:
        out["mrservicetd"] = b.mrservicetd.hex()
    return out


def pck_claims(ext: PckExtensions, chain: PckChain | None) -> dict[str, object]:
    return {
        "fmspc": ext.fmspc.hex(),
        "pce_id": ext.pce_id.hex(),
        "pcesvn": ext.pcesvn,
        "cpusvn_components": list(ext.cpusvn_components),
        "sgx_type": SGX_TYPES.get(ext.sgx_type, str(ext.sgx_type)),
        "pck_ca": chain.ca if chain is not None else None,
    }
