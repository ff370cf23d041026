"""End-to-end fixtures: the real reference enclave on uvicorn, on a free loopback port."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.environment import isolated_env


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(tmp_path: Path) -> object:
    """Run the real ``enclave-chat`` command in a subprocess with private user directories."""
    env = isolated_env(tmp_path)

    def run(*args: str, timeout: float = 60) -> Run:
        proc = subprocess.run([sys.executable, "-m", "enclave_chat", *args], capture_output=True,
                              text=True, env=env, timeout=timeout, stdin=subprocess.DEVNULL)
        return Run(proc.returncode, proc.stdout, proc.stderr)

    return run
