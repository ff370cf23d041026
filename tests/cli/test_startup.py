"""What ``enclave-chat`` loads to start (issue 11, point 8): a command imports what its own path
needs and nothing else. Not timed (benchmarks/bench_startup.py times it): the modules are read from
``python -X importtime``, which lists every module the real entry point imported."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import Cli
from tests.vectors import REPO, vector

SNP = "snp/go-sev-guest/"


_RUN = """
import os, runpy, sys
try:
    runpy.run_module("enclave_chat", run_name="__main__", alter_sys=True)
finally:
    with open(os.environ["MODULES_OUT"], "w") as out:
        out.write("\\n".join(sorted(sys.modules)))
"""


def imported(cli: Cli, tmp_path: Path, *args: str) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    """The modules ``python -m enclave_chat ARGS`` had loaded when it ended (``sys.modules``: what
    ``-X importtime`` lists misses the modules imported through ``importlib.import_module``, as
    the registries' targets are), and the process."""
    listing = tmp_path / "modules.txt"
    proc = subprocess.run([sys.executable, "-c", _RUN, *args], capture_output=True, text=True,
                          env={**cli.env, "MODULES_OUT": str(listing)}, timeout=60, stdin=subprocess.DEVNULL, cwd=REPO)
    return set(listing.read_text().split()), proc


def loaded(modules: set[str], *packages: str) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in packages))


def offline_snp(cli: Cli, tmp_path: Path) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    modules, proc = imported(cli, tmp_path, "evidence", "verify", "sev-snp", str(vector(SNP + "attestation.bin")),
                             "--cert", str(vector(SNP + "vcek.testcer")), "--cert", str(vector(SNP + "ask_ark_milan.pem")),
                             "--at", "2025-07-01T00:00:00Z", "--offline", "--json")
    assert proc.returncode == 1 and '"kind": "sev-snp"' in proc.stdout, proc.stderr[-3000:]
    assert "verifier.appraisal.sev_snp" in modules
    return modules, proc


@pytest.mark.vectors
def test_offline_evidence_verify_loads_no_http_client_and_no_ui(cli: Cli, tmp_path: Path) -> None:
    """Nothing is fetched and nothing is drawn: no httpx (nor rich, which httpx's own command line
    pulls in), no textual, no enclave, no TUI."""
    modules, _ = offline_snp(cli, tmp_path)
    assert loaded(modules, "httpx", "rich", "textual", "enclave", "tui") == []


@pytest.mark.vectors
def test_offline_evidence_verify_loads_no_other_kind(cli: Cli, tmp_path: Path) -> None:
    """The policy is checked whole, so the other kinds' rules (their ``rules`` and ``checks``
    modules, and their packages' light ``__init__``) are read; their appraisals, parsers and the
    RIM reader (lxml) are not."""
    modules, _ = offline_snp(cli, tmp_path)
    rules_only = {f"verifier.appraisal.{k}{m}" for k in ("tdx", "nvidia") for m in ("", ".rules", ".checks")}
    assert sorted(set(loaded(modules, "verifier.appraisal.tdx", "verifier.appraisal.nvidia")) - rules_only) == []
    assert loaded(modules, "lxml", "signxml", "verifier.reference.rim", "verifier.evidence.tdx",
                  "verifier.evidence.nvidia", "verifier.appraisal.release") == []


def test_the_parser_alone_loads_no_command(cli: Cli, tmp_path: Path) -> None:
    """``--help`` builds the whole parser (its choices come from the registries) and imports no
    command module, no appraisal and no HTTP client."""
    modules, proc = imported(cli, tmp_path, "evidence", "verify", "--help")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert loaded(modules, "enclave_chat.commands", "verifier.appraisal.sev_snp", "verifier.appraisal.tdx",
                  "verifier.appraisal.nvidia", "httpx", "textual", "enclave", "tui") == []


def _imports(path: Path) -> set[str]:
    """The ``enclave_chat`` modules ``path`` imports, at its top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith("enclave_chat"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("enclave_chat"):
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def test_no_module_of_enclave_chat_imports_another_in_a_circle() -> None:
    """Imports inside functions count: ``cli`` and ``tui_entry`` used to import each other."""
    root = REPO / "enclave_chat"
    modules = {".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__"): p
               for p in root.rglob("*.py")}
    graph = {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}

    def cycle_from(start: str) -> list[str] | None:
        stack: list[tuple[str, list[str]]] = [(start, [start])]
        seen: set[str] = set()
        while stack:
            node, trail = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    return [*trail, start]
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*trail, nxt]))
        return None

    assert "enclave_chat.cli" in graph and "enclave_chat.tui_entry" in graph
    assert {name: cycle for name in graph if (cycle := cycle_from(name))} == {}
