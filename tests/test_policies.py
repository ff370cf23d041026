"""The built-in policies load, a misspelt rule is refused at load time, and the demo roots are
trusted by policies/demo.toml and by nothing else."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from enclave_chat.paths import policies_dir, resolve_policy
from verifier.appraisal.policy import parse_policy
from verifier.errors import PolicyError
from verifier.policy_check import check_policy

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", ["default", "demo", "strict", "tinfoil"])
def test_builtin_policy_loads(name: str) -> None:
    policy = resolve_policy(name)
    assert policy.name == name
    assert len(policy.sha256) == 64
    assert policy.demo is (name == "demo")


def test_demo_policy_is_loopback_only() -> None:
    assert resolve_policy("demo").section("service").get("loopback_only", bool, False) is True


@pytest.mark.parametrize(("text", "problem"), [
    ('name = "t"\n[servce]\nmax_age_seconds = 1\n', "unknown tables"),
    ('name = "t"\n[service]\nmax_age_secs = 1\n', "unknown keys"),
    ('name = "t"\n[service]\nmax_age_seconds = "ten"\n', "must be a int"),
    ('name = "t"\n[service]\nmax_age_seconds = 0\n', "positive"),
    ('name = "t"\n[service]\nprovider = "carrier-pigeon"\n', "must be one of"),
    ('name = "t"\n[snp]\nallow_debugg = true\n', "unknown keys"),
    ('name = "t"\n[release]\npublisher_keys = ["rsa:abc"]\n', "ed25519"),
    ('name = "t"\n[release]\nmin_version = "one"\n', "min_version"),
    ('[service]\n', "no name"),
    ('name = "t"\n[service\n', "not valid TOML"),
])
def test_bad_policies_are_refused_with_a_sentence(text: str, problem: str) -> None:
    with pytest.raises(PolicyError, match=problem):
        check_policy(parse_policy(text.encode()))


@pytest.mark.parametrize("table", ["dstack", "nearai", "tinfoil", "chutes", "phala", "venice"])
def test_a_misspelt_key_is_refused_in_every_registered_table(table: str) -> None:
    with pytest.raises(PolicyError, match="unknown key"):
        check_policy(parse_policy(f'name = "t"\n[{table}]\nno_such_rule = 1\n'.encode()))


def test_only_the_tables_a_policy_has_are_read() -> None:
    """A table the policy lacks holds only defaults, so its module is not even loaded (a script's
    `evidence verify sev-snp` under the default policy loads no provider's or dstack's rules)."""
    code = ("import sys\nfrom enclave_chat.paths import resolve_policy\nresolve_policy('default')\n"
            "print(sorted(m for m in sys.modules if m.startswith(('verifier.providers.nearai.rules', "
            "'verifier.appraisal.dstack', 'verifier.reference.dsse'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]", out


def test_unknown_builtin_name_lists_the_known_ones() -> None:
    with pytest.raises(PolicyError, match="default"):
        resolve_policy("no-such-policy")


def test_demo_root_fingerprints_appear_only_in_the_demo_policy() -> None:
    from enclave import demo_roots, gpu
    from verifier.endorsements.anchors import spki_sha256
    from verifier.reference.dsse import format_ed25519_public

    ark_pin = spki_sha256(demo_roots.ark_certificate())
    publisher = format_ed25519_public(demo_roots.publisher_key().public_key())
    demo = (policies_dir() / "demo.toml").read_text()
    assert ark_pin in demo and publisher in demo
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    for pin in (ark_pin, gpu.device_root_pin(), gpu.rim_root_pin()):
        assert pin in demo
        holders = {f for f in tracked if (ROOT / f).is_file()
                   and pin in (ROOT / f).read_text(errors="ignore")}
        assert holders == {"policies/demo.toml"}, pin


@pytest.mark.parametrize(("table", "key"), [
    ("tdx", "mrseam"), ("tdx", "mrtd"), ("tdx", "rtmr0"), ("tdx", "rtmr3"), ("tdx", "mrconfigid"), ("tdx", "mrowner"),
    ("tdx", "mrownerconfig"), ("tdx", "xfam"), ("snp", "measurements"), ("snp", "host_data"),
    ("snp", "id_key_digests"), ("snp", "author_key_digests"),
])
def test_an_empty_allow_list_is_a_policy_error(table: str, key: str) -> None:
    """An empty list of the values evidence may have would allow nothing (in [snp]) or, as [tdx]
    read it before, anything: either way not what its author meant (issue 12, finding 8)."""

    policy = parse_policy(f'name = "t"\n[{table}]\n{key} = []\n'.encode(), "t")
    with pytest.raises(PolicyError, match="an empty list allows nothing; remove the key"):
        check_policy(policy)


def test_an_empty_list_of_trusted_parties_still_means_none_trusted() -> None:

    policy = parse_policy(b'name = "t"\n[snp]\nvlek_csp_ids = []\n[release]\npublisher_keys = []\n', "t")
    assert check_policy(policy) is policy
