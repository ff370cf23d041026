"""``--save-evidence`` into a hostile directory (issue 12, finding 6): a symlink planted where a
recording file goes is replaced, never followed (its target is untouched), and the directory is
made private (0700) or refused with one line before anything is fetched."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from enclave.server import BackgroundEnclave
from tests.vectors import REPO
from verifier.appraisal.policy import Policy
from verifier.session import Session


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


async def test_planted_symlinks_are_replaced_not_followed(enclave: BackgroundEnclave, demo_policy: Policy,
                                                          tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    shared = tmp_path / "shared"
    (shared / "responses").mkdir(parents=True)
    os.chmod(shared, 0o777)
    (shared / "manifest.json").symlink_to(victim)
    (shared / "result.json").symlink_to(victim)
    (shared / "responses" / "0001_127.0.0.1_.well-known_attestation.body").symlink_to(victim)
    async with Session(enclave.url, demo_policy, save_evidence=shared) as session:
        result = await session.attest()
    assert result.verified, result.verdict()
    assert victim.read_bytes() == b"precious"
    for name in ("manifest.json", "result.json"):
        assert stat.S_ISREG((shared / name).lstat().st_mode) and _mode(shared / name) == 0o600
    assert _mode(shared) == 0o700 and _mode(shared / "responses") == 0o700
    assert not any(p.is_symlink() for p in shared.rglob("*"))
    assert not any(p.name.endswith(".tmp") for p in shared.rglob("*"))


def test_a_symlinked_evidence_directory_is_refused_before_any_request(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = tmp_path / "rec"
    link.symlink_to(elsewhere)
    env = {"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "ENCLAVE_CHAT_CACHE_DIR": str(tmp_path / "c"),
           "ENCLAVE_CHAT_STATE_DIR": str(tmp_path / "s"), "ENCLAVE_CHAT_DATA_DIR": str(tmp_path / "d"),
           "ENCLAVE_CHAT_CONFIG_DIR": str(tmp_path / "g")}
    # port 9 on loopback: were anything fetched first, this would be exit 3 (unreachable), not 2
    proc = subprocess.run([sys.executable, "-m", "enclave_chat", "verify", "http://127.0.0.1:9", "--policy", "demo",
                           "--save-evidence", str(link)], capture_output=True, text=True, cwd=REPO, env=env,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "cannot save evidence" in proc.stderr and "symlink" in proc.stderr
    assert list(elsewhere.iterdir()) == []
