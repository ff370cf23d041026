"""End to end on loopback: our log and witness on uvicorn, the client over real HTTP.

Each test starts the services on free ports of 127.0.0.1 (readiness is waited for with bounded
retries, never a sleep) and checks one thing the issue lists: publish -> inclusion -> checkpoint,
consistency across appends, a fork refused as a split view, an unknown log key, a proof for another
leaf, another publisher, a release below the minimum version, and a fork on first contact caught by
a policy that requires a witness cosignature.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from enclave.transparency.log import TransparencyLog, WitnessEndpoint, fork_log
from enclave.transparency.publish import publish_release
from enclave.transparency.server import RunningServer, log_app, start_server
from enclave.transparency.services import TransparencyServices, start_transparency
from tests.transparency.helpers import MEASUREMENT, log_signer, policy, statement, witness_signer
from verifier.appraisal.policy import Policy, parse_policy
from verifier.appraisal.release import appraise_release
from verifier.reference.note import NoteSigner
from verifier.result import Check, Status

pytestmark = pytest.mark.e2e


@pytest.fixture
def services(tmp_path: Path) -> Iterator[TransparencyServices]:
    svc = start_transparency(tmp_path / "server", log_signer=log_signer(), witness_signer=witness_signer())
    yield svc
    svc.stop()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


@pytest.fixture
def publisher() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def strict(svc: TransparencyServices, publisher: Ed25519PrivateKey, *, url: str | None = None,
           min_witnesses: int = 1, min_version: str = "1.0") -> Policy:
    return policy(publisher, svc.log.signer, url=url or svc.log_url, witnesses=(svc.witness.signer,),
                  min_witnesses=min_witnesses, min_version=min_version)


def run(release: dict[str, Any], pol: Policy, http: httpx.Client, state: Path, **kw: Any) -> dict[str, Check]:
    checks = appraise_release(release, platform="sev-snp", measurement=MEASUREMENT, policy=pol,
                              log_http=http, state_dir=state, **kw).checks
    return {c.id: c for c in checks}


def failing(checks: dict[str, Check]) -> list[str]:
    return [i for i, c in checks.items() if c.status is Status.FAIL]


def serve_fork(svc: TransparencyServices, size: int, entries: list[bytes], directory: Path) -> tuple[TransparencyLog, RunningServer]:
    """The log cut back to ``size`` (same key, same origin), going its own way with ``entries``."""
    fork = fork_log(svc.log, directory, size=size,
                    witnesses=[WitnessEndpoint(svc.witness_url, svc.witness.signer.verifier)])
    for e in entries:
        fork.append(e)
    return fork, start_server(log_app(fork))


def test_publish_then_verify_inclusion_checkpoint_and_witness(services: TransparencyServices, publisher: Ed25519PrivateKey,
                                                              http: httpx.Client, tmp_path: Path) -> None:
    release = services.publish(statement(), publisher)
    assert set(release) == {"envelope", "log"}
    assert set(release["log"]) == {"origin", "index", "inclusion_proof", "checkpoint", "url"}
    assert release["log"]["url"] == services.log_url
    assert services.witness.name in release["log"]["checkpoint"]
    # The log serves the checkpoint and tiles over HTTP, C2SP tlog-tiles style.
    answer = http.get(services.log_url + "checkpoint")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    assert http.get(services.log_url + "tile/0/000.p/1").content == services.log.read("tile/0/000.p/1")
    assert http.get(services.log_url + "tile/0/../../etc/passwd").status_code == 404
    checks = run(release, strict(services, publisher), http, tmp_path / "client")
    assert failing(checks) == []
    for cid in ("release.signature", "release.measurement", "release.version", "release.log.checkpoint",
                "release.log.witness", "release.log.inclusion", "release.log.fresh_checkpoint", "release.log.consistency"):
        assert checks[cid].status is Status.PASS, checks[cid]


def test_consistency_across_appends(services: TransparencyServices, publisher: Ed25519PrivateKey,
                                    http: httpx.Client, tmp_path: Path) -> None:
    pol, state = strict(services, publisher), tmp_path / "client"
    first = services.publish(statement("1.1"), publisher)
    assert failing(run(first, pol, http, state)) == []
    for v in ("1.2", "1.3", "1.4"):
        services.publish(statement(v), publisher)
    # The enclave still shows its old checkpoint; the log has grown: both consistency checks pass.
    checks = run(first, pol, http, state)
    assert failing(checks) == []
    assert "size 4" in checks["release.log.fresh_checkpoint"].detail
    assert "extends the checkpoint accepted earlier (size 1)" in checks["release.log.consistency"].detail
    later = services.publish(statement("1.5"), publisher)
    assert failing(run(later, pol, http, state)) == []


def test_forked_log_is_refused_as_split_view(services: TransparencyServices, publisher: Ed25519PrivateKey,
                                             http: httpx.Client, tmp_path: Path) -> None:
    state = tmp_path / "client"
    services.publish(statement("1.1"), publisher)
    honest = services.publish(statement("1.2"), publisher)
    assert failing(run(honest, strict(services, publisher, min_witnesses=0), http, state)) == []
    # The log now shows this client another history from size 1 on (same key, same origin).
    for n, extra in enumerate(([b"evil"], [b"evil", b"more"])):
        fork, server = serve_fork(services, 1, extra, tmp_path / f"fork{n}")
        try:
            forked = publish_release(statement("1.2"), publisher_key=publisher, log=fork)
            checks = run(forked, strict(services, publisher, url=server.url, min_witnesses=0), http, state)
        finally:
            server.stop()
        assert checks["release.log.fresh_checkpoint"].status is Status.PASS  # the fork is self-consistent
        assert checks["release.log.consistency"].status is Status.FAIL
        assert "split view" in checks["release.log.consistency"].detail
    # The fork was not remembered: the honest log still verifies.
    assert failing(run(honest, strict(services, publisher, min_witnesses=0), http, state)) == []


def test_forked_checkpoint_on_first_contact_needs_a_witness(services: TransparencyServices, publisher: Ed25519PrivateKey,
                                                            http: httpx.Client, tmp_path: Path) -> None:
    services.publish(statement("1.1"), publisher)
    services.publish(statement("1.2"), publisher)
    fork, server = serve_fork(services, 1, [b"evil"], tmp_path / "fork")
    try:
        forked = publish_release(statement("1.3"), publisher_key=publisher, log=fork)
        # The witness refused to cosign the fork, so a policy that requires it refuses on first contact...
        required = run(forked, strict(services, publisher, url=server.url), http, tmp_path / "new-client")
        # ...while a policy without witnesses has nothing to compare with and accepts it.
        lax = run(forked, strict(services, publisher, url=server.url, min_witnesses=0), http, tmp_path / "other-client")
    finally:
        server.stop()
    assert services.witness.name not in forked["log"]["checkpoint"]
    assert failing(required) == ["release.log.witness"]
    assert "split view" in required["release.log.witness"].detail
    assert failing(lax) == []


def test_checkpoint_signed_by_unknown_key_is_refused(services: TransparencyServices, publisher: Ed25519PrivateKey,
                                                     http: httpx.Client, tmp_path: Path) -> None:
    impostor: NoteSigner = log_signer(services.log.origin)  # same name, another key
    rogue = TransparencyLog(tmp_path / "rogue", impostor)
    server = start_server(log_app(rogue))
    try:
        release = publish_release(statement(), publisher_key=publisher, log=rogue)
        checks = run(release, strict(services, publisher, url=server.url), http, tmp_path / "client")
    finally:
        server.stop()
    assert checks["release.log.checkpoint"].status is Status.FAIL
    assert "not one signed by the log key" in checks["release.log.checkpoint"].detail


def test_inclusion_proof_for_another_leaf_is_refused(services: TransparencyServices, publisher: Ed25519PrivateKey,
                                                     http: httpx.Client, tmp_path: Path) -> None:
    a = services.publish(statement("1.1"), publisher)
    b = services.publish(statement("1.2"), publisher)
    swapped = {"envelope": a["envelope"], "log": b["log"]}
    checks = run(swapped, strict(services, publisher), http, tmp_path / "client")
    assert failing(checks) == ["release.log.inclusion"]


def test_statement_signed_by_another_publisher_is_refused(services: TransparencyServices, publisher: Ed25519PrivateKey,
                                                          http: httpx.Client, tmp_path: Path) -> None:
    release = services.publish(statement(), Ed25519PrivateKey.generate())  # logged, but not by the trusted key
    checks = run(release, strict(services, publisher), http, tmp_path / "client")
    assert checks["release.signature"].status is Status.FAIL


def test_release_below_minimum_version_is_refused(services: TransparencyServices, publisher: Ed25519PrivateKey,
                                                  http: httpx.Client, tmp_path: Path) -> None:
    release = services.publish(statement("1.9.9"), publisher)
    checks = run(release, strict(services, publisher, min_version="2.0"), http, tmp_path / "client")
    assert failing(checks) == ["release.version"]


def test_demo_policy_takes_the_loopback_log_url_from_the_bundle(services: TransparencyServices, http: httpx.Client,
                                                                tmp_path: Path, publisher: Ed25519PrivateKey) -> None:
    release = services.publish(statement(), publisher)
    table = services.policy_log_table(url=False)
    from verifier.reference.dsse import format_ed25519_public

    text = (f'name = "demo-like"\n[service]\ndemo_roots = true\n[release]\n'
            f'publisher_keys = ["{format_ed25519_public(publisher.public_key())}"]\n{table}')
    pol = parse_policy(text.encode())
    assert pol.demo
    checks = run(release, pol, http, tmp_path / "client", bundle_log_url=services.log_url)
    assert failing(checks) == [] and checks["release.log.fresh_checkpoint"].status is Status.PASS
