"""NEAR AI (``--provider nearai``): teep's recordings replayed through the same session code as a
live attestation, under policies/nearai.toml, at each recording's capture time (docs/providers.md)."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.vectors import vector
from verifier.appraisal.policy import Policy, load_policy
from verifier.endorsements.fetch import CollateralFetcher
from verifier.errors import NotVerified, ServiceUnreachable
from verifier.providers import registry
from verifier.providers.nearai import checks as ids
from verifier.recording import ReplayTransport, load_recording
from verifier.replay import replay
from verifier.result import AttestationResult, Status
from verifier.session import Session

pytestmark = pytest.mark.vectors

TEEP = "providers/teep/"
DIRECT = ("neardirect_qwen_qwen3.5-122b-a10b_20260424_021037", "neardirect_qwen_qwen3.5-122b-a10b_20260610_015359")
CLOUD = ("nearcloud_qwen_qwen3.5-122b-a10b_20260424_020614", "nearcloud_qwen_qwen3.5-122b-a10b_20260610_014855")
POLICY = Path(__file__).resolve().parents[2] / "policies" / "nearai.toml"


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(POLICY)


def status(result: AttestationResult, cid: str) -> Status | None:
    check = result.check(cid)
    return check.status if check is not None else None


def failures(result: AttestationResult) -> list[str]:
    return [c.id for c in result.checks if c.status is Status.FAIL]


async def attest_and_try_to_send(directory: Path, policy: Policy) -> tuple[AttestationResult, list[str]]:
    """The replay as :func:`verifier.replay.replay` runs it, then a chat request: every URL asked."""
    recording = load_recording(directory)
    asked: list[str] = []
    inner = ReplayTransport(recording.exchanges)

    class Counting(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            asked.append(f"{request.method} {request.url.path}")
            return await inner.handle_async_request(request)

    when = recording.manifest.captured_at
    with httpx.Client(transport=inner) as sync_http:
        fetcher = CollateralFetcher(directory.parent / "cache", client=sync_http)
        fetcher.offline = False
        async with httpx.AsyncClient(transport=Counting()) as http, Session(
                recording.manifest.url, policy, provider=recording.manifest.provider, http=http, fetcher=fetcher,
                log_http=sync_http, state_dir=None, clock=lambda: when,
                nonce_factory=lambda: recording.manifest.nonce) as session:
            result = await session.attest()
            if not result.verified:  # a second attestation finds the recording spent: refused either way
                with pytest.raises((NotVerified, ServiceUnreachable)):
                    [d async for d in session.stream_chat([{"role": "user", "content": "my secret prompt"}])]
    return result, asked


def test_teep_provider_names_map_to_nearai() -> None:
    assert registry.recorded_provider("neardirect") == registry.recorded_provider("nearcloud") == "nearai"


@pytest.mark.parametrize("folder", DIRECT)
async def test_a_model_host_recording_verifies(folder: str, policy: Policy) -> None:
    result = await replay(vector(TEEP + folder), policy=policy, provider="nearai")
    assert result.verified, result.verdict()
    for n in range(8):  # every GPU on the client, with the client's nonce
        assert status(result, f"gpu.{n}.signature") is Status.PASS
        assert status(result, f"gpu.{n}.nonce") is Status.PASS
        assert status(result, f"gpu.{n}.measurements") is Status.SKIP  # no RIM for driver 570.172.08 recorded
    assert status(result, "gpu.count") is Status.PASS and result.claims["gpus"]["count"] == 8
    for cid in ("dstack.rtmr0", "dstack.rtmr1", "dstack.rtmr2", "dstack.rtmr3", "dstack.event.payload",
                "dstack.mrconfigid", "dstack.compose", "dstack.os_image", "tdx.report_data", "tdx.tcb.status",
                ids.REPORT_DATA, ids.DUPLICATES, ids.SIGNING_KEY, ids.NONCE, ids.GPU_BINDING,
                ids.COMPOSE_MANAGER, "compose_manager.tdx.quote.signature", "compose_manager.tdx.report_data",
                ids.COMPOSE_MANAGER_ACTIONS, ids.COMPOSE_MANAGER_SAME_TD, ids.MODEL_FILE):
        assert status(result, cid) is Status.PASS, cid
    assert "nonce only" in result.check(ids.GPU_BINDING).detail  # type: ignore[union-attr]
    # no peer key in teep's recordings: the TLS binding is an optional skip, said plainly
    tls = result.check(ids.TLS_KEY)
    assert tls is not None and tls.status is Status.SKIP and not tls.required
    e2ee = result.check(ids.E2EE)
    assert e2ee is not None and "only TLS to the attested key protects the prompt" in e2ee.detail
    assert status(result, ids.IMAGE_DIGEST) is Status.SKIP
    assert result.claims["compose_manager"]["deployed_model_file"]["file_sha256"]
    own = [c.id for c in result.checks if c.id in ids.CATALOGUE]
    assert own == sorted(own, key=ids.CATALOGUE.index)
    # 06-10's OHTTP key config is signed by the attested key; 04-24's is not
    assert status(result, ids.OHTTP_KEY) is (Status.PASS if "0610" in folder else Status.SKIP)


@pytest.mark.parametrize("folder", CLOUD)
async def test_the_gateway_is_refused_for_its_tcb_and_its_models_verify(folder: str, policy: Policy) -> None:
    result = await replay(vector(TEEP + folder), policy=policy)
    assert result.authentic and not result.verified
    assert failures(result) == ["gateway.tdx.tcb.status"]
    first = result.first_failure
    assert first is not None and first.id == "gateway.tdx.tcb.status"
    assert first.detail.startswith("The cloud gateway's own TD: TCB status OutOfDate")
    assert status(result, "gateway.nearai.report_data") is Status.PASS
    assert status(result, "gateway.dstack.compose") is Status.PASS
    for n in range(8):
        assert status(result, f"model.0.gpu.{n}.signature") is Status.PASS
    for cid in ("model.0.tdx.tcb.status", "model.0.tdx.report_data", "model.0.dstack.compose",
                "model.0.nearai.compose_manager.actions", "model.0.compose_manager.tdx.report_data"):
        assert status(result, cid) is Status.PASS, cid


# -- one-byte changes ---------------------------------------------------------------------------------
Doc = dict[str, Any]


def _everywhere(doc: Doc, change: Callable[[Doc], None]) -> None:
    """The change in the top-level attestation and its copy in all_attestations[0], so that only
    the check under test can see it."""
    change(doc)
    change(doc["all_attestations"][0])


def _flip_hex(text: str, at: int) -> str:
    return text[:at] + ("0" if text[at] != "0" else "1") + text[at + 1:]


def quote_byte(doc: Doc) -> None:
    _everywhere(doc, lambda a: a.__setitem__("intel_quote", _flip_hex(a["intel_quote"], 2 * (48 + 20))))


def gpu_evidence(doc: Doc) -> None:
    def change(a: Doc) -> None:
        payload = json.loads(a["nvidia_payload"])
        raw = bytearray(base64.b64decode(payload["evidence_list"][3]["evidence"]))
        raw[60] ^= 1
        payload["evidence_list"][3]["evidence"] = base64.b64encode(bytes(raw)).decode()
        a["nvidia_payload"] = json.dumps(payload, separators=(",", ":"))
    _everywhere(doc, change)


def signing_key(doc: Doc) -> None:
    _everywhere(doc, lambda a: a.__setitem__("signing_public_key", _flip_hex(a["signing_public_key"], 10)))
    if "ohttp_attestation" in doc:
        doc["ohttp_attestation"]["signing_key"] = doc["signing_public_key"]


def _events(a: Doc) -> list[list[Doc]]:
    return [a["event_log"], a["info"]["tcb_info"]["event_log"]]


def event_digest(doc: Doc) -> None:
    def change(a: Doc) -> None:
        for log in _events(a):
            log[0]["digest"] = _flip_hex(log[0]["digest"], 0)
    _everywhere(doc, change)


def event_payload(doc: Doc) -> None:
    def change(a: Doc) -> None:
        for log in _events(a):
            event = next(e for e in log if e.get("event") == "instance-id")
            event["event_payload"] = _flip_hex(event["event_payload"], 0)
    _everywhere(doc, change)


def app_compose(doc: Doc) -> None:
    def change(a: Doc) -> None:
        tcb = a["info"]["tcb_info"]
        tcb["app_compose"] = tcb["app_compose"].replace('"runner"', '"Runner"', 1)
    _everywhere(doc, change)


MUTATIONS = [("quote-byte", quote_byte, "tdx.quote.signature"), ("gpu-3-evidence", gpu_evidence, "gpu.3.signature"),
             ("signing-key", signing_key, ids.SIGNING_KEY), ("event-digest", event_digest, "dstack.rtmr0"),
             ("event-payload", event_payload, "dstack.event.payload"), ("app-compose", app_compose, "dstack.compose")]


def _copy(tmp_path: Path, folder: str) -> Path:
    d = tmp_path / folder
    shutil.copytree(vector(TEEP + folder), d)
    return d


def _body(d: Path) -> Path:
    return next((d / "responses").glob("0001_*.body"))


@pytest.mark.parametrize("folder", DIRECT[:1])
@pytest.mark.parametrize(("name", "mutation", "check_id"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
async def test_one_change_is_refused_for_its_own_check_and_no_prompt_is_sent(
        tmp_path: Path, policy: Policy, folder: str, name: str, mutation: Callable[[Doc], None],
        check_id: str) -> None:
    d = _copy(tmp_path, folder)
    body = _body(d)
    doc = json.loads(body.read_bytes())
    mutation(doc)
    body.write_bytes(json.dumps(doc).encode())
    result, asked = await attest_and_try_to_send(d, policy)
    assert not result.verified
    assert status(result, check_id) is Status.FAIL, (name, failures(result))
    assert not any("/chat/completions" in a for a in asked), asked


async def test_another_nonce_is_refused_for_freshness_and_no_prompt_is_sent(tmp_path: Path, policy: Policy) -> None:
    """The client chose another nonce; the host answered the recorded one."""
    d = _copy(tmp_path, DIRECT[1])
    manifest = json.loads((d / "manifest.json").read_text())
    old, new = manifest["nonce_hex"], "11" * 32
    manifest["nonce_hex"] = new
    (d / "manifest.json").write_text(json.dumps(manifest))
    meta = _body(d).with_suffix(".json")
    meta.write_text(meta.read_text().replace(old, new, 1))
    result, asked = await attest_and_try_to_send(d, policy)
    assert not result.verified
    assert result.first_failure is not None and result.first_failure.id == ids.NONCE
    assert status(result, "tdx.report_data") is Status.FAIL and status(result, "gpu.0.nonce") is Status.FAIL
    assert not any("/chat/completions" in a for a in asked), asked


def test_the_cli_verifies_a_replay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    from enclave_chat.cli import main

    monkeypatch.setenv("ENCLAVE_CHAT_CACHE_DIR", str(tmp_path / "cache"))
    code = main(["verify", "--replay", str(vector(TEEP + DIRECT[1])), "--provider", "nearai", "--policy", "nearai",
                 "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    checks = {c["id"]: c["status"] for c in (out.get("checks") or out["result"]["checks"])}
    assert checks[ids.COMPOSE_MANAGER_ACTIONS] == "pass" and checks["gpu.7.nonce"] == "pass"


def test_providers_md_table_is_the_nearai_catalogue() -> None:
    from tests.test_provider_catalogues import table_ids

    documented = table_ids("providers.md", "### NEAR AI: the checks, in order")
    own = [i for i in documented if i in ids.CATALOGUE]
    assert tuple(own) == ids.CATALOGUE
    assert not [i for i in documented if i.startswith("nearai.") and i not in ids.CATALOGUE]
