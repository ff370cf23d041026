"""The conformance adapter against one vector per supported stage, compared as the suite's harness
compares (harness/tinfoil_conformance/runner.py: exit code; on 10 the rejection code, one of the
manifest's; on 0 the expected ``outputs`` keys, strings case-insensitively), without the harness."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from enclave_chat.conformance import run_stage
from enclave_chat.conformance.capabilities import capabilities
from tests.conformance.suite import SUITE, needs_suite, outputs_diff, schema_errors
from tests.vectors import REPO

# (vector dir, expected exit, acceptable rejection codes) — the manifests' `expects`, restated so
# the test needs no YAML parser.
VECTORS = [
    ("measurement/102-fingerprint-multiplatform-multi-register", 0, None),
    ("measurement/121-compare-multiplatform-to-tdx-rtmr3-nonzero", 10, {"MEASUREMENT_RTMR3_NONZERO"}),
    ("measurement/150-compare-tdx-direct-to-sev-unsupported", 10, {"MEASUREMENT_TYPE_COMBINATION_UNSUPPORTED"}),
    ("hardware-measurements/201-hardware-match-second-of-three", 0, None),
    ("hardware-measurements/220-enclave-wrong-type-sev", 10, {"ENCLAVE_MEASUREMENT_TYPE_INVALID"}),
    ("ehbp-key-binding/600-key-binding-happy", 0, None),
    ("ehbp-key-binding/610-key-binding-mismatch", 10, {"EHBP_KEY_BINDING_MISMATCH"}),
    ("ehbp-key-binding/640-offered-key-wrong-length", 30, None),
]
STAGE = {"measurement": "verify-measurement", "hardware-measurements": "verify-hardware-measurements",
         "ehbp-key-binding": "verify-ehbp-key-binding"}


@needs_suite
@pytest.mark.parametrize(("vector", "exit_code", "codes"), VECTORS)
def test_vector(vector: str, exit_code: int, codes: set[str] | None) -> None:
    folder = SUITE / "vectors" / vector
    code, out, _ = run_stage(STAGE[vector.split("/")[0]], (folder / "input.json").read_bytes())
    assert code == exit_code
    if code == 10:
        assert out is not None and out["rejection"]["code"] in (codes or set())
    if code == 0:
        assert out is not None
        expected = json.loads((folder / "expected.json").read_text())
        assert outputs_diff(expected.get("outputs", {}), out["outputs"]) == []


def test_not_json_is_malformed_and_unknown_stage_unsupported() -> None:
    assert run_stage("verify-measurement", b"{")[0] == 30
    assert run_stage("verify-tls-pinning", b"{}")[0] == 20


@needs_suite
def test_capabilities_match_the_schema() -> None:
    assert schema_errors(capabilities(), "capabilities") == []


def test_command_line() -> None:
    proc = subprocess.run([sys.executable, "-m", "enclave_chat", "conformance", "tinfoil", "capabilities"],
                          capture_output=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["schema_version"] == "1"
