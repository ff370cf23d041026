"""``evidence verify dstack`` loads the dstack and TDX appraisals and no other kind's, and no HTTP
client offline; another kind's run reads only dstack's policy rules (tests/cli/test_startup.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Cli
from tests.cli.test_startup import imported, loaded, offline_snp
from tests.vectors import vector

pytestmark = pytest.mark.vectors

RULES_ONLY = {f"verifier.appraisal.{k}{m}" for k in ("nvidia", "azure") for m in ("", ".rules", ".checks")}
"""The policy is checked whole, so the other kinds' rules are read. (``verifier.appraisal.sev_snp``'s
``__init__`` imports its whole appraisal to read its rules, for ``evidence verify tdx`` as much as
here; that is its package's matter, not dstack's.)"""


def test_offline_dstack_loads_no_other_kind_and_no_http_client(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    modules, proc = imported(cli, tmp_path, "evidence", "verify", "dstack",
                             str(vector("providers/dstack/quote-report.json")), "--at", "2026-06-01T00:00:00Z",
                             "--offline", "--json")
    assert proc.returncode == 1 and '"kind": "dstack"' in proc.stdout, proc.stderr[-3000:]
    assert {"verifier.appraisal.dstack.validate", "verifier.appraisal.tdx.validate"} <= modules
    others = loaded(modules, "verifier.appraisal.nvidia", "verifier.appraisal.azure")
    assert sorted(set(others) - RULES_ONLY) == []
    assert loaded(modules, "httpx", "textual", "enclave", "tui", "lxml", "verifier.evidence.nvidia",
                  "verifier.evidence.tpm") == []


def test_another_kind_reads_only_dstack_rules(tmp_path: Path) -> None:
    modules, _ = offline_snp(Cli(tmp_path), tmp_path)
    assert loaded(modules, "verifier.appraisal.dstack") <= ["verifier.appraisal.dstack",
                                                             "verifier.appraisal.dstack.checks",
                                                             "verifier.appraisal.dstack.rules"]
    assert loaded(modules, "verifier.evidence.dstack", "verifier.evidence.dstack_eventlog") == []
