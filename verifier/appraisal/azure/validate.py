"""The Azure vTPM checks after the hardware report: the HCL version, the variable data and its
binding, the TDREPORT against the TD quote (TDX), the policy's runtime claims, then the TPM
quote's structure, nonce, PCR digest and the policy's PCR values."""

from __future__ import annotations

import hmac

from verifier.appraisal.azure import checks as ids
from verifier.appraisal.azure.checks import Run
from verifier.appraisal.checks import expect_one_of
from verifier.errors import VerifierError
from verifier.evidence import azure_hcl
from verifier.evidence.azure_hcl import RuntimeClaims
from verifier.evidence.azure_tdx import TdReportStruct
from verifier.evidence.tdx import TdReport
from verifier.evidence.tpm import TPM_ALG_SHA256, QuoteInfo, parse_quote_info, pcr_digest
from verifier.result import failed, passed, skipped


def hcl_version(run: Run, version: int) -> None:
    run.add(expect_one_of(ids.HCL_VERSION, "HCL report version", version, run.pol.hcl_versions,
                          passes="HCL report version {value} is one the policy accepts.",
                          fails="HCL report version {value} is not one the policy accepts ({allowed})."))


def variable_data(run: Run, data: bytes) -> RuntimeClaims | None:
    """``hcl.variable_data``: the runtime claims are strict JSON of the expected shape."""
    try:
        claims = azure_hcl.parse_runtime_claims(data)
    except VerifierError as e:
        run.add(failed(ids.HCL_VARIABLE_DATA, f"The variable data is not runtime claims: {e}.", authenticity=True))
        return None
    run.add(passed(ids.HCL_VARIABLE_DATA, f"The variable data is a runtime-claims JSON object with keys "
                   f"{', '.join(claims.keys) or 'none'}.", authenticity=True))
    return claims


def binding(run: Run, report_data: bytes | None, digest: bytes, hash_name: str, where: str) -> bool:
    """``hcl.binding``: the hardware report's REPORT_DATA is H(variable data) followed by zeros."""
    cid = ids.HCL_BINDING
    if report_data is None:
        run.add(skipped(cid, f"No {where} to read REPORT_DATA from.", authenticity=True))
        return False
    n = len(digest)
    if hmac.compare_digest(report_data[:n], digest) and not any(report_data[n:]):
        run.add(passed(cid, f"{where} REPORT_DATA[0:{n}] is the {hash_name.upper()} of the variable data, "
                       "the rest zero: the hardware report binds the runtime claims.", authenticity=True))
        return True
    run.add(failed(cid, f"{where} REPORT_DATA is not the {hash_name.upper()} of the variable data followed by "
                   "zeros: the runtime claims were altered or belong to another report.", authenticity=True))
    return False


def td_report(run: Run, tdreport: TdReportStruct, body: TdReport | None) -> None:
    """``hcl.td_report``: the TDREPORT in the HCL report is the TD the quote describes."""
    cid = ids.HCL_TD_REPORT
    if body is None:
        run.add(skipped(cid, "No parsed TD quote to compare the HCL report's TDREPORT with."))
        return
    pairs = {"REPORTDATA": (tdreport.report_data, body.report_data), "MRTD": (tdreport.mrtd, body.mrtd),
             "TD_ATTRIBUTES": (tdreport.td_attributes, body.td_attributes), "XFAM": (tdreport.xfam, body.xfam),
             "MRCONFIGID": (tdreport.mrconfigid, body.mrconfigid), "MROWNER": (tdreport.mrowner, body.mrowner),
             "MROWNERCONFIG": (tdreport.mrownerconfig, body.mrownerconfig),
             **{f"RTMR{i}": (tdreport.rtmrs[i], getattr(body, f"rtmr{i}")) for i in range(4)}}
    differ = [name for name, (a, b) in pairs.items() if not hmac.compare_digest(a, b)]
    if differ:
        run.add(failed(cid, f"The HCL report's TDREPORT and the TD quote differ in {', '.join(differ)}: "
                       "they are not of the same TD."))
    else:
        run.add(passed(cid, "The HCL report's TDREPORT has the TD quote's REPORTDATA, MRTD, RTMRs, attributes and "
                       "owner fields: the quote was made from it."))


def claim_at(doc: object, path: str) -> object | None:
    value = doc
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def runtime_claims(run: Run, claims: RuntimeClaims | None) -> None:
    """``hcl.runtime_claims``: each claim the policy names has one of the values it accepts."""
    cid = ids.HCL_RUNTIME_CLAIMS
    wanted = run.pol.runtime_claims
    if not wanted:
        run.add(skipped(cid, "The policy requires no runtime-claim values.", required=False))
        return
    if claims is None:
        run.add(skipped(cid, "No runtime claims to compare with the policy."))
        return
    wrong = []
    for path, allowed in wanted.items():
        value = claim_at(claims.doc, path)
        if value is None or not any(type(value) is type(a) and value == a for a in allowed):
            wrong.append(f"{path} = {value!r} (accepted: {', '.join(map(repr, allowed))})")
    if wrong:
        run.add(failed(cid, f"Runtime claims the policy refuses: {'; '.join(wrong)}."))
    else:
        run.add(passed(cid, f"The runtime claims have the values the policy requires ({', '.join(wanted)})."))


def user_data(run: Run, claims: RuntimeClaims | None, expected: bytes | None) -> None:
    """``hcl.user_data``: the runtime claims' ``user-data`` (hex, either case, as the paravisor
    writes the 64 bytes the guest gave it) is exactly ``expected``, the native protocol's binding
    value; an optional skip when no value is expected (saved evidence)."""
    cid = ids.HCL_USER_DATA
    if expected is None:
        run.add(skipped(cid, "No user-data value is expected: the runtime claims' user-data is not compared.",
                        required=False))
        return
    if claims is None:
        run.add(skipped(cid, "No runtime claims to read user-data from."))
        return
    text = claims.user_data
    if text is None:
        run.add(failed(cid, "The runtime claims carry no user-data: they are not bound to this session."))
        return
    if len(text) != 2 * len(expected) or not all(c in _HEX_DIGITS for c in text):
        run.add(failed(cid, f"The runtime claims' user-data is not {len(expected)} bytes of hex "
                       f"({len(text)} characters): it is not this session's binding value."))
        return
    if hmac.compare_digest(bytes.fromhex(text), expected):
        run.add(passed(cid, f"The runtime claims' user-data is the {len(expected)}-byte binding value of this "
                       "session (nonce, key configuration, GPUs and configuration)."))
    else:
        run.add(failed(cid, f"The runtime claims' user-data {text[:32].lower()}… is not this session's binding "
                       f"value {expected.hex()[:32]}…: stale, replayed or bound to another key."))


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def quote_parse(run: Run, message: bytes) -> QuoteInfo | None:
    """``tpm.quote.parse``: the message is a quote's TPMS_ATTEST over the SHA-256 bank only."""
    cid = ids.TPM_QUOTE_PARSE
    try:
        info = parse_quote_info(message)
    except VerifierError as e:
        run.add(failed(cid, f"The TPM quote does not parse: {e}.", authenticity=True))
        return None
    banks = [s.hash_alg for s in info.selections]
    if banks != [TPM_ALG_SHA256]:
        run.add(failed(cid, f"The quote selects banks {', '.join(f'{b:#06x}' for b in banks)}; this verifier "
                       "recomputes the SHA-256 bank (0x000b) alone.", authenticity=True))
        return None
    pcrs = info.selected(TPM_ALG_SHA256)
    run.add(passed(cid, f"A TPM2_Quote (TPMS_ATTEST, {len(message)} bytes) over SHA-256 PCRs "
                   f"{','.join(map(str, pcrs))}, {len(info.extra_data)} bytes of qualifying data.", authenticity=True))
    return info


def nonce(run: Run, info: QuoteInfo | None, expected: bytes | None, signed: bool) -> None:
    """``tpm.nonce``: the quote's ``extraData`` is exactly the verifier's nonce."""
    cid = ids.TPM_NONCE
    if info is None:
        run.add(skipped(cid, "No parsed quote to read the qualifying data from."))
    elif expected is None:
        run.add(skipped(cid, "No nonce was given: freshness is unknown, so the evidence cannot be verified."))
    elif not signed:
        run.add(failed(cid, "The quote's signature does not hold: its qualifying data proves nothing."))
    elif hmac.compare_digest(info.extra_data, expected):
        run.add(passed(cid, f"The quote's qualifying data is the {len(expected)}-byte nonce, exactly (fresh)."))
    else:
        run.add(failed(cid, f"The quote's qualifying data {info.extra_data.hex()[:32]} ({len(info.extra_data)} bytes) "
                       f"is not the nonce {expected.hex()[:32]} ({len(expected)} bytes): stale or replayed."))


def pcr_values(run: Run, info: QuoteInfo | None, values: tuple[bytes, ...]) -> bool:
    """``tpm.pcr_digest``: SHA-256 over the selected PCRs' values is the quote's ``pcrDigest``."""
    cid = ids.TPM_PCR_DIGEST
    if info is None:
        run.add(skipped(cid, "No parsed quote to compare the PCR values with.", authenticity=True))
        return False
    selected = info.selected(TPM_ALG_SHA256)
    if any(i >= len(values) for i in selected) or any(len(v) != 32 for v in values):
        run.add(failed(cid, f"{len(values)} PCR values (of 32 bytes) do not cover the selected PCRs "
                       f"{','.join(map(str, selected))}.", authenticity=True))
        return False
    digest = pcr_digest(TPM_ALG_SHA256, [values[i] for i in selected])
    if hmac.compare_digest(digest, info.pcr_digest):
        run.add(passed(cid, f"SHA-256 over PCRs {selected[0]}-{selected[-1]} is the quote's PCR digest: the PCR "
                       "values are the quoted ones." if selected else "The quote selects no PCR.", authenticity=True))
        return True
    run.add(failed(cid, "SHA-256 over the PCR values is not the quote's PCR digest: a PCR value was altered or "
                   "belongs to another quote.", authenticity=True))
    return False


def pcr_policy(run: Run, values: tuple[bytes, ...], digest_ok: bool, selected: tuple[int, ...]) -> None:
    """``tpm.pcrs``: each PCR the policy names holds one of the values it accepts."""
    cid = ids.TPM_PCRS
    wanted = run.pol.pcrs
    if not wanted:
        run.add(skipped(cid, "The policy names no PCR values; any boot chain is accepted.", required=False))
        return
    if not digest_ok:
        run.add(skipped(cid, "The PCR values are not the quoted ones: they are not compared with the policy."))
        return
    wrong = [f"PCR{i} {values[i].hex()[:16]}…" if i in selected else f"PCR{i} (not quoted)"
             for i, allowed in wanted.items()
             if i not in selected or not any(hmac.compare_digest(values[i], a) for a in allowed)]
    if wrong:
        run.add(failed(cid, f"PCR values the policy does not accept: {', '.join(wrong)}."))
    else:
        run.add(passed(cid, f"PCRs {', '.join(map(str, wanted))} hold values the policy accepts."))
