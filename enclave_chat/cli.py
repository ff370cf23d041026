"""The ``enclave-chat`` command line (docs/cli.md is its contract).

Exit codes: 0 verified; 1 not verified (evidence refused or unparseable); 2 usage, or a file that
cannot be read or decoded; 3 a service could not be reached; 130 interrupted. Errors are one line on
stderr, never a traceback; the machine result (``--json``) goes to stdout, the human verdict to
stderr. ``NO_COLOR`` is honoured.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import enum
import json
import logging
import math
import os
import re
import signal
import stat
import sys
import threading
import urllib.parse
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from verifier.errors import (
    InputError,
    NotVerified,
    PolicyError,
    ServiceUnreachable,
    TruncatedResponse,
    VerifierError,
)
from verifier.result import AttestationResult, iso, parse_time

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from verifier.appraisal.policy import Policy
    from verifier.reference.note import NoteSigner

T = TypeVar("T")

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


_WHITE = re.compile(r"\s+")


def one_line(text: str) -> str:
    """``text`` as one printable line: runs of white space (newlines too) become one space, and other
    control characters are escaped, so that no message (whatever evidence or a server put in it)
    spans lines or drives the terminal."""
    text = _WHITE.sub(" ", text).strip()
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def fail(code: Exit, message: str) -> NoReturn:
    say(_color("31", "error: ") + one_line(message))
    raise SystemExit(int(code))


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, as every error (docs/cli.md); the usage is one --help away.
        fail(Exit.USAGE, f"{message} (see `{self.prog} --help`)")


def _time(text: str) -> dt.datetime:
    try:
        return parse_time(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO-8601 time") from None


def _hex(text: str) -> bytes:
    try:
        value = bytes.fromhex(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not hex") from None
    if not value:
        raise argparse.ArgumentTypeError("is empty: give at least one byte of hex")
    return value


def _port(text: str) -> int:
    try:
        port = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0 to 65535)")
    return port


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds (finite, at least 0)")
    return value


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
    s.add_argument("--port", type=_port, default=8700)
    s.add_argument("--upstream", help="OpenAI-compatible base URL (…/v1) to forward prompts to")
    s.add_argument("--token-delay", type=_seconds, default=0.02, help="seconds between demo-model tokens")
    s.add_argument("--attack", metavar="MODE",
                   help="misbehave on purpose, for tests (docs/protocol.md lists the modes)")
    s.add_argument("--no-log", action="store_true",
                   help="start no transparency log and witness beside the enclave (the bundle then carries no log proof)")

    lg = sub.add_parser("log", help="run a transparency log or a witness (docs/transparency.md)")
    lsub = lg.add_subparsers(dest="log_command", parser_class=_Parser)
    ls = lsub.add_parser("serve", help="serve an append-only log (C2SP tlog-tiles) from a directory")
    ls.add_argument("--host", default="127.0.0.1")
    ls.add_argument("--port", type=_port, default=8470, help="0: a free port (the URL is printed)")
    ls.add_argument("--dir", type=Path, help="the log's directory (default: DATA/log)")
    ls.add_argument("--key", type=Path, help="the log's signer key file (default: DIR/log.skey; created if absent)")
    ls.add_argument("--origin", help="the log's origin (checkpoint first line), for a new key")
    ls.add_argument("--witness", nargs=2, action="append", default=[], metavar=("URL", "VKEY"),
                    help="a witness to ask for cosignatures (repeatable)")
    ls.add_argument("--demo-keys", action="store_true",
                    help="INSECURE: the committed demo log key, and by default the demo deployment's directory")
    lw = lsub.add_parser("witness", help="cosign checkpoints of known logs (C2SP tlog-witness)")
    lw.add_argument("--host", default="127.0.0.1")
    lw.add_argument("--port", type=_port, default=8471, help="0: a free port (the URL is printed)")
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

def jsonable(value: Any) -> Any:
    """``value`` as plain JSON: bytes as lowercase hex, times as ISO-8601, enums by value,
    dataclasses and mappings as objects, sets sorted, and NaN or infinity (which JSON has no
    word for) as null. Whatever a claim holds, ``--json`` prints strict JSON."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, dt.datetime):
        return iso(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        items = [jsonable(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=repr)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return str(value)


def print_json(doc: Mapping[str, Any]) -> None:
    """Exactly one strict JSON object on stdout (``--json``)."""
    sys.stdout.write(json.dumps(jsonable(doc), indent=2, allow_nan=False) + "\n")
    sys.stdout.flush()


def report(result: AttestationResult, as_json: bool) -> Exit:
    check_interrupt()
    if as_json:
        print_json(result.to_json())
    verdict = result.verdict()
    say(_color("32" if result.verified else "31", one_line(verdict)))
    if result.verified:
        return Exit.VERIFIED
    return Exit.NOT_VERIFIED


# -- arguments that need more than a type ----------------------------------------------------------

_CREDENTIALS = re.compile(r"(//)[^/@?#]*@")


def service_url(url: str) -> str:
    """Refuse (exit 2) a service URL that cannot be used at all: empty, with white space or control
    characters, unparseable (a broken IPv6 literal, a port that is not a number from 0 to 65535),
    with credentials (they would go to a service not yet verified), or with a query or fragment
    (the URL is a base that paths are appended to). Whether the *policy* accepts it (an http(s)
    scheme, a host, loopback for the demo policy) is the ``service.url`` check's (exit 1)."""
    import httpx

    if not url:
        fail(Exit.USAGE, "the service URL is empty")
    shown = _redact(url)
    if any(c.isspace() or not c.isprintable() for c in url):
        fail(Exit.USAGE, f"the service URL {shown!r} contains white space or control characters")
    try:
        parts = urllib.parse.urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is not a number from 0 to 65535
        if parts.scheme.lower() in ("http", "https"):
            httpx.URL(url)
    except (ValueError, httpx.InvalidURL) as e:
        fail(Exit.USAGE, f"the service URL {shown!r} is malformed ({_redact(str(e))})")
    if parts.username is not None or parts.password is not None:
        fail(Exit.USAGE, f"the service URL {shown!r} carries credentials (user:password@); they would be "
             "sent to a service not yet verified: remove them")
    if parts.query or parts.fragment:
        fail(Exit.USAGE, f"the service URL {shown!r} has a query or a fragment; give the service's base URL")
    return url


def _redact(text: str) -> str:
    return _CREDENTIALS.sub(r"\1***@", text)


def load_policy_arg(name_or_path: str | None) -> Policy:
    """``--policy``: a built-in name or a file. A file is read bounded (a FIFO, a device or a huge
    file must neither hang nor fill memory); an empty argument is a usage error, not the default."""
    from enclave_chat.paths import resolve_policy
    from verifier.appraisal.policy import MAX_POLICY_BYTES, parse_policy
    from verifier.appraisal.policy_check import check_policy
    from verifier.files import read_file

    if name_or_path is None:
        return resolve_policy(None)
    if not name_or_path.strip():
        fail(Exit.USAGE, "--policy is empty: give a policy file or a built-in name (default, demo, strict, tinfoil)")
    path = Path(name_or_path)
    if not path.exists():
        return resolve_policy(name_or_path)  # a built-in name, or a missing file (PolicyError)
    try:
        data = read_file(path, MAX_POLICY_BYTES, "policy")
    except InputError as e:
        raise PolicyError(str(e)) from None
    return check_policy(parse_policy(data, str(path)))


KEY_FILE_LIMIT = 64 * 1024


def key_file(path: Path, what: str) -> Path:
    """A key file that exists must be a regular file of a sane size (a FIFO or a device would hang
    or never end); one that does not exist is left to the caller (some create it)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return path
    except OSError as e:
        fail(Exit.USAGE, f"cannot use the {what} key {path}: {e.strerror or e}")
    if stat.S_ISDIR(st.st_mode):
        fail(Exit.USAGE, f"cannot use the {what} key {path}: it is a directory, not a file")
    if not stat.S_ISREG(st.st_mode):
        fail(Exit.USAGE, f"cannot use the {what} key {path}: not a regular file")
    if st.st_size > KEY_FILE_LIMIT:
        fail(Exit.USAGE, f"cannot use the {what} key {path}: {st.st_size} bytes is too large for a key file")
    return path


# -- commands --------------------------------------------------------------------------------------

def cmd_verify(args: argparse.Namespace) -> Exit:
    from enclave_chat.paths import user_dir
    from verifier.appraisal.policy_check import policy_provider
    from verifier.endorsements.fetch import CollateralFetcher
    from verifier.session import Session

    if args.replay is not None:
        if args.url is not None:
            fail(Exit.USAGE, "give a URL or --replay DIR, not both")
        if args.save_evidence is not None:
            fail(Exit.USAGE, "--save-evidence records a live verification; a replay has nothing new to record")
    else:
        if not args.url:
            fail(Exit.USAGE, "verify needs a URL (or --replay DIR)")
        if args.at is not None:
            fail(Exit.USAGE, "--at applies to --replay only: a live verification happens now")
        service_url(args.url)
    policy = load_policy_arg(args.policy)
    if args.replay is not None:
        from verifier.replay import replay

        try:
            result = run_async(replay(args.replay, policy=policy, provider=args.provider, at=args.at))
        except ServiceUnreachable as e:
            # A replay reaches nothing: an exchange it needs is missing from the recording.
            raise InputError(f"{args.replay} is not a complete recording: {e}") from None
        return report(result, args.json)
    if args.save_evidence is not None:
        try:
            args.save_evidence.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as e:
            fail(Exit.USAGE, f"cannot save evidence in {args.save_evidence}: {e.strerror or e}")
    fetcher = CollateralFetcher(user_dir("cache") / "collateral", offline=args.offline)

    async def run() -> AttestationResult:
        # --offline: no collateral fetch, and no transparency-log fetch either (the log's fresh
        # checkpoint is then a skip); only the service itself is asked.
        async with Session(args.url, policy, provider=args.provider or policy_provider(policy), fetcher=fetcher,
                           fetch_logs=not args.offline, state_dir=user_dir("state"),
                           save_evidence=args.save_evidence) as session:
            return await session.attest()

    return report(run_async(run()), args.json)


def cmd_ask(args: argparse.Namespace) -> Exit:
    from enclave_chat.paths import user_dir
    from verifier.appraisal.policy_check import policy_provider
    from verifier.endorsements.fetch import CollateralFetcher
    from verifier.session import Session

    service_url(args.url)
    policy = load_policy_arg(args.policy)
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

    run_async(run())
    return Exit.VERIFIED


def cmd_evidence(args: argparse.Namespace) -> Exit:
    if args.evidence_command == "inspect":
        from verifier.evidence.inspect import inspect_file

        doc = inspect_file(args.file)
        if args.json:
            print_json(doc)
        else:
            for key, value in doc.items():
                print(f"{key}: {value}")
        return Exit.VERIFIED
    if args.evidence_command != "verify":
        fail(Exit.USAGE, "use `evidence verify KIND FILE...` or `evidence inspect FILE`")
    from enclave_chat.paths import user_dir
    from verifier.appraisal.offline import OfflineOptions, appraiser, refuse_unused
    from verifier.endorsements.fetch import CollateralFetcher

    appraise = appraiser(args.kind)
    opts = OfflineOptions(
        files=tuple(args.files), policy=load_policy_arg(args.policy),
        at=args.at or dt.datetime.now(dt.UTC),
        fetcher=CollateralFetcher(user_dir("cache") / "collateral", offline=args.offline),
        certs=tuple(args.cert), crls=tuple(args.crl), collateral=args.collateral,
        rims=tuple(args.rim), ocsp=tuple(args.ocsp), nonce=args.nonce, report_data=args.report_data,
    )
    refuse_unused(args.kind, opts)
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

    key_file(path, what)
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

    from verifier.files import read_file

    try:
        key = load_pem_private_key(read_file(path, KEY_FILE_LIMIT, "the publisher key"), password=None)
    except InputError as e:
        fail(Exit.USAGE, str(e))
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
        key_file(key_path, "log")
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
    text = json.dumps(jsonable(release), indent=2, allow_nan=False) + "\n"
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

    if args.url is not None:
        service_url(args.url)
    if args.policy is not None:
        load_policy_arg(args.policy)  # a broken policy is a one-line usage error, not a TUI screen
    with default_sigint():
        return Exit(run_chat(url=args.url, policy=args.policy, provider=args.provider,
                             no_history=args.no_history))


def cmd_demo(args: argparse.Namespace) -> Exit:
    from enclave_chat.tui_entry import run_demo

    with default_sigint():
        return Exit(run_demo(no_history=args.no_history))


COMMANDS: dict[str, Callable[[argparse.Namespace], Exit]] = {
    "verify": cmd_verify, "ask": cmd_ask, "evidence": cmd_evidence, "locate": cmd_locate,
    "serve": cmd_serve, "chat": cmd_chat, "demo": cmd_demo, "log": cmd_log, "release": cmd_release,
}


class Interrupted(KeyboardInterrupt):
    """What Ctrl-C raises while :func:`main` runs. A subclass on purpose: CPython remembers a plain
    :class:`KeyboardInterrupt` that passes through ``eval``'d code (``collections.namedtuple``, run
    by many imports) and, even when it is caught, ends the process by SIGINT instead of with the
    exit code 130 that the contract promises."""


_INTERRUPT = threading.Event()
"""Set at Ctrl-C. Raising is not enough: Python ignores an exception raised in a finaliser or a
weakref callback (importlib runs some), so the command checks this too before it goes on."""


def _on_sigint(signum: int, frame: object) -> None:
    _INTERRUPT.set()
    raise Interrupted


def check_interrupt() -> None:
    """Raise :class:`Interrupted` if Ctrl-C came, even if its exception was swallowed."""
    if _INTERRUPT.is_set():
        raise Interrupted


@contextmanager
def default_sigint() -> Iterator[None]:
    """Python's own Ctrl-C handling, for the TUI (Textual runs its own event loop)."""
    ours = (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is _on_sigint)
    if ours:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        if ours:
            signal.signal(signal.SIGINT, _on_sigint)


INTERRUPT_GRACE = 3.0
"""Seconds a command has to wind down after Ctrl-C before it is ended outright."""


def _end_interrupted() -> NoReturn:
    """The last resort after Ctrl-C: the one line, then exit 130 at once."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    say("interrupted")
    os._exit(int(Exit.INTERRUPTED))


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """:func:`asyncio.run`, with Ctrl-C handled by the event loop itself.

    ``loop.add_signal_handler`` makes the signal wake the loop through its self-pipe, whichever
    thread the kernel delivers it to (a plain handler runs only when the main thread next executes
    Python, which a ``select`` waiting on a silent server may never do). The first Ctrl-C cancels
    the command, which ends as :class:`Interrupted`; if it has not ended within
    :data:`INTERRUPT_GRACE` seconds, or at a second Ctrl-C, the process exits 130 outright.
    """
    import asyncio

    async def guarded() -> T:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        interrupts: list[float] = []

        def on_sigint() -> None:
            _INTERRUPT.set()
            if interrupts:
                _end_interrupted()
            interrupts.append(loop.time())
            if task is not None:
                task.cancel()
            loop.call_later(INTERRUPT_GRACE, _end_interrupted)

        try:
            loop.add_signal_handler(signal.SIGINT, on_sigint)
            handled = True
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or Windows
            handled = False
        try:
            if _INTERRUPT.is_set():
                coro.close()  # never started: no "never awaited" warning
                raise Interrupted
            return await coro
        except asyncio.CancelledError:
            if interrupts:
                raise Interrupted from None
            raise
        finally:
            if handled:
                loop.remove_signal_handler(signal.SIGINT)
                if threading.current_thread() is threading.main_thread():
                    signal.signal(signal.SIGINT, _on_sigint)

    main_coro = guarded()
    try:
        return asyncio.run(main_coro)
    finally:
        # A Ctrl-C inside asyncio.run before either coroutine started must not leave a
        # "never awaited" warning behind (close() is a no-op on a finished coroutine).
        main_coro.close()
        coro.close()


OWN_PACKAGES = frozenset({"verifier", "enclave", "enclave_chat", "tui"})


class _OwnWarnings(logging.Handler):
    """Warnings of this program's own modules, one line each on stderr. Other libraries' logging
    (sigstore's TUF notices, say) stays off the terminal: stderr carries the verdict and errors."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in OWN_PACKAGES:
            say(_color("33", "warning: ") + one_line(record.getMessage()))


@contextmanager
def _process() -> Iterator[None]:
    """Ctrl-C as :class:`Interrupted`, and logging as :class:`_OwnWarnings`, for one run of
    :func:`main`; both are put back afterwards (tests call :func:`main` in-process)."""
    _INTERRUPT.clear()
    root = logging.getLogger()
    handler = _OwnWarnings() if not root.handlers else None
    if handler is not None:
        root.addHandler(handler)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, _on_sigint)
    unraisable = sys.unraisablehook

    def quiet_when_interrupted(info: Any) -> None:
        # Ctrl-C that lands in a finaliser or a weakref callback is "ignored" by Python with a
        # traceback on stderr (and so is what it breaks there); _INTERRUPT has it already.
        if _INTERRUPT.is_set() or isinstance(info.exc_value, KeyboardInterrupt):
            return
        unraisable(info)

    sys.unraisablehook = quiet_when_interrupted
    try:
        yield
    finally:
        if not _INTERRUPT.is_set():  # else the process is ending: keep finalisers quiet to the end
            sys.unraisablehook = unraisable
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        if handler is not None:
            root.removeHandler(handler)


def main(argv: Sequence[str] | None = None) -> int:
    with _process():
        try:
            code = _main(argv)
            check_interrupt()
            return code
        except KeyboardInterrupt:
            say("interrupted")
            return int(Exit.INTERRUPTED)


def _main(argv: Sequence[str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)
        command = args.command or "chat"
        if command == "chat" and not hasattr(args, "url"):
            args = build_parser().parse_args(["chat"])
        return int(COMMANDS[command](args))
    except NotVerified as e:
        return _error("refused: ", str(e), Exit.NOT_VERIFIED)
    except ServiceUnreachable as e:
        return _error("unreachable: ", str(e), Exit.UNREACHABLE)
    except (InputError, PolicyError) as e:
        return _error("error: ", str(e), Exit.USAGE)
    except TruncatedResponse as e:
        return _error("incomplete: ", str(e), Exit.NOT_VERIFIED)
    except VerifierError as e:
        return _error("error: ", str(e), Exit.NOT_VERIFIED)
    except OSError as e:
        # A file or directory the command had to use (a recording, an output file, a socket).
        where = f" {e.filename}" if e.filename else ""
        return _error("error: ", f"cannot use{where}: {e.strerror or e}", Exit.USAGE)
    except Exception as e:  # the contract: one line, never a traceback
        return _error("error: ", f"internal error ({type(e).__name__}: {e}); "
                      "this is a bug in enclave-chat, please report it", Exit.NOT_VERIFIED)


def _error(prefix: str, message: str, code: Exit) -> int:
    check_interrupt()  # an error caused by Ctrl-C is reported as the interruption it is
    say(_color("31", prefix) + one_line(message))
    return int(code)
