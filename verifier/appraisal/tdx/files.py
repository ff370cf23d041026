"""``enclave-chat evidence verify tdx QUOTE [--collateral DIR] ...``: a saved quote, appraised offline.

``opts.files[0]`` is the quote (raw binary, hex text or base64; see
:func:`verifier.evidence.encoding.decode_evidence`). Collateral comes from ``opts.collateral``
(a directory of PCS answers, layout in docs/tdx.md) or, without it, through ``opts.fetcher``
(Intel PCS v4, cached; ``--offline`` answers from the cache only). ``--report-data HEX`` is the
expected REPORTDATA; ``--nonce HEX`` is a nonce the quote's REPORTDATA must hold (zero-padded to 64
bytes, the convention of raw configfs-tsm and go-tdx-guest quotes). Evidence digests in the result
are SHA-256 of the decoded quote and of every collateral piece used.
"""

from __future__ import annotations

import hashlib

from verifier.appraisal.offline import OfflineOptions, read_file
from verifier.appraisal.tdx import appraise_tdx
from verifier.endorsements.intel_collateral import TdxCollateral
from verifier.endorsements.intel_pck import load_pck_chain, pck_extensions
from verifier.endorsements.intel_pcs import load_collateral_dir
from verifier.errors import InputError, ParseError
from verifier.evidence import azure_tdx, tdx
from verifier.evidence.encoding import decode_evidence
from verifier.evidence.tdx import (
    has_quote_header,
    parse_quote,
)
from verifier.result import AttestationResult


def binary_fits(data: bytes) -> bool:
    """Binary when the header is a TDX quote's, whatever its version (size and version checks come
    later, as a parse failure), or an Azure HCL report (refused later as not a quote)."""
    return azure_tdx.is_hcl_report(data) or has_quote_header(data)


def _collateral_from_dir(opts: OfflineOptions, quote: bytes) -> TdxCollateral | None:
    """Read DIR for this quote's platform (FMSPC and PCK CA come from the quote's PCK certificate)."""
    assert opts.collateral is not None
    try:
        q = parse_quote(quote)
        chain = load_pck_chain(q.pck_chain_pem)
        ext = pck_extensions(chain.leaf)
    except ParseError:
        return None  # the appraisal reports why the quote is unusable
    return load_collateral_dir(opts.collateral, ext.fmspc.hex(), chain.ca)


def _digests(quote: bytes, coll: TdxCollateral | None) -> dict[str, str]:
    out = {"quote": hashlib.sha256(quote).hexdigest()}
    if coll is not None:
        for name in ("tcb_info", "tcb_info_chain", "qe_identity", "qe_identity_chain", "pck_crl",
                     "pck_crl_chain", "root_crl"):
            data = getattr(coll, name)
            if data is not None:
                out[f"collateral.{name}"] = hashlib.sha256(data).hexdigest()
    return out


def appraise_files(opts: OfflineOptions) -> AttestationResult:
    """Kind ``tdx`` of :data:`verifier.appraisal.offline.APPRAISERS`.

    Raises :class:`InputError` (exit code 2) when a file cannot be read or decoded at all, or when
    both ``--nonce`` and ``--report-data`` are given; any problem with the evidence itself is a
    failing check in the result (exit code 1).
    """
    if len(opts.files) != 1:
        raise InputError(f"evidence verify tdx takes one quote file, got {len(opts.files)}")
    if opts.nonce is not None and opts.report_data is not None:
        raise InputError("give --nonce or --report-data, not both")
    expected = opts.report_data if opts.report_data is not None else opts.nonce
    if expected is not None and len(expected) > 64:
        raise InputError(f"the expected REPORTDATA is {len(expected)} bytes; a TDX REPORTDATA has 64")
    quote, _encoding = decode_evidence(read_file(opts.files[0]), binary_fits, str(opts.files[0]))
    coll = _collateral_from_dir(opts, quote) if opts.collateral is not None else None
    appraisal = appraise_tdx(quote, policy=opts.policy, at=opts.at, expected_report_data=expected,
                             collateral=coll, fetcher=None if opts.collateral is not None else opts.fetcher)
    return AttestationResult(kind="tdx", at=opts.at, nonce=opts.nonce, policy=opts.policy.ref,
                             checks=appraisal.checks, evidence=_digests(quote, appraisal.collateral),
                             claims=appraisal.claims)


def inspect(data: bytes) -> dict[str, object]:
    """``evidence inspect`` for TDX evidence (decoded bytes): a quote, or an Azure HCL TDREPORT.

    Raises :class:`ParseError` when the bytes are neither.
    """
    if azure_tdx.is_hcl_report(data):
        return azure_tdx.describe(azure_tdx.parse_hcl_tdx_report(data))
    return tdx.describe(parse_quote(data))
