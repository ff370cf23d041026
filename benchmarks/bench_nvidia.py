"""GPU appraisal against the raw signature verifications it contains, in one run.

The H100 matching set (report, 5-certificate chain, driver and VBIOS RIMs, NVIDIA's OCSP answers) is
appraised at 2025-08-21T12:00:00Z with ``rim_ocsp = "if-available"``, where it is verified. That
appraisal verifies 22 ECDSA P-384 signatures: the report (1), the device chain (4 links and the
root's self-signature), each RIM's chain (3 links and the root, twice), the two RIM XML signatures,
and for the three device-chain OCSP answers the responder certificate and the answer (2 x 3).
The baseline does the same 20 certificate/report/OCSP verifications directly with ``cryptography``
plus two more P-384 verifications standing in for the XML signatures (same curve, same hash),
with nothing else: no parsing, no policy, no XML canonicalisation. The ratio is the price of the rest.
Run with ``make bench`` (or ``pytest benchmarks/bench_nvidia.py --benchmark-only``).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509 import ocsp

from benchmarks.ratio import appraisal_against_raw
from tests.nvidia import nv
from verifier.appraisal.nvidia import appraise_gpu
from verifier.appraisal.policy import parse_policy
from verifier.endorsements.nvidia_chain import load_chain
from verifier.endorsements.nvidia_ocsp import decode_answer_file
from verifier.evidence.nvidia import parse_report
from verifier.reference.rim import load_rim

pytestmark = pytest.mark.vectors

POLICY = parse_policy(b'name = "bench"\n[gpu]\nrim_ocsp = "if-available"\n')
ROUNDS = 30


def _raw_verifications() -> tuple[int, Callable[[], None]]:
    report, chain_bytes = nv.h100()
    parsed = parse_report(report)
    chain = load_chain(chain_bytes)
    leaf_key = chain[0].public_key()
    assert isinstance(leaf_key, ec.EllipticCurvePublicKey)
    sig = encode_dss_signature(int.from_bytes(parsed.signature[:48], "big"),
                               int.from_bytes(parsed.signature[48:], "big"))
    links: list[tuple[x509.Certificate, x509.Certificate]] = [(chain[i], chain[i + 1]) for i in range(4)]
    links.append((chain[4], chain[4]))
    for rim in nv.google_rims():
        certs = load_rim(rim).certificates
        links += [(certs[i], certs[i + 1]) for i in range(3)] + [(certs[3], certs[3])]
    answers: list[tuple[x509.Certificate, x509.Certificate, ocsp.OCSPResponse]] = []
    for der in map(decode_answer_file, nv.ocsp_answers()):
        response = ocsp.load_der_ocsp_response(der)
        serial = next(iter(response.responses)).serial_number
        for i in (1, 2, 3):
            if chain[i].serial_number == serial:
                answers.append((response.certificates[0], chain[i + 1], response))
    assert len(answers) == 3

    def run() -> None:
        for _ in range(3):          # the report, and two stand-ins for the RIM XML signatures
            leaf_key.verify(sig, parsed.signed, ec.ECDSA(hashes.SHA384()))
        for child, issuer in links:
            child.verify_directly_issued_by(issuer)
        for responder, issuer, response in answers:
            responder.verify_directly_issued_by(issuer)
            key = responder.public_key()
            assert isinstance(key, ec.EllipticCurvePublicKey) and response.signature_hash_algorithm
            key.verify(response.signature, response.tbs_response_bytes, ec.ECDSA(response.signature_hash_algorithm))

    return 3 + len(links) + 2 * len(answers), run


def test_gpu_appraisal_against_its_raw_signature_verifications(benchmark) -> None:  # type: ignore[no-untyped-def]
    report, chain = nv.h100()
    rims, answers = nv.google_rims(), nv.ocsp_answers()

    def appraise() -> bool:
        return appraise_gpu(report, chain, policy=POLICY, at=nv.T_GPU_OCSP, expected_nonce=nv.H100_NONCE,
                            rims=rims, ocsp=answers).verified

    count, raw = _raw_verifications()
    assert count == 22
    ratio = appraisal_against_raw(benchmark, appraise, raw, count=count, label="H100 appraisal",
                                  signatures="P-384", rounds=ROUNDS)
    assert ratio > 1  # the appraisal does at least the raw verifications
