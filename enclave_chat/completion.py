"""Shell completion (``enclave-chat completion bash|zsh|fish``), by argcomplete.

The script a shell sources asks ``enclave-chat`` itself for the candidates at each Tab (argcomplete
sets ``_ARGCOMPLETE`` in the environment); the candidates come from the same parser that parses
the command line, so the commands, options and choices (policies, providers, evidence kinds) the
registries give are the ones completed, and never a second list.
"""

from __future__ import annotations

import argparse
from typing import Any

SHELLS = ("bash", "zsh", "fish")
PROGRAM = "enclave-chat"


def script(shell: str) -> str:
    """The completion script ``shell`` sources (``eval "$(enclave-chat completion bash)"``)."""
    from argcomplete.shell_integration import shellcode

    return str(shellcode([PROGRAM], shell=shell))


def complete(parser: argparse.ArgumentParser) -> None:
    """Answer the shell's completion request and end the process (argcomplete's protocol)."""
    import argcomplete

    argcomplete.autocomplete(parser)


def complete_policy(prefix: str, **_: Any) -> list[str]:
    """``--policy``: the built-in names, then policy files (``*.toml``) and directories."""
    from argcomplete.completers import FilesCompleter

    from enclave_chat.paths import builtin_policy_names

    names = [name for name in builtin_policy_names() if name.startswith(prefix)]
    return names + list(FilesCompleter(allowednames=("toml",))(prefix))
