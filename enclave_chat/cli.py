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
from typing import TYPE_CHECKING, Any, NoReturn

from verifier.errors import (
    InputError,
    NotVerified,
    PolicyError,
    ServiceUnreachable,
    TruncatedResponse,
    VerifierError,
)
from verifier.result import AttestationResult, parse_time

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from verifier.reference.note import NoteSigner

DEMO_TRANSPARENCY = "demo-transparency"
"""The reference deployment's log and witness state, under the user's data directory."""


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
        sp.add_argument("--provider", choices=["native", "tinfoil"],
                        help="wire profile (default: the policy's [service] provider, else native)")

    c = sub.add_parser("chat", help="open the chat TUI on a service")
    c.add_argument("url", nargs="?")
    common(c)
    c.add_argument("--no-history", action="store_true", help="keep nothing on disk")

    d = sub.add_parser("demo", help="start the reference enclave on loopback and chat with it (INSECURE DEMO)")
    d.add_argument("--no-history", action="store_true", help="keep nothing on disk")

    s = sub.add_parser("serve", help="run the reference enclave (INSECURE DEMO: simulated TEE)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8700)
    s.add_argument("--upstream", help="OpenAI-compatible base URL (…/v1) to forward prompts to")
    s.add_argument("--token-delay", type=float, default=0.02, help="seconds between demo-model tokens")
    s.add_argument("--attack", metavar="MODE",
                   help="misbehave on purpose, for tests (docs/protocol.md lists the modes)")
    s.add_argument("--no-log", action="store_true",
                   help="start no transparency log and witness beside the enclave (the bundle then carries no log proof)")

    lg = sub.add_parser("log", help="run a transparency log or a witness (docs/transparency.md)")
    lsub = lg.add_subparsers(dest="log_command", parser_class=_Parser)
    ls = lsub.add_parser("serve", help="serve an append-only log (C2SP tlog-tiles) from a directory")
    ls.add_argument("--host", default="127.0.0.1")
    ls.add_argument("--port", type=int, default=8470, help="0: a free port (the URL is printed)")
    ls.add_argument("--dir", type=Path, help="the log's directory (default: DATA/log)")
    ls.add_argument("--key", type=Path, help="the log's signer key file (default: DIR/log.skey; created if absent)")
    ls.add_argument("--origin", help="the log's origin (checkpoint first line), for a new key")
    ls.add_argument("--witness", nargs=2, action="append", default=[], metavar=("URL", "VKEY"),
                    help="a witness to ask for cosignatures (repeatable)")
    ls.add_argument("--demo-keys", action="store_true",
                    help="INSECURE: the committed demo log key, and by default the demo deployment's directory")
    lw = lsub.add_parser("witness", help="cosign checkpoints of known logs (C2SP tlog-witness)")
    lw.add_argument("--host", default="127.0.0.1")
    lw.add_argument("--port", type=int, default=8471, help="0: a free port (the URL is printed)")
    lw.add_argument("--dir", type=Path, help="the witness's state directory (default: DATA/witness)")
    lw.add_argument("--key", type=Path, help="the witness's signer key file (default: DIR/witness.skey; created if absent)")
    lw.add_argument("--name", help="the witness's key name, for a new key")
    lw.add_argument("--log", action="append", default=[], metavar="VKEY",
                    help="a log to witness, by its note key (its name is the origin; repeatable)")
    lw.add_argument("--demo-keys", action="store_true",
                    help="INSECURE: the committed demo witness key, witnessing the demo log")

    r = sub.add_parser("release", help="publish a release statement, or verify a Sigstore release bundle")
    rsub = r.add_subparsers(dest="release_command", parser_class=_Parser)
    rp = rsub.add_parser("publish", help="sign a release statement and append it to a log's directory")
    rp.add_argument("--image", required=True, help="the image digest, sha256:<64 hex>")
    rp.add_argument("--version", required=True, help="the release version (dotted numbers)")
    rp.add_argument("--measurement", action="append", required=True, metavar="HEX",
                    help="an SEV-SNP launch measurement the image produces (96 hex; repeatable)")
    rp.add_argument("--key", type=Path, help="the publisher's Ed25519 private key (PEM)")
    rp.add_argument("--dir", type=Path, help="the log's directory (default: DATA/log, as `log serve`)")
    rp.add_argument("--log-key", type=Path, help="the log's signer key file (default: DIR/log.skey)")
    rp.add_argument("--witness", nargs=2, action="append", default=[], metavar=("URL", "VKEY"),
                    help="a witness to ask for a cosignature (repeatable; as given to `log serve`)")
    rp.add_argument("--log-url", help="where the log is served; written as release.log.url")
    rp.add_argument("--output", type=Path, help="write the release object here instead of stdout")
    rp.add_argument("--demo-keys", action="store_true",
                    help="INSECURE: the demo publisher and log keys, and by default the demo deployment's log")
    rv = rsub.add_parser("verify", help="verify a Sigstore bundle (GitHub artifact attestation) offline")
    rv.add_argument("bundle", type=Path)
    rv.add_argument("--trusted-root", type=Path, help="a trusted_root.json (default: the sigstore package's production root)")
    rv.add_argument("--repository", required=True, metavar="OWNER/NAME",
                    help="the source repository the signing certificate must name (1.3.6.1.4.1.57264.1.12)")
    rv.add_argument("--workflow-ref", metavar="REGEX", help="must match the Build Config URI, or its ref after @ (1.3.6.1.4.1.57264.1.18)")
    rv.add_argument("--issuer", metavar="URL", help="the OIDC issuer (default: GitHub Actions)")
    rv.add_argument("--digest", metavar="sha256:HEX", help="a subject digest the bundle must sign")
    rv.add_argument("--artifact", type=Path, help="a file whose SHA-256 the bundle must sign")
    rv.add_argument("--offline", action="store_true", help="never fetch (the production root from the sigstore package's copy)")
    rv.add_argument("--json", action="store_true", help="print the result as one JSON object on stdout")

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
    from verifier.appraisal.policy_check import policy_provider
    from verifier.endorsements.fetch import CollateralFetcher
    from verifier.session import Session

    policy = resolve_policy(args.policy)
    if args.replay is not None:
        from verifier.replay import replay

        result = asyncio.run(replay(args.replay, policy=policy, provider=args.provider, at=args.at))
        return report(result, args.json)
    if not args.url:
        fail(Exit.USAGE, "verify needs a URL (or --replay DIR)")
    fetcher = CollateralFetcher(user_dir("cache") / "collateral", offline=args.offline)

    async def run() -> AttestationResult:
        async with Session(args.url, policy, provider=args.provider or policy_provider(policy), fetcher=fetcher,
                           state_dir=user_dir("state"), save_evidence=args.save_evidence) as session:
            return await session.attest()

    return report(asyncio.run(run()), args.json)


def cmd_ask(args: argparse.Namespace) -> Exit:
    from enclave_chat.paths import resolve_policy, user_dir
    from verifier.appraisal.policy_check import policy_provider
    from verifier.endorsements.fetch import CollateralFetcher
    from verifier.session import Session

    policy = resolve_policy(args.policy)
    fetcher = CollateralFetcher(user_dir("cache") / "collateral")
    messages: list[dict[str, Any]] = []
    if args.system:
        messages.append({"role": "system", "content": args.system})
    messages.append({"role": "user", "content": args.prompt})

    async def run() -> None:
        async with Session(args.url, policy, provider=args.provider or policy_provider(policy), fetcher=fetcher,
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
    from enclave.attacks import ATTACK_MODES, LOG_ATTACKS
    from enclave.server import serve
    from enclave.transparency.log import LogError

    if args.attack is not None and args.attack not in ATTACK_MODES:
        fail(Exit.USAGE, f"unknown attack mode {args.attack!r}; known: {', '.join(ATTACK_MODES)}")
    if args.attack in LOG_ATTACKS and args.no_log:
        fail(Exit.USAGE, f"attack mode {args.attack!r} needs the transparency log; drop --no-log")
    directory = None if args.no_log else demo_transparency_dir()
    try:
        serve(host=args.host, port=args.port, upstream=args.upstream,
              token_delay=args.token_delay, attack=args.attack, transparency=not args.no_log,
              transparency_dir=directory)
    except OSError as e:
        if e.filename:
            fail(Exit.USAGE, f"cannot use {e.filename}: {e.strerror or e}")
        fail(Exit.USAGE, f"cannot listen on {args.host}:{args.port}: {e.strerror or e}")
    except (LogError, VerifierError, RuntimeError) as e:
        fail(Exit.USAGE, f"the transparency log in {directory} cannot start ({e}); "
             "to start it afresh, remove that directory and the clients' remembered checkpoint for it")
    return Exit.VERIFIED


def demo_transparency_dir() -> Path:
    """Where the reference deployment's log and witness keep their state across restarts, so that
    a client that remembers the log's checkpoint sees it grow, never start over (a fork)."""
    from enclave_chat.paths import user_dir

    return user_dir("data", create=True) / DEMO_TRANSPARENCY


def _signer(path: Path, name: str | None, what: str, *, witness: bool) -> NoteSigner:
    """The signer key in ``path``, created (named ``name``) when absent."""
    from enclave.transparency.services import load_or_create_signer

    if not path.exists() and not name:
        fail(Exit.USAGE, f"{path} holds no {what} key yet; name the new one with "
             + ("--name NAME" if witness else "--origin NAME (the log's checkpoint origin, e.g. log.example.com/releases)"))
    try:
        return load_or_create_signer(path, name or "", witness=witness)
    except (OSError, ValueError, VerifierError) as e:
        fail(Exit.USAGE, f"cannot use the {what} key {path}: {getattr(e, 'strerror', None) or e}")


def _witnesses(pairs: Sequence[Sequence[str]]) -> list[tuple[str, str]]:
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
    from enclave_chat.paths import user_dir

    data = user_dir("data", create=True)
    if args.log_command == "serve":
        directory = args.dir or (data / DEMO_TRANSPARENCY / "log" if args.demo_keys else data / "log")
        signer = demo_log_signer() if args.demo_keys else _signer(args.key or directory / "log.skey", args.origin, "log", witness=False)
        witnesses = _witnesses(args.witness)

        def listening(url: str) -> None:
            say((INSECURE_DEMO_BANNER + "\n" if args.demo_keys else "")
                + f"log {signer.name} on {url} (directory {directory})\nlog key: {signer.verifier.vkey()}")

        try:
            run_log_server(directory, signer, host=args.host, port=args.port, witnesses=witnesses, on_listen=listening)
        except OSError as e:
            fail(Exit.USAGE, f"cannot serve the log on {args.host}:{args.port}: {e.strerror or e}")
        return Exit.VERIFIED
    if args.log_command == "witness":
        directory = args.dir or (data / DEMO_TRANSPARENCY / "witness" if args.demo_keys else data / "witness")
        signer = demo_witness_signer() if args.demo_keys else _signer(args.key or directory / "witness.skey", args.name, "witness", witness=True)
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

        def listening(url: str) -> None:
            say((INSECURE_DEMO_BANNER + "\n" if args.demo_keys else "")
                + f"witness {signer.name} on {url} for {', '.join(sorted(logs))}\nwitness key: {signer.verifier.vkey()}")

        try:
            run_witness_server(directory, signer, logs, host=args.host, port=args.port, on_listen=listening)
        except OSError as e:
            fail(Exit.USAGE, f"cannot serve the witness on {args.host}:{args.port}: {e.strerror or e}")
        return Exit.VERIFIED
    fail(Exit.USAGE, "use `log serve` or `log witness`")


def _publisher_key(path: Path) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except OSError as e:
        fail(Exit.USAGE, f"cannot read the publisher key {path}: {e.strerror or e}")
    except (ValueError, TypeError) as e:
        fail(Exit.USAGE, f"{path} is not an unencrypted PEM private key: {e}")
    if not isinstance(key, Ed25519PrivateKey):
        fail(Exit.USAGE, f"{path} is not an Ed25519 key (make one with `openssl genpkey -algorithm ed25519`)")
    return key


def cmd_release(args: argparse.Namespace) -> Exit:
    """``release publish``: sign a statement, append it to a log; ``release verify``: a Sigstore bundle."""
    if args.release_command == "verify":
        from verifier.reference.sigstore_bundle import GITHUB_ISSUER, verify_release_files

        result = verify_release_files(args.bundle, repository=args.repository,
                                      trusted_root_path=args.trusted_root, artifact_path=args.artifact,
                                      digest=args.digest, workflow_ref=args.workflow_ref,
                                      issuer=args.issuer or GITHUB_ISSUER, offline=args.offline)
        return report(result, args.json)
    if args.release_command != "publish":
        fail(Exit.USAGE, "use `release publish ...` or `release verify BUNDLE ...`")
    from enclave import demo_roots
    from enclave.transparency.keys import demo_log_signer, load_signer
    from enclave.transparency.log import LogError
    from enclave.transparency.publish import publish_release
    from enclave.transparency.services import open_log
    from enclave_chat.paths import user_dir
    from verifier.reference.checkpoint import read_checkpoint
    from verifier.reference.dsse import format_ed25519_public
    from verifier.reference.note import parse_vkey
    from verifier.reference.release import ReleaseStatement, parse_statement

    if args.key is None and not args.demo_keys:
        fail(Exit.USAGE, "name the publisher's Ed25519 private key with --key FILE (or --demo-keys)")
    publisher = _publisher_key(args.key) if args.key is not None else demo_roots.publisher_key()
    data = user_dir("data")
    directory = args.dir or (data / DEMO_TRANSPARENCY / "log" if args.demo_keys else data / "log")
    if not (directory / "checkpoint").is_file():
        fail(Exit.USAGE, f"{directory} is not a log's directory (start one with `enclave-chat log serve --dir {directory}`)")
    if args.log_key is None and args.demo_keys:
        log_signer = demo_log_signer()
    else:
        key_path = args.log_key or directory / "log.skey"
        try:
            log_signer = load_signer(key_path)
        except OSError as e:
            fail(Exit.USAGE, f"cannot read the log key {key_path}: {e.strerror or e}")
    try:
        statement = parse_statement(ReleaseStatement(args.image, args.version,
                                                     {"sev-snp": tuple(m.lower() for m in args.measurement)}).encode())
    except VerifierError as e:
        fail(Exit.USAGE, f"not a release statement: {e}")
    witnesses = _witnesses(args.witness)
    import httpx

    with httpx.Client() as http:
        log = open_log(directory, log_signer, witnesses=witnesses, http=http)
        try:
            before = log.size
            release = publish_release(statement, publisher_key=publisher, log=log)
            appended = log.size > before
        except (LogError, OSError) as e:
            fail(Exit.USAGE, f"cannot append to the log in {directory}: {e}")
    if args.log_url:
        release["log"]["url"] = args.log_url
    signatures = read_checkpoint(release["log"]["checkpoint"])[1].signatures
    for _, vkey in witnesses:
        witness = parse_vkey(vkey)
        if not any(witness.matches(sig) for sig in signatures):
            say(_color("33", "warning: ") + f"witness {witness.name} has not cosigned the checkpoint")
    text = json.dumps(release, indent=2) + "\n"
    if args.output is not None:
        try:
            args.output.write_text(text)
        except OSError as e:
            fail(Exit.USAGE, f"cannot write {args.output}: {e.strerror or e}")
    else:
        sys.stdout.write(text)
    say(f"release {statement.version} of {statement.image} is leaf {release['log']['index']} of "
        f"{log_signer.name}{'' if appended else ' (it was already there)'}, "
        f"publisher key {format_ed25519_public(publisher.public_key())}")
    return Exit.VERIFIED


def cmd_chat(args: argparse.Namespace) -> Exit:
    from enclave_chat.tui_entry import run_chat

    return Exit(run_chat(url=args.url, policy=args.policy, provider=args.provider,
                         no_history=args.no_history))


def cmd_demo(args: argparse.Namespace) -> Exit:
    from enclave_chat.tui_entry import run_demo

    return Exit(run_demo(no_history=args.no_history))


COMMANDS: dict[str, Callable[[argparse.Namespace], Exit]] = {
    "verify": cmd_verify, "ask": cmd_ask, "evidence": cmd_evidence, "locate": cmd_locate,
    "serve": cmd_serve, "chat": cmd_chat, "demo": cmd_demo, "log": cmd_log, "release": cmd_release,
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
