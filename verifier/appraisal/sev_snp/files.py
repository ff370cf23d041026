"""``enclave-chat evidence verify sev-snp FILE [--cert F]... [--crl F]... [--nonce HEX | --report-data HEX]``.

Reads saved evidence and appraises it with :func:`verifier.appraisal.sev_snp.appraise_snp`.

Input forms of FILE, detected in this order (DESIGN.md, command line):

1. a JSON document from trustee's Azure verifier (``{"report": [bytes as ints], "vcek": PEM, ...}``,
   as in ``az-snp-vtpm`` evidence): the HCL report, with the VCEK added to the certificates;
2. raw binary: a 1184-byte SEV-SNP report, or an Azure HCL report (``HCLA`` at offset 0);
3. hex text, then base64, of either of those.

A size error after detection is an error (exit 2), never a cue to try another decoding.

Binding: ``--report-data HEX`` is the whole 64-byte REPORT_DATA. ``--nonce HEX`` (at most 64 bytes)
means REPORT_DATA = nonce followed by zero bytes to 64, the convention of tools that put a
verifier's nonce straight into REPORT_DATA (snpguest, go-sev-guest's ``--nonce``); a protocol
that hashes the nonce (the native protocol) uses ``--report-data`` with the bytes it expects.
Neither given: the binding check is a required ``skip`` and the result is never verified.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from verifier.appraisal.offline import OfflineOptions, read_file
from verifier.appraisal.sev_snp import appraise_snp
from verifier.errors import InputError, ParseError
from verifier.evidence import azure_hcl
from verifier.evidence.encoding import decode_evidence
from verifier.evidence.sev_snp import is_report_sized
from verifier.result import AttestationResult
from verifier.strict_json import load_strict_json

KIND = "sev-snp"
REPORT_DATA_SIZE = 64


def is_snp_evidence(data: bytes) -> bool:
    """Binary-detection test: a raw report or an Azure HCL report."""
    return is_report_sized(data) or azure_hcl.is_hcl_report(data)


def expected_report_data(nonce: bytes | None, report_data: bytes | None) -> bytes | None:
    """The 64 bytes REPORT_DATA must equal, from ``--report-data`` or ``--nonce`` (see above)."""
    if nonce is not None and report_data is not None:
        raise InputError("give --nonce or --report-data, not both")
    if report_data is not None:
        if len(report_data) != REPORT_DATA_SIZE:
            raise InputError(f"--report-data must be {REPORT_DATA_SIZE} bytes (128 hex digits), not {len(report_data)}")
        return report_data
    if nonce is not None:
        if not 0 < len(nonce) <= REPORT_DATA_SIZE:
            raise InputError(f"--nonce must be 1 to {REPORT_DATA_SIZE} bytes for an SEV-SNP report, not {len(nonce)}")
        return nonce + bytes(REPORT_DATA_SIZE - len(nonce))
    return None


def _trustee_json(data: bytes, name: str) -> tuple[bytes, list[bytes]] | None:
    """trustee's Azure SNP evidence JSON: ``report`` (list of byte values) and ``vcek`` (PEM)."""
    if not data.lstrip().startswith(b"{"):
        return None
    try:
        doc = load_strict_json(data, name, max_depth=8)
    except ParseError as e:
        raise InputError(f"{name} looks like JSON but is not valid JSON ({e})") from None
    report = doc.get("report") if isinstance(doc, dict) else None
    if not isinstance(report, list) or not all(isinstance(b, int) and 0 <= b <= 255 for b in report):
        raise InputError(f"{name} is JSON without a \"report\" array of bytes (trustee's Azure evidence form)")
    certs: list[bytes] = []
    vcek = doc.get("vcek")
    if isinstance(vcek, str):
        certs.append(vcek.encode())
    return bytes(report), certs


def appraise_files(opts: OfflineOptions) -> AttestationResult:
    """Appraise ``opts.files[0]`` as SEV-SNP evidence; kind ``sev-snp``."""
    if len(opts.files) != 1:
        raise InputError(f"sev-snp takes one report file, not {len(opts.files)}")
    path = opts.files[0]
    data = read_file(path)
    evidence: dict[str, str] = {path.name: hashlib.sha256(data).hexdigest()}
    wrapped = _trustee_json(data, str(path))
    extra_certs: list[bytes] = []
    if wrapped is not None:
        report, extra_certs = wrapped
    else:
        report, _encoding = decode_evidence(data, is_snp_evidence, str(path))
    cert_blobs = [*extra_certs]
    for cert_path in opts.certs:
        blob = read_file(Path(cert_path))
        evidence[Path(cert_path).name] = hashlib.sha256(blob).hexdigest()
        cert_blobs.append(blob)
    crl_blobs = []
    for crl_path in opts.crls:
        blob = read_file(Path(crl_path))
        evidence[Path(crl_path).name] = hashlib.sha256(blob).hexdigest()
        crl_blobs.append(blob)
    expected = expected_report_data(opts.nonce, opts.report_data)
    snp = appraise_snp(report, cert_blobs, policy=opts.policy, at=opts.at,
                       expected_report_data=expected, fetcher=opts.fetcher, crls=crl_blobs)
    return AttestationResult(KIND, opts.at, opts.nonce if opts.nonce is not None else opts.report_data,
                             opts.policy.ref, snp.checks, evidence, snp.claims)
