"""``evidence verify dstack FILE [APP_COMPOSE]``: the documents told apart by content, the app compose
as a second file, ``--collateral DIR``, and the refusals (exit 2) of what is not dstack evidence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.dstack import sets
from tests.vectors import vector
from verifier.appraisal.offline import OfflineOptions
from verifier.endorsements.fetch import CollateralFetcher
from verifier.errors import InputError
from verifier.result import Status
from verifier.saved_evidence import appraise_saved

pytestmark = pytest.mark.vectors

REC = sets.BY_NAME["neardirect 04-24"]


def opts(tmp_path: Path, *files: Path, **kw: object) -> OfflineOptions:
    return OfflineOptions(files=files, policy=sets.policy(), at=sets.captured_at(REC),
                          fetcher=CollateralFetcher(tmp_path / "cache", offline=True), **kw)  # type: ignore[arg-type]


def test_a_recording_verifies_with_its_collateral_dir(tmp_path: Path) -> None:
    coll = sets.collateral_dir(REC, tmp_path / "collateral")
    result = appraise_saved("dstack", opts(tmp_path, sets.recording_path(REC), collateral=coll,
                                           report_data=sets.expected_report_data(REC)))
    assert result.verified and result.kind == "dstack" and result.evidence_kind == "dstack"
    assert {"file0", "quote", "app_compose", "collateral.tcb_info", "collateral.root_crl"} <= set(result.evidence)
    assert result.evidence["app_compose"] == result.claims["compose_hash"]


def test_the_app_compose_as_a_second_file(tmp_path: Path) -> None:
    """NEAR AI's compose_manager_attestation is a GetQuote answer of the same TD (no compose in it);
    the compose given beside it is bound by MRCONFIGID and RTMR3, and its exact bytes count."""
    doc = sets.recording_doc(REC)
    getquote = tmp_path / "getquote.json"
    getquote.write_text(json.dumps(doc["compose_manager_attestation"]))
    compose = tmp_path / "app-compose.json"
    compose.write_text(str(doc["info"]["tcb_info"]["app_compose"]))  # type: ignore[index]
    result = appraise_saved("dstack", opts(tmp_path, compose, getquote))
    assert result.check("dstack.compose").status is Status.PASS  # type: ignore[union-attr]
    assert result.claims["form"] == "getquote" and result.authentic
    compose.write_text(str(doc["info"]["tcb_info"]["app_compose"]) + "\n")
    again = appraise_saved("dstack", opts(tmp_path, getquote, compose))
    assert again.check("dstack.compose").status is Status.FAIL  # type: ignore[union-attr]
    with pytest.raises(InputError, match="carries its own app compose"):
        appraise_saved("dstack", opts(tmp_path, sets.recording_path(REC), compose))


@pytest.mark.parametrize(("files", "message"), [
    (("providers/dstack/sev-snp-attestation.json",), "binary attestation"),
    (("providers/teep/chutes_zai-org_glm-5-tee_20260520_021819/responses/"
      "0002_api.chutes.ai_chutes_e51e818e-fa63-570d-9f68-49d7d1b4d12f_evidence.body",), "neither a dstack"),
    (("providers/dstack/quote-report.json", "providers/dstack/tdx-lite-getquote.json"), "both dstack"),
    (("tdx/trustee/tdx_quote_4.dat",), "not a dstack document"),
])
def test_what_is_not_one_dstack_document_is_an_input_error(tmp_path: Path, files: tuple[str, ...],
                                                           message: str) -> None:
    with pytest.raises(InputError, match=message):
        appraise_saved("dstack", opts(tmp_path, *(vector(f) for f in files)))


def test_options_the_kind_does_not_read_are_refused(tmp_path: Path) -> None:
    doc = vector("providers/dstack/quote-report.json")
    with pytest.raises(InputError, match="--cert"):
        appraise_saved("dstack", opts(tmp_path, doc, certs=(doc,)))
    with pytest.raises(InputError, match="not both"):
        appraise_saved("dstack", opts(tmp_path, doc, nonce=b"\x01", report_data=b"\x01"))
    with pytest.raises(InputError, match="takes a dstack document"):
        appraise_saved("dstack", opts(tmp_path))


def test_the_nonce_is_compared_zero_padded(tmp_path: Path) -> None:
    """dstack's fixture was asked for report_data 0x1234: REPORTDATA is 1234 and zeros."""
    doc = vector("providers/dstack/quote-report.json")
    ok = appraise_saved("dstack", opts(tmp_path, doc, nonce=bytes.fromhex("1234")))
    assert ok.check("tdx.report_data").status is Status.PASS  # type: ignore[union-attr]
    bad = appraise_saved("dstack", opts(tmp_path, doc, nonce=bytes.fromhex("1235")))
    assert bad.check("tdx.report_data").status is Status.FAIL  # type: ignore[union-attr]
