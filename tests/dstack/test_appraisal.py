"""The dstack appraisal on forged evidence (a TD quote signed under test roots, tests/tdx/forge.py,
whose RTMRs and MRCONFIGID are those of a made-up event log and app compose): each check's causes."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest

from tests.dstack.sets import FIXTURE_AT
from tests.tdx.forge import FakeIntel, make_pki, make_quote, td_body
from verifier.appraisal.dstack import DstackAppraisal, appraise_dstack
from verifier.appraisal.dstack import checks as ids
from verifier.appraisal.policy import Policy, parse_policy
from verifier.evidence.dstack import DstackEvidence
from verifier.evidence.dstack_eventlog import RUNTIME_EVENT_TYPE, Event, parse_event_log
from verifier.result import Status

MRCONFIGID_OFFSET = 16 + 48 + 48 + 8 + 8 + 8 + 48
COMPOSE = json.dumps({"manifest_version": 2, "name": "t", "runner": "docker-compose",
                      "docker_compose_file": "services:\n  a:\n    image: alpine@sha256:" + "ab" * 32 + "\n",
                      "allowed_envs": [], "kms_enabled": True}).encode()
COMPOSE_HASH = hashlib.sha256(COMPOSE).digest()


@pytest.fixture(scope="module")
def pki() -> FakeIntel:
    return make_pki()


@pytest.fixture(scope="module")
def pol(pki: FakeIntel) -> Policy:
    return parse_policy(f'name = "t"\n[tdx]\nroots = {{ spki_sha256 = ["{pki.pin}"] }}\ncollateral = "if-available"\n'
                        .encode())


def runtime(name: str, payload: bytes, version: int = 1, imr: int = 3) -> dict[str, object]:
    e = Event(0, imr, RUNTIME_EVENT_TYPE, b"", name, payload, version)
    out: dict[str, object] = {"imr": imr, "event_type": RUNTIME_EVENT_TYPE, "digest": e.recomputed_digest().hex(),
                              "event": name, "event_payload": payload.hex()}
    if version == 2:
        out |= {"version": 2, "preimage": e.runtime_preimage().hex()}
    return out


def events(compose_hash: bytes = COMPOSE_HASH, *, ready: bool = True) -> list[dict[str, object]]:
    out = [{"imr": i, "event_type": 4, "digest": f"{i + 1:02x}" * 48, "event": "", "event_payload": ""}
           for i in range(3)]
    out += [runtime("app-id", b"\x0a" * 20), runtime("compose-hash", compose_hash, version=2),
            runtime("key-provider", b'{"name":"kms","id":"00"}')]
    if ready:
        out.append(runtime("system-ready", b""))
    return out


def evidence(pki: FakeIntel, log: list[dict[str, object]], *, mrconfigid: bytes | None = None,
             compose: object = COMPOSE.decode()) -> DstackEvidence:
    rtmrs = parse_event_log(log).replay()
    body = bytearray(td_body(rtmrs=rtmrs))
    mc = mrconfigid if mrconfigid is not None else b"\x01" + COMPOSE_HASH + bytes(15)
    body[MRCONFIGID_OFFSET:MRCONFIGID_OFFSET + 48] = mc
    return DstackEvidence("getquote", make_quote(pki, bytes(body)).hex(), json.dumps(log), compose, None)


def run(ev: DstackEvidence, pol: Policy) -> DstackAppraisal:
    return appraise_dstack(ev, policy=pol, at=FIXTURE_AT, expected_report_data=bytes(64))


def reason(a: DstackAppraisal, cid: str) -> tuple[Status, str | None]:
    c = a.check(cid)
    assert c is not None, cid
    return c.status, c.reason


def test_forged_evidence_verifies_end_to_end(pki: FakeIntel, pol: Policy) -> None:
    a = run(evidence(pki, events()), pol)
    assert a.verified, [c for c in a.checks if c.status is not Status.PASS and c.required]
    emitted = [c.id for c in a.checks if c.id.startswith("dstack.")]
    assert tuple(emitted) == ids.CATALOGUE
    assert a.claims["app_compose"]["images"][0]["pinned"]  # type: ignore[index]


def test_a_quote_that_is_not_hex_gives_dstack_parse_alone(pki: FakeIntel, pol: Policy) -> None:
    a = run(dataclasses.replace(evidence(pki, events()), quote="zz"), pol)
    assert [c.id for c in a.checks] == [ids.PARSE] and not a.authentic


def test_a_log_that_does_not_parse_leaves_the_replay_unchecked(pki: FakeIntel, pol: Policy) -> None:
    a = run(dataclasses.replace(evidence(pki, events()), event_log="[1]"), pol)
    assert reason(a, ids.EVENT_LOG) == (Status.FAIL, "format")
    assert all(reason(a, cid) == (Status.SKIP, None) for cid in ids.RTMRS) and not a.verified


def test_a_runtime_event_outside_rtmr3_is_refused(pki: FakeIntel, pol: Policy) -> None:
    log = [*events(), runtime("sneaky", b"", imr=2)]
    assert reason(run(evidence(pki, log), pol), ids.EVENT_LOG) == (Status.FAIL, "runtime_imr")


def test_without_system_ready_the_os_events_cannot_be_told_apart(pki: FakeIntel, pol: Policy) -> None:
    assert reason(run(evidence(pki, events(ready=False)), pol), ids.EVENT_LOG) == (Status.FAIL, "no_system_ready")


def test_a_v2_preimage_must_be_the_canonical_one(pki: FakeIntel, pol: Policy) -> None:
    log = events()
    log[4]["preimage"] = b'{"type":134217729,"name":"compose-hash","payload":"00"}'.hex()
    assert reason(run(evidence(pki, log), pol), ids.EVENT_PAYLOAD) == (Status.FAIL, "preimage")


@pytest.mark.parametrize(("mrconfigid", "why"), [
    (b"\x02" + bytes(47), "version"),
    (b"\x01" + COMPOSE_HASH + b"\x01" + bytes(14), "format"),
    (b"\x01" + bytes(32) + bytes(15), "compose_hash"),
    (bytes(48), "unset"),
])
def test_mrconfigid_forms(pki: FakeIntel, pol: Policy, mrconfigid: bytes, why: str) -> None:
    assert reason(run(evidence(pki, events(), mrconfigid=mrconfigid), pol), ids.MRCONFIGID) == (Status.FAIL, why)


def test_the_compose_must_be_the_bound_one(pki: FakeIntel, pol: Policy) -> None:
    other = COMPOSE.decode().replace('"t"', '"u"')
    a = run(evidence(pki, events(), compose=other), pol)
    assert reason(a, ids.COMPOSE) == (Status.FAIL, "event")
    assert reason(a, ids.COMPOSE_CONTENT) == (Status.SKIP, None) and "app_compose" not in a.claims
    # MRCONFIGID unset and allowed: the event alone binds; MRCONFIGID binding a different hash is named.
    relaxed = parse_policy(f'name = "t"\n[dstack]\nallow_unset_mrconfigid = true\n[tdx]\n'
                           f'roots = {{ spki_sha256 = ["{pki.pin}"] }}\ncollateral = "if-available"\n'.encode())
    assert reason(run(evidence(pki, events(), mrconfigid=bytes(48)), relaxed), ids.COMPOSE) == (Status.PASS, None)
    assert reason(run(dataclasses.replace(evidence(pki, events()), app_compose=7), pol), ids.COMPOSE) == \
        (Status.FAIL, "format")


def test_a_bound_compose_that_is_not_an_app_compose(pki: FakeIntel, pol: Policy) -> None:
    junk = b"not json"
    log = events(hashlib.sha256(junk).digest())
    ev = evidence(pki, log, mrconfigid=b"\x01" + hashlib.sha256(junk).digest() + bytes(15), compose=junk.decode())
    a = run(ev, pol)
    assert reason(a, ids.COMPOSE) == (Status.PASS, None)
    assert reason(a, ids.COMPOSE_CONTENT) == (Status.FAIL, None)
