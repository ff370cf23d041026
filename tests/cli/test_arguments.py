"""Bad arguments to every subcommand: exit 2 and one line on stderr (docs/cli.md), before anything
is contacted; service URLs the policy refuses are exit 1 with the JSON result."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Cli, closed_port, contract
from tests.vectors import vector

SNP = "snp/go-sev-guest/attestation.bin"


def test_usage_errors_are_one_line(cli: Cli, tmp_path: Path) -> None:
    """argparse used to print its usage block first: several lines for one error."""
    snp = str(tmp_path / "report.bin")
    cases = [
        ["--bogus"], ["frobnicate"],
        ["verify", "--bogus"], ["verify", "http://127.0.0.1:1", "--provider", "nope"], ["verify", "--replay"],
        ["verify", "--replay", str(tmp_path), "--at", "yesterday"],
        ["ask"], ["ask", "http://127.0.0.1:1"], ["ask", "--bogus", "a", "b"],
        ["evidence", "verify"], ["evidence", "verify", "sev-snp"], ["evidence", "verify", "bogus", snp],
        ["evidence", "verify", "sev-snp", snp, "--nonce", "abc"],  # odd hex digits
        ["evidence", "verify", "sev-snp", snp, "--nonce", "zz"],
        ["evidence", "verify", "sev-snp", snp, "--nonce", ""],
        ["evidence", "verify", "sev-snp", snp, "--nonce", "00", "--report-data", "00"],
        ["evidence", "verify", "sev-snp", snp, "--at", "2025-13-01T00:00:00Z"],
        ["evidence", "verify", "sev-snp", snp, "--at", "not a time"],
        ["evidence", "inspect"], ["evidence", "inspect", snp, snp],
        ["release", "verify"], ["release", "verify", snp], ["release", "publish"],
        ["log", "serve", "--bogus"], ["log", "serve", "--port", "abc"], ["log", "witness", "--witness"],
        ["locate"], ["locate", "bogus"],
        ["chat", "--bogus"], ["chat", "--provider", "x"], ["demo", "--bogus"], ["demo", "extra"],
    ]
    for run in cli.many(cases):
        contract(run, 2)
        assert run.lines[0].startswith("error: ") and "--help" in run.lines[0], str(run)


def test_ports_out_of_range_are_usage_errors(cli: Cli) -> None:
    """A port above 65535 or below 0 reached socket.bind and ended in a traceback."""
    cases = [["serve", "--port", "70000"], ["serve", "--port", "-1", "--no-log"],
             ["serve", "--token-delay", "nan", "--port", "0", "--no-log"],
             ["log", "serve", "--demo-keys", "--port", "70000"], ["log", "witness", "--demo-keys", "--port", "-1"]]
    for run in cli.many(cases, timeout=15):
        contract(run, 2)
        assert "--port" in run.lines[0] or "--token-delay" in run.lines[0], str(run)


def test_unusable_service_urls_are_usage_errors(cli: Cli) -> None:
    """URLs that cannot be used at all: exit 2 at once, never a traceback (a broken IPv6 literal,
    a port that is not a number from 0 to 65535), never an echo of credentials, never a request
    built by appending a path after a query or a fragment."""
    port = closed_port()
    urls = ["http://[::1", "http://127.0.0.1:99999", "http://127.0.0.1:abc",
            f"http://user:hunter2@127.0.0.1:{port}", f" http://127.0.0.1:{port}", f"http://127.0.0.1:{port}/a b",
            f"http://127.0.0.1:{port}/?x=1", f"http://127.0.0.1:{port}/#frag"]
    cases = [[*cmd, url, *rest] for url in urls
             for cmd, rest in ((["verify"], ["--policy", "demo", "--json"]), (["ask"], ["hi", "--policy", "demo"]))]
    cases += [["chat", "http://[::1"], ["chat", f"http://user:hunter2@127.0.0.1:{port}"], ["ask", "", "hi"]]
    for run in cli.many(cases):
        contract(run, 2)
        assert "hunter2" not in run.stderr, str(run)
        assert "service URL" in run.lines[0], str(run)


def test_urls_the_policy_refuses_are_a_failed_check(cli: Cli) -> None:
    """No scheme, or a scheme other than http(s): the ``service.url`` check fails (exit 1, with
    the JSON result), and nothing is contacted."""
    for run in cli.many([["verify", url, "--policy", "demo", "--json"]
                         for url in ("127.0.0.1:8700", "localhost", "file:///etc/passwd", "ftp://127.0.0.1/")]):
        doc = contract(run, 1, json_out=True).json()
        assert doc["verified"] is False
        assert [c["id"] for c in doc["checks"]] == ["service.url"] and doc["checks"][0]["status"] == "fail"


def test_policy_arguments(cli: Cli, tmp_path: Path) -> None:
    """A policy that is not TOML, has a misspelt key or a wrong type, is empty, a directory or
    missing: exit 2 in one line. ``--policy ''`` used to mean the default policy, silently."""
    bodies = {"not-toml": 'name = "x"\n[snp\n', "typo": 'name = "x"\n[snp]\ndebugg = false\n',
              "typo-table": 'name = "x"\n[snpp]\n', "wrong-type": 'name = "x"\n[service]\nloopback_only = "yes"\n',
              "no-name": "[snp]\n", "not-utf8": "\udcff"}
    paths = []
    for name, body in bodies.items():
        path = tmp_path / f"{name}.toml"
        path.write_bytes(body.encode("utf-8", "surrogateescape"))
        paths.append(str(path))
    paths += ["", str(tmp_path), str(tmp_path / "absent.toml"), "no-such-built-in"]
    report = str(vector(SNP))
    cases = [["evidence", "verify", "sev-snp", report, "--policy", p, "--offline", "--json"] for p in paths]
    cases += [["verify", f"http://127.0.0.1:{closed_port()}", "--policy", paths[1], "--json"],
              ["verify", f"http://127.0.0.1:{closed_port()}", "--policy", "", "--json"],
              ["ask", f"http://127.0.0.1:{closed_port()}", "hi", "--policy", paths[3]],
              ["chat", f"http://127.0.0.1:{closed_port()}", "--policy", paths[0]]]
    for run in cli.many(cases):
        contract(run, 2)
        assert run.lines[0].startswith("error: ") and "policy" in run.lines[0], str(run)


def test_verify_option_conflicts(cli: Cli, tmp_path: Path) -> None:
    """Options that would be silently ignored are usage errors, found before anything is asked:
    ``--at`` on a live verification, a URL beside ``--replay``, ``--save-evidence`` on a replay,
    and a ``--save-evidence`` that cannot be a directory (found only after the whole attestation,
    as a traceback, before)."""
    url = f"http://127.0.0.1:{closed_port()}"
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    cases = [["verify", url, "--at", "2025-01-01T00:00:00Z"],
             ["verify", "--replay", str(tmp_path), url],
             ["verify", "--replay", str(tmp_path), "--save-evidence", str(tmp_path / "out")],
             ["verify", url, "--policy", "demo", "--save-evidence", str(not_a_dir)],
             ["verify", url, "--policy", "demo", "--save-evidence", str(not_a_dir / "below")]]
    for run in cli.many([[*c, "--json"] for c in cases]):
        contract(run, 2)


@pytest.mark.vectors
def test_replay_of_an_incomplete_recording_is_not_unreachable(cli: Cli, tmp_path: Path) -> None:
    """A replay reaches no service: a recording without the exchange the verification needs is a
    bad input (2), not "a service could not be reached" (3)."""
    recording = tmp_path / "rec"
    recording.mkdir()
    (recording / "manifest.json").write_text(
        '{"provider": "native", "url": "http://127.0.0.1:1", "nonce_hex": "' + "00" * 32
        + '", "captured_at": "2025-01-01T00:00:00Z"}')
    run = contract(cli("verify", "--replay", str(recording), "--policy", "demo", "--json"), 2)
    assert "not a complete recording" in run.lines[0]
