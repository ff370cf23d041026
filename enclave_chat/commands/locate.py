"""``enclave-chat locate config|data|cache|state``: print where enclave-chat keeps its files."""

from __future__ import annotations

import argparse

from enclave_chat.process import Exit


def cmd_locate(args: argparse.Namespace) -> Exit:
    from enclave_chat.paths import user_dir

    print(user_dir(args.what))
    return Exit.VERIFIED
