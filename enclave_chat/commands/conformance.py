"""``enclave-chat conformance tinfoil SUBCOMMAND``: Tinfoil's cross-SDK conformance contract.

``capabilities`` (no stdin) or a stage (JSON on stdin); JSON on stdout; exit codes 0 (accepted),
10 (rejected, ``rejection.code`` from the suite's taxonomy), 20 (not supported), 30 (malformed input),
1 (internal error): the suite's, a documented exception to docs/cli.md's exit codes.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, cast

from enclave_chat.process import Exit


def cmd_conformance(args: argparse.Namespace) -> Exit:
    from enclave_chat.conformance import run_stage
    from enclave_chat.conformance.capabilities import capabilities
    from enclave_chat.conformance.contract import EXIT_INTERNAL

    out: dict[str, Any] | None
    try:
        if args.subcommand == "capabilities":
            code, out, note = 0, capabilities(), ""
        else:
            code, out, note = run_stage(args.subcommand, sys.stdin.buffer.read())
    except Exception as e:  # the contract: exit 1, a line on stderr
        code, out, note = EXIT_INTERNAL, None, f"internal error ({type(e).__name__}: {e})"
    if out is not None:
        sys.stdout.write(json.dumps(out, sort_keys=True) + "\n")
        sys.stdout.flush()
    if note:
        sys.stderr.write(note[:2000] + "\n")
    return cast(Exit, code)
