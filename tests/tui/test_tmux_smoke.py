"""Smoke test of the real program: `enclave-chat demo` in a tmux pane, driven with send-keys and
read with capture-pane. It must show the verified status and the INSECURE DEMO mark, stream the
reply to a typed question, and exit cleanly (stopping its enclave) on Ctrl+Q; and a question and
Enter sent in one burst (one ``send-keys`` call, as a fast paste delivers them) must reach the
enclave exactly as typed (issue 17).

Polls are bounded and short; there is no fixed sleep. It skips only when tmux is missing and the
run does not require it (CI does: .ci/run installs tmux).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
POLL = 0.1

pytestmark = pytest.mark.e2e


def _required() -> bool:
    return any(os.environ.get(v) == "1" for v in ("ENCLAVE_CHAT_REQUIRE_TMUX",
                                                  "ENCLAVE_CHAT_REQUIRE_VECTORS"))


class Tmux:
    def __init__(self, socket: str) -> None:
        self.socket = socket

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args], capture_output=True, text=True,
                              check=check, timeout=10)

    def screen(self) -> str:
        proc = self("capture-pane", "-p", "-J", "-t", "demo", check=False)
        return proc.stdout

    def wait_for(self, what: str, predicate: Callable[[str], bool], timeout: float) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.screen()
            if predicate(text):
                return text
            time.sleep(POLL)
        raise AssertionError(f"timed out waiting for {what}; the screen shows:\n{text}")

    def alive(self) -> bool:
        return self("has-session", "-t", "demo", check=False).returncode == 0


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        if _required():
            pytest.fail("tmux is required for this run (CI installs it) but is not installed")
        pytest.skip("tmux is not installed")
    t = Tmux(f"enclave-chat-test-{uuid.uuid4().hex[:8]}")
    try:
        yield t
    finally:
        t("kill-server", check=False)


def _start_demo(tmux: Tmux, tmp_path: Path) -> str:
    """``enclave-chat demo`` in a detached 160x48 pane; returns the screen once it verified."""
    env = {f"ENCLAVE_CHAT_{k.upper()}_DIR": str(tmp_path / k) for k in ("config", "data", "cache", "state")}
    env.update(TERM="xterm-256color", PYTHONPATH=str(ROOT), COLORTERM="truecolor")
    assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    command = f"cd {shlex.quote(str(ROOT))} && env -u COLUMNS -u LINES {assignments} {shlex.quote(sys.executable)} -m enclave_chat demo"
    tmux("new-session", "-d", "-s", "demo", "-x", "160", "-y", "48", command)
    tmux("set-option", "-t", "demo", "window-size", "manual", check=False)
    tmux("resize-window", "-t", "demo", "-x", "160", "-y", "48", check=False)
    return tmux.wait_for("the verified status", lambda s: "✓ VERIFIED" in s, timeout=60)


def _quit(tmux: Tmux) -> None:
    tmux("send-keys", "-t", "demo", "C-q")
    deadline = time.monotonic() + 20
    while tmux.alive() and time.monotonic() < deadline:
        time.sleep(POLL)
    assert not tmux.alive(), "enclave-chat demo did not exit on Ctrl+Q"


def test_demo_in_tmux_verifies_and_streams_a_reply(tmux: Tmux, tmp_path: Path) -> None:
    screen = _start_demo(tmux, tmp_path)
    assert "INSECURE DEMO" in screen
    assert "REFUSED" not in screen

    tmux("send-keys", "-t", "demo", "-l", "What is SEV-SNP?")
    tmux.wait_for("the typed question", lambda s: "What is SEV-SNP?" in s, timeout=10)
    tmux("send-keys", "-t", "demo", "Enter")
    screen = tmux.wait_for("the streamed reply",
                           lambda s: "You asked:" in s and "real guarantees" in s,
                           timeout=60)
    assert "What is SEV-SNP?" in screen
    assert "✓ VERIFIED" in screen and "INSECURE DEMO" in screen

    _quit(tmux)
    assert (tmp_path / "data" / "history.sqlite3").is_file()


def test_a_question_and_enter_in_one_burst_reach_the_enclave_exactly(tmux: Tmux, tmp_path: Path) -> None:
    """``send-keys "What is two plus two?" Enter`` is one write to the pane: the app reads the
    characters and Enter together. The demo model quotes the question it received and counts its
    words, so the pane shows what the enclave saw; the input's placeholder shows that it emptied."""
    question = "What is two plus two?"
    _start_demo(tmux, tmp_path)
    placeholder = "Type a message; Enter sends it"
    tmux.wait_for("the input, focused and empty", lambda s: placeholder in s, timeout=20)
    tmux("send-keys", "-t", "demo", question, "Enter")
    screen = tmux.wait_for("the reply to the whole question",
                           lambda s: f"You asked: {question}" in s and "real guarantees" in s,
                           timeout=60)
    assert "words in your message: 5" in screen
    assert "messages in this conversation: 1" in screen
    assert placeholder in screen  # the input is empty again
    assert screen.count(question) == 2  # the user's message and the quote in the reply, nothing more
    _quit(tmux)
