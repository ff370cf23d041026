"""TDX quote appraisal against the raw signature verifications it contains, measured in one run.

The set: go-tdx-guest's v5 sample quote (TDX 1.5) with Intel's January 2026 PCS collateral
(../shared/vectors/tinfoil/verifier/attestation/collateral, FMSPC 90c06f000000), appraised at
2026-02-01T00:00:00Z under the default policy with its REPORTDATA expected: verified, UpToDate.

That appraisal verifies 13 ECDSA P-256 signatures: the PCK chain (leaf, PCK Platform CA, root
self-signature: 3), the QE report (1), the quote (1), the root CA CRL and the PCK CRL (2), and for
the TCB info and the QE identity each its issuer chain (TCB Signing, root self-signature) and the
body signature (2 x 3). The baseline does those 13 verifications directly with ``cryptography`` on
keys and bytes prepared beforehand: no parsing, no JSON, no policy. The ratio is the price of the rest.

Run: ``.venv/bin/python -m benchmarks.bench_tdx``, or with pytest-benchmark
``pytest benchmarks/bench_tdx.py -o python_files='bench_*.py' --benchmark-only -s``.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from benchmarks.ratio import appraisal_against_raw
from tests.vectors import vectors_dir
from verifier.appraisal.policy import parse_policy
from verifier.appraisal.tdx import appraise_tdx
from verifier.endorsements.intel_collateral import TdxCollateral, load_crl, split_signed_body
from verifier.endorsements.intel_pck import load_pck_chain, load_pem_chain
from verifier.endorsements.intel_pcs import load_collateral_dir
from verifier.evidence.tdx import parse_quote

pytestmark = pytest.mark.vectors

AT = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
POLICY = parse_policy(b'name = "bench"\n')
ROUNDS = 200
QUOTE = "tdx/go-tdx-guest/quote_v5_sample.dat"
COLLATERAL = "tinfoil/verifier/attestation/collateral"


def _inputs(vectors: Path) -> tuple[bytes, TdxCollateral]:
    return (vectors / QUOTE).read_bytes(), load_collateral_dir(vectors / COLLATERAL, "90c06f000000", "platform")


def _der(sig: bytes) -> bytes:
    return encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))


def raw_verifications(quote_bytes: bytes, coll: TdxCollateral) -> tuple[int, Callable[[], None]]:
    """The 13 P-256 verifications of the appraisal, prepared: (count, run)."""
    q = parse_quote(quote_bytes)
    chain = load_pck_chain(q.pck_chain_pem)
    links: list[tuple[x509.Certificate, x509.Certificate]] = [
        (chain.leaf, chain.intermediate), (chain.intermediate, chain.root), (chain.root, chain.root)]
    bodies: list[tuple[ec.EllipticCurvePublicKey, bytes, bytes]] = []
    for body, chain_pem, key in ((coll.tcb_info, coll.tcb_info_chain, "tcbInfo"),
                                 (coll.qe_identity, coll.qe_identity_chain, "enclaveIdentity")):
        assert body is not None and chain_pem is not None
        signer, root = load_pem_chain(chain_pem, key)
        links += [(signer, root), (root, root)]
        signed = split_signed_body(body, key)
        pub = signer.public_key()
        assert isinstance(pub, ec.EllipticCurvePublicKey)
        bodies.append((pub, _der(signed.signature), signed.inner_raw))
    leaf_key = chain.leaf.public_key()
    assert isinstance(leaf_key, ec.EllipticCurvePublicKey)
    att_key = ec.EllipticCurvePublicNumbers(int.from_bytes(q.attestation_key[:32], "big"),
                                            int.from_bytes(q.attestation_key[32:], "big"),
                                            ec.SECP256R1()).public_key()
    bodies += [(leaf_key, _der(q.qe_report_signature), q.qe_report.raw), (att_key, _der(q.signature), q.signed)]
    assert coll.root_crl is not None and coll.pck_crl is not None
    crls = [(load_crl(coll.root_crl, "root CRL"), chain.root), (load_crl(coll.pck_crl, "PCK CRL"), chain.intermediate)]
    crl_keys = [(crl, issuer.public_key()) for crl, issuer in crls]
    ecdsa = ec.ECDSA(hashes.SHA256())

    def run() -> None:
        for child, issuer in links:
            child.verify_directly_issued_by(issuer)
        for key, sig, data in bodies:
            key.verify(sig, data, ecdsa)
        for crl, key in crl_keys:
            assert isinstance(key, ec.EllipticCurvePublicKey) and crl.is_signature_valid(key)

    return len(links) + len(bodies) + len(crl_keys), run


def measure(vectors: Path, rounds: int = ROUNDS) -> dict[str, Any]:
    """Median appraisal and median baseline over ``rounds`` each, interleaved in one run."""
    quote, coll = _inputs(vectors)
    report_data = parse_quote(quote).body.report_data
    count, raw = raw_verifications(quote, coll)

    def appraise() -> bool:
        a = appraise_tdx(quote, policy=POLICY, at=AT, expected_report_data=report_data, collateral=coll)
        return a.claims.get("tcb_status") == "UpToDate" and a.authentic

    assert appraise()
    raw()
    appraisal, baseline = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        appraise()
        appraisal.append(time.perf_counter() - start)
        start = time.perf_counter()
        raw()
        baseline.append(time.perf_counter() - start)
    a, r = statistics.median(appraisal), statistics.median(baseline)
    return {"raw_signatures": count, "appraisal_ms": a * 1000, "raw_ms": r * 1000, "ratio": a / r, "rounds": rounds}


def test_tdx_appraisal_against_its_raw_signature_verifications(benchmark: Any) -> None:
    quote, coll = _inputs(vectors_dir())
    report_data = parse_quote(quote).body.report_data
    count, raw = raw_verifications(quote, coll)
    assert count == 13

    def appraise() -> bool:
        a = appraise_tdx(quote, policy=POLICY, at=AT, expected_report_data=report_data, collateral=coll)
        return a.authentic and a.claims.get("tcb_status") == "UpToDate"

    ratio = appraisal_against_raw(benchmark, appraise, raw, count=count, label="TDX v5 appraisal",
                                  signatures="P-256", rounds=ROUNDS)
    assert ratio > 1  # the appraisal does at least the raw verifications


if __name__ == "__main__":
    m = measure(vectors_dir())
    print(f"TDX v5 appraisal (median of {m['rounds']}): {m['appraisal_ms']:.2f} ms; its {m['raw_signatures']} "
          f"raw P-256 verifications: {m['raw_ms']:.2f} ms; ratio {m['ratio']:.2f}x")
