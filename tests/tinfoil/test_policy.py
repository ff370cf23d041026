"""policies/tinfoil.toml loads and explains every rule; the [tinfoil] table refuses what it must."""

from __future__ import annotations

import re

import pytest

from enclave_chat.paths import policies_dir, resolve_policy
from verifier.appraisal.policy import parse_policy
from verifier.errors import PolicyError
from verifier.policy_check import check_policy
from verifier.providers.tinfoil.rules import TinfoilPolicy


def test_the_tinfoil_policy_loads() -> None:
    policy = resolve_policy("tinfoil")
    rules = TinfoilPolicy.from_policy(policy)
    assert policy.name == "tinfoil" and not policy.demo
    assert rules.repos == {"inference.tinfoil.sh": "tinfoilsh/confidential-model-router"}
    assert rules.release_source == "proxy" and rules.api_base == "https://github-proxy.tinfoil.sh"
    assert rules.tls_binding == "required"
    assert rules.repo_allowed("tinfoilsh/confidential-gemma4-31b")
    assert not rules.repo_allowed("someone/confidential-gemma4-31b")
    assert re.fullmatch(rules.workflow_for("tinfoilsh/x"),
                        "https://github.com/tinfoilsh/x/.github/workflows/build.yml@refs/tags/v1.2")
    assert not re.fullmatch(rules.workflow_for("tinfoilsh/x"),
                            "https://github.com/tinfoilsh/x/.github/workflows/build.yml@refs/heads/main")


def test_every_rule_of_the_tinfoil_policy_is_commented() -> None:
    lines = (policies_dir() / "tinfoil.toml").read_text().splitlines()
    uncommented = []
    for i, line in enumerate(lines):
        if re.match(r"^[a-z_0-9]+ = ", line) and not line.startswith(("name", "description")):
            block = lines[max(0, i - 12):i]
            if not any(b.startswith("#") for b in block):
                uncommented.append(line)
    assert uncommented == []


def test_github_is_the_default_release_source() -> None:
    rules = TinfoilPolicy.from_policy(check_policy(parse_policy(b'name = "t"\n[tinfoil]\n')))
    assert rules.release_source == "github"
    assert rules.api_base == "https://api.github.com" and rules.download_base == "https://github.com"


DEMO = '[service]\nloopback_only = true\ndemo_roots = true\n'


@pytest.mark.parametrize(("text", "problem"), [
    ('[tinfoil]\nrepo = {}\n', "unknown keys"),
    ('[tinfoil]\ntls_binding = "off"\n', "loopback demo policies only"),
    ('[tinfoil]\nrelease_source = "demo"\n', "INSECURE DEMO"),
    ('[service]\ndemo_roots = true\n[tinfoil]\ntls_binding = "off"\n', "loopback demo"),
    ('[tinfoil]\nrelease_source = "proxy"\n', "needs release_proxy"),
    ('[tinfoil]\nrelease_proxy = "https://p.example"\n', "only with release_source"),
    ('[tinfoil]\nrelease_source = "proxy"\nrelease_proxy = "http://p.example"\n', "https"),
    ('[tinfoil]\ndiscovery = "ftp://x"\n', "https"),
    ('[tinfoil]\nrepos = { "h" = "not a repo" }\n', "OWNER/NAME"),
    ('[tinfoil]\nhardware_repo = "x"\n', "OWNER/NAME"),
    ('[tinfoil]\nworkflow = "("\n', "regular expression"),
    ('[tinfoil]\ntls_binding = "maybe"\n', "must be one of"),
    ('[tinfoil]\nallowed_repos = "tinfoilsh/*"\n', "must be a list"),
])
def test_bad_tinfoil_tables_are_refused(text: str, problem: str) -> None:
    with pytest.raises(PolicyError, match=problem):
        check_policy(parse_policy(f'name = "t"\n{text}'.encode()))


def test_a_loopback_demo_policy_may_turn_off_tls_and_use_the_demo_release() -> None:
    policy = check_policy(parse_policy(f'name = "t"\n{DEMO}[tinfoil]\ntls_binding = "off"\nrelease_source = "demo"\n'.encode()))
    rules = TinfoilPolicy.from_policy(policy)
    assert rules.tls_binding == "off" and rules.release_source == "demo"
