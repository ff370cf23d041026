"""``enclave-chat evidence verify tinfoil DOC.json [TRUSTED_ROOT.json] [--cert F]... [--crl F]... [--nonce HEX]``.

``DOC.json`` is a saved Tinfoil document: an ATC "attestation bundle" (a v2 document with its VCEK,
enclave certificate, release digest and Sigstore bundle), a bare v2 document, or a v3 document.
A second file is the Sigstore trusted root (``trusted_root.json``) to check the bundle with; without
it, the sigstore package's production root (its offline copy) is used. ``--cert`` adds AMD
certificates (the ASK/ARK chain, else fetched from AMD KDS unless ``--offline``).

A v2 document answers no nonce, so the result is at best authentic and never verified
(``tinfoil.freshness`` fails). A saved v3 document is checked with ``--nonce`` if given; its release
is not fetched offline and its TLS peer is unknown, so it is not verified either: replay a recording
(``enclave-chat verify --replay DIR``) to verify a v3 session.
"""

from __future__ import annotations

import hashlib

from verifier.appraisal.offline import OfflineOptions, read_file
from verifier.errors import InputError, ParseError
from verifier.providers.tinfoil import checks as ids
from verifier.providers.tinfoil import document as docs
from verifier.providers.tinfoil import envelope as env
from verifier.providers.tinfoil.appraisal import Fetched, Repository, appraise_document
from verifier.providers.tinfoil.rules import TinfoilPolicy
from verifier.result import AttestationResult, failed, passed, skipped


def _repository(opts: OfflineOptions, raw: bytes) -> tuple[str, Repository]:
    try:
        doc = env.parse_any(raw)
    except ParseError:
        return "", Repository(None, skipped(ids.REPOSITORY, "The document does not parse."))
    if isinstance(doc, env.EnvelopeDocument):
        return "", Repository(None, skipped(ids.REPOSITORY, "A saved current-layout document names no host, so which repository's release it must carry is not known here; replay a recording to check its release."))
    if isinstance(doc, docs.V3Document):
        return "", Repository(None, skipped(ids.REPOSITORY, "A saved v3 document brings no release and none is fetched offline; replay a recording to check its release."))
    host = (doc.domain or "").lower()
    pinned = TinfoilPolicy.from_policy(opts.policy).repos.get(host)
    if pinned is None:
        return host, Repository(None, failed(ids.REPOSITORY, f"The policy names no repository for {host or 'this document'} ([tinfoil] repos); try --policy tinfoil."))
    return host, Repository(pinned, passed(ids.REPOSITORY, f"The policy names {pinned} as the repository {host} runs."))


def appraise_files(opts: OfflineOptions) -> AttestationResult:
    """Appraise ``opts.files[0]`` (and a trusted root in ``opts.files[1]``); kind ``tinfoil``."""
    if not 1 <= len(opts.files) <= 2:
        raise InputError(f"tinfoil takes a document and optionally a Sigstore trusted root, not {len(opts.files)} files")
    if opts.report_data is not None:
        raise InputError("tinfoil documents are bound by their nonce: use --nonce, not --report-data")
    raw = read_file(opts.files[0], docs.MAX_DOCUMENT)
    root = read_file(opts.files[1]) if len(opts.files) == 2 else None
    certs = [read_file(p) for p in opts.certs]
    crls = [read_file(p) for p in opts.crls]
    host, repository = _repository(opts, raw)
    result, _ = appraise_document(raw, nonce=opts.nonce, policy=opts.policy, at=opts.at, host=host,
                                  fetched=Fetched(transport="unknown", repository=repository),
                                  fetcher=opts.fetcher, certificates=certs, crls=crls, trusted_root=root)
    evidence = dict(result.evidence)
    for path in (*opts.files[1:], *opts.certs, *opts.crls):
        evidence[path.name] = hashlib.sha256(read_file(path)).hexdigest()
    return AttestationResult(result.kind, result.at, result.nonce, result.policy, result.checks,
                             evidence, result.claims)
