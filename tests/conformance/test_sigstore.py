"""Every vector of the suite's ``vectors/sigstore`` through ``run_stage("verify-sigstore", ...)``,
judged as the harness judges (harness/tinfoil_conformance/runner.py): a vector whose
``required_capabilities`` the declared capabilities do not meet is a skip, and only the ones listed
in SKIPPED may be; otherwise the exit code, on 10 a rejection code among the manifest's, on 0 the
expected ``outputs`` keys (strings case-insensitively). The manifests are read by a small reader of
the YAML subset they use (PyYAML is not a dependency)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from enclave_chat.conformance import run_stage
from enclave_chat.conformance.capabilities import capabilities
from enclave_chat.conformance.sigstore import TABLE
from tests.conformance.suite import (
    SUITE,
    manifest,
    needs_suite,
    outputs_diff,
    rejection_codes,
    schema_errors,
    unmet,
)
from verifier.reference import sigstore_checks
from verifier.reference.sigstore_bundle import REASONS

VECTORS = SUITE / "vectors" / "sigstore"

SKIPPED = {"067-bundle-two-tlog-entries": ("sigstore.accepts_multi_tlog_entries", 10, "TLOG_COUNT_OUT_OF_RANGE")}
"""Vector -> (the knob declared missing, what the stage does with it anyway: exit, code).
sigstore-python verifies exactly one log entry; the suite's reading of SPEC §5.2 #3 is 'at least one'."""


def _vectors() -> list[str]:
    return sorted(p.parent.name for p in VECTORS.glob("*/manifest.yaml")) if VECTORS.is_dir() else []


@needs_suite
def test_every_vector_is_here() -> None:
    assert len(_vectors()) >= 53
    assert set(SKIPPED) <= set(_vectors())


@needs_suite
@pytest.mark.parametrize("vector", _vectors())
def test_vector(vector: str) -> None:
    folder = VECTORS / vector
    m = manifest(folder)
    assert m["stage"] == "verify-sigstore"
    expects = m["expects"]
    caps = capabilities()
    assert "verify-sigstore" in caps["stages_supported"]
    missing = unmet(m.get("required_capabilities"), caps)
    code, out, why = run_stage("verify-sigstore", (folder / "input.json").read_bytes())
    if vector in SKIPPED:
        knob, exit_code, rejection = SKIPPED[vector]
        assert missing is not None and missing.startswith(f"{knob} "), "a declared skip must be for its declared-missing knob"
        assert (code, out and out.get("rejection", {}).get("code")) == (exit_code, rejection), why
        return
    assert missing is None, f"{vector} would be skipped for {missing}"
    assert code == expects["exit_code"], why
    if code == 10:
        assert out is not None and out == {"stage": "verify-sigstore", "accepted": False, "rejection": out["rejection"]}
        assert out["rejection"]["code"] in rejection_codes(expects), why
    if code == 0:
        assert out is not None and out["accepted"] is True
        expected = json.loads((folder / "expected.json").read_text())
        assert outputs_diff(expected.get("outputs", {}), out["outputs"]) == []


def _input(vector: str = "001-happy-path-snp-tdx-multiplatform") -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((VECTORS / vector / "input.json").read_text())
    return doc


def _run(doc: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
    code, out, _ = run_stage("verify-sigstore", json.dumps(doc).encode())
    return code, out


@needs_suite
def test_outputs_follow_the_schema() -> None:
    schema = json.loads((SUITE / "schemas" / "verify-sigstore.output.schema.json").read_text())
    code, out = _run(_input())
    assert code == 0 and out is not None and schema_errors(out, "verify-sigstore.output") == []
    assert set(out["outputs"]) <= set(schema["properties"]["outputs"]["properties"])
    assert set(out["outputs"]["measurement"]) == {"type", "registers"}
    assert out["outputs"]["subject_digest_sha256_hex"] == out["outputs"]["subject_digest_sha256_hex"].lower()


@needs_suite
@pytest.mark.parametrize("change", [
    lambda d: d.update(extra=1),
    lambda d: d.pop("verification_time_unix"),
    lambda d: d.update(verification_time_unix=True),
    lambda d: d.update(verification_time_unix=-1),
    lambda d: d.update(bundle_b64="not base64!"),
    lambda d: d.update(expected_digest_sha256_hex="00" * 31),
    lambda d: d.update(repo="no-slash"),
    lambda d: d["policy"].pop("payload_type"),
    lambda d: d["policy"].update(unknown=True),
    lambda d: d["policy"].update(predicate_types_allowed="https://tinfoil.sh/predicate/snp-tdx-multiplatform/v1"),
    lambda d: d["policy"].update(sct_min="1"),
    lambda d: d["policy"].update(tlog_entries_max=-1),
    lambda d: d.update(policy=[]),
], ids=["extra key", "no time", "bool time", "negative time", "bad base64", "short digest", "bad repo",
        "no payload_type", "unknown policy key", "allow-list not a list", "string count", "negative max",
        "policy not an object"])
def test_schema_violations_are_malformed(change: Any) -> None:
    doc = _input()
    change(doc)
    assert _run(doc)[0] == 30


@needs_suite
@pytest.mark.parametrize(("key", "value"), [("tlog_entries_min", 2), ("tlog_entries_max", 3), ("sct_min", 0),
                                            ("observer_timestamps_min", 2)])
def test_thresholds_without_a_knob_are_unsupported(key: str, value: int) -> None:
    doc = _input()
    doc["policy"][key] = value
    assert _run(doc)[0] == 20


@needs_suite
def test_the_thresholds_it_enforces_are_accepted() -> None:
    doc = _input()
    doc["policy"].update(tlog_entries_min=1, tlog_entries_max=1, sct_min=1, observer_timestamps_min=1)
    assert _run(doc)[0] == 0


@needs_suite
def test_a_trusted_root_that_is_not_base64_json_is_a_rejection_not_malformed() -> None:
    doc = _input()
    doc["trust_root_b64"] = base64.b64encode(b"[1, 2]").decode()
    code, out = _run(doc)
    assert code == 10 and out is not None and out["rejection"]["code"] == "TRUST_ROOT_INVALID"


def test_the_table_names_only_the_verifiers_check_ids_and_reasons() -> None:
    schema_codes = {"BUNDLE_MALFORMED", "DSSE_SIGNATURE_INVALID", "FULCIO_CHAIN_INVALID", "CERT_EXPIRED",
                    "SCT_INSUFFICIENT", "SCT_DUPLICATE_LOG", "TLOG_COUNT_OUT_OF_RANGE", "REKOR_INCLUSION_INVALID",
                    "REKOR_KEY_NOT_TRUSTED", "CHECKPOINT_ROOT_MISMATCH", "OBSERVER_TIMESTAMP_INSUFFICIENT",
                    "OIDC_ISSUER_MISMATCH", "WORKFLOW_REPOSITORY_MISMATCH", "WORKFLOW_REF_PREFIX_MISMATCH",
                    "PAYLOAD_TYPE_MISMATCH", "IN_TOTO_STATEMENT_TYPE_NOT_ALLOWED", "PREDICATE_TYPE_NOT_ALLOWED",
                    "SUBJECT_DIGEST_MISMATCH", "SUBJECT_MISSING", "PREDICATE_MEASUREMENT_INVALID", "TRUST_ROOT_INVALID"}
    output_schema = SUITE / "schemas" / "verify-sigstore.output.schema.json"
    if output_schema.is_file():
        enum = json.loads(output_schema.read_text())["properties"]["rejection"]["properties"]["code"]["enum"]
        assert set(enum) == schema_codes
    assert set(REASONS) <= set(sigstore_checks.CATALOGUE)
    for (check_id, reason), code in TABLE.items():
        assert check_id in sigstore_checks.CATALOGUE
        assert reason is None or reason in REASONS[check_id], (check_id, reason)
        assert code in schema_codes
