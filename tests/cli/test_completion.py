"""Shell completion (``enclave-chat completion SHELL``, docs/cli.md): the script each shell sources,
and the answers the program gives the shell at each Tab, which come from the one parser and so from
the registries (commands, evidence kinds, providers, built-in policies)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from enclave_chat.paths import builtin_policy_names
from verifier.providers.registry import provider_names
from verifier.saved_evidence import file_kinds

BIN = Path(sys.executable).parent


# What each shell's script sets beside the request (see `enclave-chat completion SHELL`).
_SHELL_ENV = {"bash": {}, "zsh": {"_ARGCOMPLETE_SUPPRESS_SPACE": "1"},
              "fish": {"_ARGCOMPLETE_SUPPRESS_SPACE": "1", "_ARGCOMPLETE_DFS": "\t", "_ARGCOMPLETE_IFS": "\v"}}


def candidates(line: str, cwd: Path, shell: str = "bash") -> list[str]:
    """What ``enclave-chat`` answers a shell asking to complete ``line`` (argcomplete's protocol:
    the request in the environment, the answer in a file, separated by vertical tabs)."""
    answer = cwd / ".completion"
    env = {**os.environ, "_ARGCOMPLETE": "1", "_ARGCOMPLETE_SHELL": shell, "COMP_LINE": line,
           "COMP_POINT": str(len(line)), "_ARGCOMPLETE_STDOUT_FILENAME": str(answer), **_SHELL_ENV[shell]}
    done = subprocess.run([str(BIN / "enclave-chat")], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-2000:]
    return [c.rstrip() for c in answer.read_text().split("\v") if c]


def test_commands_are_completed(tmp_path: Path) -> None:
    assert candidates("enclave-chat ev", tmp_path) == ["evidence"]
    top = candidates("enclave-chat ", tmp_path)
    assert {"verify", "ask", "evidence", "proxy", "completion", "demo"} <= set(top)


def test_evidence_kinds_come_from_the_registry(tmp_path: Path) -> None:
    kinds = [c for c in candidates("enclave-chat evidence verify ", tmp_path) if not c.startswith("-")]
    assert kinds == list(file_kinds())


def test_providers_and_options_are_completed(tmp_path: Path) -> None:
    assert candidates("enclave-chat verify --provider ", tmp_path) == list(provider_names())
    assert "--save-evidence" in candidates("enclave-chat verify --s", tmp_path)


def test_policy_completes_the_built_in_names_then_policy_files(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text("")
    (tmp_path / "notes.txt").write_text("")
    got = candidates("enclave-chat verify --policy ", tmp_path)
    assert got[:len(builtin_policy_names())] == builtin_policy_names()
    assert "mine.toml" in got and "notes.txt" not in got
    assert candidates("enclave-chat verify --policy st", tmp_path) == ["strict"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_the_bash_script_completes_in_bash(tmp_path: Path) -> None:
    script = r'''eval "$(enclave-chat completion bash)"
COMP_LINE="enclave-chat evidence ver"; COMP_POINT=${#COMP_LINE}
COMP_WORDS=(enclave-chat evidence ver); COMP_CWORD=2; COMP_TYPE=9
_python_argcomplete enclave-chat ver evidence
printf '[%s]\n' "${COMPREPLY[@]}"
'''
    done = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60, env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"})
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[verify ]\n"


@pytest.mark.parametrize(("shell", "marks"), [("bash", ("complete ", "-F _python_argcomplete", "enclave-chat")),
                                              ("zsh", ("#compdef enclave-chat", "_ARGCOMPLETE")),
                                              ("fish", ("complete ", "enclave-chat", "_ARGCOMPLETE"))])
def test_each_shell_gets_its_script(tmp_path: Path, shell: str, marks: tuple[str, ...]) -> None:
    done = subprocess.run([str(BIN / "enclave-chat"), "completion", shell], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)
    assert done.returncode == 0
    for mark in marks:
        assert mark in done.stdout


def test_an_unknown_shell_is_a_usage_error(tmp_path: Path) -> None:
    done = subprocess.run([str(BIN / "enclave-chat"), "completion", "tcsh"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "tcsh" in done.stderr



def test_fish_and_zsh_answers_carry_each_commands_help(tmp_path: Path) -> None:
    assert candidates("enclave-chat loc", tmp_path, shell="fish") == ["locate\tprint where enclave-chat keeps its files"]
    assert candidates("enclave-chat loc", tmp_path, shell="zsh") == ["locate:print where enclave-chat keeps its files"]
