"""``verify-attestation-tdx`` against every vector of Tinfoil's suite (vectors/attestation-tdx/),
compared as the harness compares (harness/tinfoil_conformance/runner.py): a vector whose
``required_capabilities`` this project declares missing is a skip there, and here it must be one
for a knob we honestly lack and answer exit 20; otherwise the exit code, on 10 a rejection code the
manifest allows, on 0 the expected ``outputs`` (strings case-insensitively) and the output schema.
Then the adapter's own contract: malformed input is exit 30, an unbuilt mode exit 20."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from enclave_chat.conformance import run_stage
from enclave_chat.conformance.capabilities import capabilities
from tests.conformance.test_adapter import SUITE, _diff, needs_suite

STAGE = "verify-attestation-tdx"
VECTORS = SUITE / "vectors" / "attestation-tdx"
IDS = sorted(p.parent.name for p in VECTORS.glob("*/manifest.yaml")) if VECTORS.is_dir() else []

DECLARED_MISSING = {"attestation_tdx.public_api_hooks_supported"}
"""The knobs the adapter declares false, each for a stated reason (capabilities.py): vectors that
need one skip in the harness and get exit 20 here."""


def manifest(text: str) -> dict[str, Any]:
    """The manifest fields the harness reads (``stage``; ``expects``, ``required_capabilities``: one
    level of ``key: value`` with JSON-compatible values), without a YAML parser (PyYAML is not a
    dependency). Block scalars (``notes: |``) are indented and skipped."""
    out: dict[str, Any] = {"expects": {}, "required_capabilities": {}}
    section = None
    for line in text.splitlines():
        top = re.match(r"^([A-Za-z_]\w*):\s*(.*?)\s*$", line)
        if top:
            section, value = top.groups()
            if section == "stage":
                out["stage"] = value
            continue
        nested = re.match(r"^  ([\w.]+):\s*(.+?)\s*$", line)
        if nested and section in ("expects", "required_capabilities"):
            out[section][nested.group(1)] = json.loads(nested.group(2))
    return out


def satisfied(required: dict[str, Any], have: dict[str, Any]) -> list[str]:
    """The capability paths a vector needs that ``have`` does not meet (the harness's rule: dotted
    paths; a list capability is a set, a scalar must equal)."""
    unmet = []
    for path, want in required.items():
        cur: Any = have
        for part in path.split("."):
            cur = cur.get(part) if isinstance(cur, dict) else None
        wants = want if isinstance(want, list) else [want]
        ok = any(w in cur for w in wants) if isinstance(cur, list) else cur in wants
        if not ok:
            unmet.append(path)
    return unmet


TYPES: dict[str, type | tuple[type, ...]] = {"object": dict, "array": list, "string": str, "boolean": bool,
                                             "integer": int}


def schema_errors(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """The subset of JSON Schema the output schema uses (jsonschema is not a dependency; ``oneOf``
    is the accepted/rejection split, checked by the tests themselves)."""
    kind = schema.get("type")
    if isinstance(kind, str) and (not isinstance(value, TYPES[kind]) or (kind == "integer" and isinstance(value, bool))):
        return [f"{where}: {value!r} is not {kind}"]
    errors = []
    if "const" in schema and value != schema["const"]:
        errors.append(f"{where}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} is not in the enum")
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        errors.append(f"{where}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        errors += [f"{where}: lacks {k}" for k in schema.get("required", []) if k not in value]
        for k, v in value.items():
            if k in props:
                errors += schema_errors(v, props[k], f"{where}.{k}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{where}: {k} is not in the schema")
    if isinstance(value, list):
        if not schema.get("minItems", 0) <= len(value) <= schema.get("maxItems", len(value)):
            errors.append(f"{where}: {len(value)} items")
        errors += [e for i, item in enumerate(value) for e in schema_errors(item, schema.get("items", {}), f"{where}[{i}]")]
    return errors


def test_the_manifest_reader_reads_every_vector() -> None:
    if not IDS:
        pytest.skip("the tinfoil-conformance vectors are not checked out")
    assert len(IDS) == 65
    for vid in IDS:
        m = manifest((VECTORS / vid / "manifest.yaml").read_text())
        assert m["stage"] == STAGE, vid
        assert m["expects"]["exit_code"] in (0, 10, 20, 30), vid
        assert m["required_capabilities"]["attestation_tdx.supported"] is True, vid
        if m["expects"]["exit_code"] == 10:
            assert m["expects"]["rejection_code"], vid


@needs_suite
@pytest.mark.parametrize("vid", IDS)
def test_vector(vid: str) -> None:
    folder = VECTORS / vid
    m = manifest((folder / "manifest.yaml").read_text())
    expects = m["expects"]
    code, out, detail = run_stage(STAGE, (folder / "input.json").read_bytes())
    unmet = satisfied(m["required_capabilities"], capabilities())
    if unmet:  # the harness skips it: only for a knob declared missing, and the stage says so
        assert set(unmet) <= DECLARED_MISSING, unmet
        assert code == 20, detail
        return
    assert code == expects["exit_code"], detail
    assert "rejection_stage" not in expects
    if code == 10:
        assert out is not None
        want = expects["rejection_code"]
        assert out["rejection"]["code"] in ([want] if isinstance(want, str) else want), detail
    if code == 0:
        assert out is not None
        expected = json.loads((folder / "expected.json").read_text())
        assert _diff(expected.get("outputs", {}), out["outputs"]) == []
    if out is not None:
        schema = json.loads((SUITE / "schemas" / "verify-attestation-tdx.output.schema.json").read_text())
        assert schema_errors(out, schema) == []


@needs_suite
def test_accepted_outputs_carry_the_tcb_evaluation() -> None:
    code, out, _ = run_stage(STAGE, (VECTORS / "360-tcb-swhardening-needed" / "input.json").read_bytes())
    assert code == 0 and out is not None
    o = out["outputs"]
    assert (o["qv_result"], o["tcb_status"], o["collateral_expired"]) == ("SW_HARDENING_NEEDED", "SWHardeningNeeded", False)
    assert o["fmspc_hex"] == "50806f000000" and o["header_fields"]["attestation_key_type"] == 2
    code, out, _ = run_stage(STAGE, (VECTORS / "300-tdx-v4-happy" / "input.json").read_bytes())
    assert code == 0 and out is not None
    assert out["outputs"]["qv_result"] == "OK" and "tcb_status" not in out["outputs"]  # not evaluated


def _base() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((VECTORS / "300-tdx-v4-happy" / "input.json").read_text())
    return doc


def _run(doc: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
    code, out, _ = run_stage(STAGE, json.dumps(doc).encode())
    return code, out


@needs_suite
@pytest.mark.parametrize("change", [
    lambda d: d.update(extra=1),
    lambda d: d["collateral"].update(extra="x"),
    lambda d: d["collateral"].pop("root_crl_der_b64"),
    lambda d: d.pop("expiration_check_date_unix"),
    lambda d: d.update(expiration_check_date_unix="1688083200"),
    lambda d: d.update(quote_b64="not base64!"),
    lambda d: d["collateral"].update(pck_crl_der_b64="@@"),
    lambda d: d["policy"].update(expected_mrtd_hex="00"),
    lambda d: d["policy"].update(expected_fmspc_hex="zz"),
    lambda d: d["policy"].update(tcb_evaluation_required="no"),
    lambda d: d["policy"].update(accepted_qv_results=["REVOKED"]),
    lambda d: d["policy"].update(min_tcb_evaluation_data_number=-1),
    lambda d: d["policy"].update(unknown_pin="00"),
    lambda d: d["collateral"].update(intel_root_ca_pem="not a certificate"),
    lambda d: d.update(execution_mode="other"),
])
def test_malformed_input_is_exit_30(change: Any) -> None:
    doc = _base()
    change(doc)
    assert _run(doc)[0] == 30


@needs_suite
def test_unbuilt_knobs_are_exit_20() -> None:
    doc = _base()
    doc["execution_mode"] = "public_api"
    assert _run(doc)[0] == 20
    doc = _base()
    doc["policy"]["expected_mrseam_allowlist"] = []
    assert _run(doc)[0] == 20


@needs_suite
def test_pins_that_hold_accept() -> None:
    doc = _base()
    body = json.loads((VECTORS / "300-tdx-v4-happy" / "expected.json").read_text())["outputs"]["body_fields"]
    doc["policy"].update(expected_fmspc_hex="50806F000000", expected_td_attributes_hex=body["td_attributes_hex"],
                         expected_xfam_hex=body["xfam_hex"], expected_mrtd_hex=body["mrtd_hex"],
                         expected_mrseam_allowlist=[body["mrseam_hex"]], expected_rtmr3_hex=body["rtmrs_hex"][3],
                         expected_report_data_hex=body["report_data_hex"],
                         expected_mr_signer_seam_hex=body["mrsignerseam_hex"],
                         expected_seam_attributes_hex=body["seam_attributes_hex"],
                         expected_qe_vendor_id_hex="939a7233f79c4ca9940a0db3957f0607",
                         min_tee_tcb_svn_hex=body["tee_tcb_svn_hex"])
    code, out = _run(doc)
    assert code == 0 and out is not None


@needs_suite
def test_a_tampered_quote_is_never_accepted_whatever_the_policy() -> None:
    doc = _base()
    quote = bytearray(base64.b64decode(doc["quote_b64"]))
    quote[0x3C] ^= 1  # a body byte, signed by the attestation key
    doc["quote_b64"] = base64.b64encode(bytes(quote)).decode()
    code, out = _run(doc)
    assert code == 10 and out is not None and out["rejection"]["code"] == "QUOTE_SIGNATURE_INVALID"


def test_the_stage_is_supported() -> None:
    caps = capabilities()
    assert STAGE in caps["stages_supported"] and "tdx" in caps["platforms_supported"]
    declared_false = {f"attestation_tdx.{k}" for k, v in caps["attestation_tdx"].items() if v is False}
    assert declared_false == DECLARED_MISSING
