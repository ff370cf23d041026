"""SEV-SNP appraisal time against the raw signature verifications it needs, measured in one run.

On the same real Genoa report (trustee's e2e set, ../shared/vectors/snp/trustee):

- raw: the four signature verifications an SEV-SNP appraisal cannot avoid on first sight of a chain
  (ARK self-signature, ASK and VCEK: RSASSA-PSS SHA-384 over RSA-4096; the report: ECDSA P-384),
  on keys and bytes prepared beforehand: the floor of any verifier;
- cold: ``appraise_snp`` with every cache emptied first (policy, parsed certificates, verified
  signatures): what the first attestation of a service costs;
- warm: ``appraise_snp`` as a client re-attesting the same service runs it: the verifier remembers
  parsed certificates and verified RSA-PSS signatures by their exact bytes, so only the report's
  ECDSA signature (which changes with every nonce) and the policy checks run again.

Run: ``.venv/bin/python -m benchmarks.bench_snp`` or, with pytest,
``pytest benchmarks/bench_snp.py -o python_files='bench_*.py' -s``.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from verifier.appraisal import sev_snp as appraisal
from verifier.appraisal.policy import parse_policy
from verifier.appraisal.sev_snp import rules as snp_rules
from verifier.endorsements import amd
from verifier.evidence.sev_snp import SIGNED_SIZE, parse_report

AT = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)
ROUNDS = 400
PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48)


def vectors() -> Path:
    env = os.environ.get("ENCLAVE_CHAT_VECTORS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "vectors"


def median_time(fn: Callable[[], object], rounds: int = ROUNDS) -> float:
    fn()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def measure() -> dict[str, float]:
    base = vectors() / "snp" / "trustee"
    report = (base / "e2e-report-rebuilt.bin").read_bytes()
    blobs = [(base / "e2e-vcek.der").read_bytes(), (base / "genoa_ask_ark_asvk.pem").read_bytes()]
    policy = parse_policy(b'name = "bench"\n[snp]\n')

    certs = amd.load_certificates(blobs)
    chain = amd.pick_chain(certs, amd.Role.VCEK)
    assert chain.leaf and chain.intermediate and chain.ark
    ark_key, ask_key = chain.ark.cert.public_key(), chain.intermediate.cert.public_key()
    vcek_key = chain.leaf.cert.public_key()
    assert isinstance(ark_key, rsa.RSAPublicKey) and isinstance(ask_key, rsa.RSAPublicKey)
    assert isinstance(vcek_key, ec.EllipticCurvePublicKey)
    parsed = parse_report(report)
    signature = encode_dss_signature(*parsed.signature_rs)
    signed = report[:SIGNED_SIZE]
    ark, ask, vcek = chain.ark, chain.intermediate, chain.leaf

    def raw() -> None:
        ark_key.verify(ark.signature, ark.tbs, PSS, hashes.SHA384())
        ark_key.verify(ask.signature, ask.tbs, PSS, hashes.SHA384())
        ask_key.verify(vcek.signature, vcek.tbs, PSS, hashes.SHA384())
        vcek_key.verify(signature, signed, ec.ECDSA(hashes.SHA384()))

    def full() -> appraisal.SnpAppraisal:
        return appraisal.appraise_snp(report, blobs, policy=policy, at=AT, expected_report_data=None)

    def cold() -> None:
        amd.VERIFIED.clear()
        amd._cached_blob.cache_clear()
        snp_rules._POLICY_CACHE.clear()
        full()

    assert full().authentic
    times = {"raw": median_time(raw), "cold": median_time(cold), "warm": median_time(full)}
    times["rsa_pss"] = median_time(lambda: ark_key.verify(ask.signature, ask.tbs, PSS, hashes.SHA384()))
    times["ecdsa"] = median_time(lambda: vcek_key.verify(signature, signed, ec.ECDSA(hashes.SHA384())))
    return times


def report(t: dict[str, float]) -> str:
    ms = {k: v * 1000 for k, v in t.items()}
    return "\n".join([
        f"SEV-SNP appraisal of one real Genoa report, median of {ROUNDS} (same run):",
        f"  raw: 3 RSA-PSS-4096 + 1 ECDSA P-384 verifications  {ms['raw']:7.3f} ms  (baseline; "
        f"one RSA-PSS {ms['rsa_pss']:.3f} ms, ECDSA {ms['ecdsa']:.3f} ms)",
        f"  full appraisal, cold caches                         {ms['cold']:7.3f} ms  ratio {t['cold'] / t['raw']:.2f}x",
        f"  full appraisal, warm (cached chain, as re-attesting) {ms['warm']:7.3f} ms  ratio {t['warm'] / t['raw']:.2f}x",
    ])


def test_snp_appraisal_against_raw_signatures() -> None:
    t = measure()
    print("\n" + report(t))
    assert t["raw"] > 0 and t["warm"] < t["cold"]


if __name__ == "__main__":
    print(report(measure()))
