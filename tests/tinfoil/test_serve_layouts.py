"""``enclave-chat serve --tinfoil-layout current|june``: the reference enclave's Tinfoil-compatible
routes serve either v3 layout, and ``verify`` / ``ask --provider tinfoil --policy demo`` run against
each, as processes (the current layout is the default)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_transparency_e2e import Running
from tests.environment import isolated_env

pytestmark = pytest.mark.e2e

# What tells the layouts apart in a result: the June document is signed by its envelope key; the
# current one binds its sections by their hashes in REPORT_DATA.
LAYOUT_CHECK = {"june": "tinfoil.signature", "current": "tinfoil.crypto_material_hash"}


def _env(tmp_path: Path) -> dict[str, str]:
    return isolated_env(tmp_path)


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "enclave_chat", *args], capture_output=True, text=True, env=env,
                          timeout=60, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("layout", ["june", "current", None])
def test_serve_each_layout_then_verify_and_ask_over_tinfoil(tmp_path: Path, layout: str | None) -> None:
    env = _env(tmp_path)
    extra = ("--tinfoil-layout", layout) if layout else ()
    server = Running(env, "serve", "--port", "0", "--token-delay", "0", *extra)
    try:
        url = server.wait_for(r"reference enclave on (http://127\.0\.0\.1:\d+)").group(1)
        verify = _cli(env, "verify", url, "--provider", "tinfoil", "--policy", "demo", "--json")
        assert verify.returncode == 0, verify.stderr
        checks = {c["id"]: c["status"] for c in json.loads(verify.stdout)["checks"]}
        served = layout or "current"
        other = "current" if served == "june" else "june"
        assert checks[LAYOUT_CHECK[served]] == "pass" and LAYOUT_CHECK[other] not in checks
        ask = _cli(env, "ask", url, "What is two plus two?", "--provider", "tinfoil", "--policy", "demo")
        assert ask.returncode == 0 and "two plus two" in ask.stdout, ask.stderr
    finally:
        if server.proc.poll() is None:
            server.stop()


def test_an_unknown_layout_is_a_usage_error(tmp_path: Path) -> None:
    run = _cli(_env(tmp_path), "serve", "--tinfoil-layout", "july", "--port", "0", "--no-log")
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "july" in run.stderr
