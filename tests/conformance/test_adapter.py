"""The conformance adapter against one vector per supported stage, compared as the suite's harness
compares (harness/tinfoil_conformance/runner.py: exit code; on 10 the rejection code, one of the
manifest's; on 0 the expected ``outputs`` keys, strings case-insensitively), without the harness."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from enclave_chat.conformance import run_stage
from enclave_chat.conformance.capabilities import capabilities

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT.parent / "shared" / "vectors" / "tinfoil-conformance"
needs_suite = pytest.mark.skipif(not SUITE.is_dir(), reason="the tinfoil-conformance vectors are not checked out")

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


def _diff(want: dict[str, Any], have: dict[str, Any]) -> list[str]:
    bad = []
    for key, value in want.items():
        got = have.get(key)
        same = (value.lower() == got.lower()) if isinstance(value, str) and isinstance(got, str) else value == got
        if key not in have or not same:
            bad.append(key)
    return bad


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
        assert _diff(expected.get("outputs", {}), out["outputs"]) == []


def test_not_json_is_malformed_and_unknown_stage_unsupported() -> None:
    assert run_stage("verify-measurement", b"{")[0] == 30
    assert run_stage("verify-tls-pinning", b"{}")[0] == 20


def _validate(value: Any, schema: dict[str, Any], root: dict[str, Any]) -> list[str]:
    """The subset of JSON Schema that capabilities.schema.json uses (jsonschema is not a dependency)."""
    errors: list[str] = []
    if "const" in schema and value != schema["const"]:
        errors.append(f"{value!r} != const")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{value!r} not in enum")
    kind = schema.get("type")
    types = {"object": dict, "array": list, "string": str, "boolean": bool}
    if isinstance(kind, str) and not isinstance(value, types[kind]):
        return [f"{value!r} is not {kind}"]
    if isinstance(value, dict):
        props = schema.get("properties", {})
        errors += [f"missing {k}" for k in schema.get("required", []) if k not in value]
        for k, v in value.items():
            if k in props:
                errors += _validate(v, props[k], root)
            elif schema.get("additionalProperties") is False:
                errors.append(f"unexpected {k}")
    if isinstance(value, list):
        if schema.get("uniqueItems") and len(set(map(json.dumps, value))) != len(value):
            errors.append("items not unique")
        errors += [e for item in value for e in _validate(item, schema.get("items", {}), root)]
    return errors


@needs_suite
def test_capabilities_match_the_schema() -> None:
    schema = json.loads((SUITE / "schemas" / "capabilities.schema.json").read_text())
    caps = capabilities()
    assert _validate(caps, schema, schema) == []
    try:
        import jsonschema
    except ImportError:
        return
    jsonschema.validate(caps, schema)


def test_command_line() -> None:
    proc = subprocess.run([sys.executable, "-m", "enclave_chat", "conformance", "tinfoil", "capabilities"],
                          capture_output=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["schema_version"] == "1"
