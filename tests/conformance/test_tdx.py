"""``verify-attestation-tdx`` against every vector of Tinfoil's suite (vectors/attestation-tdx/),
compared as the harness compares (harness/tinfoil_conformance/runner.py): a vector whose
``required_capabilities`` this project declares missing is a skip there, and here it must be one
for a knob we honestly lack and answer exit 20; otherwise the exit code, on 10 a rejection code the
manifest allows, on 0 the expected ``outputs`` (strings case-insensitively) and the output schema.
Then the adapter's own contract: malformed input is exit 30, an unbuilt mode exit 20."""

from __future__ import annotations

import base64
import json
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
)

STAGE = "verify-attestation-tdx"
VECTORS = SUITE / "vectors" / "attestation-tdx"
IDS = sorted(p.parent.name for p in VECTORS.glob("*/manifest.yaml")) if VECTORS.is_dir() else []

DECLARED_MISSING = {"attestation_tdx.public_api_hooks_supported"}
"""The knobs the adapter declares false, each for a stated reason (capabilities.py): vectors that
need one skip in the harness and get exit 20 here."""


def test_the_manifest_reader_reads_every_vector() -> None:
    if not IDS:
        pytest.skip("the tinfoil-conformance vectors are not checked out")
    assert len(IDS) == 65
    for vid in IDS:
        m = manifest(VECTORS / vid)
        assert m["stage"] == STAGE, vid
        assert m["expects"]["exit_code"] in (0, 10, 20, 30), vid
        assert m["required_capabilities"]["attestation_tdx.supported"] is True, vid
        if m["expects"]["exit_code"] == 10:
            assert m["expects"]["rejection_code"], vid


@needs_suite
@pytest.mark.parametrize("vid", IDS)
def test_vector(vid: str) -> None:
    folder = VECTORS / vid
    m = manifest(folder)
    expects = m["expects"]
    code, out, detail = run_stage(STAGE, (folder / "input.json").read_bytes())
    missing = unmet(m["required_capabilities"], capabilities())
    if missing is not None:  # the harness skips it: only for a knob declared missing, and the stage says so
        assert missing.split(" ")[0] in DECLARED_MISSING, missing
        assert code == 20, detail
        return
    assert code == expects["exit_code"], detail
    assert "rejection_stage" not in expects
    if code == 10:
        assert out is not None
        assert out["rejection"]["code"] in rejection_codes(expects), detail
    if code == 0:
        assert out is not None
        expected = json.loads((folder / "expected.json").read_text())
        assert outputs_diff(expected.get("outputs", {}), out["outputs"]) == []
    if out is not None:
        assert schema_errors(out, "verify-attestation-tdx.output") == []


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
