"""End-to-end fixtures: the real reference enclave on uvicorn, on a free loopback port."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(tmp_path: Path) -> object:
    """Run the real ``enclave-chat`` command in a subprocess with private user directories."""
    env = dict(os.environ)
    for kind in ("config", "data", "cache", "state"):
        env[f"ENCLAVE_CHAT_{kind.upper()}_DIR"] = str(tmp_path / kind)
    env["NO_COLOR"] = "1"
    env["ENCLAVE_CHAT_OFFLINE"] = "1"  # never fetch collateral from the internet in a test

    def run(*args: str, timeout: float = 60) -> Run:
        proc = subprocess.run([sys.executable, "-m", "enclave_chat", *args], capture_output=True,
                              text=True, env=env, timeout=timeout, stdin=subprocess.DEVNULL)
        return Run(proc.returncode, proc.stdout, proc.stderr)

    return run
