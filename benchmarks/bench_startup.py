"""How fast ``enclave-chat`` starts, against the imports any X.509 verifier needs, in the same run
(issue 11, point 8).

- baseline: a cold ``python -c "import cryptography.x509, ...ec, ...rsa"``: the interpreter and the
  cryptography modules every SEV-SNP verification needs; the floor of any verifier written in Python;
- the command: a cold ``enclave-chat evidence verify sev-snp REPORT --cert ... --offline --json`` (the
  installed script, as a script runs it) on go-sev-guest's Milan report
  (../shared/vectors/snp/go-sev-guest), which parses the policy, appraises the report (chain and
  signatures included) and prints the JSON result: what a script pays per call.

Both run ``ROUNDS`` times, interleaved (so that a busy machine slows both alike), after one unmeasured
run of each (the OS file cache); the figure is the ratio of the medians, at most ``MAX_RATIO``: the
command must not load what its path does not need (httpx, rich, textual, another kind's appraisal).

Run: ``.venv/bin/python -m benchmarks.bench_startup`` or, with pytest,
``pytest benchmarks/bench_startup.py -o python_files='bench_*.py' -s``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROUNDS = int(os.environ.get("BENCH_STARTUP_ROUNDS", "7"))
MAX_RATIO = 2.5
REPO = Path(__file__).resolve().parents[1]
BASELINE = "import cryptography.x509, cryptography.hazmat.primitives.asymmetric.ec, cryptography.hazmat.primitives.asymmetric.rsa"


def vectors() -> Path:
    env = os.environ.get("ENCLAVE_CHAT_VECTORS")
    return Path(env) if env else REPO.parent / "shared" / "vectors"


def program() -> list[str]:
    """The installed ``enclave-chat`` script beside this interpreter (what a script runs), else
    ``python -m enclave_chat`` (a checkout never installed)."""
    script = Path(sys.executable).with_name("enclave-chat")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "enclave_chat"]


def command() -> list[str]:
    base = vectors() / "snp" / "go-sev-guest"
    return [*program(), "evidence", "verify", "sev-snp", str(base / "attestation.bin"),
            "--cert", str(base / "vcek.testcer"), "--cert", str(base / "ask_ark_milan.pem"),
            "--at", "2025-07-01T00:00:00Z", "--offline", "--json"]


def timed(argv: list[str], env: dict[str, str], codes: tuple[int, ...]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, env=env, cwd=REPO, stdin=subprocess.DEVNULL, timeout=60)
    elapsed = time.perf_counter() - start
    assert proc.returncode in codes, (argv, proc.returncode, proc.stderr[-2000:])
    return elapsed


def measure(rounds: int = ROUNDS) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "ENCLAVE_CHAT_"))}
        env.update({f"ENCLAVE_CHAT_{kind.upper()}_DIR": str(Path(tmp) / kind) for kind in ("config", "data", "cache", "state")})
        env.update(NO_COLOR="1", ENCLAVE_CHAT_OFFLINE="1")
        baseline_argv = [sys.executable, "-c", BASELINE]
        cli_argv = command()
        # The report is authentic but refused (its guest policy has DEBUG set): exit 1 is the answer.
        cli_codes = (1,)
        timed(baseline_argv, env, (0,))
        timed(cli_argv, env, cli_codes)
        baseline, cli = [], []
        for _ in range(rounds):
            baseline.append(timed(baseline_argv, env, (0,)))
            cli.append(timed(cli_argv, env, cli_codes))
    return {"baseline": statistics.median(baseline), "cli": statistics.median(cli)}


def report(t: dict[str, float], rounds: int = ROUNDS) -> str:
    return "\n".join([
        f"enclave-chat start-up, median of {rounds} cold processes each, interleaved (same run):",
        f"  python -c 'import cryptography.x509, ...ec, ...rsa'           {t['baseline'] * 1000:7.1f} ms  (baseline)",
        f"  enclave-chat evidence verify sev-snp ... --offline --json  {t['cli'] * 1000:7.1f} ms  "
        f"ratio {t['cli'] / t['baseline']:.2f}x (at most {MAX_RATIO}x)",
    ])


def test_offline_evidence_verify_starts_fast() -> None:
    if not (vectors() / "snp" / "go-sev-guest" / "attestation.bin").is_file():
        pytest.skip(f"real vectors not found at {vectors()} (set ENCLAVE_CHAT_VECTORS)")
    t = measure()
    print("\n" + report(t))
    assert t["cli"] / t["baseline"] <= MAX_RATIO, report(t)


if __name__ == "__main__":
    print(report(measure()))
