"""appraise_files (kind "tdx"): what ``enclave-chat evidence verify tdx QUOTE --collateral DIR`` runs."""

from __future__ import annotations

import base64
import hashlib
import shutil
from pathlib import Path

import pytest

from tests.tdx.conftest import AUTHENTIC_AT, JAN_2026_AT, TINFOIL_COLLATERAL, policy
from verifier import kinds
from verifier.appraisal.offline import OfflineOptions
from verifier.appraisal.tdx.files import appraise_files, inspect
from verifier.endorsements.fetch import CollateralFetcher
from verifier.errors import InputError, ParseError
from verifier.evidence.tdx import parse_quote
from verifier.result import Status

V5 = "tdx/go-tdx-guest/quote_v5_sample.dat"


def _opts(tmp_path: Path, quote: Path, **kw: object) -> OfflineOptions:
    args: dict[str, object] = {"files": (quote,), "policy": policy(), "at": JAN_2026_AT,
                               "fetcher": CollateralFetcher(tmp_path / "cache", offline=True)}
    args.update(kw)
    return OfflineOptions(**args)  # type: ignore[arg-type]


@pytest.fixture
def collateral_dir(vectors: Path, tmp_path: Path) -> Path:
    """The documented layout, copied into a temporary directory (never into the repository)."""
    d = tmp_path / "collateral"
    shutil.copytree(vectors / TINFOIL_COLLATERAL, d)
    return d


def test_registered_as_kind_tdx() -> None:
    assert kinds.load(kinds.get_kind("tdx").files or "") is appraise_files


def test_verified_with_collateral_dir_and_report_data(vectors: Path, tmp_path: Path, collateral_dir: Path) -> None:
    quote = vectors / V5
    report_data = parse_quote(quote.read_bytes()).body.report_data
    result = appraise_files(_opts(tmp_path, quote, collateral=collateral_dir, report_data=report_data))
    assert result.kind == "tdx" and result.verified, result.verdict()
    assert result.claims["tcb_status"] == "UpToDate"
    assert result.evidence["quote"] == hashlib.sha256(quote.read_bytes()).hexdigest()
    assert result.evidence["collateral.tcb_info"] == hashlib.sha256(
        (collateral_dir / "tcb_info_90c06f000000.json").read_bytes()).hexdigest()
    assert set(result.evidence) == {"quote", "collateral.tcb_info", "collateral.tcb_info_chain",
                                    "collateral.qe_identity", "collateral.qe_identity_chain",
                                    "collateral.pck_crl", "collateral.pck_crl_chain", "collateral.root_crl"}
    assert result.to_json()["checks"][0] == {"id": "tdx.parse", "status": "pass",
                                             "detail": result.checks[0].detail, "required": True}


def test_nonce_must_be_in_report_data(vectors: Path, tmp_path: Path, collateral_dir: Path) -> None:
    result = appraise_files(_opts(tmp_path, vectors / V5, collateral=collateral_dir, nonce=bytes(32)))
    assert result.nonce == bytes(32) and not result.verified
    assert result.first_failure is not None and result.first_failure.id == "tdx.report_data"


@pytest.mark.parametrize("encoding", ["hex", "base64"])
def test_text_encodings(vectors: Path, tmp_path: Path, encoding: str) -> None:
    raw = (vectors / V5).read_bytes()
    text = raw.hex().encode() if encoding == "hex" else base64.b64encode(raw)
    path = tmp_path / f"quote.{encoding}"
    path.write_bytes(text + b"\n")
    result = appraise_files(_opts(tmp_path, path, at=AUTHENTIC_AT))
    assert result.authentic and result.evidence["quote"] == hashlib.sha256(raw).hexdigest()


def test_offline_without_collateral_is_authentic_not_verified(vectors: Path, tmp_path: Path) -> None:
    result = appraise_files(_opts(tmp_path, vectors / V5, at=AUTHENTIC_AT))
    assert result.authentic and not result.verified
    first = result.first_failure
    assert first is not None and first.status is Status.SKIP and first.id == "tdx.collateral.root_crl"


def test_azure_hcl_report_is_exit_1_not_2(vectors: Path, tmp_path: Path) -> None:
    result = appraise_files(_opts(tmp_path, vectors / "tdx/openpcc/test_azure_tdx_report.bin"))
    assert not result.authentic and result.first_failure is not None
    assert result.first_failure.id == "tdx.parse"


def test_truncated_quote_is_a_parse_failure(vectors: Path, tmp_path: Path) -> None:
    path = tmp_path / "short.dat"
    path.write_bytes((vectors / V5).read_bytes()[:700])
    result = appraise_files(_opts(tmp_path, path))
    assert [c.id for c in result.checks] == ["tdx.parse"] and not result.authentic


def test_input_errors(vectors: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        appraise_files(_opts(tmp_path, tmp_path / "missing.dat"))
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\x00\xff" * 50)
    with pytest.raises(InputError):
        appraise_files(_opts(tmp_path, garbage))
    with pytest.raises(InputError, match="not both"):
        appraise_files(_opts(tmp_path, vectors / V5, nonce=b"1", report_data=b"2"))
    with pytest.raises(InputError, match="64"):
        appraise_files(_opts(tmp_path, vectors / V5, report_data=bytes(65)))
    with pytest.raises(InputError, match="one quote"):
        appraise_files(_opts(tmp_path, vectors / V5, files=(vectors / V5, vectors / V5)))
    with pytest.raises(InputError, match="collateral directory"):
        appraise_files(_opts(tmp_path, vectors / V5, collateral=tmp_path / "nope"))


def test_inspect_quote_and_hcl_report(vectors: Path) -> None:
    import json

    q = inspect((vectors / V5).read_bytes())
    assert q["format"] == "Intel TDX quote v5, body type 3 (TDX 1.5)"
    body = q["body"]
    assert isinstance(body, dict) and body["tee_tcb_svn2"] == "0d010400000000000000000000000000"
    assert str(q["pck_chain_pem"]).count("BEGIN CERTIFICATE") == 3
    hcl = inspect((vectors / "tdx/openpcc/test_azure_tdx_report.bin").read_bytes())
    assert "never authentic" in str(hcl["format"])
    assert json.loads(json.dumps([q, hcl]))  # JSON-able
    with pytest.raises(ParseError):
        inspect(b"\x04\x00\x02\x00\x81\x00\x00\x00")
