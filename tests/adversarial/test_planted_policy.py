"""Finding 1 of the second hostile-input round: a file planted in the working directory must never
stand in for a built-in policy. Run from a directory holding files named ``default``, ``demo``,
``strict`` and ``tinfoil`` (each a copy of the demo policy, which trusts the INSECURE demo roots),
every command and the TUI use the built-in policies; a path is a path (``./default``, anything with
a slash or ending in ``.toml``), a name is a name."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from enclave.server import BackgroundEnclave
from enclave_chat.paths import builtin_policy_names, policies_dir, resolve_policy
from tests.cli.conftest import Cli, contract
from tests.vectors import REPO
from verifier.errors import PolicyError

pytestmark = pytest.mark.e2e

BUILTINS = tuple(sorted(p.stem for p in (REPO / "policies").glob("*.toml")))
"""Every policy file the checkout ships: each name must resolve to the built-in, never to a planted file."""


def _builtin_sha(name: str) -> str:
    return hashlib.sha256((policies_dir() / f"{name}.toml").read_bytes()).hexdigest()


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    """A working directory holding a copy of the demo policy under each built-in name (a comment
    added, so that no planted file hashes like any built-in one)."""
    folder = tmp_path / "planted"
    folder.mkdir()
    demo = (policies_dir() / "demo.toml").read_bytes() + b"\n# planted\n"
    for name in BUILTINS:
        (folder / name).write_bytes(demo)
    return folder


@pytest.fixture
def planted_sha(planted: Path) -> str:
    return hashlib.sha256((planted / "default").read_bytes()).hexdigest()


def test_the_builtin_names_are_the_planted_ones() -> None:
    assert set(BUILTINS) == set(builtin_policy_names())


def test_verify_without_policy_uses_the_builtin_default(enclave: BackgroundEnclave, tmp_path: Path,
                                                        planted: Path) -> None:
    cli = Cli(tmp_path, cwd=planted)
    run = contract(cli("verify", enclave.url, "--offline", "--json"), 1, json_out=True)
    doc = run.json()
    assert doc["verified"] is False  # demo evidence under the real vendor roots
    assert doc["policy"] == {"name": "default", "sha256": _builtin_sha("default")}


def test_verify_policy_names_are_the_builtins(enclave: BackgroundEnclave, tmp_path: Path,
                                             planted: Path) -> None:
    cli = Cli(tmp_path, cwd=planted)
    # --offline (nothing but the service is asked) except for the demo policy, which requires the
    # demo log's fresh checkpoint (on loopback)
    runs = cli.many([("verify", enclave.url, "--policy", name, "--json", *(() if name == "demo" else ("--offline",)))
                     for name in BUILTINS])
    for name, run in zip(BUILTINS, runs, strict=True):
        doc = contract(run, {0, 1}, json_out=True).json()
        assert doc["policy"]["sha256"] == _builtin_sha(name), (name, str(run))
    assert runs[BUILTINS.index("demo")].code == 0  # the real demo policy, demo banner and all


def test_ask_without_policy_sends_nothing(enclave: BackgroundEnclave, tmp_path: Path, planted: Path) -> None:
    before = enclave.enclave.gateway_posts
    run = contract(Cli(tmp_path, cwd=planted)("ask", enclave.url, "my secret prompt"), 1)
    assert run.stdout == ""
    assert enclave.enclave.gateway_posts == before


def test_a_path_is_a_path(enclave: BackgroundEnclave, tmp_path: Path, planted: Path, planted_sha: str) -> None:
    """``./default`` (and any argument with a slash or ending in ``.toml``) names the file."""
    (planted / "mine.toml").write_bytes((planted / "default").read_bytes())
    cli = Cli(tmp_path, cwd=planted)
    runs = cli.many([("verify", enclave.url, "--policy", arg, "--json")
                     for arg in ("./default", str(planted / "strict"), "mine.toml")])
    for run in runs:
        doc = contract(run, 0, json_out=True).json()
        assert doc["policy"]["sha256"] == planted_sha, str(run)


def test_a_bare_word_that_is_no_builtin_is_an_error(tmp_path: Path, planted: Path) -> None:
    """Even when a file of that name exists: a name is a name (the error names the built-ins)."""
    (planted / "mine").write_bytes((planted / "default").read_bytes())
    cli = Cli(tmp_path, cwd=planted)
    runs = cli.many([("verify", "http://127.0.0.1:1", "--policy", word, "--json") for word in ("mine", "nothing-here")])
    for run in runs:
        contract(run, 2)
        assert all(name in run.stderr for name in BUILTINS), str(run)
    assert "./mine" in runs[0].stderr  # how to name the file, if that was meant


# -- the TUI's policy loading (enclave_chat/tui_entry.py) ---------------------------------------------

def test_resolve_policy_never_reads_the_working_directory(planted: Path, monkeypatch: pytest.MonkeyPatch,
                                                          planted_sha: str) -> None:
    monkeypatch.chdir(planted)
    assert resolve_policy(None).sha256 == _builtin_sha("default")
    for name in BUILTINS:
        assert resolve_policy(name).sha256 == _builtin_sha(name), name
    assert resolve_policy("./default").sha256 == planted_sha
    (planted / "mine").write_bytes((planted / "default").read_bytes())
    with pytest.raises(PolicyError, match="the built-ins are " + ", ".join(builtin_policy_names())):
        resolve_policy("mine")


def test_the_tui_uses_the_builtin_policies(enclave: BackgroundEnclave, planted: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from enclave_chat.tui_entry import build_app
    from tui.config import Config

    for kind in ("config", "data", "cache", "state"):
        monkeypatch.setenv(f"ENCLAVE_CHAT_{kind.upper()}_DIR", str(tmp_path / kind))
    monkeypatch.chdir(planted)
    for policy, config in ((None, Config()), (None, Config(policy="default")), ("default", Config()),
                           (None, Config(policy="demo")), ("demo", Config(policy="default"))):
        app = build_app(url=enclave.url, policy=policy, provider=None, no_history=True, config=config)
        expected = policy or config.policy or "default"
        assert app.target.policy.sha256 == _builtin_sha(expected), (policy, config.policy)
        assert app.target.policy.demo is (expected == "demo")
        assert app.resolve_policy("default").sha256 == _builtin_sha("default")
