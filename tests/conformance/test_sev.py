"""``verify-attestation-sev`` against every vector of the suite's ``vectors/attestation-sev``, compared
as its harness compares (harness/tinfoil_conformance/runner.py): the manifest's ``required_capabilities``
against ours (unmet: a skip naming the capability we declare missing), the exit code, on 10 the
rejection code among the manifest's, on 0 each key of the expected ``outputs`` (strings
case-insensitively, anything else exactly). The one place we differ from a vector (200's
``body_fields``, eight fields read 8 bytes off) is restated here field by field, with the offsets.

The vectors carry a real VCEK but not its ASK and ARK (the suite's SDKs embed them); this project
fetches them from AMD KDS through the collateral cache, so the tests put the Genoa ``cert_chain``
there first (kds_cache.py) and run offline.
"""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from enclave_chat.conformance import run_stage
from enclave_chat.conformance.capabilities import capabilities
from enclave_chat.conformance.sev import TAXONOMY
from tests.conformance.suite import (
    GENOA_CHAIN,
    SUITE,
    manifest,
    needs_suite,
    outputs_diff,
    schema_errors,
    unmet,
    vector_dirs,
)
from verifier.appraisal.checks import CheckCollector
from verifier.appraisal.sev_snp import CATALOGUE
from verifier.appraisal.sev_snp import checks as ids
from verifier.appraisal.sev_snp.authenticity import parse
from verifier.endorsements import amd
from verifier.endorsements.amd import Role

VECTORS = SUITE / "vectors" / "attestation-sev"
STAGE = "verify-attestation-sev"
pytestmark = pytest.mark.usefixtures("amd_chain_offline")

# Vector 200's expected body_fields that are not at the offsets ABI spec 56860 Table 23 gives them:
# field -> (the vector's value, ours, the bytes ours come from). The vector reads COMMITTED_TCB at
# 0x1E8 (the firmware versions), the versions at 0x1E0 (COMMITTED_TCB) and LAUNCH_TCB at 0x1F8
# (LAUNCH_MIT_VECTOR, zero before v5): 8 bytes off each. Ours say firmware 1.55.40, current and
# committed, and a launch TCB equal to the current one.
TINFOIL_OFFSETS = {
    "committed_tcb_hex": ("2837010028370100", "0a00000000001754", (0x1E0, 0x1E8)),
    "current_build": (10, 40, (0x1E8, 0x1E9)),
    "current_minor": (0, 55, (0x1E9, 0x1EA)),
    "current_major": (0, 1, (0x1EA, 0x1EB)),
    "committed_build": (0, 40, (0x1EC, 0x1ED)),
    "committed_minor": (0, 55, (0x1ED, 0x1EE)),
    "committed_major": (23, 1, (0x1EE, 0x1EF)),
    "launch_tcb_hex": ("0000000000000000", "0a00000000001754", (0x1F0, 0x1F8)),
}


# -- every vector ------------------------------------------------------------------------------------
@needs_suite
def test_every_vector_is_run() -> None:
    names = [p.name for p in vector_dirs("attestation-sev")]
    assert len(names) == 26, names
    assert all(manifest(VECTORS / n)["stage"] == STAGE for n in names)


@needs_suite
@pytest.mark.parametrize("folder", vector_dirs("attestation-sev"), ids=lambda p: p.name)
def test_vector(folder: Path) -> None:
    m = manifest(folder)
    assert m["stage"] == STAGE and m["id"] == folder.name
    caps = capabilities()
    assert STAGE in caps["stages_supported"]
    missing = unmet(m.get("required_capabilities", {}), caps)
    if missing is not None:
        # only a knob we declare false may skip a vector, and the skip names it
        assert caps["attestation_sev"].get(missing.split(" ")[0].split(".")[-1]) in (False, "system-clock-only"), missing
        pytest.skip(f"declared missing: {missing}")
    code, out, note = run_stage(STAGE, (folder / "input.json").read_bytes())
    expects = m["expects"]
    assert code == expects["exit_code"], note
    if code == 10:
        allowed = expects["rejection_code"]
        assert out is not None and out["rejection"]["code"] in ([allowed] if isinstance(allowed, str) else allowed), note
        assert out["stage"] == STAGE and out["accepted"] is False
    if code == 0:
        assert out is not None and out["accepted"] is True
        want = json.loads((folder / "expected.json").read_text()).get("outputs", {})
        have = out["outputs"]
        if folder.name == "200-real-sev-snp-happy":
            body = dict(want["body_fields"])
            for field, (theirs, ours, _) in TINFOIL_OFFSETS.items():
                assert body[field] == theirs, f"vector 200 changed {field}: update TINFOIL_OFFSETS"
                body[field] = ours
            want = {**want, "body_fields": body}
        assert outputs_diff(want, have) == []


@needs_suite
def test_vector_200_fields_are_at_the_abi_offsets() -> None:
    """Ours are the bytes at ABI 56860 Table 23's offsets; the vector's are the bytes 8 away."""
    folder = VECTORS / "200-real-sev-snp-happy"
    doc = json.loads((folder / "input.json").read_text())
    raw = gzip.decompress(base64.b64decode(doc["attestation_doc_b64"]))
    code, out, _ = run_stage(STAGE, json.dumps(doc).encode())
    assert code == 0 and out is not None
    body = out["outputs"]["body_fields"]
    for field, (theirs, ours, (start, end)) in TINFOIL_OFFSETS.items():
        at = raw[start:end]
        assert body[field] == ours == (at.hex() if isinstance(ours, str) else at[0])
        off = raw[start + 8:end + 8] if field.endswith("_tcb_hex") else raw[start - 8:end - 8]
        assert theirs == (off.hex() if isinstance(theirs, str) else off[0]), field


@needs_suite
def test_public_api_variants_are_skipped_for_the_declared_capability() -> None:
    """The harness's --public-api-variants add attestation_sev.public_api_hooks_supported = true;
    we declare it false (the stage has one path), so those variants skip, naming it."""
    caps = capabilities()
    assert caps["attestation_sev"]["public_api_hooks_supported"] is False
    m = manifest(VECTORS / "200-real-sev-snp-happy")
    required = {**m["required_capabilities"], "attestation_sev.public_api_hooks_supported": True}
    assert unmet(required, caps) == "attestation_sev.public_api_hooks_supported = False, the vector wants True"


# -- the output schema -------------------------------------------------------------------------------
@needs_suite
@pytest.mark.parametrize("name", ["200-real-sev-snp-happy", "604-synth-baseline-accept",
                                  "220-signature-byte-flipped", "703-vcek-missing-hwid-extension"])
def test_stdout_matches_the_output_schema(name: str) -> None:
    schema = json.loads((SUITE / "schemas" / "verify-attestation-sev.output.schema.json").read_text())
    code, out, _ = run_stage(STAGE, (VECTORS / name / "input.json").read_bytes())
    assert out is not None and schema_errors(out, "verify-attestation-sev.output") == []
    assert ("outputs" in out) == (code == 0) == out["accepted"] and ("rejection" in out) == (code == 10)
    if code == 0:  # every body field the schema names, and every policy/platform/TCB bit
        body = out["outputs"]["body_fields"]
        props = schema["properties"]["outputs"]["properties"]["body_fields"]["properties"]
        assert set(body) == set(props)
        for k in ("policy_decoded", "current_tcb_decoded", "platform_info_decoded"):
            assert set(body[k]) == set(props[k]["properties"])


def test_every_code_in_the_table_is_the_schemas() -> None:
    codes = {"REPORT_FORMAT_UNSUPPORTED", "REPORT_TRUNCATED", "WRONG_REPORT_VERSION", "VCEK_CHAIN_INVALID",
             "VCEK_EXPIRED", "VCEK_HWID_MISMATCH", "VCEK_TCB_MISMATCH", "ARK_UNTRUSTED", "ASK_INVALID",
             "REPORT_SIGNATURE_INVALID", "TCB_OUT_OF_DATE", "GUEST_POLICY_DEBUG_SET",
             "GUEST_POLICY_MIGRATE_MA_SET", "GUEST_POLICY_SINGLE_SOCKET_SET", "GUEST_POLICY_RESERVED_BIT_SET",
             "PLATFORM_INFO_INVALID", "SIGNER_INFO_INVALID", "MEASUREMENT_MISMATCH", "HOST_DATA_MISMATCH",
             "REPORT_DATA_MISMATCH", "ID_KEY_DIGEST_MISMATCH", "AUTHOR_KEY_DIGEST_MISMATCH",
             "QV_RESULT_TERMINAL_UNSPECIFIED"}
    assert set(TAXONOMY.values()) <= codes
    assert {cid for cid, _ in TAXONOMY} <= set(CATALOGUE)


# -- malformed input: exit 30 ------------------------------------------------------------------------
def _real() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((VECTORS / "200-real-sev-snp-happy" / "input.json").read_text())
    return doc


@needs_suite
@pytest.mark.parametrize("change", [
    {"attestation_doc_b64": None}, {"vcek_der_b64": None}, {"extra": 1}, {"policy": {"pin": "00"}},
    {"attestation_doc_b64": "not base64!"}, {"attestation_doc_b64": base64.b64encode(b"\x00" * 1184).decode()},
    {"vcek_der_b64": "***"}, {"vcek_der_b64": 5}, {"expiration_check_date_unix": True},
    {"expiration_check_date_unix": "1780272000"}, {"expiration_check_date_unix": 10**20},
    {"policy": {"expected_measurement_hex": "zz"}}, {"policy": {"expected_host_data_hex": "00" * 31}},
    {"policy": {"expected_report_data_hex": "00" * 32}}, {"policy": {"min_tcb_bl_spl": 256}},
    {"policy": {"min_tcb_snp_spl": "1"}}, {"policy": {"enforce_spec_defaults": "yes"}}, {"policy": []},
    {"amd_root_ca_pem": "not a certificate"}, {"ask_pem": 1},
])
def test_malformed_input_exits_30(change: dict[str, Any]) -> None:
    doc = _real()
    for key, value in change.items():
        if value is None:
            doc.pop(key)
        else:
            doc[key] = value
    code, out, note = run_stage(STAGE, json.dumps(doc).encode())
    assert (code, out) == (30, None), note


# -- the appraisal's reasons the table reads -----------------------------------------------------------
@needs_suite
@pytest.mark.parametrize(("offset", "value", "size", "reason"), [
    (0x000, 6, 4, "version"), (0x008, 0x30000 | 1 << 40, 8, "policy_reserved"),
    (0x034, 2, 4, "signature_algo"), (0x048, 1 << 6, 4, "key_info"), (0x210, 1, 1, "reserved"),
    (0x2A0 + 50, 1, 1, "signature_padding"),
])
def test_parse_reasons(offset: int, value: int, size: int, reason: str) -> None:
    raw = bytearray(gzip.decompress(base64.b64decode(_real()["attestation_doc_b64"])))
    raw[offset:offset + size] = value.to_bytes(size, "little")
    out = CheckCollector()
    assert parse(out, bytes(raw)) is None
    (check,) = out.checks
    assert (check.id, check.reason) == (ids.PARSE, reason)


@needs_suite
def test_oversized_and_truncated_reports() -> None:
    raw = gzip.decompress(base64.b64decode(_real()["attestation_doc_b64"]))
    for data, reason, code in ((raw + b"\x00", "oversized", "REPORT_FORMAT_UNSUPPORTED"),
                               (raw[:-1], "truncated", "REPORT_TRUNCATED")):
        out = CheckCollector()
        assert parse(out, data) is None and out.checks[0].reason == reason
        doc = {**_real(), "attestation_doc_b64": base64.b64encode(gzip.compress(data)).decode()}
        result = run_stage(STAGE, json.dumps(doc).encode())[1]
        assert result is not None and result["rejection"]["code"] == code


@needs_suite
def test_the_chain_comes_from_the_cache_or_the_vector_is_refused(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    """Without the Genoa cert_chain in the cache (and offline) the real VCEK has no path: refused
    for it, never accepted."""
    monkeypatch.setenv("ENCLAVE_CHAT_CACHE_DIR", str(tmp_path))
    code, out, note = run_stage(STAGE, (VECTORS / "200-real-sev-snp-happy" / "input.json").read_bytes())
    assert code == 10 and out is not None and out["rejection"]["code"] == "VCEK_CHAIN_INVALID"
    assert "snp.chain.certificates (missing)" in note


@needs_suite
def test_an_injected_root_replaces_the_vendor_pins() -> None:
    """The synthetic chain verifies only through amd_root_ca_pem; with the vendor pins it is refused."""
    doc = json.loads((VECTORS / "604-synth-baseline-accept" / "input.json").read_text())
    assert run_stage(STAGE, json.dumps(doc).encode())[0] == 0
    real = json.loads((VECTORS / "200-real-sev-snp-happy" / "input.json").read_text())
    (real_ark,) = [c for c in amd.load_certificates([GENOA_CHAIN.read_bytes()]) if c.role is Role.ARK]
    doc["amd_root_ca_pem"] = real_ark.cert.public_bytes(serialization.Encoding.PEM).decode()
    code, out, _ = run_stage(STAGE, json.dumps(doc).encode())
    assert code == 10 and out is not None and out["rejection"]["code"] == "ASK_INVALID"
    real["amd_root_ca_pem"] = json.loads((VECTORS / "604-synth-baseline-accept" / "input.json").read_text())["amd_root_ca_pem"]
    code, out, _ = run_stage(STAGE, json.dumps(real).encode())
    assert code == 10 and out is not None and out["rejection"]["code"] in ("ARK_UNTRUSTED", "ASK_INVALID")


@needs_suite
def test_a_lower_minimum_never_lowers_the_policys_floor() -> None:
    doc = _real()
    doc["policy"] = {"min_tcb_bl_spl": 0, "min_tcb_snp_spl": 0}
    assert run_stage(STAGE, json.dumps(doc).encode())[0] == 0
    doc["policy"] = {"min_tcb_snp_spl": 24}
    out = run_stage(STAGE, json.dumps(doc).encode())[1]
    assert out is not None and out["rejection"]["code"] == "TCB_OUT_OF_DATE"
