"""End to end against the reference deployment: the enclave, its transparency log and its witness
on loopback (issue 6). Verify passes with the release checks listed in the result; each release
attack mode is refused by its own check, and nothing reaches the OHTTP gateway; a log swapped for a
fork after the client accepted it is refused as a possible split view. Then the command line:
`serve`, `log serve`, `log witness`, `release publish` and `release verify`.
"""

from __future__ import annotations

import base64
import json
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from enclave.app import Settings
from enclave.release import FORK_ENTRY, OLD_RELEASE_VERSION
from enclave.server import BackgroundEnclave
from enclave.transparency.keys import demo_log_signer, demo_witness_signer
from enclave_chat.paths import policies_dir
from tests.environment import isolated_env
from verifier.appraisal.policy import Policy, parse_policy
from verifier.appraisal.release import appraise_release
from verifier.errors import NotVerified
from verifier.reference.checkpoint import read_checkpoint
from verifier.reference.merkle import leaf_hash
from verifier.result import AttestationResult, Status
from verifier.session import Session

pytestmark = pytest.mark.e2e

PROMPT = [{"role": "user", "content": "my secret prompt"}]
RELEASE_CHECKS = ("release.envelope", "release.signature", "release.measurement", "release.version",
                  "release.log.checkpoint", "release.log.witness", "release.log.inclusion",
                  "release.log.fresh_checkpoint", "release.log.consistency")


async def attest(url: str, policy: Policy, state: Path | None) -> AttestationResult:
    async with Session(url, policy, state_dir=state) as session:
        return await session.attest()


def failing(result: AttestationResult) -> list[str]:
    return [c.id for c in result.checks if c.status is Status.FAIL]


def bundle_release(url: str) -> dict[str, Any]:
    """The ``release`` object of the bundle the enclave serves (read directly, not verified)."""
    answer = httpx.get(url + "/.well-known/attestation", params={"nonce": "00" * 32})
    answer.raise_for_status()
    release = answer.json()["release"]
    assert isinstance(release, dict)
    return release


def log_size(directory: Path) -> int:
    return read_checkpoint((directory / "log" / "checkpoint").read_bytes())[0].size


@pytest.fixture(scope="module")
def no_witness_policy() -> Policy:
    """The demo policy without a required witness: only the client's memory can catch a fork."""
    text = (policies_dir() / "demo.toml").read_text()
    assert "min_witnesses = 1\n" in text
    text = text.replace('name = "demo"', 'name = "demo-no-witness"').replace("min_witnesses = 1\n", "min_witnesses = 0\n")
    return parse_policy(text.encode(), "demo-no-witness.toml")


# -- the reference deployment, verified -----------------------------------------------------------


async def test_verify_passes_with_the_release_checks_listed(demo_policy: Policy, tmp_path: Path) -> None:
    with BackgroundEnclave(Settings(token_delay=0, transparency_dir=tmp_path / "deployment")) as server:
        assert server.log is not None
        log_url = server.log.log_url
        release = bundle_release(server.url)
        result = await attest(server.url, demo_policy, tmp_path / "state")
        again = await attest(server.url, demo_policy, tmp_path / "state")
    assert result.verified, result.verdict()
    ids = [c.id for c in result.checks]
    assert [i for i in ids if i.startswith("release.")] == list(RELEASE_CHECKS)
    for cid in RELEASE_CHECKS:
        check = result.check(cid)
        assert check is not None and check.status is Status.PASS, check
    # The bundle's release object: the statement, and where and how it is logged.
    assert set(release) == {"envelope", "log"}
    log = release["log"]
    assert set(log) == {"origin", "index", "inclusion_proof", "checkpoint", "url"}
    assert log["origin"] == "demo.enclave-chat.localhost/log" and log["index"] == 0
    assert log["url"] == log_url and log_url.startswith("http://127.0.0.1:")
    assert "demo.enclave-chat.localhost/witness" in log["checkpoint"]  # cosigned
    fresh = result.check("release.log.fresh_checkpoint")
    assert fresh is not None and log["url"] in fresh.detail  # fetched from the log, not the enclave
    consistency = again.check("release.log.consistency")
    assert again.verified and consistency is not None
    assert "extends the checkpoint accepted earlier (size 1)" in consistency.detail
    # The leaf is the RFC 9162 leaf hash of the exact envelope bytes, stored in the log directory.
    tile = (tmp_path / "deployment" / "log" / "tile" / "0" / "000.p" / "1").read_bytes()
    assert tile == leaf_hash(base64.b64decode(release["envelope"]))


@pytest.mark.parametrize(("attack", "check_id"), [
    ("flip-measurement", "release.measurement"),     # a measurement in no published statement
    ("foreign-publisher", "release.signature"),      # a statement signed by another publisher key
    ("wrong-leaf-proof", "release.log.inclusion"),   # an inclusion proof for another leaf
    ("unknown-log-key", "release.log.checkpoint"),   # a checkpoint signed by an unknown key
    ("old-release", "release.version"),              # a release below the minimum version
    ("fork-log", "release.log.witness"),             # a fork on first contact, witness required
])
async def test_release_attack_is_refused_and_nothing_is_sent(attack: str, check_id: str, demo_policy: Policy,
                                                             tmp_path: Path) -> None:
    with BackgroundEnclave(Settings(token_delay=0, attack=attack)) as server:
        async with Session(server.url, demo_policy, state_dir=tmp_path / "state") as session:
            result = await session.attest()
            assert not result.verified
            assert failing(result) == [check_id], result.verdict()
            assert result.first_failure is not None and result.first_failure.id == check_id
            with pytest.raises(NotVerified) as refused:
                async for _ in session.stream_chat(PROMPT):
                    pass
            assert refused.value.result.first_failure.id == check_id  # type: ignore[attr-defined]
        assert server.enclave.gateway_posts == 0
    if attack == "fork-log":
        assert "split view" in result.first_failure.detail
    if attack == "old-release":
        assert OLD_RELEASE_VERSION in result.first_failure.detail
    # A log that failed a check is never remembered as accepted.
    if check_id.startswith("release.log."):
        assert not list((tmp_path / "state").rglob("*.checkpoint"))


async def test_a_log_forked_after_the_client_accepted_it_is_a_split_view(
        no_witness_policy: Policy, tmp_path: Path) -> None:
    deployment, state = tmp_path / "deployment", tmp_path / "state"
    with BackgroundEnclave(Settings(token_delay=0, transparency_dir=deployment)) as honest:
        accepted = await attest(honest.url, no_witness_policy, state)
    assert accepted.verified, accepted.verdict()
    # The same enclave again, but its log now shows this client another history (same key, same origin).
    with BackgroundEnclave(Settings(token_delay=0, attack="fork-log", transparency_dir=deployment)) as server:
        assert server.log is not None and bundle_release(server.url)["log"]["url"] != server.log.log_url
        async with Session(server.url, no_witness_policy, state_dir=state) as session:
            result = await session.attest()
            with pytest.raises(NotVerified):
                async for _ in session.stream_chat(PROMPT):
                    pass
        first_contact = await attest(server.url, no_witness_policy, tmp_path / "new-client")
        assert server.enclave.gateway_posts == 0
    assert failing(result) == ["release.log.consistency"], result.verdict()
    check = result.check("release.log.consistency")
    assert check is not None and "possible split view" in check.detail.lower()
    # Without the memory of the honest checkpoint (and without a witness) the fork looks fine:
    # it is what the client remembered that caught it.
    assert first_contact.verified, first_contact.verdict()


async def test_restarts_reuse_the_published_statement(demo_policy: Policy, tmp_path: Path) -> None:
    deployment, state = tmp_path / "deployment", tmp_path / "state"
    for _ in range(2):
        with BackgroundEnclave(Settings(token_delay=0, transparency_dir=deployment)) as server:
            result = await attest(server.url, demo_policy, state)
        assert result.verified, result.verdict()
        assert log_size(deployment) == 1
    # Another configuration is another measurement, so another statement: the log grows, and the
    # client that remembers size 1 checks that size 2 extends it.
    with BackgroundEnclave(Settings(token_delay=0, transparency_dir=deployment,
                                    upstream="http://127.0.0.1:9/v1")) as server:
        grown = await attest(server.url, demo_policy, state)
    assert log_size(deployment) == 2
    consistency = grown.check("release.log.consistency")
    assert grown.verified and consistency is not None
    assert "size 2 extends the checkpoint accepted earlier (size 1)" in consistency.detail


async def test_without_the_log_the_demo_policy_refuses(demo_policy: Policy) -> None:
    with BackgroundEnclave(Settings(token_delay=0, transparency=False)) as server:
        assert server.log is None
        assert set(bundle_release(server.url)) == {"envelope"}
        result = await attest(server.url, demo_policy, None)
        assert server.enclave.gateway_posts == 0
    assert failing(result) == ["release.log.checkpoint"], result.verdict()
    with pytest.raises(ValueError, match="needs the transparency log"):
        BackgroundEnclave(Settings(attack="fork-log", transparency=False))


def test_stop_stops_the_log_and_the_witness() -> None:
    server = BackgroundEnclave(Settings(token_delay=0, attack="fork-log")).start()
    assert server.log is not None
    urls = [server.log.log_url, server.log.witness_url, bundle_release(server.url)["log"]["url"]]
    ports = {int(u.rsplit(":", 1)[1].strip("/")) for u in urls}
    assert len(ports) == 3
    assert all(httpx.get(u + "checkpoint").status_code in (200, 404, 405) for u in urls)
    directory = server.log.directory
    server.stop()
    alive = {t.name for t in threading.enumerate()}
    assert not {f"uvicorn-{p}" for p in ports} & alive
    for url in urls:
        with pytest.raises(httpx.ConnectError):
            httpx.get(url + "checkpoint")
    assert not directory.exists()  # the temporary state went with it


# -- the command line ------------------------------------------------------------------------------


class Running:
    """An ``enclave-chat`` server in a subprocess; its output is read line by line in a thread."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "enclave_chat", *args], env=env, text=True,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        """The first output line matching ``pattern`` (bounded wait; fails if the process ends)."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            if line is None:
                raise AssertionError("the process ended:\n" + "".join(self.seen))
            self.seen.append(line)
            if m := re.search(pattern, line):
                return m

    def stop(self) -> int:
        self.proc.terminate()
        return self.proc.wait(timeout=15)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return isolated_env(tmp_path)


@pytest.fixture
def running(env: dict[str, str]) -> Iterator[list[Running]]:
    started: list[Running] = []
    yield started
    for r in started:
        if r.proc.poll() is None:
            r.stop()


def enclave_chat(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``enclave-chat ARGS`` in this process (faster than a subprocess): exit code, stdout, stderr."""
    from enclave_chat.cli import main

    try:
        code = main(list(args))
    except SystemExit as e:
        code = int(e.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


async def test_serve_starts_the_log_beside_the_enclave(env: dict[str, str], running: list[Running],
                                                      demo_policy: Policy, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    serve = Running(env, "serve", "--port", "0", "--token-delay", "0")
    running.append(serve)
    url = serve.wait_for(r"reference enclave on (http://127\.0\.0\.1:\d+)").group(1)
    log_url = serve.wait_for(r"transparency log on (http://127\.0\.0\.1:\d+/)").group(1)
    result = await attest(url, demo_policy, tmp_path / "client")
    assert result.verified, result.verdict()
    assert bundle_release(url)["log"]["url"] == log_url
    # The log keeps its state under the user's data directory, so a restart finds it.
    assert log_size(tmp_path / "data" / "demo-transparency") == 1
    assert serve.stop() in (0, -15)
    with pytest.raises(httpx.ConnectError):
        httpx.get(log_url + "checkpoint")
    code, _, err = enclave_chat(capsys, "serve", "--no-log", "--attack", "fork-log", "--port", "0")
    assert code == 2 and "needs the transparency log" in err


def test_log_witness_and_release_publish(env: dict[str, str], running: list[Running], demo_policy: Policy,
                                         tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    witness = Running(env, "log", "witness", "--demo-keys", "--port", "0", "--dir", str(tmp_path / "w"))
    running.append(witness)
    witness_url = witness.wait_for(r"witness \S+ on (http://127\.0\.0\.1:\d+/)").group(1)
    witness_key = witness.wait_for(r"witness key: (\S+)").group(1)
    assert witness_key == demo_witness_signer().verifier.vkey()
    log = Running(env, "log", "serve", "--demo-keys", "--port", "0", "--dir", str(tmp_path / "log"),
                  "--witness", witness_url, witness_key)
    running.append(log)
    log_url = log.wait_for(r"log \S+ on (http://127\.0\.0\.1:\d+/)").group(1)
    assert log.wait_for(r"log key: (\S+)").group(1) == demo_log_signer().verifier.vkey()

    measurement = bytes(range(48))
    publish = ("release", "publish", "--demo-keys", "--dir", str(tmp_path / "log"), "--witness", witness_url,
               witness_key, "--image", "sha256:" + "ab" * 32, "--version", "0.2.0",
               "--measurement", measurement.hex(), "--log-url", log_url)
    code, out, err = enclave_chat(capsys, *publish)
    assert code == 0, err
    release = json.loads(out)
    assert release["log"]["index"] == 0 and release["log"]["url"] == log_url
    assert "warning" not in err  # the witness cosigned
    # The served log verifies under the demo policy: signature, witness, inclusion, fresh checkpoint.
    with httpx.Client() as http:
        checks = appraise_release(release, platform="sev-snp", measurement=measurement, policy=demo_policy,
                                  log_http=http, state_dir=tmp_path / "client").checks
    assert [c.id for c in checks if c.status is not Status.PASS] == []
    code, out, err = enclave_chat(capsys, *publish)
    assert code == 0 and json.loads(out)["log"]["index"] == 0
    assert "already there" in err
    assert read_checkpoint(httpx.get(log_url + "checkpoint").content)[0].size == 1

    code, _, err = enclave_chat(capsys, "release", "publish", "--demo-keys", "--dir", str(tmp_path / "log"),
                                "--image", "sha256:12", "--version", "1", "--measurement", "00")
    assert code == 2 and "not a release statement" in err
    code, _, err = enclave_chat(capsys, "release", "publish", "--demo-keys", "--dir", str(tmp_path / "nolog"),
                                "--image", "sha256:" + "ab" * 32, "--version", "1", "--measurement", measurement.hex())
    assert code == 2 and "is not a log's directory" in err
    code, _, err = enclave_chat(capsys, "release", "publish", "--dir", str(tmp_path / "log"),
                                "--image", "sha256:" + "ab" * 32, "--version", "1", "--measurement", measurement.hex())
    assert code == 2 and "--key FILE" in err


def test_log_serve_with_its_own_key(env: dict[str, str], running: list[Running], tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = enclave_chat(capsys, "log", "serve", "--port", "0", "--dir", str(tmp_path / "own"))
    assert code == 2 and "--origin" in err
    log = Running(env, "log", "serve", "--port", "0", "--dir", str(tmp_path / "own"), "--origin", "log.example.test/r")
    running.append(log)
    log_url = log.wait_for(r"on (http://127\.0\.0\.1:\d+/)").group(1)
    vkey = log.wait_for(r"log key: (\S+)").group(1)
    assert vkey.startswith("log.example.test/r+") and vkey != demo_log_signer().verifier.vkey()
    key_file = tmp_path / "own" / "log.skey"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert httpx.get(log_url + "log.skey").status_code == 404  # never served
    assert read_checkpoint(httpx.get(log_url + "checkpoint").content)[0].origin == "log.example.test/r"


def test_release_verify_a_sigstore_bundle(vectors: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = vectors / "sigstore/cli-cli/reusable-workflow-attestation.sigstore.json"
    root = vectors / "sigstore/cli-cli/trusted_root.json"
    digest = "sha256:49a3aa6075e0f49f82843e74b5baa614ad2a588e6675612bf108a0a008c5ac25"
    common = ["release", "verify", str(bundle), "--trusted-root", str(root), "--digest", digest, "--offline", "--json"]
    code, out, err = enclave_chat(capsys, *common, "--repository", "malancas/attest-demo",
                                  "--workflow-ref", r"refs/(heads/main|tags/v[0-9.]+)")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["kind"] == "sigstore-release" and doc["verified"] is True
    assert err.startswith("verified")
    code, out, _ = enclave_chat(capsys, *common, "--repository", "someone/else")
    assert code == 1
    assert [c["id"] for c in json.loads(out)["checks"] if c["status"] == "fail"] == ["sigstore.identity.repository"]
    code, _, err = enclave_chat(capsys, "release", "verify", str(bundle.with_name("absent.json")), "--repository", "a/b")
    assert code == 2 and "absent.json" in err
    code, _, err = enclave_chat(capsys, "release", "verify", str(bundle))
    assert code == 2 and "--repository" in err


def test_the_fork_shares_the_log_up_to_its_last_leaf(tmp_path: Path) -> None:
    """The fork-log attack really is a second history of the same log (what the tests above rely on)."""
    with BackgroundEnclave(Settings(token_delay=0, attack="fork-log", transparency_dir=tmp_path)) as server:
        assert server.log is not None
        honest = server.log.services.log
        forked_url = bundle_release(server.url)["log"]["url"]
        fork_checkpoint = read_checkpoint(httpx.get(forked_url + "checkpoint").content)[0]
        assert fork_checkpoint.origin == honest.origin
        assert FORK_ENTRY not in honest.entries()
        fork_entries = httpx.get(forked_url + "tile/entries/000.p/" + str(fork_checkpoint.size)).content
        assert FORK_ENTRY in fork_entries
