"""Drive the real ``enclave-chat`` command in subprocesses and hold it to docs/cli.md.

Every run gets private user directories, ``NO_COLOR=1`` and ``ENCLAVE_CHAT_OFFLINE=1`` (no collateral
is ever fetched). :class:`Cli.many` runs independent cases side by side, since each start of the
interpreter costs about half a second; :func:`contract` checks what every run must honour.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.environment import isolated_env
from tests.vectors import REPO


@dataclass
class Run:
    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str
    lines: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.lines = self.stderr.splitlines()

    def __str__(self) -> str:
        return f"enclave-chat {' '.join(self.args)} -> {self.code}\nstdout: {self.stdout!r}\nstderr: {self.stderr!r}"

    def json(self) -> dict[str, Any]:
        return strict_json(self.stdout)


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def strict_json(text: str) -> dict[str, Any]:
    """One JSON object, strictly: no NaN or Infinity, nothing before or after it."""
    doc = json.loads(text, parse_constant=_no_constants)
    assert isinstance(doc, dict), text
    return doc


def contract(run: Run, code: int | set[int], *, json_out: bool = False) -> Run:
    """The rules of docs/cli.md that hold for every command: the exit code; never a traceback;
    a failure says so in exactly one line on stderr (a success in at most one, the verdict),
    after at most one line naming the known service used (``known service: ...``, first);
    stdout is, with ``--json``, empty or exactly one strict JSON object, and is empty after an
    error (exit 2, 3 or 130)."""
    codes = {code} if isinstance(code, int) else code
    assert run.code in codes, str(run)
    assert "Traceback" not in run.stderr + run.stdout, str(run)
    lines = run.lines[1:] if run.lines and run.lines[0].startswith("known service: ") else run.lines
    assert len(lines) == 1 if run.code else len(lines) <= 1, str(run)
    if json_out and run.stdout.strip():
        run.json()
    if run.code in (2, 3, 130):
        assert run.stdout == "", str(run)
    return run


class Cli:
    """``cwd`` is the working directory the command runs in (default: the repository); a test may
    set it, e.g. to a directory holding planted files."""

    def __init__(self, tmp_path: Path, cwd: Path | None = None) -> None:
        self.cwd = cwd or REPO
        self.env = isolated_env(tmp_path)
        self.env.pop("PYTHONWARNINGS", None)

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "enclave_chat", *args]

    def __call__(self, *args: str, timeout: float = 30) -> Run:
        proc = subprocess.run(self.command(*args), capture_output=True, text=True, env=self.env,
                              timeout=timeout, stdin=subprocess.DEVNULL, cwd=self.cwd)
        return Run(tuple(args), proc.returncode, proc.stdout, proc.stderr)

    def many(self, cases: Sequence[Sequence[str]], timeout: float = 30) -> list[Run]:
        """Run independent cases side by side (each keeps its own ``timeout``)."""
        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(lambda args: self(*args, timeout=timeout), cases))


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    """A named pipe nobody writes to: reading it must neither block nor fail with a traceback."""
    path = tmp_path / "pipe"
    os.mkfifo(path)
    yield path


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A loopback server that accepts connections and never answers."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    try:
        yield f"http://127.0.0.1:{s.getsockname()[1]}"
    finally:
        s.close()
