"""Acceptance: the real v2 Genoa bundle (an ATC attestation bundle) is authentic (SNP, Sigstore with
its trusted root, measurement, TLS and HPKE key binding) and not verified (tinfoil.freshness), through
``enclave-chat evidence verify tinfoil DOC.json``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.tinfoil.conftest import GENOA_CHAIN, V2_BUNDLE, V2_TRUST_ROOT

pytestmark = pytest.mark.vectors

AT = "2026-02-01T00:00:00Z"
Runner = Callable[..., tuple[int, dict[str, Any] | None]]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Runner:
    from enclave_chat.cli import main

    monkeypatch.setenv("ENCLAVE_CHAT_CACHE_DIR", str(tmp_path / "cache"))

    def run(*args: str) -> tuple[int, dict[str, Any] | None]:
        code = main(["evidence", "verify", "tinfoil", *args, "--at", AT, "--offline", "--json"])
        out = capsys.readouterr().out
        return code, (json.loads(out) if out.strip() else None)

    return run


def statuses(doc: dict[str, Any]) -> dict[str, str]:
    return {c["id"]: c["status"] for c in doc["checks"]}


def test_real_v2_bundle_is_authentic_and_not_verified(cli: Runner, vectors: Path) -> None:
    code, doc = cli(str(vectors / V2_BUNDLE), str(vectors / V2_TRUST_ROOT), "--policy", "tinfoil",
                    "--cert", str(vectors / GENOA_CHAIN))
    assert code == 1 and doc is not None
    assert doc["kind"] == "tinfoil" and doc["authentic"] is True and doc["verified"] is False
    s = statuses(doc)
    assert [c["id"] for c in doc["checks"] if c["status"] == "fail"] == ["tinfoil.freshness"]
    for cid in ("snp.report.signature", "snp.chain.ark_pinned", "snp.vcek.extensions",  # SNP
                "sigstore.signature", "sigstore.tlog.checkpoint", "sigstore.identity.repository",
                "sigstore.identity.workflow", "sigstore.digest",  # Sigstore, with its trusted root
                "tinfoil.release.measurement",  # the report's measurement is the release's
                "tinfoil.tls_key", "tinfoil.hpke_key", "tinfoil.attestation_hash"):  # key binding
        assert s[cid] == "pass", cid
    assert s["snp.report_data"] == "skip"  # no nonce: REPORT_DATA binds keys, never freshness
    assert doc["claims"]["hpke_key"] == "3565781f4ee796cfb144df2a31a3ae5e87747bb5ba91aafc6b80e2e268b8603d"
    assert doc["claims"]["cpu"]["measurement"].startswith("09ef32acf90fcfeb")
    assert "trust_root.json" in doc["evidence"]


def test_without_a_trusted_root_file_the_sigstore_production_root_is_used(cli: Runner, vectors: Path) -> None:
    code, doc = cli(str(vectors / V2_BUNDLE), "--policy", "tinfoil", "--cert", str(vectors / GENOA_CHAIN))
    assert code == 1 and doc is not None and doc["authentic"] is True
    assert statuses(doc)["sigstore.signature"] == "pass"


def test_offline_without_the_amd_chain_is_not_authentic(cli: Runner, vectors: Path) -> None:
    code, doc = cli(str(vectors / V2_BUNDLE), "--policy", "tinfoil")
    assert code == 1 and doc is not None and doc["authentic"] is False
    assert statuses(doc)["snp.chain.certificates"] == "fail"


def test_a_policy_without_the_hosts_repository_refuses_it(cli: Runner, vectors: Path) -> None:
    code, doc = cli(str(vectors / V2_BUNDLE), "--cert", str(vectors / GENOA_CHAIN))
    assert code == 1 and doc is not None
    assert statuses(doc)["tinfoil.repository"] == "fail"


def test_a_changed_release_digest_is_refused(cli: Runner, vectors: Path, tmp_path: Path) -> None:
    doc = json.loads((vectors / V2_BUNDLE).read_text())
    doc["digest"] = "00" * 32
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(doc))
    code, out = cli(str(path), "--policy", "tinfoil", "--cert", str(vectors / GENOA_CHAIN))
    assert out is not None and code == 1
    assert [c["id"] for c in out["checks"] if c["status"] == "fail"] == ["tinfoil.freshness", "sigstore.digest"]


def test_a_swapped_enclave_certificate_breaks_the_key_binding(cli: Runner, vectors: Path, tmp_path: Path) -> None:
    doc = json.loads((vectors / V2_BUNDLE).read_text())
    recorded = next((vectors / "tinfoil/teep").glob("tinfoil_v3_cloud_*"))
    v3 = json.loads(next((recorded / "responses").glob("*tinfoil-attestation.body")).read_bytes())
    doc["enclaveCert"] = v3["certificate"]  # a genuine Tinfoil certificate, but a later one
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(doc))
    code, out = cli(str(path), "--policy", "tinfoil", "--cert", str(vectors / GENOA_CHAIN))
    assert out is not None and code == 1 and out["authentic"] is False
    s = statuses(out)
    assert s["tinfoil.tls_key"] == "fail" and s["tinfoil.hpke_key"] == "fail" and s["tinfoil.attestation_hash"] == "fail"


def test_a_bare_v2_document_is_never_verified(cli: Runner, vectors: Path) -> None:
    code, doc = cli(str(vectors / "tinfoil/verifier/tinfoil_real_sev_snp_attestation.json"), "--policy", "tinfoil")
    assert code == 1 and doc is not None and doc["verified"] is False
    assert statuses(doc)["tinfoil.freshness"] == "fail"


def test_a_saved_v3_document_with_its_nonce(cli: Runner, vectors: Path) -> None:
    recorded = next((vectors / "tinfoil/teep").glob("tinfoil_v3_cloud_*"))
    nonce = json.loads((recorded / "manifest.json").read_text())["nonce_hex"]
    body = next((recorded / "responses").glob("*tinfoil-attestation.body"))
    code, doc = cli(str(body), "--policy", "tinfoil", "--nonce", nonce)
    assert code == 1 and doc is not None
    s = statuses(doc)
    assert s["tinfoil.nonce"] == "pass" and s["tinfoil.signature"] == "pass"
    assert s["tinfoil.tls_key"] == "skip" and s["tinfoil.repository"] == "skip"


@pytest.mark.parametrize("args, message", [
    (("a", "b", "c"), "optionally a Sigstore trusted root"),
    (("--report-data", "00" * 64), "--nonce"),
])
def test_usage_errors(vectors: Path, args: tuple[str, ...], message: str,
                      capsys: pytest.CaptureFixture[str]) -> None:
    from enclave_chat.cli import main

    files = [str(vectors / V2_BUNDLE)] if args[0].startswith("--") else []
    assert main(["evidence", "verify", "tinfoil", *files, *args, "--offline"]) == 2
    assert message in capsys.readouterr().err


def test_a_file_that_is_not_a_document(cli: Runner, tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"format": "something else"}')
    code, doc = cli(str(path))
    assert code == 1 and doc is not None
    assert doc["checks"][0]["id"] == "tinfoil.parse" and doc["checks"][0]["status"] == "fail"
