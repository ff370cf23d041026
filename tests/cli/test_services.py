"""The services the client knows (issue 17, item 2; docs/cli.md, "Known services"): the packaged
file and its strict loader, the matching rule, who wins over whom, ``enclave-chat services``, and the
acceptance: both real Tinfoil recordings replay verified with no ``--provider`` and no ``--policy``."""

from __future__ import annotations

from pathlib import Path

import pytest

from enclave_chat.paths import builtin_policy_names
from enclave_chat.services import (
    SERVICES_FILE,
    Choice,
    KnownService,
    choose,
    known_services,
    match,
    parse_services,
)
from tests.cli.conftest import Cli, closed_port, contract
from tests.tinfoil.conftest import CLOUD, DIRECT
from tests.vectors import vector
from verifier.errors import InputError
from verifier.providers.registry import provider_names

PROVIDERS = ("native", "tinfoil")
POLICIES = ("default", "demo", "strict", "tinfoil")


def parse(text: str) -> tuple[KnownService, ...]:
    return parse_services(text.encode(), "services.toml", providers=PROVIDERS, policies=POLICIES)


def entry(hosts: str = '["api.example.com"]', provider: str = "native", policy: str = "strict",
          extra: str = "") -> str:
    return f'[[service]]\nname = "Example"\nhosts = {hosts}\nprovider = "{provider}"\npolicy = "{policy}"\n{extra}'


def refused(text: str) -> str:
    with pytest.raises(InputError) as e:
        parse(text)
    message = str(e.value)
    assert "\n" not in message and message.startswith("services.toml"), message
    return message


# -- the file and its loader ---------------------------------------------------------------------

def test_the_packaged_file_loads_and_knows_tinfoil() -> None:
    known_services.cache_clear()
    services = known_services()
    assert SERVICES_FILE.parent.name == "enclave_chat"
    (tinfoil,) = [s for s in services if s.name == "Tinfoil"]
    assert tinfoil.provider == "tinfoil" and tinfoil.policy == "tinfoil"
    assert "inference.tinfoil.sh" in tinfoil.hosts and "*.tinfoil.sh" in tinfoil.hosts
    for service in services:  # what the loader checks against is what the program has
        assert service.provider in provider_names() and service.policy in builtin_policy_names()


def test_a_good_entry_reads_with_its_patterns_in_lower_case() -> None:
    (service,) = parse(entry('["API.Example.com", "*.Models.Example.com"]', extra='about = "an example"\n'))
    assert service == KnownService("Example", ("api.example.com", "*.models.example.com"), "native", "strict",
                                   "an example")
    assert parse("") == ()


@pytest.mark.parametrize("pattern", [
    "*", "*.", "*.com", "**.example.com", "*example.com", "a.*.example.com", "api.example.com.",
    "-api.example.com", "api-.example.com", "api_x.example.com", "api..example.com", "",
    "127.0.0.1", "[::1]", "api.example.com:443", "https://api.example.com", "api example.com",
    "é.example.com", "a" * 64 + ".example.com",
])
def test_a_bad_host_pattern_is_refused_in_one_sentence(pattern: str) -> None:
    message = refused(entry(f'["{pattern}"]'))
    assert "is not a host pattern" in message and "'Example'" in message


def test_an_unknown_provider_is_refused_naming_the_registered_ones() -> None:
    message = refused(entry(provider="openai"))
    assert "'openai'" in message and "not registered" in message and "native, tinfoil" in message


def test_a_policy_that_is_not_built_in_is_refused_naming_the_built_ins() -> None:
    message = refused(entry(policy="./mine.toml"))
    assert "'./mine.toml'" in message and "not built in" in message and "default, demo, strict, tinfoil" in message


@pytest.mark.parametrize(("text", "says"), [
    (entry(extra='priority = 1\n'), "unknown keys: priority"),
    ('[[service]]\nname = "x"\nhosts = ["a.example"]\nprovider = "native"\n', "lacks policy"),
    (entry(hosts="[]"), "non-empty list"),
    (entry(hosts='"api.example.com"'), "non-empty list"),
    (entry(hosts="[1]"), "non-empty list"),
    (entry() + entry(hosts='["API.example.com"]'), "lists 'api.example.com', which service 'Example' lists already"),
    (entry(extra='about = "two\\nlines"\n'), "about must be a printable string on one line"),
    ('[[service]]\nname = ""\nhosts = ["a.example"]\nprovider = "native"\npolicy = "strict"\n', "name must be"),
    ('version = 1\n' + entry(), "unknown keys at the top: version"),
    ('service = "x"\n', "array of tables"),
    ('[[service]\n', "not valid TOML"),
])
def test_anything_else_is_refused_in_one_sentence(text: str, says: str) -> None:
    assert says in refused(text)


# -- matching -------------------------------------------------------------------------------------

SERVICES = parse(
    '[[service]]\nname = "Router"\nhosts = ["inference.example.com"]\nprovider = "tinfoil"\npolicy = "tinfoil"\n'
    '[[service]]\nname = "Any"\nhosts = ["*.example.com"]\nprovider = "native"\npolicy = "strict"\n'
    '[[service]]\nname = "Models"\nhosts = ["*.models.example.com"]\nprovider = "tinfoil"\npolicy = "tinfoil"\n')


def named(host: str) -> str | None:
    found = match(host, SERVICES)
    return found[0].name if found else None


def test_an_exact_host_matches_and_wins_over_a_pattern() -> None:
    assert named("inference.example.com") == "Router"
    assert match("inference.example.com", SERVICES) == (SERVICES[0], "inference.example.com")


def test_a_pattern_matches_any_depth_under_its_domain_but_not_the_domain() -> None:
    assert named("chat.example.com") == "Any"
    assert named("a.b.c.example.com") == "Any"
    assert named("example.com") is None
    assert named("badexample.com") is None
    assert named("example.com.evil.net") is None


def test_the_longest_domain_wins() -> None:
    assert named("gemma-1.models.example.com") == "Models"
    assert named("models.example.com") == "Any"


def test_case_and_a_trailing_dot_do_not_matter() -> None:
    assert named("INFERENCE.Example.COM") == "Router"
    assert named("inference.example.com.") == "Router"
    assert named("Chat.EXAMPLE.com.") == "Any"


def test_no_match_is_none() -> None:
    assert named("api.other.org") is None
    assert named("") is None
    assert named("127.0.0.1") is None


# -- who wins ------------------------------------------------------------------------------------

def test_a_known_host_gives_its_provider_and_policy() -> None:
    choice = choose("https://Inference.Example.com:8443/", policy=None, provider=None, services=SERVICES)
    assert (choice.policy, choice.provider) == ("tinfoil", "tinfoil")
    assert choice.known is SERVICES[0] and choice.host == "inference.example.com"
    assert choice.note().startswith("known service: Router (inference.example.com matches inference.example.com): "
                                    "--provider tinfoil --policy tinfoil")
    # the service's own provider given explicitly agrees with it: the policy is still the service's
    assert choose("https://chat.example.com", policy=None, provider="native", services=SERVICES) == \
        Choice("strict", "native", SERVICES[1], "chat.example.com", "*.example.com")


def test_an_explicit_flag_always_wins() -> None:
    url = "https://inference.example.com"
    # --policy: the known service is not used; the provider is --provider's, else the policy's own
    assert choose(url, policy="strict", provider=None, services=SERVICES) == Choice("strict", None)
    assert choose(url, policy="tinfoil", provider=None, services=SERVICES) == Choice("tinfoil", None)
    assert choose(url, policy="default", provider="native", services=SERVICES) == Choice("default", "native")
    # --provider other than the service's own: nor is it
    assert choose(url, policy=None, provider="native", services=SERVICES) == Choice(None, "native")


def test_an_unknown_host_keeps_the_default() -> None:
    for url in ("https://api.other.org", "http://127.0.0.1:8700", "not a url", None):
        assert choose(url, policy=None, provider=None, services=SERVICES) == Choice(None, None)
    assert choose("https://api.other.org", policy=None, provider="tinfoil", services=SERVICES) == Choice(None, "tinfoil")


def test_the_packaged_file_knows_both_tinfoil_hosts_of_the_recordings() -> None:
    for url in ("https://inference.tinfoil.sh", "https://gemma4-31b-1.inf10.tinfoil.sh"):
        choice = choose(url, policy=None, provider=None)
        assert choice.known is not None and choice.known.name == "Tinfoil"
        assert (choice.policy, choice.provider) == ("tinfoil", "tinfoil")
    assert choose("https://tinfoil.sh", policy=None, provider=None) == Choice(None, None)


# -- the command line -----------------------------------------------------------------------------

def test_services_lists_them(cli: Cli) -> None:
    as_json, text = cli.many([("services", "--json"), ("services",)])
    doc = contract(as_json, 0, json_out=True).json()
    assert doc == {"services": [s.to_json() for s in known_services()]}
    (tinfoil,) = [s for s in doc["services"] if s["name"] == "Tinfoil"]
    assert tinfoil == {"name": "Tinfoil", "hosts": ["inference.tinfoil.sh", "*.tinfoil.sh"], "provider": "tinfoil",
                       "policy": "tinfoil", "about": tinfoil["about"]}
    contract(text, 0)
    assert text.stdout.startswith("Tinfoil: --provider tinfoil --policy tinfoil\n  hosts: inference.tinfoil.sh, *.tinfoil.sh\n")


def test_verify_ask_and_proxy_speak_to_a_known_host_as_the_known_service(cli: Cli) -> None:
    """Through a proxy that is not there (nothing leaves this machine): which attestation path the
    command asked for shows which provider it chose; the known service is named first."""
    proxy = ("--http-proxy", f"http://127.0.0.1:{closed_port()}")
    tinfoil, model = "https://inference.tinfoil.sh", "https://gemma4-31b-1.inf10.tinfoil.sh"
    runs = cli.many([("verify", tinfoil, *proxy), ("ask", model, "hi", *proxy), ("proxy", tinfoil, "--port", "0", *proxy),
                     ("verify", tinfoil, "--policy", "default", *proxy), ("verify", tinfoil, "--provider", "native", *proxy),
                     ("verify", "https://api.example.com", *proxy)])
    for run in runs[:3]:
        contract(run, 3)
        assert run.lines[0].startswith("known service: Tinfoil ("), str(run)
        assert "/.well-known/tinfoil-attestation?nonce=" in run.lines[1], str(run)
    for run in runs[3:]:  # an explicit flag wins; an unknown host keeps the default (native)
        contract(run, 3)
        assert len(run.lines) == 1 and "/.well-known/attestation?nonce=" in run.lines[0], str(run)


@pytest.mark.vectors
def test_both_tinfoil_recordings_replay_verified_with_no_provider_and_no_policy(cli: Cli) -> None:
    """The acceptance of item 2: without the flags, the recording's URL names the known service."""
    cloud, direct = cli.many([("verify", "--replay", str(vector(name)), "--json") for name in (CLOUD, DIRECT)],
                             timeout=120)
    for run, host, pattern in ((cloud, "inference.tinfoil.sh", "inference.tinfoil.sh"),
                               (direct, "gemma4-31b-1.inf10.tinfoil.sh", "*.tinfoil.sh")):
        doc = contract(run, 0, json_out=True).json()
        assert doc["verified"] is True and doc["provider"] == "tinfoil" and doc["policy"]["name"] == "tinfoil"
        assert run.lines[0].startswith(f"known service: Tinfoil ({host} matches {pattern}): "
                                       "--provider tinfoil --policy tinfoil"), run.stderr
        assert run.lines[1].startswith("verified: tinfoil evidence passed"), run.stderr


@pytest.mark.vectors
def test_an_explicit_policy_wins_over_the_known_service_in_a_replay(cli: Cli) -> None:
    (run,) = cli.many([("verify", "--replay", str(vector(CLOUD)), "--policy", "default", "--json")], timeout=120)
    doc = contract(run, 1, json_out=True).json()
    assert doc["verified"] is False and doc["policy"]["name"] == "default"
    assert not any(line.startswith("known service:") for line in run.lines)
    assert "names no repository" in run.stderr


def test_the_chat_uses_the_known_service_unless_a_flag_or_the_config_names_a_policy(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from enclave_chat.tui_entry import build_app
    from tui.config import Config

    for kind in ("config", "data", "cache", "state"):
        monkeypatch.setenv(f"ENCLAVE_CHAT_{kind.upper()}_DIR", f"{tmp_path}/{kind}")
    url = "https://inference.tinfoil.sh"
    cases = [((None, None, Config()), ("tinfoil", "tinfoil")),
             ((None, None, Config(url=url)), ("tinfoil", "tinfoil")),  # the configured URL too
             (("default", None, Config()), ("default", "native")),
             ((None, None, Config(policy="strict")), ("strict", "native")),
             ((None, "native", Config()), ("default", "native"))]
    for (policy, provider, config), (want_policy, want_provider) in cases:
        app = build_app(url=None if config.url else url, policy=policy, provider=provider,
                        no_history=True, config=config)
        assert (app.target.policy.name, app.target.provider) == (want_policy, want_provider), (policy, provider, config)
        noted = capsys.readouterr().err
        assert noted.startswith("known service: Tinfoil") == (want_policy == "tinfoil"), noted
