"""The command-line contract (docs/cli.md) against the real enclave: exit codes, stdout, stderr."""

from __future__ import annotations

import json
import socket

import pytest

from enclave.app import Settings
from enclave.server import BackgroundEnclave
from tests.environment import isolated_env

pytestmark = pytest.mark.e2e


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def test_verify_json_exit_0(enclave: BackgroundEnclave, cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("verify", enclave.url, "--policy", "demo", "--json")
    assert run.code == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["verified"] is True and doc["authentic"] is True
    assert doc["kind"] == "native"
    assert len(doc["nonce"]) == 64
    assert doc["policy"]["name"] == "demo" and len(doc["policy"]["sha256"]) == 64
    assert set(doc["evidence"]) >= {"bundle", "key_config", "cpu.report"}
    assert all(set(c) >= {"id", "status", "detail"} for c in doc["checks"])
    assert "verified" in run.stderr


def test_ask_streams_the_reply_to_stdout(enclave: BackgroundEnclave, cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("ask", enclave.url, "Is this private?", "--policy", "demo")
    assert run.code == 0, run.stderr
    assert "Is this private?" in run.stdout
    assert "built-in demo model" in run.stdout
    assert "Traceback" not in run.stderr


def test_closed_port_exits_3_with_one_line(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("verify", f"http://127.0.0.1:{closed_port()}", "--policy", "demo", "--json")
    assert run.code == 3
    assert run.stdout == ""
    assert len(run.stderr.strip().splitlines()) == 1
    assert "Traceback" not in run.stderr


def test_malformed_json_exits_1_with_one_line(cli) -> None:  # type: ignore[no-untyped-def]
    with BackgroundEnclave(Settings(attack="malformed-json")) as server:
        run = cli("verify", server.url, "--policy", "demo")
    assert run.code == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "bundle.parse" in lines[0]
    assert "Traceback" not in run.stderr


def test_demo_policy_refuses_a_remote_url_without_contacting_it(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("verify", "https://chat.example.com", "--policy", "demo", "--json")
    assert run.code == 1
    doc = json.loads(run.stdout)
    assert doc["verified"] is False
    assert doc["checks"][0]["id"] == "service.url" and doc["checks"][0]["status"] == "fail"


def test_ask_refused_prints_the_check_and_sends_nothing(cli) -> None:  # type: ignore[no-untyped-def]
    with BackgroundEnclave(Settings(attack="flip-measurement")) as server:
        run = cli("ask", server.url, "secret", "--policy", "demo")
        assert server.enclave.gateway_posts == 0
    assert run.code == 1
    assert run.stdout == ""
    assert "release.measurement" in run.stderr


def test_usage_errors_exit_2(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("verify").code == 2
    assert cli("verify", "http://127.0.0.1:1", "--policy", "no-such-policy").code == 2
    assert cli("frobnicate").code == 2


def test_locate_prints_the_overridden_dirs(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    run = cli("locate", "state")
    assert run.code == 0 and run.stdout.strip() == str(tmp_path / "state")


def test_saved_evidence_replays_offline(enclave: BackgroundEnclave, cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    saved = tmp_path / "rec"
    live = cli("verify", enclave.url, "--policy", "demo", "--save-evidence", str(saved), "--json")
    assert live.code == 0, live.stderr
    assert oct((saved / "manifest.json").stat().st_mode & 0o777) == "0o600"
    assert oct((saved / "responses").stat().st_mode & 0o777) == "0o700"
    recorded = [p.name.split("_", 1)[1] for p in sorted((saved / "responses").glob("*.json"))]
    assert recorded[0] == "127.0.0.1_.well-known_attestation.json"
    assert "127.0.0.1_.well-known_ohttp-gateway.json" in recorded
    replayed = cli("verify", "--replay", str(saved), "--policy", "demo", "--json")
    assert replayed.code == 0, replayed.stderr
    live_doc, replay_doc = json.loads(live.stdout), json.loads(replayed.stdout)
    assert replay_doc["nonce"] == live_doc["nonce"]
    assert replay_doc["evidence"]["bundle"] == live_doc["evidence"]["bundle"]
    late = cli("verify", "--replay", str(saved), "--policy", "demo", "--at", "2099-01-01T00:00:00Z", "--json")
    assert late.code == 1
    expired = next(c for c in json.loads(late.stdout)["checks"] if c["id"] == "bundle.expires")
    assert expired["status"] == "fail"


def test_ask_marks_a_truncated_reply_incomplete(cli) -> None:  # type: ignore[no-untyped-def]
    with BackgroundEnclave(Settings(token_delay=0, attack="truncate-stream")) as server:
        run = cli("ask", server.url, "hello", "--policy", "demo")
    assert run.code == 1
    assert run.stdout.strip()  # what arrived is shown
    assert run.stderr.strip().splitlines()[-1].startswith("incomplete: the reply above is incomplete")


def test_ask_over_the_tinfoil_profile(enclave: BackgroundEnclave, cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("ask", enclave.url, "Over EHBP?", "--policy", "demo", "--provider", "tinfoil")
    assert run.code == 0, run.stderr
    assert "Over EHBP?" in run.stdout
    assert "cannot detect a reply cut short" in run.stderr
    assert enclave.enclave.tinfoil.requests >= 1


def test_verify_over_the_tinfoil_profile_lists_its_checks(enclave: BackgroundEnclave, cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("verify", enclave.url, "--policy", "demo", "--provider", "tinfoil", "--json")
    assert run.code == 0, run.stderr
    checks = {c["id"]: c["status"] for c in json.loads(run.stdout)["checks"]}
    # The reference enclave serves Tinfoil's current layout: its sections are bound by their hashes
    # in REPORT_DATA (the June layout's envelope signature is not part of it).
    assert checks["tinfoil.nonce"] == "pass" and checks["tinfoil.report_data"] == "pass"
    assert checks["tinfoil.crypto_material_hash"] == "pass" and "tinfoil.signature" not in checks
    assert checks["tinfoil.tls_key"] == "skip"  # loopback http has no TLS key: never a pass


# -- finding 9 of the second hostile-input round: the reply on a terminal -------------------------

HOSTILE = "red \x1b[31mtext\x1b[0m bell \x07 csi \x9b2J del \x7f back \x08 cr \x0d tab \t end"
"""A prompt the demo model echoes in its reply: ESC and CSI sequences, BEL, the C1 CSI, DEL,
backspace and carriage return (all shown escaped on a terminal), and a tab (kept)."""


def _ask_on_a_terminal(url: str, prompt: str, tmp_path) -> tuple[int, bytes, str]:  # type: ignore[no-untyped-def]
    """``enclave-chat ask`` with stdout on a pseudo-terminal: the exit code, what the terminal
    received, and stderr (a pipe)."""
    import os
    import pty
    import subprocess
    import sys

    env = isolated_env(tmp_path)
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "enclave_chat", "ask", url, prompt, "--policy", "demo"],
                                stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE, env=env)
        os.close(slave)
        received = bytearray()
        while True:
            try:
                piece = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not piece:
                break
            received += piece
        _, err = proc.communicate(timeout=60)
    finally:
        os.close(master)
    return proc.returncode, bytes(received), err.decode()


def test_ask_escapes_control_characters_on_a_terminal(enclave: BackgroundEnclave, tmp_path) -> None:  # type: ignore[no-untyped-def]
    code, shown, err = _ask_on_a_terminal(enclave.url, HOSTILE, tmp_path)
    assert code == 0, err
    text = shown.decode("utf-8")
    assert "built-in demo model" in text
    for raw in ("\x1b", "\x07", "\x9b", "\x7f", "\x08"):
        assert raw not in text, (raw, text)
    assert r"red \x1b[31mtext\x1b[0m bell \x07 csi \x9b2J del \x7f back \x08 cr \x0d tab " + "\t end" in text
    assert "\n" in text  # newlines pass (the terminal shows them as CR LF)


def test_ask_passes_the_reply_unchanged_to_a_pipe(enclave: BackgroundEnclave, cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("ask", enclave.url, HOSTILE, "--policy", "demo")
    assert run.code == 0, run.stderr
    assert HOSTILE.replace("\r", "\n") in run.stdout  # (text mode reads a CR as a line end)
    assert "\x1b[31m" in run.stdout and "\x07" in run.stdout and "\x7f" in run.stdout
