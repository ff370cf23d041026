"""The reference enclave as a simulated TDX machine (``serve --platform tdx``, INSECURE DEMO): its
TD quote parses with the project's parser, chains to the demo Intel root that only the demo
policy pins, its collateral rides in the bundle (``cpu.collateral.tdx``) and is used only where
``[tdx] collateral_from_bundle`` says so; a session is verified and a reply streams; each attack
mode that applies is refused by its own check with nothing sent."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from typing import Any

import pytest

from enclave import tdx
from enclave.app import Enclave, Settings
from enclave.attacks import check_mode
from enclave.server import BackgroundEnclave
from enclave_chat.paths import resolve_policy
from tests.refusals import refused_before_sending
from verifier.appraisal.policy import Policy, parse_policy
from verifier.appraisal.tdx import appraise_tdx
from verifier.errors import ParseError
from verifier.evidence.tdx import TD_ATTR_SEPT_VE_DISABLE, parse_quote
from verifier.providers.native.appraisal import appraise_native
from verifier.providers.native.bundle import (
    TDX_COLLATERAL_MEMBERS,
    parse_bundle,
    report_data_binding,
)
from verifier.result import Status
from verifier.session import Session

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def td_bundle() -> tuple[Enclave, bytes, bytes]:
    enclave = Enclave(Settings(platform="tdx", transparency=False))
    nonce = secrets.token_bytes(32)
    return enclave, enclave.bundle(nonce), nonce


def _native(data: bytes, nonce: bytes, policy: Policy) -> Any:
    return appraise_native(data, nonce=nonce, policy=policy, at=NOW, service_url="http://127.0.0.1:1")


# -- the simulated evidence ------------------------------------------------------------------------
def test_the_quote_is_a_v4_td_quote_the_parser_reads(td_bundle: tuple[Enclave, bytes, bytes]) -> None:
    enclave, data, nonce = td_bundle
    bundle = parse_bundle(data)
    assert bundle.cpu.platform == "tdx" and bundle.cpu.certificates == ()
    q = parse_quote(bundle.cpu.report)
    assert q.version == 4 and q.tdx_version == "1.0" and q.trailing == b""
    assert q.body.report_data == report_data_binding(nonce, bundle.key_config, bundle.gpus, bundle.config)
    assert q.body.mrtd + q.body.rtmr0 + q.body.rtmr1 + q.body.rtmr2 == enclave.measurement
    assert q.body.td_attributes_int == TD_ATTR_SEPT_VE_DISABLE and not q.body.debug
    assert q.pck_chain_pem.count(b"BEGIN CERTIFICATE") == 3


def test_the_demo_root_is_the_one_the_demo_policy_pins() -> None:
    pinned = resolve_policy("demo").section("tdx").values["roots"]["spki_sha256"]
    assert pinned == [tdx.root_pin()]
    assert tdx.root_certificate().subject.rfc4514_string().startswith("C=US,ST=CA,L=Santa Clara,O=enclave-chat INSECURE DEMO")


def test_quote_and_collateral_verify_under_the_demo_pin() -> None:
    machine = tdx.SimulatedTdx(tdx.td_state(bytes(48)))
    report_data = secrets.token_bytes(64)
    a = appraise_tdx(machine.quote(report_data), policy=resolve_policy("demo"), at=NOW,
                     expected_report_data=report_data, collateral=machine.collateral())
    assert a.authentic and a.claims["tcb_status"] == "UpToDate" and a.claims["fmspc"] == tdx.FMSPC.hex()
    assert not [c.id for c in a.checks if c.status is Status.FAIL or (c.status is Status.SKIP and c.required)]


# -- the bundle's collateral ------------------------------------------------------------------------
def test_the_demo_policy_uses_the_bundles_collateral(td_bundle: tuple[Enclave, bytes, bytes]) -> None:
    _, data, nonce = td_bundle
    result, _ = _native(data, nonce, resolve_policy("demo"))
    status = {c.id: c.status for c in result.checks}
    for i in ("tdx.collateral.root_crl", "tdx.collateral.pck_crl", "tdx.pck.revocation", "tdx.collateral.tcb_info",
              "tdx.collateral.qe_identity", "tdx.qe.identity", "tdx.tcb.module", "tdx.tcb.status", "tdx.report_data",
              "release.measurement"):
        assert status[i] is Status.PASS, i
    assert result.claims["cpu"]["tcb_status"] == "UpToDate"


def test_without_collateral_from_bundle_the_collateral_is_not_used(td_bundle: tuple[Enclave, bytes, bytes]) -> None:
    _, data, nonce = td_bundle
    pin = tdx.root_pin()
    policy = parse_policy(f'name = "t"\n[tdx]\nroots = {{ spki_sha256 = ["{pin}"] }}\n'.encode())
    result, _ = _native(data, nonce, policy)
    check = result.check("tdx.collateral.tcb_info")
    assert check is not None and check.status is Status.SKIP and check.required
    assert result.check("tdx.pck.root_pinned").status is Status.PASS  # type: ignore[union-attr]


def test_the_default_policy_refuses_the_demo_root(td_bundle: tuple[Enclave, bytes, bytes]) -> None:
    _, data, nonce = td_bundle
    result, bundle = _native(data, nonce, resolve_policy("default"))
    assert bundle is not None and not result.verified and not result.authentic
    assert result.first_failure is not None and result.first_failure.id == "tdx.pck.root_pinned"


def _edited(data: bytes, edit: Any) -> bytes:
    doc = json.loads(data)
    edit(doc["cpu"]["collateral"])
    return json.dumps(doc).encode()


@pytest.mark.parametrize(("name", "edit", "field"), [
    ("not an object", lambda c: c.update(tdx=[]), "cpu.collateral.tdx"),
    ("a member missing", lambda c: c["tdx"].pop("pck_crl"), "cpu.collateral.tdx.pck_crl"),
    ("an unknown member", lambda c: c["tdx"].update(extra="AA=="), "cpu.collateral.tdx"),
    ("not base64", lambda c: c["tdx"].update(tcb_info="%%"), "cpu.collateral.tdx.tcb_info"),
    ("empty", lambda c: c["tdx"].update(root_ca_crl=""), "cpu.collateral.tdx.root_ca_crl"),
])
def test_the_collateral_member_is_parsed_strictly(td_bundle: tuple[Enclave, bytes, bytes], name: str, edit: Any,
                                                  field: str) -> None:
    _, data, _ = td_bundle
    assert set(json.loads(data)["cpu"]["collateral"]["tdx"]) == set(TDX_COLLATERAL_MEMBERS)
    with pytest.raises(ParseError) as e:
        parse_bundle(_edited(data, edit))
    assert e.value.field == field, name


def test_changed_collateral_is_refused_by_its_signature(td_bundle: tuple[Enclave, bytes, bytes]) -> None:
    import base64

    _, data, nonce = td_bundle

    def downgrade(c: dict[str, Any]) -> None:
        body = base64.b64decode(c["tdx"]["tcb_info"]).replace(b'"UpToDate"', b'"OutOfDate"', 1)
        c["tdx"]["tcb_info"] = base64.b64encode(body).decode()

    result, _ = _native(_edited(data, downgrade), nonce, resolve_policy("demo"))
    assert result.check("tdx.collateral.tcb_info").status is Status.FAIL  # type: ignore[union-attr]
    assert not result.verified


def test_sev_snp_attacks_need_sev_snp() -> None:
    with pytest.raises(ValueError, match="needs simulated SEV-SNP"):
        check_mode("rogue-vcek", platform="tdx")


# -- the session ------------------------------------------------------------------------------------
@pytest.mark.e2e
async def test_a_session_on_the_simulated_tdx_machine_is_verified_and_a_reply_streams(demo_policy: Policy) -> None:
    with BackgroundEnclave(Settings(platform="tdx", token_delay=0)) as server:
        async with Session(server.url, demo_policy) as session:
            result = await session.attest()
            assert result.verified, result.verdict()
            assert result.evidence_kind == "tdx"
            status = {c.id: c.status for c in result.checks}
            for i in ("tdx.quote.signature", "tdx.pck.root_pinned", "tdx.tcb.status", "tdx.report_data",
                      "gpu.0.signature", "release.measurement", "release.log.inclusion", "channel.key_config"):
                assert status[i] is Status.PASS, i
            text = "".join([d async for d in session.stream_chat([{"role": "user", "content": "What is a TD?"}])])
        assert "What is a TD?" in text and server.enclave.gateway_posts >= 1


@pytest.mark.e2e
@pytest.mark.parametrize(("attack", "check_id"), [
    ("flip-measurement", "release.measurement"),
    ("replay-nonce", "bundle.nonce"),
    ("swap-key-config", "tdx.report_data"),
    ("gpu-binding", "tdx.report_data"),
])
async def test_each_attack_is_refused_by_its_check_and_nothing_is_sent(attack: str, check_id: str,
                                                                      demo_policy: Policy) -> None:
    with BackgroundEnclave(Settings(platform="tdx", token_delay=0, attack=attack)) as server:
        async with Session(server.url, demo_policy) as session:
            # replay-nonce: the first nonce is the one every later bundle answers with
            await refused_before_sending(session, check_id, replayed=attack == "replay-nonce")
        assert server.enclave.gateway_posts == 0
