"""The process-wide promises of docs/cli.md: Ctrl-C is exit 130 and one line, wherever it lands;
stderr carries nothing but the verdict or the error; ``--json`` is strict JSON whatever a claim
holds; an unexpected error is one line; ``--offline`` contacts nothing but the service itself."""

from __future__ import annotations

import datetime as dt
import enum
import math
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from enclave_chat import cli as cli_module
from enclave_chat.output import report
from enclave_chat.process import Exit
from tests.cli.conftest import Cli, Run, contract, strict_json
from tests.vectors import REPO, vector
from verifier.result import AttestationResult, PolicyRef, passed


def interrupt(cli: Cli, args: list[str], after: float) -> Run:
    proc = subprocess.Popen(cli.command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=cli.env, stdin=subprocess.DEVNULL, cwd=REPO)
    time.sleep(after)
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"still running 15 s after Ctrl-C: {err[-2000:]!r}") from None
    return Run(tuple(args), proc.returncode, out, err)


def test_ctrl_c_while_waiting_on_a_silent_server(cli: Cli, silent_server: str) -> None:
    cases = (["verify", silent_server, "--policy", "demo", "--json"], ["ask", silent_server, "hello", "--policy", "demo"])
    with ThreadPoolExecutor(max_workers=2) as pool:
        for run in pool.map(lambda args: interrupt(cli, args, after=1.5), cases):
            assert run.code == 130 and run.stderr == "interrupted\n" and run.stdout == "", str(run)


def run_patched(cli: Cli, tmp_path: Path, script: str, timeout: float = 20) -> Run:
    """``script`` patches the real command, then runs ``main``; a hang is a failure. It runs as
    ``python -m``, the way ``python -m enclave_chat`` does: only that path ends the process by
    SIGINT when CPython saw a KeyboardInterrupt escape ``eval``'d code (``-c`` exits directly)."""
    (tmp_path / "patched_cli.py").write_text(script)
    env = {**cli.env, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    try:
        proc = subprocess.run([sys.executable, "-m", "patched_cli"], capture_output=True, text=True, env=env,
                              timeout=timeout, stdin=subprocess.DEVNULL, cwd=REPO)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"still running after {timeout} s: {e.stderr!r}") from None
    return Run(("<patched>",), proc.returncode, proc.stdout, proc.stderr)


def test_ctrl_c_inside_evald_code_still_exits_130(cli: Cli, tmp_path: Path) -> None:
    """A KeyboardInterrupt that passes through ``eval``'d code (collections.namedtuple, run by many
    imports) makes CPython end the process by SIGINT (-2) even when it was caught and "interrupted"
    printed. Ctrl-C now raises a subclass, which CPython does not flag."""
    run = run_patched(cli, tmp_path, """
import signal
from enclave_chat import cli
from enclave_chat.process import Exit
def command(args):
    eval("__import__('signal').raise_signal(__import__('signal').SIGINT)")
    return Exit.VERIFIED
cli.COMMANDS["locate"] = command
raise SystemExit(cli.main(["locate", "data"]))
""")
    assert run.code == 130 and run.stderr == "interrupted\n", str(run)


def test_ctrl_c_delivered_to_a_worker_thread_wakes_the_event_loop(cli: Cli, tmp_path: Path) -> None:
    """The kernel may deliver Ctrl-C to any thread (httpx resolves names in one). Python runs the
    handler only when the main thread next executes bytecode, which an event loop waiting on a
    silent server may never do: the command hung. The loop now handles the signal itself."""
    run = run_patched(cli, tmp_path, """
import asyncio, signal, threading, time
from enclave_chat import cli
from verifier.session import Session
def ctrl_c_to_this_thread():
    time.sleep(0.5)  # the main thread is waiting in the event loop by now
    signal.pthread_kill(threading.get_ident(), signal.SIGINT)
async def attest(self):
    threading.Thread(target=ctrl_c_to_this_thread).start()
    await asyncio.Event().wait()  # a service that never answers, and no timer to wake the loop
Session.attest = attest
raise SystemExit(cli.main(["verify", "http://127.0.0.1:9", "--policy", "demo", "--json"]))
""")
    assert run.code == 130 and run.stderr == "interrupted\n" and run.stdout == "", str(run)


def test_ctrl_c_during_argument_parsing(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def parser() -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_module, "build_parser", parser)
    try:
        code = cli_module.main(["locate", "data"])
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C during argument parsing escaped main(): a traceback, in the real command")
    assert code == 130 and capsys.readouterr().err == "interrupted\n"


CLI_CLI_DIGEST = "sha256:49a3aa6075e0f49f82843e74b5baa614ad2a588e6675612bf108a0a008c5ac25"
"""The subject that sigstore/cli-cli/reusable-workflow-attestation.sigstore.json signs."""


@pytest.mark.vectors
def test_library_logging_stays_off_stderr(cli: Cli) -> None:
    """sigstore's "TUF repository is loaded in offline mode" notice was a second stderr line
    beside the verdict, twice in a Tinfoil replay."""
    run = cli("release", "verify", str(vector("sigstore/cli-cli/reusable-workflow-attestation.sigstore.json")),
              "--repository", "malancas/attest-demo", "--digest", CLI_CLI_DIGEST, "--offline", "--json")
    contract(run, 0, json_out=True)
    assert run.lines[0].startswith("verified: sigstore-release")


class Color(enum.Enum):
    RED = "red"


def test_json_is_strict_whatever_a_claim_holds(capsys: pytest.CaptureFixture[str]) -> None:
    """Bytes, NaN, infinities, times, enums and sets in claims: ``--json`` must still print one
    strict JSON object (bytes used to raise TypeError; NaN printed a bare ``NaN``)."""
    at = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)
    claims = {"raw": b"\x00\xff", "ratio": math.nan, "big": math.inf, "when": at, "color": Color.RED,
              "ids": {3, 1, 2}, "nested": [{"b": bytearray(b"\x01")}, (1.5, -math.inf)], "path": Path("/x")}
    result = AttestationResult("test", at, b"\x01" * 32, PolicyRef("p", "0" * 64),
                               (passed("test.check", "fine", authenticity=True),), {"e": "0" * 64}, claims)
    assert report(result, True) == Exit.VERIFIED
    out = capsys.readouterr().out
    doc = strict_json(out)
    assert doc["claims"] == {"raw": "00ff", "ratio": None, "big": None, "when": "2025-07-01T00:00:00Z",
                             "color": "red", "ids": [1, 2, 3], "nested": [{"b": "01"}, [1.5, None]], "path": "/x"}


def test_an_unexpected_error_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def broken(args: object) -> Exit:
        raise RuntimeError("boom\nwith a second line and \x1b[31m an escape")

    monkeypatch.setitem(cli_module.COMMANDS, "locate", broken)
    assert cli_module.main(["locate", "data"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "\x1b" not in err
    assert err.startswith("error: internal error (RuntimeError: boom with a second line")


_NETGUARD = """
import ipaddress, sys
def loopback(host):
    if isinstance(host, bytes): host = host.decode()
    if host in (None, "", "localhost"): return True
    try: return ipaddress.ip_address(str(host).strip("[]")).is_loopback
    except ValueError: return False
def guard(event, args):
    host = args[0] if event == "socket.getaddrinfo" else (
        args[1][0] if event == "socket.connect" and isinstance(args[1], tuple) else None)
    if event in ("socket.getaddrinfo", "socket.connect") and host is not None and not loopback(host):
        sys.stderr.write(f"NETWORK {event} {host}\\n")
        raise OSError(101, "blocked by the test")
sys.addaudithook(guard)
from enclave_chat.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


@pytest.mark.vectors
def test_offline_contacts_no_host(cli: Cli) -> None:
    """``--offline`` without ENCLAVE_CHAT_OFFLINE: an audit hook refuses (before any lookup) and
    reports every name resolution and connection to a host that is not loopback."""
    env = {k: v for k, v in cli.env.items() if k != "ENCLAVE_CHAT_OFFLINE"}
    gpu = "nvidia/pypi_nv_local_gpu_verifier_2.7.3/"
    cases = [["evidence", "verify", "sev-snp", str(vector("snp/go-sev-guest/attestation.bin")), "--json"],
             ["evidence", "verify", "tdx", str(vector("tdx/go-tdx-guest/quote_v5_sample.dat")), "--json"],
             ["evidence", "verify", "nvidia-gpu", str(vector(gpu + "hopperAttestationReport.txt")),
              "--cert", str(vector(gpu + "hopperCertChain.txt")), "--json"],
             ["evidence", "verify", "tinfoil", str(vector("tinfoil/verifier/tinfoil_real_tdx_attestation.json")), "--json"],
             ["release", "verify", str(vector("sigstore/cli-cli/reusable-workflow-attestation.sigstore.json")),
              "--repository", "malancas/attest-demo", "--digest", CLI_CLI_DIGEST, "--json"]]

    def run(args: list[str]) -> Run:
        proc = subprocess.run([sys.executable, "-c", _NETGUARD, *args, "--offline"], capture_output=True,
                              text=True, env=env, timeout=60, stdin=subprocess.DEVNULL, cwd=REPO)
        return Run(tuple(args), proc.returncode, proc.stdout, proc.stderr)

    with ThreadPoolExecutor(max_workers=4) as pool:
        for result in pool.map(run, cases):
            assert "NETWORK" not in result.stderr, str(result)
            contract(result, {0, 1}, json_out=True)


@pytest.mark.e2e
def test_offline_verify_fetches_no_log_checkpoint(cli: Cli) -> None:
    """``verify URL --offline`` asks the service and nothing else: before, it still fetched the
    transparency log's checkpoint. Without the fresh checkpoint a split view cannot be excluded,
    so the check is a skip, and the demo policy (which requires it) refuses."""
    from enclave.app import Settings
    from enclave.server import BackgroundEnclave

    with BackgroundEnclave(Settings(token_delay=0)) as server:
        online, offline = cli.many([["verify", server.url, "--policy", "demo", "--json"],
                                    ["verify", server.url, "--policy", "demo", "--offline", "--json"]])

    def fresh_checkpoint(run: Run) -> dict[str, object]:
        return next(c for c in run.json()["checks"] if c["id"] == "release.log.fresh_checkpoint")

    assert fresh_checkpoint(contract(online, 0, json_out=True))["status"] == "pass"
    check = fresh_checkpoint(contract(offline, 1, json_out=True))
    assert check["status"] == "skip" and "not fetched" in str(check["detail"])
    assert offline.lines[0].startswith("authentic but not verified: release.log.fresh_checkpoint skip")
