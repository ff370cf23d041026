"""Sigstore bundles from the vectors README: each pair verifies offline; each mutation is refused
with its own check id; the two unverifiable bundles give a clear refusal, not a traceback."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from verifier.errors import InputError
from verifier.reference.sigstore_bundle import KIND, verify_bundle, verify_release_files
from verifier.result import Check, Status

pytestmark = pytest.mark.vectors

BEACON = "sigstore-conformance/extremely-dangerous-public-oidc-beacon"
A_TXT = "sigstore/sigstore-conformance/a.txt"
# (bundle, trusted root, repository, artifact or None, digest the bundle signs, what it is)
PAIRS = [
    ("sigstore/cli-cli/reusable-workflow-attestation.sigstore.json", "sigstore/cli-cli/trusted_root.json",
     "malancas/attest-demo", "sigstore/cli-cli/reusable-workflow-artifact",
     "49a3aa6075e0f49f82843e74b5baa614ad2a588e6675612bf108a0a008c5ac25", "Rekor v1 dsse, reusable workflow"),
    ("tinfoil/conformance/sigstore-001/bundle.json", "tinfoil/conformance/sigstore-001/trust_root.json",
     "tinfoilsh/confidential-model-router", None,
     "5ed9d5c942528ec2eeb759919827f1bc2183c6810f80225a52147dd4020c12a0", "Rekor v1 dsse, Tinfoil release"),
    ("sigstore/sigstore-conformance/rekor2-dsse-happy-path/bundle.sigstore.json",
     "sigstore/sigstore-conformance/rekor2-dsse-happy-path/trusted_root.json", BEACON, A_TXT,
     "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf", "Rekor v2 hashedrekord over DSSE, witness-cosigned"),
    ("sigstore/sigstore-conformance/happy-path-intoto-in-dsse-v3/bundle.sigstore.json",
     "sigstore/sigstore-python/pypi-sigstore-4.5.1-embedded-production-trusted_root.json", BEACON, A_TXT,
     "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf", "Rekor v1 dsse, production root"),
    ("sigstore/sigstore-conformance/rekor2-checkpoint-cosigned/bundle.sigstore.json",
     "sigstore/sigstore-conformance/rekor2-checkpoint-cosigned/trusted_root.json", BEACON, A_TXT,
     "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf", "Rekor v2 message signature, cosigned"),
    ("sigstore/sigstore-python/a.dsse.staging-rekor-v2.txt.sigstore.json",
     "sigstore/sigstore-conformance/rekor2-dsse-happy-path/trusted_root.json", BEACON, A_TXT,
     "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf", "Rekor v2 dsse, staging"),
]


def by_id(checks: tuple[Check, ...]) -> dict[str, Check]:
    return {c.id: c for c in checks}


def failures(checks: tuple[Check, ...]) -> list[str]:
    return [c.id for c in checks if c.status is Status.FAIL]


@pytest.mark.parametrize("bundle, root, repo, artifact, digest, what", PAIRS, ids=[p[5] for p in PAIRS])
def test_pair_verifies_offline(vectors: Path, bundle: str, root: str, repo: str, artifact: str | None,
                               digest: str, what: str) -> None:
    result = verify_release_files(vectors / bundle, repository=repo, trusted_root_path=vectors / root,
                                  artifact_path=vectors / artifact if artifact else None, digest=f"sha256:{digest}",
                                  workflow_ref=r"refs/(heads/main|tags/v[0-9.]+)", offline=True)
    assert result.kind == KIND
    assert result.verified, result.verdict()
    checks = by_id(result.checks)
    for cid in ("sigstore.tlog.inclusion", "sigstore.tlog.checkpoint", "sigstore.signature",
                "sigstore.identity.issuer", "sigstore.identity.repository", "sigstore.identity.workflow", "sigstore.digest"):
        assert checks[cid].status is Status.PASS, checks[cid]
    assert checks["sigstore.artifact"].status is (Status.PASS if artifact else Status.SKIP)


def _load(vectors: Path, i: int) -> tuple[dict[str, Any], bytes, str, bytes | None]:
    bundle, root, repo, artifact, _, _ = PAIRS[i]
    return (json.loads((vectors / bundle).read_text()), (vectors / root).read_bytes(), repo,
            (vectors / artifact).read_bytes() if artifact else None)


@pytest.mark.parametrize("i", [0, 2])  # Rekor v1 and Rekor v2
def test_each_mutation_has_its_own_check_id(vectors: Path, i: int) -> None:
    doc, root, repo, artifact = _load(vectors, i)
    raw = json.dumps(doc).encode()
    assert failures(verify_bundle(raw, trusted_root=root, repository=repo, artifact=artifact)) == []
    assert failures(verify_bundle(raw, trusted_root=root, repository="someone/else", artifact=artifact)) == ["sigstore.identity.repository"]
    assert failures(verify_bundle(raw, trusted_root=root, repository=repo, issuer="https://accounts.google.com")) == ["sigstore.identity.issuer"]
    assert failures(verify_bundle(raw, trusted_root=root, repository=repo, digest="sha256:" + "00" * 32)) == ["sigstore.digest"]
    assert failures(verify_bundle(raw, trusted_root=root, repository=repo, workflow_ref="refs/tags/v9")) == ["sigstore.identity.workflow"]
    assert failures(verify_bundle(raw, trusted_root=root, repository=repo, artifact=(artifact or b"") + b"!")) == ["sigstore.artifact"]
    # A tampered inclusion proof: our RFC 9162 check names it (sigstore's own verification fails too).
    tampered = json.loads(raw)
    proof = tampered["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]
    h = bytearray(base64.b64decode(proof["hashes"][1]))
    h[0] ^= 1
    proof["hashes"][1] = base64.b64encode(bytes(h)).decode()
    got = failures(verify_bundle(json.dumps(tampered).encode(), trusted_root=root, repository=repo))
    assert got[0] == "sigstore.tlog.inclusion" and "sigstore.identity.repository" not in got
    # A modified statement: the signature no longer verifies.
    modified = json.loads(raw)
    payload = json.loads(base64.b64decode(modified["dsseEnvelope"]["payload"]))
    payload["subject"][0]["digest"]["sha256"] = "11" * 32
    modified["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    assert failures(verify_bundle(json.dumps(modified).encode(), trusted_root=root, repository=repo)) == ["sigstore.signature"]


def test_message_signature_bundle_mutations(vectors: Path) -> None:
    doc, root, repo, artifact = _load(vectors, 4)
    raw = json.dumps(doc).encode()
    assert artifact is not None
    assert failures(verify_bundle(raw, trusted_root=root, repository=repo, artifact=artifact)) == []
    assert failures(verify_bundle(raw, trusted_root=root, repository=repo, artifact=artifact.replace(b"MODIFY", b"modify"))) == ["sigstore.artifact"]
    # Without the artifact or its digest, nothing is bound: a required skip, so not verified.
    artifact_check = by_id(verify_bundle(raw, trusted_root=root, repository=repo))["sigstore.artifact"]
    assert artifact_check.status is Status.SKIP and artifact_check.required


def test_wrong_trusted_root_is_refused(vectors: Path) -> None:
    doc, _, repo, _ = _load(vectors, 0)
    other_root = (vectors / PAIRS[2][1]).read_bytes()
    got = failures(verify_bundle(json.dumps(doc).encode(), trusted_root=other_root, repository=repo))
    assert got == ["sigstore.tlog.checkpoint", "sigstore.signature"]


def test_github_private_instance_bundle_is_a_clear_refusal(vectors: Path) -> None:
    result = verify_release_files(vectors / "sigstore/cli-cli/github_provenance_demo-0.0.12-py3-none-any-bundle.jsonl",
                                  repository="malancas/attest-demo", trusted_root_path=vectors / "sigstore/cli-cli/trusted_root.json")
    assert not result.verified and not result.authentic
    first = result.first_failure
    assert first is not None and first.id == "sigstore.bundle" and "no transparency log entry" in first.detail


def test_bundle_whose_artifact_is_absent_is_a_clear_refusal(vectors: Path) -> None:
    result = verify_release_files(vectors / "sigstore/sigstore-python/bundle_v3_github.whl.sigstore",
                                  repository="trailofbits/rfc8785.py",
                                  trusted_root_path=vectors / "sigstore/sigstore-python/pypi-sigstore-4.5.1-embedded-production-trusted_root.json")
    assert result.authentic and not result.verified
    first = result.first_failure
    assert first is not None and first.id == "sigstore.artifact" and "was not given" in first.detail


def test_garbage_and_bad_arguments(vectors: Path, tmp_path: Path) -> None:
    root = (vectors / PAIRS[0][1]).read_bytes()
    for junk in (b"", b"{}", b"[1]", b"not json", json.dumps({"verificationMaterial": {"tlogEntries": [{}]}}).encode()):
        checks = verify_bundle(junk, trusted_root=root, repository="a/b")
        assert checks[0].id == "sigstore.bundle" and checks[0].status is Status.FAIL
    with pytest.raises(InputError):
        verify_bundle(b"{}", trusted_root=root, repository="not a repository")
    with pytest.raises(InputError):
        verify_bundle(b"{}", trusted_root=root, repository="a/b", digest="md5:00")
    with pytest.raises(InputError):
        verify_bundle(b"{}", trusted_root=root, repository="a/b", workflow_ref="(")
    with pytest.raises(InputError):
        verify_release_files(tmp_path / "missing.json", repository="a/b")


@pytest.mark.parametrize("case", ["rekor2-checkpoint-two-sigs-from-origin", "rekor2-happy-path"])
def test_more_rekor_v2_cases(vectors: Path, case: str) -> None:
    """An extra ECDSA signature for the log's own origin, by an unknown key, is ignored (C2SP signed-note)."""
    folder = vectors / "sigstore/sigstore-conformance" / case
    result = verify_release_files(folder / "bundle.sigstore.json", repository=BEACON,
                                  trusted_root_path=folder / "trusted_root.json", artifact_path=vectors / A_TXT)
    assert result.verified, result.verdict()


def test_release_verify_needs_a_digest_or_an_artifact(vectors: Path, tmp_path: Path) -> None:
    """Finding 10 of the second hostile-input round: ``release verify BUNDLE --repository R`` said
    verified with nothing binding the result to an artifact. It is a usage error (exit 2, one line)
    without ``--digest`` or ``--artifact``; with either it verifies."""
    from tests.cli.conftest import Cli, contract

    bundle, root, repo, artifact, digest, _ = PAIRS[0]
    assert artifact is not None
    common = ["release", "verify", str(vectors / bundle), "--trusted-root", str(vectors / root),
              "--repository", repo, "--offline", "--json"]
    bare, by_digest, by_artifact = Cli(tmp_path).many(
        [common, [*common, "--digest", f"sha256:{digest}"], [*common, "--artifact", str(vectors / artifact)]])
    contract(bare, 2)
    assert "--digest" in bare.stderr and "--artifact" in bare.stderr, str(bare)
    assert contract(by_digest, 0, json_out=True).json()["verified"] is True
    assert contract(by_artifact, 0, json_out=True).json()["verified"] is True
    with pytest.raises(InputError, match="--digest"):
        verify_release_files(vectors / bundle, repository=repo, trusted_root_path=vectors / root,
                             require_subject=True)
