"""A file shaped like a report but of a version this verifier does not read is a report that does
not parse (exit 1, ``*.parse``, "unsupported ... version N"), not a file of an unknown format
(exit 2) (issue 12, finding 12): a future firmware's report, or one flipped bit in the version."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Cli, contract
from tests.vectors import vector

SNP = "snp/go-sev-guest/attestation.bin"
TDX = "tdx/go-tdx-guest/quote_v5_sample.dat"
GPU = "nvidia/pypi_nv_local_gpu_verifier_2.7.3/hopperAttestationReport.txt"


def _first_failure(run_json: dict[str, object]) -> dict[str, str]:
    checks = run_json["checks"]
    assert isinstance(checks, list)
    return next(c for c in checks if c["status"] == "fail")


@pytest.mark.vectors
@pytest.mark.parametrize("version", [1, 6, 0x80000002])
def test_an_snp_report_of_an_unknown_version(cli: Cli, tmp_path: Path, version: int) -> None:
    report = bytearray(vector(SNP).read_bytes())
    report[:4] = version.to_bytes(4, "little")
    (tmp_path / "r.bin").write_bytes(report)
    run = contract(cli("evidence", "verify", "sev-snp", str(tmp_path / "r.bin"), "--offline", "--json"), 1, json_out=True)
    bad = _first_failure(run.json())
    assert bad["id"] == "snp.parse" and f"unsupported report version {version}" in bad["detail"], run


@pytest.mark.vectors
def test_a_tdx_quote_of_an_unknown_version(cli: Cli, tmp_path: Path) -> None:
    quote = bytearray(vector(TDX).read_bytes())
    quote[:2] = (6).to_bytes(2, "little")
    (tmp_path / "q.dat").write_bytes(quote)
    run = contract(cli("evidence", "verify", "tdx", str(tmp_path / "q.dat"), "--offline", "--json"), 1, json_out=True)
    bad = _first_failure(run.json())
    assert bad["id"] == "tdx.parse" and "unsupported quote version 6" in bad["detail"], run


@pytest.mark.vectors
def test_an_spdm_report_of_another_version(cli: Cli, tmp_path: Path) -> None:
    raw = bytearray(bytes.fromhex(vector(GPU).read_text().strip()))
    raw[0] = 0x12  # SPDM 1.2 in the request's version byte
    (tmp_path / "g.bin").write_bytes(raw)
    chain = vector("nvidia/pypi_nv_local_gpu_verifier_2.7.3/hopperCertChain.txt")
    run = contract(cli("evidence", "verify", "nvidia-gpu", str(tmp_path / "g.bin"), "--cert", str(chain),
                       "--offline", "--json"), 1, json_out=True)
    bad = _first_failure(run.json())
    assert bad["id"] == "gpu.0.parse", run


@pytest.mark.vectors
def test_text_of_a_reports_size_is_still_read_as_text(cli: Cli, tmp_path: Path) -> None:
    """1184 characters of hex text are 592 bytes of something, not a binary report."""
    (tmp_path / "t.hex").write_text("ab" * 592)
    run = contract(cli("evidence", "verify", "sev-snp", str(tmp_path / "t.hex"), "--offline", "--json"), {1, 2})
    assert "snp.parse" in run.stdout or run.code == 2
