"""The acceptance outcomes through the command line: `enclave-chat evidence verify nvidia-gpu ...`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.nvidia import nv
from tests.vectors import vector

pytestmark = pytest.mark.vectors


def _run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *,
         at: str, gpu_policy: str, rims: list[str]) -> tuple[int, dict[str, object]]:
    from enclave_chat.cli import main

    monkeypatch.setenv("ENCLAVE_CHAT_CACHE_DIR", str(tmp_path / "cache"))
    policy = tmp_path / "policy.toml"
    policy.write_text(f'name = "t"\n[gpu]\n{gpu_policy}\n')
    argv = ["evidence", "verify", "nvidia-gpu", str(vector(nv.PYPI + "hopperAttestationReport.txt")),
            "--cert", str(vector(nv.PYPI + "hopperCertChain.txt")), "--nonce", nv.H100_NONCE.hex(),
            "--at", at, "--policy", str(policy), "--offline", "--json"]
    for rim in rims:
        argv += ["--rim", str(vector(rim))]
    for answer in sorted(vector(nv.GOOGLE + "ocsp").glob("*.dat")):
        argv += ["--ocsp", str(answer)]
    code = main(argv)
    return code, json.loads(capsys.readouterr().out)


GOOGLE_RIMS = [nv.GOOGLE + "rim/NV_GPU_DRIVER_GH100_550.90.07.xml",
               nv.GOOGLE + "rim/NV_GPU_VBIOS_1010_0200_882_96009F0001.xml"]
RESIGNED_RIMS = [nv.RESIGNED + "NV_GPU_DRIVER_GH100_550.90.07.swidtag",
                 nv.RESIGNED + "NV_GPU_VBIOS_1010_0200_882_96009F0001.swidtag"]


@pytest.mark.parametrize(("at", "gpu_policy", "rims", "code", "first"), [
    ("2025-08-21T12:00:00Z", "", GOOGLE_RIMS, 1, "gpu.0.rim.driver.ocsp"),
    ("2025-08-21T12:00:00Z", 'rim_ocsp = "if-available"', GOOGLE_RIMS, 0, None),
    ("2025-10-24T12:00:00Z", "", GOOGLE_RIMS, 1, "gpu.0.ocsp"),
    ("2026-03-01T00:00:00Z", 'ocsp = "if-available"', RESIGNED_RIMS, 0, None),
    ("2026-03-01T00:00:00Z", 'ocsp = "if-available"', GOOGLE_RIMS, 1, "gpu.0.rim.vbios.chain"),
    ("2026-11-27T00:00:00Z", 'ocsp = "if-available"', RESIGNED_RIMS, 1, "gpu.0.rim.driver.chain"),
])
def test_readme_outcomes_through_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str], at: str, gpu_policy: str,
                                         rims: list[str], code: int, first: str | None) -> None:
    got, doc = _run(tmp_path, monkeypatch, capsys, at=at, gpu_policy=gpu_policy, rims=rims)
    assert got == code and doc["verified"] is (code == 0) and doc["authentic"] is True
    checks = doc["checks"]
    assert isinstance(checks, list)
    failing = [c["id"] for c in checks if c["status"] == "fail"]
    assert (failing[0] if failing else None) == first
