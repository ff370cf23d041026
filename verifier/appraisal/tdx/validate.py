"""Validate a TDX quote against the ``[tdx]`` policy (go-sev-guest's ``validate``, for TDX).

Trailing bytes, the TD's configuration (attributes, XFAM), Intel's TCB evaluation of the QE, the
TDX module and the platform under the verified collateral, the measurements the policy expects,
and REPORTDATA against the caller's expected value.
"""

from __future__ import annotations

import hmac

from verifier.appraisal.checks import expect_one_of
from verifier.appraisal.tdx import checks as ids
from verifier.appraisal.tdx.checks import Run
from verifier.appraisal.tdx.rules import MEASUREMENTS, FixedBits
from verifier.endorsements.intel_collateral import QeIdentity, TcbInfo
from verifier.endorsements.intel_pck import PckExtensions
from verifier.endorsements.intel_status import MODULE_MISMATCH, NOT_SUPPORTED
from verifier.endorsements.intel_tcb import evaluate_qe, evaluate_tcb
from verifier.evidence.tdx import (
    INTEL_QE_VENDOR_ID,
    TD_ATTR_DEBUG,
    TD_ATTR_KNOWN,
    TD_ATTR_MIGRATABLE,
    TD_ATTR_SEPT_VE_DISABLE,
    TD_ATTR_TUD_MASK,
    TdxQuote,
    Trailing,
    trailing_kind,
)
from verifier.result import failed, iso, passed, skipped


def trailing_bytes(run: Run, q: TdxQuote) -> None:
    kind = trailing_kind(q.trailing)
    n = len(q.trailing)
    allowed = {"none": (Trailing.NONE,), "zero-padding": (Trailing.NONE, Trailing.ZERO_PADDING),
               "any": tuple(Trailing)}[run.pol.trailing_bytes]
    what = {Trailing.NONE: "no bytes follow the quote",
            Trailing.ZERO_PADDING: f"{n} zero bytes of padding follow the quote (outside every signature)",
            Trailing.OTHER: f"{n} bytes that are not zero follow the quote (outside every signature, ignored)"}[kind]
    if kind in allowed:
        run.add(passed(ids.QUOTE_TRAILING_BYTES, f"{what}; the policy allows {run.pol.trailing_bytes!r}"))
    else:
        run.add(failed(ids.QUOTE_TRAILING_BYTES, f"{what}; the policy allows only {run.pol.trailing_bytes!r} "
                                                   "(set [tdx] trailing_bytes = \"any\" to accept them)"))


def qe_vendor(run: Run, q: TdxQuote) -> None:
    """The header's QE vendor ID is one the policy accepts (default: Intel's, the only QE the
    parser reads, so the key can only narrow; Tinfoil SPEC §4.8.6 names the same pin)."""
    vendor = q.header.qe_vendor_id
    accepted = run.pol.qe_vendor_id or (INTEL_QE_VENDOR_ID,)
    if any(hmac.compare_digest(vendor, v) for v in accepted):
        run.add(passed(ids.QUOTE_QE_VENDOR, f"QE vendor ID {vendor.hex()} is one the policy accepts"))
    else:
        run.add(failed(ids.QUOTE_QE_VENDOR, f"QE vendor ID {vendor.hex()} is not one of the "
                                              f"{len(accepted)} the policy accepts"))


def td_config(run: Run, q: TdxQuote) -> None:
    """TD attributes and XFAM (TDX module ABI spec, TD_ATTRIBUTES; DESIGN.md default minimums)."""
    attrs = q.body.td_attributes_int
    tud = attrs & TD_ATTR_TUD_MASK
    if not tud:
        run.add(passed(ids.TD_DEBUG, "the TD is not under debug (TD_ATTRIBUTES bits 7:0 are zero)"))
    elif run.pol.allow_debug:
        run.add(passed(ids.TD_DEBUG, f"the TD is under debug (TUD bits {tud:#x}); the policy allows it"))
    else:
        # reason: DEBUG itself (bit 0), or only the other TUD bits (7:1, reserved for TUD flags)
        run.add(failed(ids.TD_DEBUG, f"the TD is under debug (TD_ATTRIBUTES TUD bits {tud:#x}): the host can "
                                       "read and write its memory; refused",
                       reason="debug" if attrs & TD_ATTR_DEBUG else "tud_reserved"))
    sept = bool(attrs & TD_ATTR_SEPT_VE_DISABLE)
    if sept:
        run.add(passed(ids.TD_SEPT_VE_DISABLE, "SEPT_VE_DISABLE (bit 28) is set"))
    elif run.pol.require_sept_ve_disable:
        run.add(failed(ids.TD_SEPT_VE_DISABLE, "SEPT_VE_DISABLE (TD_ATTRIBUTES bit 28) is not set: the host "
                                                 "can inject #VE on pending pages; the policy requires it"))
    else:
        run.add(passed(ids.TD_SEPT_VE_DISABLE, "SEPT_VE_DISABLE is not set; the policy does not require it"))
    if not attrs & TD_ATTR_MIGRATABLE:
        run.add(passed(ids.TD_MIGRATABLE, "the TD is not migratable (bit 29 clear)"))
    elif run.pol.allow_migratable:
        run.add(passed(ids.TD_MIGRATABLE, "the TD is migratable; the policy allows it"))
    else:
        run.add(failed(ids.TD_MIGRATABLE, "the TD is migratable (TD_ATTRIBUTES bit 29): a migration TD can "
                                            "move it to another platform; the policy refuses it"))
    service_td(run, q)
    reserved = attrs & ~TD_ATTR_KNOWN & 0xFFFF_FFFF_FFFF_FFFF
    value = q.body.td_attributes
    if reserved:
        run.add(failed(ids.TD_ATTRIBUTES, f"reserved TD_ATTRIBUTES bits {reserved:#x} are set", reason="reserved"))
    elif run.pol.td_attributes and not any(hmac.compare_digest(value, v) for v in run.pol.td_attributes):
        run.add(failed(ids.TD_ATTRIBUTES, f"TD_ATTRIBUTES {value.hex()} is not one of the "
                                          f"{len(run.pol.td_attributes)} value(s) the policy accepts",
                       reason="not_listed"))
    elif run.pol.td_attributes:
        run.add(passed(ids.TD_ATTRIBUTES, f"TD_ATTRIBUTES {value.hex()}: no reserved bit set, a value the "
                                          "policy accepts"))
    else:
        run.add(passed(ids.TD_ATTRIBUTES, f"TD_ATTRIBUTES {value.hex()}: no reserved bit set"))
    _fixed_bits(run, ids.TD_ATTRIBUTES_FIXED, "TD_ATTRIBUTES", "td_attributes", q.body.td_attributes,
                run.pol.td_attributes_fixed)
    run.add(expect_one_of(ids.TD_XFAM, "XFAM", q.body.xfam, run.pol.xfam or None, show=bytes.hex,
                          unset="the policy sets no expected {name} (found {value})",
                          fails="{name} {value} is not one the policy accepts"))
    _fixed_bits(run, ids.TD_XFAM_FIXED, "XFAM", "xfam", q.body.xfam, run.pol.xfam_fixed)
    run.add(expect_one_of(ids.TD_SEAM_ATTRIBUTES, "SEAMATTRIBUTES", q.body.seam_attributes,
                          run.pol.seam_attributes or None, show=bytes.hex,
                          unset="the policy sets no expected {name} (found {value})",
                          fails="{name} {value} is not one the policy accepts"))


def service_td(run: Run, q: TdxQuote) -> None:
    """No service TD (migration TD) bound unless ``allow_service_td`` (dcap-qvl's option of the same
    name, default false; TDX module ABI 1.5, MRSERVICETD in TDINFO_STRUCT)."""
    value = q.body.mrservicetd
    if value is None:
        run.add(passed(ids.TD_SERVICE_TD, "a TDX 1.0 body: no service TD can be bound"))
    elif value == bytes(48):
        run.add(passed(ids.TD_SERVICE_TD, "no service TD is bound (MRSERVICETD is zero)"))
    elif run.pol.allow_service_td:
        run.add(passed(ids.TD_SERVICE_TD, f"a service TD is bound (MRSERVICETD {value.hex()}); the policy "
                                          "allows it (tdx.td.mrservicetd says whether it is the expected one)"))
    else:
        run.add(failed(ids.TD_SERVICE_TD, f"a service TD is bound (MRSERVICETD {value.hex()}): it can read or "
                                          "migrate the TD's state; refused (set [tdx] allow_service_td = true "
                                          "and list it in mrservicetd to accept it)"))


def _fixed_bits(run: Run, id: str, name: str, key: str, value: bytes, fixed: FixedBits) -> None:
    """Intel's fixed0/fixed1 rule: a bit clear in fixed0 must be 0, a bit set in fixed1 must be 1."""
    if not fixed.set:
        run.add(skipped(id, f"the policy sets no {key}_fixed0 / {key}_fixed1 (found {name} {value.hex()})",
                        required=False))
        return
    must_be_zero, must_be_one = fixed.violations(value)
    wrong = []
    if must_be_zero:
        wrong.append(f"bits {must_be_zero:#x} are set although {key}_fixed0 requires them clear")
    if must_be_one:
        wrong.append(f"bits {must_be_one:#x} are clear although {key}_fixed1 requires them set")
    if wrong:  # reason: the first rule broken (a forbidden bit set, else a required bit clear)
        run.add(failed(id, f"{name} {value.hex()}: " + "; ".join(wrong),
                       reason="forbidden_bit_set" if must_be_zero else "required_bit_clear"))
    else:
        run.add(passed(id, f"{name} {value.hex()} has every bit the policy's fixed0/fixed1 masks require"))


def tcb(run: Run, q: TdxQuote, ext: PckExtensions | None, info: TcbInfo | None,
         identity: QeIdentity | None, claims: dict[str, object]) -> None:
    qe_status: str | None = None
    qe_advisories: tuple[str, ...] = ()
    if identity is None:
        run.collateral_skip(ids.QE_IDENTITY, "no valid QE identity to compare the QE report with")
    else:
        qe = evaluate_qe(q.qe_report, identity)
        if not qe.matches or qe.status == NOT_SUPPORTED:
            run.add(failed(ids.QE_IDENTITY, f"the quoting enclave is not the one Intel's TD_QE identity "
                                              f"names: {qe.reason}", reason=qe.mismatch or "no_tcb_level"))
        else:
            qe_status = qe.status
            qe_advisories = qe.level.advisory_ids if qe.level else ()
            run.add(passed(ids.QE_IDENTITY, f"the QE matches Intel's TD_QE identity; {qe.reason}"))
        claims["qe_tcb_status"] = qe.status
    if info is None or ext is None:
        run.collateral_skip(ids.TCB_MODULE, "no valid TCB info to evaluate the TDX module with")
        run.collateral_skip(ids.TCB_STATUS, "no valid TCB info to evaluate the TCB with")
        return
    ev = evaluate_tcb(q, ext, info, qe_status)
    mod = ev.module
    claims["tdx_module_identity"] = (mod.identity.id or "tdxModule") if mod.identity else None
    claims["tdx_module_tcb_status"] = mod.status
    outside = _seam_outside_mask(q, mod.identity.attributes_mask) if mod.identity is not None else 0
    label = (mod.identity.id or "tdxModule") if mod.identity is not None else "tdxModule"
    if mod.status in (MODULE_MISMATCH, NOT_SUPPORTED):
        run.add(failed(ids.TCB_MODULE, f"the TDX module is not one Intel's TCB info supports: {mod.reason}",
                       reason="module_mismatch" if mod.status == MODULE_MISMATCH else "no_tcb_level"))
    elif outside:
        run.add(failed(ids.TCB_MODULE, f"SEAMATTRIBUTES {q.body.seam_attributes.hex()} has bits {outside:#x} "
                                       f"set outside the attributesMask of {label}: refused",
                       reason="seam_attributes"))
    else:
        run.add(passed(ids.TCB_MODULE, mod.reason))
    advisories = ev.advisory_ids + tuple(a for a in qe_advisories if a not in ev.advisory_ids)
    claims["tcb_status"] = ev.status
    claims["advisory_ids"] = list(advisories)
    if ev.platform_level is not None:
        claims["tcb_date"] = iso(ev.platform_level.tcb_date)
    claims["tcb_evaluation_data_number"] = info.tcb_evaluation_data_number
    adv = f"; advisories {', '.join(advisories)}" if advisories else ""
    if ev.status in run.pol.accepted_tcb_status:
        run.add(passed(ids.TCB_STATUS, f"TCB status {ev.status} is accepted ({ev.reason}){adv}"))
    else:
        shown = "no matching TCB level" if ev.status == NOT_SUPPORTED else ev.status
        run.add(failed(ids.TCB_STATUS, f"TCB status {shown}: the policy accepts only "
                                         f"{', '.join(run.pol.accepted_tcb_status)} ({ev.reason}){adv}",
                       reason=_status_reason(ev.status)))


def _status_reason(status: str) -> str:
    """``tdx.tcb.status``'s reason: Intel's terminal outcomes (``revoked``, ``no_tcb_level``,
    ``module_mismatch``) apart from a status Intel calls non-terminal that the policy does not
    accept (``not_accepted``)."""
    if status == "Revoked":
        return "revoked"
    if status == NOT_SUPPORTED:
        return "no_tcb_level"
    if status == MODULE_MISMATCH:
        return "module_mismatch"
    return "not_accepted"


def _seam_outside_mask(q: TdxQuote, mask: bytes) -> int:
    """SEAMATTRIBUTES bits the TCB info's attributesMask does not cover: they must be zero (dcap-qvl
    refuses them: "SEAMATTRIBUTES has bits set outside mask"; Intel's QVL compares under the mask only)."""
    return int.from_bytes(q.body.seam_attributes, "little") & ~int.from_bytes(mask, "little") & 0xFFFF_FFFF_FFFF_FFFF


def tcb_minimum(run: Run, q: TdxQuote, ext: PckExtensions | None) -> None:
    """The policy's floors (go-tdx-guest's MinimumTeeTcbSvn, MinimumQeSvn, MinimumPceSvn): TEE_TCB_SVN
    component by component, the QE report's ISVSVN, the PCK certificate's PCESVN."""
    pol = run.pol
    if not pol.has_minimums:
        run.add(skipped(ids.TCB_MINIMUM, "the policy sets no min_tee_tcb_svn, min_qe_svn or min_pce_svn",
                        required=False))
        return
    low: list[str] = []
    ok: list[str] = []
    first: str | None = None  # the reason: the first floor not met (tee_tcb_svn, qe_svn, pce_svn)
    if pol.min_tee_tcb_svn is not None:
        svn = q.body.tee_tcb_svn
        below = [i for i in range(16) if svn[i] < pol.min_tee_tcb_svn[i]]
        if below:
            first = first or "tee_tcb_svn"
            low.append(f"TEE_TCB_SVN {svn.hex()} is below {pol.min_tee_tcb_svn.hex()} at component(s) "
                       + ", ".join(f"{i} ({svn[i]} < {pol.min_tee_tcb_svn[i]})" for i in below))
        else:
            ok.append(f"TEE_TCB_SVN {svn.hex()} >= {pol.min_tee_tcb_svn.hex()}")
    if pol.min_qe_svn is not None:
        isvsvn = q.qe_report.isvsvn
        if isvsvn < pol.min_qe_svn:
            first = first or "qe_svn"
        (low if isvsvn < pol.min_qe_svn else ok).append(f"QE ISVSVN {isvsvn} "
                                                        f"{'<' if isvsvn < pol.min_qe_svn else '>='} {pol.min_qe_svn}")
    if pol.min_pce_svn is not None:
        if ext is None or ext.pcesvn < pol.min_pce_svn:
            first = first or "pce_svn"
        if ext is None:
            low.append("no PCK certificate extensions to read PCESVN from")
        else:
            (low if ext.pcesvn < pol.min_pce_svn else ok).append(
                f"PCESVN {ext.pcesvn} {'<' if ext.pcesvn < pol.min_pce_svn else '>='} {pol.min_pce_svn}")
    if low:
        run.add(failed(ids.TCB_MINIMUM, "below the policy's minimum: " + "; ".join(low), reason=first))
    else:
        run.add(passed(ids.TCB_MINIMUM, "at or above the policy's minimums: " + "; ".join(ok)))


def measurements(run: Run, q: TdxQuote) -> None:
    body = q.body
    values = {"mrseam": body.mrseam, "mrsignerseam": body.mrsignerseam, "mrtd": body.mrtd, "rtmr0": body.rtmr0, "rtmr1": body.rtmr1,
              "rtmr2": body.rtmr2, "rtmr3": body.rtmr3, "mrconfigid": body.mrconfigid,
              "mrowner": body.mrowner, "mrownerconfig": body.mrownerconfig,
              # TDX 1.0 bodies have no MRSERVICETD: no service TD is bound, as if all zero.
              "mrservicetd": body.mrservicetd if body.mrservicetd is not None else bytes(48)}
    for name in MEASUREMENTS:
        run.add(expect_one_of(ids.TD_MEASUREMENTS[name], name.upper(), values[name],
                              run.pol.expected.get(name, ()) or None, show=bytes.hex,
                              fails="{name} is {value}, not one of the {count} value(s) the policy "
                                    "accepts; if this TD is yours, add its {name} to the policy"))


def report_data(run: Run, q: TdxQuote, expected: bytes | None) -> None:
    if expected is None:
        run.add(skipped(ids.REPORT_DATA, "no expected REPORTDATA (no nonce or session binding) was given: the "
                                           "quote may be authentic but it is not bound to this session",
                        required=run.pol.require_report_data))
        return
    if len(expected) > 64:
        run.add(failed(ids.REPORT_DATA, f"the expected REPORTDATA is {len(expected)} bytes, more than 64"))
        return
    want = expected + bytes(64 - len(expected))
    if hmac.compare_digest(want, q.body.report_data):
        run.add(passed(ids.REPORT_DATA, "REPORTDATA equals the expected value"))
    else:
        run.add(failed(ids.REPORT_DATA, f"REPORTDATA is {q.body.report_data.hex()}, expected {want.hex()}: "
                                          "the quote is not bound to this session (stale or replayed)"))
