"""NEAR AI's published image digests (``nearai.images.first_party`` / ``.third_party``): teep's
recorded Rekor answers replayed under policies/nearai.toml (docs/providers.md, "Published image
digests")."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import httpx
import pytest

from tests.vectors import vector
from verifier.appraisal.policy import Policy, load_policy
from verifier.providers.nearai import checks as ids
from verifier.recording import Exchange, ReplayTransport
from verifier.reference import rekor_images
from verifier.replay import replay
from verifier.result import AttestationResult, Status

TEEP = "providers/teep/"
APRIL = "neardirect_qwen_qwen3.5-122b-a10b_20260424_021037"
JUNE = "neardirect_qwen_qwen3.5-122b-a10b_20260610_015359"
POLICY = Path(__file__).resolve().parents[2] / "policies" / "nearai.toml"
FIRST_PARTY = {
    APRIL: {"nearaidev/compose-manager": "https://github.com/nearai/compose-manager/.github/workflows/build.yml@refs/heads/master"},
    JUNE: {"nearaidev/compose-manager": "https://github.com/nearai/compose-manager/.github/workflows/promote.yml@refs/heads/master",
           "nearaidev/compose-manager-launcher": "https://github.com/nearai/compose-manager/.github/workflows/promote.yml@refs/heads/master"},
}
COMPOSE_MANAGER_ENTRY = {APRIL: "0015_rekor.sigstore.dev_api_v1_log_entries_retrieve.body"}


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(POLICY)


def _policy_with(tmp_path: Path, old: str, new: str) -> Policy:
    text = POLICY.read_text()
    assert text.count(old) == 1
    path = tmp_path / "nearai.toml"
    path.write_text(text.replace(old, new))
    return load_policy(path)


def _images(result: AttestationResult) -> dict[str, dict[str, object]]:
    return {str(i["image"]).split("@")[0]: i for i in result.claims["images"]}


@pytest.mark.vectors
@pytest.mark.parametrize("folder", [APRIL, JUNE])
async def test_first_party_images_have_entries_by_nearai_workflows_on_master(folder: str, policy: Policy) -> None:
    result = await replay(vector(TEEP + folder), policy=policy, provider="nearai")
    assert result.verified, result.verdict()
    first = result.check(ids.IMAGES_FIRST_PARTY)
    assert first is not None and first.status is Status.PASS and first.required
    assert "unsigned" in first.detail and "search index" in first.detail  # says what is not proven
    images = _images(result)
    mine = {name: i for name, i in images.items() if i["first_party"]}
    assert set(mine) == set(FIRST_PARTY[folder])
    for name, image in mine.items():
        matched = [e for e in image["entries"] if e["matches_policy"]]  # type: ignore[attr-defined]
        assert matched and matched[0]["verified"], name
        signer = matched[0]["signer"]
        assert signer["build_signer_uri"] == FIRST_PARTY[folder][name]
        assert signer["source_repository_uri"] == "https://github.com/nearai/compose-manager"
        assert signer["source_repository_ref"] == "refs/heads/master"
        assert signer["issuer"] == "https://token.actions.githubusercontent.com"
        assert set(matched[0]["logged"]) == {"payload_sha256", "envelope_sha256"}  # DSSE: hashes only
    # third-party: reported, never a pass (June's index answers are recorded in another order
    # than this client asks: served by request body)
    third = result.check(ids.IMAGES_THIRD_PARTY)
    assert third is not None and third.status is Status.SKIP and not third.required
    assert "datadog/agent: signed by a bare key" in third.detail
    assert "certbot/dns-cloudflare: unsigned" in third.detail
    assert not images["certbot/dns-cloudflare"]["first_party"] and not images["datadog/agent"]["first_party"]


def _copy(tmp_path: Path, folder: str) -> Path:
    d = tmp_path / folder
    shutil.copytree(vector(TEEP + folder), d)
    return d


@pytest.mark.vectors
async def test_one_byte_of_an_entry_body_fails_its_signed_entry_timestamp(tmp_path: Path, policy: Policy) -> None:
    d = _copy(tmp_path, APRIL)
    path = d / "responses" / COMPOSE_MANAGER_ENTRY[APRIL]
    answer = json.loads(path.read_bytes())
    entry = next(iter(answer[0].values()))
    body = bytearray(base64.b64decode(entry["body"]))
    at = body.index(b'"value":"', body.index(b'"payloadHash"')) + 20  # a hex digit of the logged payload hash
    assert chr(body[at]) in "0123456789abcdef"
    body[at] = ord("0") if body[at] != ord("0") else ord("1")
    entry["body"] = base64.b64encode(bytes(body)).decode()
    path.write_text(json.dumps(answer))
    result = await replay(d, policy=policy, provider="nearai")
    assert not result.verified
    first = result.check(ids.IMAGES_FIRST_PARTY)
    assert first is not None and first.status is Status.FAIL and first.reason == "log_entry"
    assert "signed entry timestamp does not verify" in first.detail
    assert [c.id for c in result.checks if c.status is Status.FAIL] == [ids.IMAGES_FIRST_PARTY]


@pytest.mark.vectors
async def test_a_signer_of_another_repository_is_refused(tmp_path: Path) -> None:
    policy = _policy_with(tmp_path, 'image_signer_repository = "github.com/nearai/*"',
                          'image_signer_repository = "github.com/someone-else/*"')
    result = await replay(vector(TEEP + APRIL), policy=policy, provider="nearai")
    assert not result.verified
    first = result.check(ids.IMAGES_FIRST_PARTY)
    assert first is not None and first.status is Status.FAIL and first.reason == "identity"
    assert "github.com/nearai/compose-manager', which does not match" in first.detail


@pytest.mark.vectors
async def test_a_signing_run_on_another_ref_is_refused(tmp_path: Path) -> None:
    policy = _policy_with(tmp_path, 'image_signer_refs = ["refs/heads/main", "refs/heads/master"]',
                          'image_signer_refs = ["refs/heads/main"]')
    result = await replay(vector(TEEP + JUNE), policy=policy, provider="nearai")
    first = result.check(ids.IMAGES_FIRST_PARTY)
    assert first is not None and first.status is Status.FAIL and first.reason == "identity"
    assert "refs/heads/master" in first.detail


def test_without_rekor_the_required_check_is_skipped_not_passed() -> None:
    rules = rekor_images.ImagePolicy(("nearaidev/*",), "github.com/nearai/*", ("refs/heads/main",))
    found = rekor_images.look_up([f"nearaidev/x@sha256:{'ab' * 32}", "docker.io/nearaidev/y:1.0", "alpine:3"],
                                 rules, None)
    assert [i.first_party for i in found] == [True, True, False]
    check = rekor_images.first_party_check(ids.IMAGES_FIRST_PARTY, found, rules)
    assert check.status is Status.SKIP and check.required
    unpinned = rekor_images.first_party_check(ids.IMAGES_FIRST_PARTY, found[1:], rules)
    assert unpinned.status is Status.FAIL and unpinned.reason == "unpinned"
    third = rekor_images.third_party_check(ids.IMAGES_THIRD_PARTY, found)
    assert third.status is Status.SKIP and not third.required


def test_patterns_match_whole_path_segments() -> None:
    rules = rekor_images.ImagePolicy(("nearaidev/*",), "github.com/nearai/*", ())
    assert rekor_images.is_first_party("nearaidev/compose-manager", rules)
    assert not rekor_images.is_first_party("evil/nearaidev/compose-manager", rules)
    assert not rekor_images.is_first_party("nearaidev/a/b", rules)
    assert not rekor_images.is_first_party("ghcr.io/nearaidev/x", rules)


def test_a_recorded_request_body_is_answered_only_for_that_body() -> None:
    url = rekor_images.REKOR + rekor_images.INDEX_PATH
    exchanges = [Exchange("POST", url, 200, (), b'["first"]', request_body=b'{"hash":"a"}'),
                 Exchange("POST", url, 200, (), b'["second"]', request_body=b'{"hash":"b"}')]
    with httpx.Client(transport=ReplayTransport(exchanges)) as client:
        assert client.post(url, content=b'{"hash":"b"}').json() == ["second"]
        with pytest.raises(httpx.ConnectError):
            client.post(url, content=b'{"hash":"c"}')
        assert client.post(url, content=b'{"hash":"a"}').json() == ["first"]
