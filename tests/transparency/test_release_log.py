"""appraise_release's log checks without a network: the log is served through httpx.MockTransport."""

from __future__ import annotations

import base64
import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from enclave.transparency.log import TransparencyLog
from enclave.transparency.publish import publish_release
from tests.transparency.helpers import MEASUREMENT, log_signer, policy, statement
from verifier.appraisal.policy import parse_policy
from verifier.appraisal.release import appraise_release
from verifier.errors import PolicyError
from verifier.reference.checkpoint_store import CheckpointStore
from verifier.reference.tiles import TileMissing
from verifier.result import Check, Status

LOG_IDS = ["release.log.checkpoint", "release.log.witness", "release.log.inclusion",
           "release.log.fresh_checkpoint", "release.log.consistency"]


def serve(log: TransparencyLog) -> httpx.Client:
    """An httpx client whose every GET is answered from ``log``'s directory."""
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path.lstrip("/")
        if path != "checkpoint" and not path.startswith("tile/"):
            return httpx.Response(404)
        try:
            return httpx.Response(200, content=log.read(path))
        except TileMissing:
            return httpx.Response(404)
    return httpx.Client(transport=httpx.MockTransport(handler))


def statuses(checks: tuple[Check, ...]) -> dict[str, Status]:
    return {c.id: c.status for c in checks}


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Any]:
    signer, publisher = log_signer(), Ed25519PrivateKey.generate()
    log = TransparencyLog(tmp_path / "log", signer)
    release = publish_release(statement(), publisher_key=publisher, log=log)
    return {"signer": signer, "publisher": publisher, "log": log, "release": release, "state": tmp_path / "state"}


def appraise(world: dict[str, Any], release: Any = None, **kw: Any) -> tuple[Check, ...]:
    pol = kw.pop("policy", None) or policy(world["publisher"], world["signer"], url="https://log.example/")
    return appraise_release(world["release"] if release is None else release, platform="sev-snp",
                            measurement=MEASUREMENT, policy=pol, **kw).checks


def test_all_log_checks_pass_in_order(world: dict[str, Any]) -> None:
    with serve(world["log"]) as http:
        checks = appraise(world, log_http=http, state_dir=world["state"])
    ids = [c.id for c in checks]
    assert ids[-5:] == LOG_IDS and ids[0] == "release.envelope"
    s = statuses(checks)
    assert all(s[i] is Status.PASS for i in LOG_IDS if i != "release.log.witness")
    assert s["release.log.witness"] is Status.SKIP  # the policy names no witness
    assert CheckpointStore(world["state"]).load(world["log"].origin) == world["log"].checkpoint_bytes()


def test_offline_replay_checks_what_the_bundle_carries(world: dict[str, Any]) -> None:
    pol = policy(world["publisher"], world["signer"], url="https://log.example/", fresh="if-available")
    checks = appraise(world, policy=pol)
    s = statuses(checks)
    assert s["release.log.inclusion"] is Status.PASS and s["release.log.checkpoint"] is Status.PASS
    fresh = next(c for c in checks if c.id == "release.log.fresh_checkpoint")
    assert fresh.status is Status.SKIP and not fresh.required
    # With fresh_checkpoint = "required" the same replay is not verified: a required skip.
    fresh = next(c for c in appraise(world) if c.id == "release.log.fresh_checkpoint")
    assert fresh.status is Status.SKIP and fresh.required


def test_missing_log_proof(world: dict[str, Any]) -> None:
    bare = {"envelope": world["release"]["envelope"]}
    s = statuses(appraise(world, bare))
    assert s["release.log.checkpoint"] is Status.FAIL
    relaxed = policy(world["publisher"], world["signer"], required=False)
    checks = appraise(world, bare, policy=relaxed)
    assert all(c.status is Status.SKIP and not c.required for c in checks if c.id.startswith("release.log."))
    no_log = policy(world["publisher"], None)
    [only] = [c for c in appraise(world, bare, policy=no_log) if c.id.startswith("release.log.")]
    assert only.status is Status.SKIP and not only.required


@pytest.mark.parametrize("mutate", [
    lambda r: r["log"].update(index=-1),
    lambda r: r["log"].update(inclusion_proof="AAAA"),
    lambda r: r["log"].update(inclusion_proof=["not base64!"]),
    lambda r: r["log"].update(checkpoint=7),
    lambda r: r["log"].update(checkpoint="not a note"),
    lambda r: r.update(log=[1, 2]),
])
def test_malformed_log_proof_fails_cleanly(world: dict[str, Any], mutate: Any) -> None:
    release = {"envelope": world["release"]["envelope"], "log": dict(world["release"]["log"])}
    mutate(release)
    checks = appraise(world, release)
    first = next(c for c in checks if c.id == "release.log.checkpoint")
    assert first.status is Status.FAIL


def test_inclusion_proof_for_another_index_is_refused(world: dict[str, Any]) -> None:
    publish_release(statement("1.3.0"), publisher_key=world["publisher"], log=world["log"])
    release = {"envelope": world["release"]["envelope"], "log": dict(world["release"]["log"])}
    release["log"]["index"] = 1  # the proof is for leaf 0
    assert statuses(appraise(world, release))["release.log.inclusion"] is Status.FAIL


def test_log_url_rules(world: dict[str, Any]) -> None:
    def fresh(pol: Any, url: str | None) -> Check:
        with serve(world["log"]) as http:
            checks = appraise(world, policy=pol, log_http=http, bundle_log_url=url)
        return next(c for c in checks if c.id == "release.log.fresh_checkpoint")

    not_demo = policy(world["publisher"], world["signer"], url_from_bundle=True)
    assert "Only a demo policy" in fresh(not_demo, "http://127.0.0.1:9/").detail
    demo = policy(world["publisher"], world["signer"], url_from_bundle=True, demo=True)
    assert "not on loopback" in fresh(demo, "http://log.example/").detail
    assert fresh(demo, "http://127.0.0.1:9/").status is Status.PASS
    assert fresh(demo, "http://[::1]:9/").status is Status.PASS
    assert fresh(demo, None).status is Status.FAIL
    no_url = policy(world["publisher"], world["signer"])
    assert fresh(no_url, "http://127.0.0.1:9/").status is Status.FAIL
    # A URL carried in the bundle itself (release.log.url) counts as the service's word too.
    release = {"envelope": world["release"]["envelope"], "log": {**world["release"]["log"], "url": "http://localhost:9/"}}
    with serve(world["log"]) as http:
        checks = appraise(world, release, policy=demo, log_http=http)
    assert statuses(checks)["release.log.fresh_checkpoint"] is Status.PASS


def test_unreachable_log(world: dict[str, Any]) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with httpx.Client(transport=httpx.MockTransport(refuse)) as http:
        check = next(c for c in appraise(world, log_http=http) if c.id == "release.log.fresh_checkpoint")
        assert check.status is Status.FAIL and "could not reach" in check.detail
        lenient = policy(world["publisher"], world["signer"], url="https://log.example/", fresh="if-available")
        check = next(c for c in appraise(world, policy=lenient, log_http=http) if c.id == "release.log.fresh_checkpoint")
        assert check.status is Status.SKIP and not check.required


def test_stored_checkpoint_state(world: dict[str, Any], tmp_path: Path) -> None:
    log, state = world["log"], world["state"]
    with serve(log) as http:
        assert statuses(appraise(world, log_http=http, state_dir=state))["release.log.consistency"] is Status.PASS
        # The log grows; an offline run cannot prove consistency: a required skip, and nothing stored.
        publish_release(statement("1.3.0"), publisher_key=world["publisher"], log=log)
        later = publish_release(statement("1.4.0"), publisher_key=world["publisher"], log=log)
        check = next(c for c in appraise(world, later, state_dir=state) if c.id == "release.log.consistency")
        assert check.status is Status.SKIP and check.required
        assert statuses(appraise(world, later, log_http=http, state_dir=state))["release.log.consistency"] is Status.PASS
    # A tampered state file is reported, not silently replaced.
    store = CheckpointStore(state)
    store.save(log.origin, store.load(log.origin).replace(b"\n3\n", b"\n4\n"))  # type: ignore[union-attr]
    check = next(c for c in appraise(world, later, state_dir=state) if c.id == "release.log.consistency")
    assert check.status is Status.FAIL and "does not verify" in check.detail


def test_rollback_to_an_older_log_is_refused(world: dict[str, Any], tmp_path: Path) -> None:
    old_copy = tmp_path / "old-log"
    shutil.copytree(world["log"].directory, old_copy)
    publish_release(statement("1.3.0"), publisher_key=world["publisher"], log=world["log"])
    with serve(world["log"]) as http:
        assert statuses(appraise(world, log_http=http, state_dir=world["state"]))["release.log.consistency"] is Status.PASS
    rolled_back = TransparencyLog(old_copy, world["signer"])
    with serve(rolled_back) as http:
        check = next(c for c in appraise(world, log_http=http, state_dir=world["state"]) if c.id == "release.log.consistency")
    assert check.status is Status.FAIL and "rollback" in check.detail


@pytest.mark.parametrize("table, message", [
    ('origin = "o"\nkey = "nope"', "not a note verifier key"),
    ('key = "{key}"', "needs origin"),
    ('origin = "o"\nkey = "{key}"\nmin_witnesses = 1', "min_witnesses"),
    ('origin = "o"\nkey = "{key}"\nsurprise = 1', "unknown keys"),
    ('origin = "o"\nkey = "{key}"\nurl = "ftp://x"', "http"),
    ('origin = "o"\nkey = "{key}"\nfresh_checkpoint = "sometimes"', "fresh_checkpoint"),
])
def test_policy_mistakes_are_policy_errors(world: dict[str, Any], table: str, message: str) -> None:
    text = f'name = "p"\n[release]\npublisher_keys = []\n[release.log]\n{table.format(key=world["signer"].verifier.vkey())}\n'
    with pytest.raises(PolicyError, match=message):
        appraise(world, policy=parse_policy(text.encode()))


def test_cosignature_dated_after_the_verification_time(world: dict[str, Any]) -> None:
    """``at`` bounds cosignature timestamps (C2SP tlog-cosignature lets verifiers refuse the future)."""
    from enclave.transparency.witness import Witness
    from tests.transparency.helpers import witness_signer

    wsigner = witness_signer()
    witness = Witness(wsigner, world["state"] / "w", {world["signer"].name: [world["signer"].verifier]},
                      clock=lambda: dt.datetime(2030, 1, 1, tzinfo=dt.UTC).timestamp())
    cp = world["release"]["log"]["checkpoint"].encode()
    answer = witness.add_checkpoint(b"old 0\n\n" + cp)
    release = {"envelope": world["release"]["envelope"],
               "log": {**world["release"]["log"], "checkpoint": cp.decode() + answer.body.decode()}}
    pol = policy(world["publisher"], world["signer"], witnesses=(wsigner,), min_witnesses=1, fresh="if-available")
    early = next(c for c in appraise(world, release, policy=pol, at=dt.datetime(2029, 1, 1, tzinfo=dt.UTC)) if c.id == "release.log.witness")
    assert early.status is Status.FAIL and "future" in early.detail
    late = next(c for c in appraise(world, release, policy=pol, at=dt.datetime(2030, 1, 2, tzinfo=dt.UTC)) if c.id == "release.log.witness")
    assert late.status is Status.PASS
    assert base64.b64decode(world["release"]["envelope"])  # the envelope travels as standard base64


def test_log_answering_badly_is_named_for_what_it_did(world: dict[str, Any]) -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/checkpoint":
            return httpx.Response(500)
        return httpx.Response(404)

    with httpx.Client(transport=httpx.MockTransport(broken)) as http:
        check = next(c for c in appraise(world, log_http=http) if c.id == "release.log.fresh_checkpoint")
    assert check.status is Status.FAIL and "HTTP 500" in check.detail and "split view" not in check.detail

    def wrong_key(request: httpx.Request) -> httpx.Response:
        from verifier.reference.note import sign_note

        body = world["log"].checkpoint().body()
        return httpx.Response(200, content=sign_note(body, [log_signer(world["log"].origin)]).encode())

    with httpx.Client(transport=httpx.MockTransport(wrong_key)) as http:
        check = next(c for c in appraise(world, log_http=http) if c.id == "release.log.fresh_checkpoint")
    assert check.status is Status.FAIL and "pinned key" in check.detail
