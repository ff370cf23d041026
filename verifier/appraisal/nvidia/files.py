"""``enclave-chat evidence verify nvidia-gpu REPORT --cert CHAIN [--rim F...] [--ocsp F...] ...``.

Reads saved GPU evidence and its collateral from files and appraises it with
:func:`verifier.appraisal.nvidia.appraise_gpu` at ``--at`` under ``--policy``:

* ``REPORT``: the SPDM request || response as raw binary, hex text (NVIDIA's ``*AttestationReport.txt``)
  or base64, detected in that order; or an NRAS-request-shaped JSON list
  ``[{"arch", "evidence": base64 report, "certificate": base64 PEM chain, "nonce"}]`` (NVIDIA's
  ``serialized_test_evidence``), which is appraised as several devices with
  :func:`~verifier.appraisal.nvidia.appraise_gpus` (its ``nonce`` member is not trusted: only
  ``--nonce`` sets the expected nonce);
* ``--cert``: the device certificate chain (PEM or DER, leaf first; several files are concatenated);
* ``--rim``: driver / VBIOS RIM XML files; ``--ocsp``: OCSP answers (DER or base64).

Without ``--offline``, what is missing is fetched from NVIDIA (RIM service, OCSP responder) through the
shared fetcher; with it, missing collateral is a ``skip`` or a ``fail`` as the policy says.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from pathlib import Path
from typing import Any

from verifier.appraisal.nvidia import GpuAppraisal, appraise_gpu, appraise_gpus
from verifier.appraisal.offline import OfflineOptions, read_file
from verifier.endorsements.nvidia_ocsp import decode_answer_file
from verifier.errors import InputError, ParseError
from verifier.evidence.encoding import decode_evidence
from verifier.evidence.nvidia import NONCE_SIZE, looks_binary
from verifier.result import AttestationResult
from verifier.strict_json import load_strict_json

KIND = "nvidia-gpu"
SPDM_NONCE_SIZE = NONCE_SIZE
"""An SPDM GET_MEASUREMENTS request carries a 32-byte nonce."""


def appraise_files(opts: OfflineOptions) -> AttestationResult:
    """Appraise one saved GPU report (or an NRAS-shaped JSON list of them) with its collateral."""
    if len(opts.files) != 1:
        raise InputError(f"nvidia-gpu takes one report file (an NRAS-shaped JSON file for several GPUs), not {len(opts.files)}")
    if opts.nonce is not None and len(opts.nonce) != SPDM_NONCE_SIZE:
        raise InputError(f"--nonce must be {SPDM_NONCE_SIZE} bytes ({2 * SPDM_NONCE_SIZE} hex digits) for SPDM evidence, not {len(opts.nonce)}")
    report_path = opts.files[0]
    data = read_file(report_path)
    evidence: dict[str, str] = {}
    rims = [_named(p, evidence, "rim") for p in opts.rims]
    ocsp = [_ocsp_file(p, evidence) for p in opts.ocsp]

    devices = _json_devices(data)
    appraisal: GpuAppraisal
    if devices is not None:
        for i, (_, report, chain) in enumerate(devices):
            evidence[f"gpu.{i}.report"] = _sha256(report)
            evidence[f"gpu.{i}.certificate_chain"] = _sha256(chain)
        appraisal = appraise_gpus(devices, policy=opts.policy, at=opts.at, expected_nonce=opts.nonce,
                                  fetcher=opts.fetcher, rims=rims, ocsp=ocsp)
    else:
        report, _encoding = decode_evidence(data, looks_binary, str(report_path))
        if not opts.certs:
            raise InputError("nvidia-gpu needs the device certificate chain (--cert FILE)")
        chain = b"".join(read_file(p) for p in opts.certs)
        evidence["report"] = _sha256(report)
        evidence["certificate_chain"] = _sha256(chain)
        appraisal = appraise_gpu(report, chain, policy=opts.policy, at=opts.at,
                                 expected_nonce=opts.nonce, fetcher=opts.fetcher, rims=rims, ocsp=ocsp)
    return AttestationResult(KIND, opts.at, opts.nonce, opts.policy.ref, appraisal.checks,
                             evidence, appraisal.claims)


def _named(path: Path, evidence: dict[str, str], role: str) -> bytes:
    data = read_file(path)
    evidence[f"{role}:{path.name}"] = _sha256(data)
    return data


def _ocsp_file(path: Path, evidence: dict[str, str]) -> bytes:
    """An OCSP answer file (DER or base64) that must at least decode as an OCSP response."""
    from cryptography.x509 import ocsp

    der = decode_answer_file(_named(path, evidence, "ocsp"))
    try:
        ocsp.load_der_ocsp_response(der)
    except ValueError:
        raise InputError(f"{path} is not an OCSP response (DER or base64)") from None
    return der


def _json_devices(data: bytes) -> list[tuple[str, bytes, bytes]] | None:
    """NVIDIA's NRAS request shape, if that is what the file holds; None when it is not JSON."""
    head = data.lstrip()[:1]
    if head not in (b"[", b"{"):
        return None
    try:
        doc: Any = load_strict_json(data, "evidence file")
    except ParseError:
        return None
    if isinstance(doc, dict):
        doc = doc.get("evidence_list", [doc])
    if not isinstance(doc, list) or not doc:
        raise InputError("the JSON evidence file holds no device entries")
    out: list[tuple[str, bytes, bytes]] = []
    for n, entry in enumerate(doc):
        if not isinstance(entry, dict):
            raise InputError(f"JSON evidence entry {n} is not an object")
        try:
            report = base64.b64decode(str(entry["evidence"]), validate=True)
            chain = base64.b64decode(str(entry["certificate"]), validate=True)
        except (KeyError, binascii.Error, ValueError):
            raise InputError(f"JSON evidence entry {n} needs base64 'evidence' and 'certificate'") from None
        out.append((str(entry.get("arch", "")), report, chain))
    return out


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
