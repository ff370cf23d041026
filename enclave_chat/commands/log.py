"""``enclave-chat log serve`` (a tiled transparency log from a directory) and ``log witness``
(a C2SP tlog-witness); docs/transparency.md."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from enclave_chat.arguments import key_file
from enclave_chat.output import fail, say
from enclave_chat.process import Exit
from verifier.errors import VerifierError

if TYPE_CHECKING:
    from verifier.reference.note import NoteSigner


def signer(path: Path, name: str | None, what: str, *, witness: bool) -> NoteSigner:
    """The signer key in ``path``, created (named ``name``) when absent."""
    from enclave.transparency.services import load_or_create_signer

    key_file(path, what)
    if not path.exists() and not name:
        fail(Exit.USAGE, f"{path} holds no {what} key yet; name the new one with "
             + ("--name NAME" if witness else "--origin NAME (the log's checkpoint origin, e.g. log.example.com/releases)"))
    try:
        return load_or_create_signer(path, name or "", witness=witness)
    except (OSError, ValueError, VerifierError) as e:
        fail(Exit.USAGE, f"cannot use the {what} key {path}: {getattr(e, 'strerror', None) or e}")


def witnesses(pairs: Sequence[Sequence[str]]) -> list[tuple[str, str]]:
    """``--witness URL VKEY`` pairs, each an http(s) URL and a note verifier key."""
    from verifier.reference.note import parse_vkey

    out: list[tuple[str, str]] = []
    for url, vkey in pairs:
        if not url.startswith(("http://", "https://")):
            fail(Exit.USAGE, f"--witness URL {url!r} must be an http(s) URL")
        try:
            parse_vkey(vkey)
        except VerifierError as e:
            fail(Exit.USAGE, f"--witness key {vkey!r} is not a note verifier key: {e}")
        out.append((url, vkey))
    return out


def cmd_log(args: argparse.Namespace) -> Exit:
    """``log serve``: a tiled log from a directory; ``log witness``: a C2SP tlog-witness."""
    from enclave import INSECURE_DEMO_BANNER
    from enclave.transparency.keys import demo_log_signer, demo_witness_signer
    from enclave.transparency.services import run_log_server, run_witness_server
    from enclave_chat.paths import DEMO_TRANSPARENCY, user_dir

    data = user_dir("data", create=True)
    if args.log_command == "serve":
        directory = args.dir or (data / DEMO_TRANSPARENCY / "log" if args.demo_keys else data / "log")
        log_signer = (demo_log_signer() if args.demo_keys
                      else signer(args.key or directory / "log.skey", args.origin, "log", witness=False))
        log_witnesses = witnesses(args.witness)

        def log_listening(url: str) -> None:
            say((INSECURE_DEMO_BANNER + "\n" if args.demo_keys else "")
                + f"log {log_signer.name} on {url} (directory {directory})\nlog key: {log_signer.verifier.vkey()}")

        try:
            run_log_server(directory, log_signer, host=args.host, port=args.port, witnesses=log_witnesses,
                           on_listen=log_listening)
        except OSError as e:
            fail(Exit.USAGE, f"cannot serve the log on {args.host}:{args.port}: {e.strerror or e}")
        return Exit.VERIFIED
    if args.log_command == "witness":
        directory = args.dir or (data / DEMO_TRANSPARENCY / "witness" if args.demo_keys else data / "witness")
        witness_signer = (demo_witness_signer() if args.demo_keys
                          else signer(args.key or directory / "witness.skey", args.name, "witness", witness=True))
        vkeys = list(args.log) or ([demo_log_signer().verifier.vkey()] if args.demo_keys else [])
        if not vkeys:
            fail(Exit.USAGE, "name the logs to witness with --log VKEY")
        from verifier.reference.note import parse_vkey

        logs: dict[str, list[str]] = {}
        for vkey in vkeys:
            try:
                logs.setdefault(parse_vkey(vkey).name, []).append(vkey)
            except VerifierError as e:
                fail(Exit.USAGE, f"--log {vkey!r} is not a note verifier key: {e}")

        def witness_listening(url: str) -> None:
            say((INSECURE_DEMO_BANNER + "\n" if args.demo_keys else "")
                + f"witness {witness_signer.name} on {url} for {', '.join(sorted(logs))}\n"
                f"witness key: {witness_signer.verifier.vkey()}")

        try:
            run_witness_server(directory, witness_signer, logs, host=args.host, port=args.port,
                               on_listen=witness_listening)
        except OSError as e:
            fail(Exit.USAGE, f"cannot serve the witness on {args.host}:{args.port}: {e.strerror or e}")
        return Exit.VERIFIED
    fail(Exit.USAGE, "use `log serve` or `log witness`")
