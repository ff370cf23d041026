"""The real dstack sets (docs/dstack.md, "What the real sets give"): each event log replays to its
quote's RTMR0-3 with every runtime payload recomputed, the app compose hashes to the compose hash
MRCONFIGID binds, and the TD quote is what Intel's recorded collateral says at capture time."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest

from tests.dstack import sets
from tests.dstack.sets import FIXTURE_AT, RECORDINGS, Recording
from verifier.appraisal.dstack import appraise_dstack
from verifier.appraisal.dstack import checks as ids
from verifier.evidence.dstack import find_evidence
from verifier.evidence.dstack_eventlog import parse_event_log
from verifier.evidence.tdx import parse_quote
from verifier.result import Status

pytestmark = pytest.mark.vectors

FIXTURES = ("quote-report.json", "tdx-lite-getquote.json")
DSTACK_CHECKS = (ids.EVENT_LOG, *ids.RTMRS, ids.EVENT_PAYLOAD)


def status(a: object, cid: str) -> Status | None:
    check = a.check(cid)  # type: ignore[attr-defined]
    return check.status if check is not None else None


@pytest.mark.parametrize("name", FIXTURES)
def test_dstack_fixtures_replay_and_their_quotes_are_authentic(name: str) -> None:
    doc = sets.fixture_doc(name)
    evidence = find_evidence(doc)
    assert evidence is not None and evidence.form == "getquote"
    body = parse_quote(bytes.fromhex(str(doc["quote"]))).body
    log = parse_event_log(doc["event_log"])
    assert log.replay() == (body.rtmr0, body.rtmr1, body.rtmr2, body.rtmr3)
    a = appraise_dstack(evidence, policy=sets.policy(), at=FIXTURE_AT,
                        expected_report_data=bytes.fromhex(str(doc["report_data"])))
    assert a.authentic
    assert all(status(a, cid) is Status.PASS for cid in (*DSTACK_CHECKS, "tdx.report_data", "tdx.quote.signature"))
    # No app compose in either: the compose is known by its hash only (a required skip).
    assert status(a, ids.COMPOSE) is Status.SKIP and not a.verified
    assert a.claims["compose_hash"] == log.system_payload("compose-hash").hex()  # type: ignore[union-attr]


def test_quote_report_has_no_mrconfigid_and_tdx_lite_binds_it() -> None:
    """dstack's own fixtures: quote-report.json (an older image, local-sgx key provider) leaves
    MRCONFIGID zero; the 0.6.0 lite fixture sets 0x01 || compose hash || zeros, and strips every
    runtime event's digest (each recomputed from its payload)."""
    old = find_evidence(sets.fixture_doc("quote-report.json"))
    assert old is not None
    a = appraise_dstack(old, policy=sets.policy(), at=FIXTURE_AT, expected_report_data=None)
    check = a.check(ids.MRCONFIGID)
    assert check is not None and check.status is Status.FAIL and check.reason == "unset"
    assert a.claims["key_provider"] == {"name": "local-sgx", "id": "1b7a49378403249b6986a907844cab0921eca32dd47e657f3c10311ccaeccf8b"}
    assert [e["name"] for e in a.claims["event_log"]["app_events"]] == ["LIUM_MINER_HOTKEY"]  # type: ignore[index]
    relaxed = appraise_dstack(old, policy=sets.policy("[dstack]\nallow_unset_mrconfigid = true"), at=FIXTURE_AT,
                              expected_report_data=None)
    assert status(relaxed, ids.MRCONFIGID) is Status.PASS

    lite = find_evidence(sets.fixture_doc("tdx-lite-getquote.json"))
    assert lite is not None
    b = appraise_dstack(lite, policy=sets.policy(), at=FIXTURE_AT, expected_report_data=None)
    assert status(b, ids.MRCONFIGID) is Status.PASS
    assert "9 stripped, recomputed" in (b.check(ids.EVENT_PAYLOAD).detail)  # type: ignore[union-attr]
    assert b.claims["key_provider"]["name"] == "kms"  # type: ignore[index]
    assert b.claims["vm_config"]["tdx_attestation_variant"] == "lite"  # type: ignore[index]


def test_the_binary_attestation_form_is_recognised_and_refused() -> None:
    from verifier.errors import ParseError

    with pytest.raises(ParseError, match="binary attestation"):
        find_evidence(sets.fixture_doc("tdx-lite-attestation.json"))


@pytest.mark.parametrize("rec", RECORDINGS, ids=lambda r: r.name)
def test_recordings_replay_bind_the_compose_and_verify_at_capture(rec: Recording, tmp_path: Path) -> None:
    evidence = sets.recording_evidence(rec)
    body = parse_quote(bytes.fromhex(str(evidence.quote))).body
    log = parse_event_log(evidence.event_log)
    assert log.replay() == (body.rtmr0, body.rtmr1, body.rtmr2, body.rtmr3)
    compose_hash = hashlib.sha256(str(evidence.app_compose).encode()).digest()
    assert body.mrconfigid == b"\x01" + compose_hash + bytes(15)

    seen: list[str] = []
    a = appraise_dstack(evidence, policy=sets.policy(), at=sets.captured_at(rec),
                        expected_report_data=sets.expected_report_data(rec),
                        fetcher=sets.recorded_fetcher(rec, tmp_path, seen))
    assert a.authentic and seen and all("trustedservices.intel.com" in u for u in seen)
    assert a.claims["tdx"]["tcb_status"] == rec.tcb_status  # type: ignore[index]
    for cid in (*DSTACK_CHECKS, ids.MRCONFIGID, ids.COMPOSE, ids.COMPOSE_CONTENT, "tdx.report_data",
                "tdx.collateral.tcb_info", "tdx.collateral.qe_identity", "tdx.pck.revocation"):
        assert status(a, cid) is Status.PASS, (cid, a.check(cid))
    if rec.tcb_status == "UpToDate":
        # Everything the default policy requires holds; only the optional pins are skips.
        assert a.verified, a.checks
    else:
        first = next(c for c in a.checks if c.status is Status.FAIL)
        assert first.id == "tdx.tcb.status" and not a.verified
    assert a.claims["compose_hash"] == compose_hash.hex()


def test_neardirect_claims_show_the_compose_the_key_provider_and_the_vm() -> None:
    rec = sets.BY_NAME["neardirect 06-10"]
    a = appraise_dstack(sets.recording_evidence(rec), policy=sets.policy(), at=sets.captured_at(rec),
                        expected_report_data=None)
    c = a.claims
    assert c["key_provider"]["name"] == "kms"  # type: ignore[index]
    assert c["app_id"] == "2c0a0c96cb6dbd659bf1446e2f3fce58172ff91b"
    assert c["vm_config"]["memory_size"] == 2 * 1024**4 and c["vm_config"]["num_gpus"] == 8  # type: ignore[index]
    compose = c["app_compose"]
    assert isinstance(compose, dict)
    assert compose["pre_launch_script"].startswith("#!/bin/bash")
    assert "DD_API_KEY" in compose["allowed_envs"]
    images = {i["line"]: i for i in compose["images"]}
    # `${COMPOSE_MANAGER_IMAGE:-...}`: the variable is not in allowed_envs, so the default is what runs.
    manager = images[74]
    assert manager["variables"] == ["COMPOSE_MANAGER_IMAGE"] and manager["pinned"]
    assert manager["resolved"] == ("nearaidev/compose-manager@sha256:"
                                   "44aa2344d68609700074a8076ed177bb1989c7f5fd1e175a13084d512be475e9")
    assert compose["operator_chosen_images"] == 0 and all(i["pinned"] for i in compose["images"])


def test_an_image_variable_the_operator_may_set_is_not_resolved() -> None:
    """The same compose with COMPOSE_MANAGER_IMAGE added to allowed_envs: that image is the
    operator's to choose at launch, and shown so (the compose hash no longer matches: a claim of the
    content parser, checked here directly)."""
    from verifier.evidence.dstack import compose_images, parse_app_compose

    rec = sets.BY_NAME["neardirect 06-10"]
    doc = json.loads(str(sets.recording_evidence(rec).app_compose))
    doc["allowed_envs"].append("COMPOSE_MANAGER_IMAGE")
    images = {i.service_line: i for i in compose_images(parse_app_compose(json.dumps(doc).encode())).images}
    assert images[74].resolved is None and images[74].operator_set == ("COMPOSE_MANAGER_IMAGE",)


def test_os_image_reference_values_tell_the_vm_configurations_apart() -> None:
    """NEAR AI's 04-24 and 06-10 hosts run the same OS image (MRTD, RTMR1, RTMR2) in different VM
    configurations (1 TiB and 2 TiB): RTMR0 differs, so each is named by its own RTMR0."""
    old, new = sets.BY_NAME["neardirect 04-24"], sets.BY_NAME["neardirect 06-10"]
    q_old = parse_quote(bytes.fromhex(str(sets.recording_evidence(old).quote))).body
    q_new = parse_quote(bytes.fromhex(str(sets.recording_evidence(new).quote))).body
    assert (q_old.mrtd, q_old.rtmr1, q_old.rtmr2) == (q_new.mrtd, q_new.rtmr1, q_new.rtmr2)
    assert q_old.rtmr0 != q_new.rtmr0
    table = (f'[dstack.os_images."dstack-nvidia-0.5.5"]\nmrtd = "{q_old.mrtd.hex()}"\nrtmr1 = "{q_old.rtmr1.hex()}"\n'
             f'rtmr2 = "{q_old.rtmr2.hex()}"\nrtmr0 = {{ "64 vCPU 1 TiB 8 GPU" = "{q_old.rtmr0.hex()}" }}\n')
    pol = sets.policy(table)
    a = appraise_dstack(sets.recording_evidence(old), policy=pol, at=sets.captured_at(old), expected_report_data=None)
    assert status(a, ids.OS_IMAGE) is Status.PASS
    assert a.claims["os_image"] == {"name": "dstack-nvidia-0.5.5", "vm_configuration": "64 vCPU 1 TiB 8 GPU"}
    b = appraise_dstack(sets.recording_evidence(new), policy=pol, at=sets.captured_at(new), expected_report_data=None)
    check = b.check(ids.OS_IMAGE)
    assert check is not None and check.status is Status.FAIL and check.reason == "vm_config"
    gateway = sets.BY_NAME["nearcloud gateway 04-24"]
    c = appraise_dstack(sets.recording_evidence(gateway), policy=pol, at=sets.captured_at(gateway),
                        expected_report_data=None)
    check = c.check(ids.OS_IMAGE)
    assert check is not None and check.reason == "image"


def test_compose_hash_allow_list() -> None:
    rec = sets.BY_NAME["venice 04-24"]
    ev = sets.recording_evidence(rec)
    digest = hashlib.sha256(str(ev.app_compose).encode()).hexdigest()
    ok = appraise_dstack(ev, policy=sets.policy(f'[dstack]\ncompose_hashes = ["{digest}"]'),
                         at=sets.captured_at(rec), expected_report_data=None)
    assert status(ok, ids.COMPOSE_ALLOWED) is Status.PASS
    other = appraise_dstack(ev, policy=sets.policy(f'[dstack]\ncompose_hashes = ["{"00" * 32}"]'),
                            at=sets.captured_at(rec), expected_report_data=None)
    assert status(other, ids.COMPOSE_ALLOWED) is Status.FAIL
    # Pinned by hash, the compose itself may be left out: its absence is then not required.
    bare = appraise_dstack(dataclasses.replace(ev, app_compose=None),
                           policy=sets.policy(f'[dstack]\ncompose_hashes = ["{digest}"]'),
                           at=sets.captured_at(rec), expected_report_data=None)
    check = bare.check(ids.COMPOSE)
    assert check is not None and check.status is Status.SKIP and not check.required
    assert status(bare, ids.COMPOSE_ALLOWED) is Status.PASS


def test_chutes_and_phala_recordings_are_not_dstack_documents() -> None:
    """Chutes' and Phala's (Chutes-format) answers carry TD quotes but no event log or app compose."""
    from tests.vectors import vector

    for rel in ("chutes_zai-org_glm-5-tee_20260520_021819/responses/0002_api.chutes.ai_chutes_e51e818e-fa63-570d-9f68-49d7d1b4d12f_evidence.body",
                "phalacloud_phala_deepseek-v3.2_20260610_014917/responses/0001_api.redpill.ai_v1_attestation_report.body"):
        assert find_evidence(json.loads(vector(sets.TEEP + rel).read_bytes())) is None
