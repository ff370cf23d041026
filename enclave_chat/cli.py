"""The ``enclave-chat`` command line (docs/cli.md is its contract).

Exit codes: 0 verified; 1 not verified (evidence refused or unparseable); 2 usage, or a file that
cannot be read or decoded; 3 a service could not be reached; 130 interrupted. Errors are one line on
stderr, never a traceback; the machine result (``--json``) goes to stdout, the human verdict to
stderr. ``NO_COLOR`` is honoured.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import enum
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from verifier.errors import (
    InputError,
    NotVerified,
    PolicyError,
    ServiceUnreachable,
    TruncatedResponse,
    VerifierError,
)
from verifier.result import AttestationResult, parse_time


class Exit(enum.IntEnum):
    VERIFIED = 0
    NOT_VERIFIED = 1
    USAGE = 2
    UNREACHABLE = 3
    INTERRUPTED = 130


def _color(code: str, text: str) -> str:
    if os.environ.get("NO_COLOR") or not sys.stderr.isatty():
        return text
    return f"\033[{code}m{text}\033[0m"


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def fail(code: Exit, message: str) -> NoReturn:
    say(_color("31", "error: ") + message)
    raise SystemExit(int(code))


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        fail(Exit.USAGE, message)


def _time(text: str) -> dt.datetime:
    try:
        return parse_time(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO-8601 time") from None


def _hex(text: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not hex") from None


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="enclave-chat", description="Verify confidential AI services, then chat with them end to end.")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--policy", help="policy file, or a built-in name: default, demo, strict (default: default)")
        sp.add_argument("--provider", choices=["native", "tinfoil"], default="native")

    c = sub.add_parser("chat", help="open the chat TUI on a service")
    c.add_argument("url", nargs="?")
    common(c)
    c.add_argument("--no-history", action="store_true", help="keep nothing on disk")

    sub.add_parser("demo", help="start the reference enclave on loopback and chat with it (INSECURE DEMO)")

    s = sub.add_parser("serve", help="run the reference enclave (INSECURE DEMO: simulated TEE)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8700)
    s.add_argument("--upstream", help="OpenAI-compatible base URL (…/v1) to forward prompts to")
    s.add_argument("--token-delay", type=float, default=0.02, help="seconds between demo-model tokens")
    s.add_argument("--attack", metavar="MODE",
                   help="misbehave on purpose, for tests (docs/protocol.md lists the modes)")

    v = sub.add_parser("verify", help="verify a service's attestation and print the result")
    v.add_argument("url", nargs="?")
    common(v)
    v.add_argument("--json", action="store_true", help="print the result as one JSON object on stdout")
    v.add_argument("--offline", action="store_true", help="use cached collateral only; never fetch it")
    v.add_argument("--save-evidence", type=Path, metavar="DIR")
    v.add_argument("--replay", type=Path, metavar="DIR", help="re-verify a recorded session offline")
    v.add_argument("--at", type=_time, help="verification time for --replay (ISO-8601)")

    a = sub.add_parser("ask", help="verify, then send one prompt and stream the reply to stdout")
    a.add_argument("url")
    a.add_argument("prompt")
    common(a)
    a.add_argument("--model")
    a.add_argument("--system", help="a system prompt")

    e = sub.add_parser("evidence", help="verify or decode saved evidence offline")
    esub = e.add_subparsers(dest="evidence_command", parser_class=_Parser)
    ev = esub.add_parser("verify")
    ev.add_argument("kind", choices=["sev-snp", "tdx", "nvidia-gpu", "tinfoil"])
    ev.add_argument("files", nargs="+", type=Path)
    ev.add_argument("--cert", action="append", type=Path, default=[])
    ev.add_argument("--crl", action="append", type=Path, default=[])
    ev.add_argument("--collateral", type=Path)
    ev.add_argument("--rim", action="append", type=Path, default=[])
    ev.add_argument("--ocsp", action="append", type=Path, default=[])
    g = ev.add_mutually_exclusive_group()
    g.add_argument("--nonce", type=_hex)
    g.add_argument("--report-data", type=_hex)
    ev.add_argument("--policy")
    ev.add_argument("--at", type=_time)
    ev.add_argument("--offline", action="store_true")
    ev.add_argument("--json", action="store_true")
    ei = esub.add_parser("inspect")
    ei.add_argument("file", type=Path)
    ei.add_argument("--json", action="store_true")

    loc = sub.add_parser("locate", help="print where enclave-chat keeps its files")
    loc.add_argument("what", choices=["config", "data", "cache", "state"])
    return p


# -- output ----------------------------------------------------------------------------------------

def report(result: AttestationResult, as_json: bool) -> Exit:
    if as_json:
        print(json.dumps(result.to_json(), indent=2))
    verdict = result.verdict()
    say(_color("32" if result.verified else "31", verdict))
    if result.verified:
        return Exit.VERIFIED
    return Exit.NOT_VERIFIED


# -- commands --------------------------------------------------------------------------------------

def cmd_verify(args: argparse.Namespace) -> Exit:
    from enclave_chat.paths import resolve_policy, user_dir
    from verifier.endorsements.fetch import CollateralFetcher
    from verifier.session import Session

    policy = resolve_policy(args.policy)
    if args.replay is not None:
        from verifier.replay import replay

        provider = args.provider if args.provider != "native" else None
        result = asyncio.run(replay(args.replay, policy=policy, provider=provider, at=args.at))
        return report(result, args.json)
    if not args.url:
        fail(Exit.USAGE, "verify needs a URL (or --replay DIR)")
    fetcher = CollateralFetcher(user_dir("cache") / "collateral", offline=args.offline)

    async def run() -> AttestationResult:
        async with Session(args.url, policy, provider=args.provider, fetcher=fetcher,
                           state_dir=user_dir("state"), save_evidence=args.save_evidence) as session:
            return await session.attest()

    return report(asyncio.run(run()), args.json)


def cmd_ask(args: argparse.Namespace) -> Exit:
    from enclave_chat.paths import resolve_policy, user_dir
    from verifier.endorsements.fetch import CollateralFetcher
    from verifier.session import Session

    policy = resolve_policy(args.policy)
    fetcher = CollateralFetcher(user_dir("cache") / "collateral")
    messages: list[dict[str, Any]] = []
    if args.system:
        messages.append({"role": "system", "content": args.system})
    messages.append({"role": "user", "content": args.prompt})

    async def run() -> None:
        async with Session(args.url, policy, provider=args.provider, fetcher=fetcher,
                           state_dir=user_dir("state")) as session:
            result = await session.attest()
            if not result.verified:
                raise NotVerified(result.verdict(), result)
            say(_color("32", f"verified ({policy.name}); sending the prompt encrypted to the attested key"))
            if not session.truncation_detectable:
                say("note: this provider's transport cannot detect a reply cut short; an incomplete reply would look whole")
            try:
                async for delta in session.stream_chat(messages, model=args.model):
                    sys.stdout.write(delta)
                    sys.stdout.flush()
            except TruncatedResponse as e:
                sys.stdout.write("\n")
                sys.stdout.flush()
                raise TruncatedResponse(f"the reply above is incomplete: {e}") from None
            sys.stdout.write("\n")

    asyncio.run(run())
    return Exit.VERIFIED


def cmd_evidence(args: argparse.Namespace) -> Exit:
    if args.evidence_command == "inspect":
        from verifier.evidence.inspect import inspect_file

        doc = inspect_file(args.file)
        if args.json:
            print(json.dumps(doc, indent=2))
        else:
            for key, value in doc.items():
                print(f"{key}: {value}")
        return Exit.VERIFIED
    if args.evidence_command != "verify":
        fail(Exit.USAGE, "use `evidence verify KIND FILE...` or `evidence inspect FILE`")
    from enclave_chat.paths import resolve_policy, user_dir
    from verifier.appraisal.offline import OfflineOptions, appraiser
    from verifier.endorsements.fetch import CollateralFetcher

    appraise = appraiser(args.kind)
    opts = OfflineOptions(
        files=tuple(args.files), policy=resolve_policy(args.policy),
        at=args.at or dt.datetime.now(dt.UTC),
        fetcher=CollateralFetcher(user_dir("cache") / "collateral", offline=args.offline),
        certs=tuple(args.cert), crls=tuple(args.crl), collateral=args.collateral,
        rims=tuple(args.rim), ocsp=tuple(args.ocsp), nonce=args.nonce, report_data=args.report_data,
    )
    return report(appraise(opts), args.json)


def cmd_locate(args: argparse.Namespace) -> Exit:
    from enclave_chat.paths import user_dir

    print(user_dir(args.what))
    return Exit.VERIFIED


def cmd_serve(args: argparse.Namespace) -> Exit:
    from enclave.attacks import ATTACK_MODES
    from enclave.server import serve

    if args.attack is not None and args.attack not in ATTACK_MODES:
        fail(Exit.USAGE, f"unknown attack mode {args.attack!r}; known: {', '.join(ATTACK_MODES)}")
    try:
        serve(host=args.host, port=args.port, upstream=args.upstream,
              token_delay=args.token_delay, attack=args.attack)
    except OSError as e:
        fail(Exit.USAGE, f"cannot listen on {args.host}:{args.port}: {e.strerror or e}")
    return Exit.VERIFIED


def cmd_chat(args: argparse.Namespace) -> Exit:
    from enclave_chat.tui_entry import run_chat

    return Exit(run_chat(url=args.url, policy=args.policy, provider=args.provider,
                         no_history=args.no_history))


def cmd_demo(args: argparse.Namespace) -> Exit:
    from enclave_chat.tui_entry import run_demo

    return Exit(run_demo())


COMMANDS: dict[str, Callable[[argparse.Namespace], Exit]] = {
    "verify": cmd_verify, "ask": cmd_ask, "evidence": cmd_evidence, "locate": cmd_locate,
    "serve": cmd_serve, "chat": cmd_chat, "demo": cmd_demo,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = args.command or "chat"
    if command == "chat" and not hasattr(args, "url"):
        args = build_parser().parse_args(["chat"])
    try:
        return int(COMMANDS[command](args))
    except KeyboardInterrupt:
        say("interrupted")
        return int(Exit.INTERRUPTED)
    except NotVerified as e:
        say(_color("31", "refused: ") + str(e))
        return int(Exit.NOT_VERIFIED)
    except ServiceUnreachable as e:
        say(_color("31", "unreachable: ") + str(e))
        return int(Exit.UNREACHABLE)
    except (InputError, PolicyError) as e:
        say(_color("31", "error: ") + str(e))
        return int(Exit.USAGE)
    except TruncatedResponse as e:
        say(_color("31", "incomplete: ") + str(e))
        return int(Exit.NOT_VERIFIED)
    except VerifierError as e:
        say(_color("31", "error: ") + str(e))
        return int(Exit.NOT_VERIFIED)
