"""The command line on the simulated Azure CVM: ``enclave-chat serve --platform azure-snp-vtpm`` in
a subprocess, then ``verify --policy demo --json`` (exit 0, the hcl.* and tpm.* checks listed)
and ``ask`` (the reply streamed) as the user runs them, the saved evidence replayed; the same
``verify`` against ``serve --platform azure-tdx-vtpm``; an Azure attack mode without the platform
is a usage error."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_transparency_e2e import Running
from tests.environment import isolated_env

pytestmark = pytest.mark.e2e


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return isolated_env(tmp_path)


@pytest.fixture
def serve(env: dict[str, str]) -> Iterator[tuple[Running, str]]:
    server = Running(env, "serve", "--platform", "azure-snp-vtpm", "--port", "0", "--token-delay", "0")
    try:
        url = server.wait_for(r"reference enclave on (http://127\.0\.0\.1:\d+)").group(1)
        yield server, url
    finally:
        if server.proc.poll() is None:
            server.stop()


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "enclave_chat", *args], capture_output=True, text=True, env=env,
                          timeout=60, stdin=subprocess.DEVNULL)


def test_verify_and_ask_against_serve_platform_azure(env: dict[str, str], serve: tuple[Running, str],
                                                     tmp_path: Path) -> None:
    server, url = serve
    server.wait_for(r"simulated azure-snp-vtpm: INSECURE DEMO")
    assert "INSECURE DEMO" in "".join(server.seen)
    saved = tmp_path / "rec"
    run = cli(env, "verify", url, "--policy", "demo", "--json", "--save-evidence", str(saved))
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["verified"] is True and doc["evidence_kind"] == "azure-snp-vtpm"
    statuses = {c["id"]: c["status"] for c in doc["checks"]}
    for cid in ("hcl.parse", "hcl.binding", "hcl.user_data", "hcl.ak", "tpm.quote.signature", "tpm.nonce",
                "tpm.pcr_digest", "snp.report.signature", "gpu.0.signature", "release.measurement"):
        assert statuses[cid] == "pass", cid
    replayed = cli(env, "verify", "--replay", str(saved), "--policy", "demo", "--json")
    assert replayed.returncode == 0, replayed.stderr
    assert json.loads(replayed.stdout)["evidence"] == doc["evidence"]  # cpu.tpm_quote's digest among them
    assert "cpu.tpm_quote" in doc["evidence"]
    run = cli(env, "ask", url, "hello from the cvm", "--policy", "demo")
    assert run.returncode == 0, run.stderr
    assert "hello from the cvm" in run.stdout


def test_an_azure_attack_needs_the_azure_platform(env: dict[str, str]) -> None:
    run = cli(env, "serve", "--attack", "azure-stale-quote", "--port", "0", "--no-log")
    assert run.returncode == 2 and "--platform azure-snp-vtpm" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    run = cli(env, "serve", "--platform", "azure-tdx-vtpm", "--attack", "rogue-vcek", "--port", "0", "--no-log")
    assert run.returncode == 2 and "needs simulated SEV-SNP hardware" in run.stderr
    run = cli(env, "serve", "--platform", "azure-sev-vtpm", "--port", "0")
    assert run.returncode == 2 and "invalid choice" in run.stderr


def test_verify_against_serve_platform_azure_tdx(env: dict[str, str]) -> None:
    server = Running(env, "serve", "--platform", "azure-tdx-vtpm", "--port", "0", "--token-delay", "0")
    try:
        url = server.wait_for(r"reference enclave on (http://127\.0\.0\.1:\d+)").group(1)
        server.wait_for(r"simulated azure-tdx-vtpm: INSECURE DEMO")
        run = cli(env, "verify", url, "--policy", "demo", "--json")
        assert run.returncode == 0, run.stderr
        doc = json.loads(run.stdout)
        assert doc["verified"] is True and doc["evidence_kind"] == "azure-tdx-vtpm"
        statuses = {c["id"]: c["status"] for c in doc["checks"]}
        for cid in ("hcl.parse", "hcl.binding", "hcl.td_report", "hcl.user_data", "tpm.quote.signature", "tpm.nonce",
                    "tdx.pck.root_pinned", "tdx.quote.signature", "tdx.tcb.status", "release.measurement"):
            assert statuses[cid] == "pass", cid
        assert {"cpu.td_quote", "cpu.tpm_quote"} <= set(doc["evidence"])
        run = cli(env, "verify", url, "--json")  # the default policy: not the demo Intel root
        assert run.returncode != 0
        refused = json.loads(run.stdout)
        assert refused["verified"] is False and refused["authentic"] is False
        assert next(c["id"] for c in refused["checks"] if c["status"] == "fail") == "tdx.pck.root_pinned"
    finally:
        if server.proc.poll() is None:
            server.stop()


def test_demo_platform_reaches_the_enclave_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from enclave_chat import tui_entry
    from enclave_chat.cli import build_parser
    from enclave_chat.commands.chat import cmd_demo

    args = build_parser().parse_args(["demo", "--platform", "azure-snp-vtpm", "--no-history"])
    seen: dict[str, object] = {}
    monkeypatch.setattr(tui_entry, "run_demo", lambda **kw: seen.update(kw) or 0)
    assert cmd_demo(args) == 0
    assert seen == {"no_history": True, "platform": "azure-snp-vtpm"}
    settings = tui_entry._demo_settings(True, "azure-snp-vtpm")
    assert settings.platform == "azure-snp-vtpm" and settings.transparency_dir is None
    assert build_parser().parse_args(["demo"]).platform == "sev-snp"
