"""``enclave-chat evidence verify sev-snp`` end to end: JSON on stdout, exit codes 0/1/2."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.vectors import vector

pytestmark = pytest.mark.vectors

AT = "2025-07-01T00:00:00Z"
Runner = Callable[..., tuple[int, dict[str, Any] | None]]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runner:
    cli_module = pytest.importorskip("enclave_chat.cli")
    monkeypatch.setenv("ENCLAVE_CHAT_CACHE_DIR", str(tmp_path / "cache"))

    def run(policy_body: str, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any] | None]:
        policy = tmp_path / "p.toml"
        policy.write_text(f'name = "cli"\n[snp]\n{policy_body}\n')
        code = cli_module.main(["evidence", "verify", "sev-snp", *args, "--policy", str(policy),
                                "--at", AT, "--offline", "--json"])
        out = capsys.readouterr().out
        return code, (json.loads(out) if out.strip() else None)

    return run


def v(path: str) -> str:
    return str(vector(path))


def test_go_sev_guest_is_authentic_refused_for_debug(cli: Runner, capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = cli("", v("snp/go-sev-guest/attestation.bin"), "--cert", v("snp/go-sev-guest/vcek.testcer"),
                    "--cert", v("snp/go-sev-guest/ask_ark_milan.pem"), capsys=capsys)
    assert code == 1 and doc is not None
    assert doc["authentic"] is True and doc["verified"] is False and doc["kind"] == "sev-snp"
    first = next(c for c in doc["checks"] if c["status"] == "fail")
    assert first["id"] == "snp.policy.debug"


def test_verified_exits_zero(cli: Runner, capsys: pytest.CaptureFixture[str]) -> None:
    report = vector("snp/trustee/e2e-report-rebuilt.bin").read_bytes()
    body = ('revocation = "required"\n[snp.min_tcb.Genoa]\nbootloader = 10\ntee = 0\nsnp = 23\nmicrocode = 25')
    code, doc = cli(body, v("snp/trustee/e2e-report-rebuilt.bin"), "--cert", v("snp/trustee/e2e-vcek.der"),
                    "--cert", v("snp/trustee/genoa_ask_ark_asvk.pem"), "--crl", v("snp/openpcc/test_amd_genoa_crl.pem"),
                    "--report-data", report[0x50:0x90].hex(), capsys=capsys)
    assert code == 0 and doc is not None and doc["verified"] is True


def test_gce_offline_and_unreadable_file(cli: Runner, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, doc = cli("", v("snp/openpcc/test_gce_sevsnp_report.bin"), capsys=capsys)
    assert code == 1 and doc is not None and doc["authentic"] is False
    code, doc = cli("", str(tmp_path / "absent.bin"), capsys=capsys)
    assert code == 2 and doc is None
