"""``enclave-chat completion SHELL``: print the shell's completion script (docs/cli.md)."""

from __future__ import annotations

import argparse

from enclave_chat.process import Exit


def cmd_completion(args: argparse.Namespace) -> Exit:
    from enclave_chat.completion import script

    print(script(args.shell), end="")
    return Exit.VERIFIED
