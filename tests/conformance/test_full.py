"""``verify-full`` (SPEC §11): every vector of ``vectors/verify-full`` through the adapter, compared as
the harness compares (exit code; on 10 the code and the sub-stage that refused; on 0 the outputs and
the output schema), and the flows' own rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from enclave_chat.conformance import run_stage
from enclave_chat.conformance.capabilities import capabilities
from tests.conformance.suite import (
    SUITE,
    manifest,
    needs_suite,
    outputs_diff,
    rejection_codes,
    schema_errors,
    unmet,
    vector_dirs,
)

STAGE = "verify-full"
pytestmark = pytest.mark.usefixtures("amd_chain_offline")
HAPPY = SUITE / "vectors" / "verify-full" / "500-standard-flow-sev-happy"


def run(doc: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
    code, out, _ = run_stage(STAGE, json.dumps(doc).encode())
    return code, out


@needs_suite
def test_the_stage_and_its_modes_are_declared() -> None:
    caps = capabilities()
    assert STAGE in caps["stages_supported"] and caps["flow_modes_supported"] == ["standard", "pinned"]
    assert len(vector_dirs("verify-full")) == 7


@needs_suite
@pytest.mark.parametrize("folder", vector_dirs("verify-full"), ids=lambda p: p.name)
def test_vector(folder: Path) -> None:
    m = manifest(folder)
    assert m["stage"] == STAGE
    assert unmet(m.get("required_capabilities"), capabilities()) is None  # no vector is skipped
    code, out, detail = run_stage(STAGE, (folder / "input.json").read_bytes())
    expects = m["expects"]
    assert code == expects["exit_code"], detail
    assert out is not None and schema_errors(out, "verify-full.output") == []
    if code == 10:
        assert out["rejection"]["code"] in rejection_codes(expects), detail
        assert out["rejection"]["stage"] == expects["rejection_stage"], detail
    if code == 0:
        expected = json.loads((folder / "expected.json").read_text())
        assert outputs_diff(expected.get("outputs", {}), out["outputs"]) == []


@needs_suite
def test_an_accepted_standard_flow_names_both_measurements_and_the_fingerprint() -> None:
    code, out = run(json.loads((HAPPY / "input.json").read_text()))
    assert code == 0 and out is not None
    got = out["outputs"]
    assert got["mode"] == "standard" and got["platform"] == "sev-snp"
    register = got["attestation_measurement"]["registers"][0]
    assert got["sigstore_measurement"]["registers"][0] == register  # SPEC §7.3.4: register[0] is the SEV one
    assert got["final_measurement_fingerprint_hex"] == register    # §7.2: one register is its own fingerprint


@needs_suite
def test_a_bad_sigstore_bundle_is_refused_before_the_attestation_is_read() -> None:
    doc = json.loads((HAPPY / "input.json").read_text())
    doc["attestation_sev"]["attestation_doc_b64"] = "not base64 at all!"  # would be exit 30 if read
    doc["sigstore"]["expected_digest_sha256_hex"] = "00" * 32
    code, out = run(doc)
    assert code == 10 and out is not None
    assert out["rejection"] == {**out["rejection"], "code": "SUBJECT_DIGEST_MISMATCH", "stage": "verify-sigstore"}


@needs_suite
def test_a_flipped_report_byte_is_refused_by_the_attestation_stage() -> None:
    import base64
    import gzip

    doc = json.loads((HAPPY / "input.json").read_text())
    report = bytearray(gzip.decompress(base64.b64decode(doc["attestation_sev"]["attestation_doc_b64"])))
    report[0x90] ^= 1  # MEASUREMENT, inside the signed part
    doc["attestation_sev"]["attestation_doc_b64"] = base64.b64encode(gzip.compress(bytes(report))).decode()
    code, out = run(doc)
    assert code == 10 and out is not None
    assert out["rejection"]["stage"] == "verify-attestation-sev"
    assert out["rejection"]["code"] == "REPORT_SIGNATURE_INVALID"


def test_the_bundle_flow_is_not_built_and_an_unknown_mode_is_malformed() -> None:
    assert run({"schema_version": "1", "mode": "bundle", "sigstore": {}})[0] == 20
    assert run({"schema_version": "1", "mode": "other"})[0] == 30
    assert run({"schema_version": "1", "mode": "pinned"})[0] == 30
    assert run({"schema_version": "1", "mode": "standard", "extra": 1})[0] == 30


def test_two_attestation_blocks_are_a_cross_stage_rejection() -> None:
    code, out = run({"schema_version": "1", "mode": "pinned", "attestation_sev": {}, "attestation_tdx": {},
                     "pinned_measurement": {"type": "x", "registers": []}})
    assert code == 10 and out is not None
    assert (out["rejection"]["code"], out["rejection"]["stage"]) == ("BUNDLE_MALFORMED", "verify-full")
