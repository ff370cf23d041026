"""The kind and provider registries are the one list: a kind or a provider registered with one line
appears in the command line's choices, the policy tables and the replay; and no provider's name is
spelt outside its package and the registry."""

from __future__ import annotations

import ast
import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from verifier import kinds
from verifier.appraisal.offline import OfflineOptions
from verifier.appraisal.policy import Policy, parse_policy
from verifier.errors import PolicyError
from verifier.kinds import EvidenceKind
from verifier.policy_check import check_policy, policy_provider, policy_tables
from verifier.providers import registry
from verifier.providers.base import AttestContext, Attested, ProviderSpec
from verifier.recording import Exchange, Manifest, write_recording
from verifier.result import AttestationResult, failed, passed

ROOT = Path(__file__).resolve().parent.parent
AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class DummyProvider:
    """Asks ``/dummy-evidence`` and passes when the service answers ``genuine``."""

    name = "dummy"

    async def attest(self, ctx: AttestContext) -> Attested:
        answer = await ctx.http.get(f"{ctx.base_url}/dummy-evidence?nonce={ctx.nonce.hex()}")
        check = (passed if answer.content == b"genuine" else failed)(
            "dummy.evidence", f"The service answered {answer.content[:20]!r}.", authenticity=True)
        return Attested(AttestationResult("dummy", ctx.at, ctx.nonce, ctx.policy.ref, (check,)), None, None)


def dummy_rules(policy: Policy) -> object:
    section = policy.section("dummy")
    section.only("level")
    return section.get("level", int, 0)


def appraise_dummy(opts: OfflineOptions) -> AttestationResult:
    data = opts.files[0].read_bytes()
    check = (passed if data == b"genuine" else failed)("dummy.file", "A dummy file.", authenticity=True)
    return AttestationResult("dummy-kind", opts.at, opts.nonce, opts.policy.ref, (check,))


@pytest.fixture
def dummies() -> Iterator[None]:
    registry.register_provider(ProviderSpec("dummy", "a test provider", "tests.test_registries:DummyProvider", table="dummy", rules="tests.test_registries:dummy_rules"))
    kinds.register_kind(EvidenceKind("dummy-kind", "a test kind", files="tests.test_registries:appraise_dummy", options=frozenset({"nonce"})))
    try:
        yield
    finally:
        registry.unregister_provider("dummy")
        kinds.unregister_kind("dummy-kind")


def _policy(text: str) -> Policy:
    return check_policy(parse_policy(f'name = "test"\n{text}'.encode(), "test"))


def test_a_registered_provider_and_kind_are_command_line_choices(dummies: None) -> None:
    from enclave_chat.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["verify", "http://127.0.0.1:1", "--provider", "dummy"])
    assert args.provider == "dummy"
    args = parser.parse_args(["evidence", "verify", "dummy-kind", "f.bin"])
    assert args.kind == "dummy-kind"


def test_unregistered_names_are_not_choices() -> None:
    from enclave_chat.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["verify", "http://127.0.0.1:1", "--provider", "dummy"])
    with pytest.raises(SystemExit):
        build_parser().parse_args(["evidence", "verify", "dummy-kind", "f.bin"])


def test_a_registered_provider_brings_its_policy_table(dummies: None) -> None:
    assert "dummy" in policy_tables()
    policy = _policy('[service]\nprovider = "dummy"\n[dummy]\nlevel = 3\n')
    assert policy_provider(policy) == "dummy"
    with pytest.raises(PolicyError):
        _policy("[dummy]\nlevle = 3\n")  # its own rules parser refuses a misspelt key


def test_without_the_provider_its_table_is_unknown() -> None:
    with pytest.raises(PolicyError, match="unknown tables: dummy"):
        _policy("[dummy]\nlevel = 3\n")


def test_a_registered_kind_is_appraised_by_evidence_verify(dummies: None, tmp_path: Path) -> None:
    from verifier.endorsements.fetch import CollateralFetcher
    from verifier.saved_evidence import appraise_saved, file_kinds

    assert "dummy-kind" in file_kinds()
    (tmp_path / "e.bin").write_bytes(b"genuine")
    opts = OfflineOptions(files=(tmp_path / "e.bin",), policy=_policy(""), at=AT,
                          fetcher=CollateralFetcher(tmp_path / "c", offline=True))
    result = appraise_saved("dummy-kind", opts)
    assert result.verified and result.evidence_kind == "dummy-kind"
    assert result.to_json()["evidence_kind"] == "dummy-kind"


def test_a_recording_of_a_registered_provider_replays_through_it(dummies: None, tmp_path: Path) -> None:
    from verifier.replay import replay

    nonce = bytes(range(32))
    url = "http://127.0.0.1:9"
    write_recording(tmp_path, Manifest("dummy", url, nonce, AT), [
        Exchange("GET", f"{url}/dummy-evidence?nonce={nonce.hex()}", 200, (), b"genuine")])
    result = asyncio.run(replay(tmp_path, policy=_policy("")))
    assert [c.id for c in result.checks] == ["dummy.evidence"]
    assert result.authentic and result.provider == "dummy"


def test_registering_a_different_kind_under_a_known_name_is_refused() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        kinds.register_kind(EvidenceKind("sev-snp", "an impostor"))
    with pytest.raises(ValueError, match="registered twice"):
        registry.register_provider(ProviderSpec(registry.DEFAULT, "an impostor", "x:Y"))


def _literals(path: Path, words: set[str]) -> list[tuple[int, str]]:
    return [(n.lineno, n.value) for n in ast.walk(ast.parse(path.read_text(), str(path)))
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in words]


@pytest.mark.parametrize("name", sorted(registry.provider_names()))
def test_a_provider_is_named_only_in_its_package_and_the_registry(name: str) -> None:
    """A provider's name as a string literal appears only inside its own package, the provider
    registry and at most one other file."""
    package = ROOT / "verifier" / "providers" / name
    assert package.is_dir(), f"provider {name} is not a package"
    places = {path.relative_to(ROOT).as_posix(): found
              for top in ("verifier", "tui", "enclave_chat") for path in (ROOT / top).rglob("*.py")
              if package not in path.parents and path.name != "registry.py"
              and (found := _literals(path, {name}))}
    assert len(places) <= 1, places


def test_every_registered_kind_names_targets_that_load() -> None:
    for kind in kinds.all_kinds():
        for target in filter(None, (kind.rules, kind.files, kind.cpu, kind.release_entry)):
            assert callable(kinds.load(target)), (kind.name, target)
        for _, detect, decode in kind.inspectors:
            assert callable(kinds.load(detect)) and callable(kinds.load(decode)), kind.name
    for spec in registry.all_providers():
        assert callable(kinds.load(spec.factory)), spec.name
        if spec.rules:
            assert callable(kinds.load(spec.rules)), spec.name
