"""``enclave-chat evidence verify dstack FILE [APP_COMPOSE] [--collateral DIR] ...``: a saved dstack
attestation, appraised offline.

``FILE`` is one of dstack's JSON documents (:mod:`verifier.evidence.dstack`: the ``GetQuote``
answer, a quote beside the ``Info`` answer as NEAR AI and Venice serve it, or NEAR AI cloud's
gateway answer), told apart by content. A second file may be the app compose
(``app-compose.json``, hashed as its exact bytes) for a document that carries none. Collateral comes
from ``--collateral DIR`` (docs/tdx.md's layout) or, without it, through the fetcher (Intel PCS v4;
``--offline`` answers from the cache only). ``--report-data HEX`` / ``--nonce HEX``: the quote's
REPORTDATA, zero-padded to 64 bytes (``tdx.report_data``). Evidence digests are SHA-256 of each
file, of the quote, of the app compose and of every collateral piece used.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

from verifier.appraisal.dstack import appraise_dstack
from verifier.appraisal.offline import OfflineOptions, read_file
from verifier.endorsements.intel_collateral import TdxCollateral
from verifier.errors import InputError, ParseError
from verifier.evidence.dstack import DstackEvidence, find_evidence, looks_like_compose, quote_bytes
from verifier.result import AttestationResult
from verifier.strict_json import load_strict_json

KIND = "dstack"
_COLLATERAL_PIECES = ("tcb_info", "tcb_info_chain", "qe_identity", "qe_identity_chain", "pck_crl",
                      "pck_crl_chain", "root_crl")


def _collateral_from_dir(directory: Path, evidence: DstackEvidence) -> TdxCollateral | None:
    """DIR read for the quote's platform (FMSPC and PCK CA from its PCK certificate)."""
    from verifier.endorsements.intel_pck import load_pck_chain, pck_extensions
    from verifier.endorsements.intel_pcs import load_collateral_dir
    from verifier.evidence.tdx import parse_quote

    try:
        chain = load_pck_chain(parse_quote(quote_bytes(evidence.quote)).pck_chain_pem)
        ext = pck_extensions(chain.leaf)
    except ParseError:
        return None  # the appraisal reports why the quote is unusable
    return load_collateral_dir(directory, ext.fmspc.hex(), chain.ca)


def read_documents(files: tuple[Path, ...]) -> tuple[DstackEvidence, dict[str, str]]:
    """The attestation among ``files`` (one document, and optionally an app compose), and the
    SHA-256 of each file. Raises :class:`InputError` for anything else."""
    if not 1 <= len(files) <= 2:
        raise InputError(f"evidence verify dstack takes a dstack document and optionally its app compose, "
                         f"got {len(files)} files")
    evidence: DstackEvidence | None = None
    compose: bytes | None = None
    digests: dict[str, str] = {}
    for i, path in enumerate(files):
        raw = read_file(path)
        digests[f"file{i}"] = hashlib.sha256(raw).hexdigest()
        try:
            doc = load_strict_json(raw, str(path))
            found = find_evidence(doc)
        except ParseError as e:
            raise InputError(f"{path} is not a dstack document: {e}") from None
        if found is not None:
            if evidence is not None:
                raise InputError(f"{files[0]} and {path} are both dstack attestation documents; give one")
            evidence = found
        elif looks_like_compose(doc):
            if compose is not None:
                raise InputError("two app compose files were given; give one")
            compose = raw
        else:
            raise InputError(f"{path} is neither a dstack attestation document (quote and event_log, intel_quote "
                             "and event_log, or gateway_attestation) nor an app compose (runner, "
                             "docker_compose_file)")
    if evidence is None:
        raise InputError("no dstack attestation document among the files (an app compose alone binds nothing)")
    if compose is not None:
        if evidence.app_compose is not None:
            raise InputError("the document carries its own app compose; do not give another")
        evidence = dataclasses.replace(evidence, app_compose=compose)
    return evidence, digests


def appraise_files(opts: OfflineOptions) -> AttestationResult:
    """Kind ``dstack`` of the kind registry.

    Raises :class:`InputError` (exit code 2) when a file cannot be read or is not a dstack document
    or app compose, or when both ``--nonce`` and ``--report-data`` are given; any problem with the
    evidence itself is a failing check in the result (exit code 1).
    """
    if opts.nonce is not None and opts.report_data is not None:
        raise InputError("give --nonce or --report-data, not both")
    expected = opts.report_data if opts.report_data is not None else opts.nonce
    if expected is not None and len(expected) > 64:
        raise InputError(f"the expected REPORTDATA is {len(expected)} bytes; a TDX REPORTDATA has 64")
    evidence, digests = read_documents(opts.files)
    coll = _collateral_from_dir(opts.collateral, evidence) if opts.collateral is not None else None
    appraisal = appraise_dstack(evidence, policy=opts.policy, at=opts.at, expected_report_data=expected,
                                collateral=coll, fetcher=None if opts.collateral is not None else opts.fetcher)
    try:
        digests["quote"] = hashlib.sha256(quote_bytes(evidence.quote)).hexdigest()
    except ParseError:
        pass  # dstack.parse says why
    if appraisal.app_compose is not None:
        digests["app_compose"] = appraisal.app_compose.sha256.hex()
    used = appraisal.collateral
    if used is not None:
        for name in _COLLATERAL_PIECES:
            data = getattr(used, name)
            if data is not None:
                digests[f"collateral.{name}"] = hashlib.sha256(data).hexdigest()
    return AttestationResult(kind=KIND, at=opts.at, nonce=opts.nonce, policy=opts.policy.ref,
                             checks=appraisal.checks, evidence=digests, claims=appraisal.claims)
