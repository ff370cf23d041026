"""The ``enclave-chat`` command line (docs/cli.md is its contract): the parser, the table of
commands, and :func:`main`.

The commands are in :mod:`enclave_chat.commands` (each module loaded when its command runs), the
exit codes and Ctrl-C in :mod:`enclave_chat.process`, what is printed in :mod:`enclave_chat.output`,
the argument types in :mod:`enclave_chat.arguments`. Errors are one line on stderr, never a
traceback; the machine result (``--json``) goes to stdout, the human verdict to stderr.
"""

from __future__ import annotations

import argparse
import importlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from enclave_chat import arguments
from enclave_chat.output import OwnWarnings, error_line, fail, say
from enclave_chat.process import Exit, check_interrupt, scope
from verifier.errors import (
    InputError,
    NotVerified,
    PolicyError,
    ServiceUnreachable,
    TruncatedResponse,
    VerifierError,
)

__all__ = ["COMMANDS", "Exit", "build_parser", "main"]

SIMULATED_PLATFORMS = ("sev-snp", "azure-snp-vtpm", "tdx", "azure-tdx-vtpm")
"""``serve --platform`` / ``demo --platform``: ``enclave.PLATFORMS``, spelt here so that building
the parser imports no ``enclave`` (a test ties the two)."""


SERVE_PROFILES = ("native", "nearai")
"""``serve --provider``: ``enclave.app.PROFILES``, spelt here for the same reason (a test ties them)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, as every error (docs/cli.md); the usage is one --help away.
        fail(Exit.USAGE, f"{message} (see `{self.prog} --help`)")


class _Version(argparse.Action):
    """``--version``: the installed distribution's version (read only when asked)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> NoReturn:
        from importlib.metadata import PackageNotFoundError, version

        try:
            shown = version("enclave-chat")
        except PackageNotFoundError:  # run from a checkout that was never installed
            shown = "(not installed)"
        print(f"enclave-chat {shown}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    from enclave_chat.completion import SHELLS, complete_policy
    from enclave_chat.paths import builtin_policy_names
    from verifier.providers.registry import DEFAULT, provider_names
    from verifier.saved_evidence import file_kinds

    p = _Parser(prog="enclave-chat", description="Verify confidential AI services, then chat with them end to end.")
    p.add_argument("--version", action=_Version)
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    policies = ", ".join(builtin_policy_names())

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--policy", help=f"policy file, or a built-in name: {policies} (default: default)"
                        ).completer = complete_policy  # type: ignore[attr-defined]
        sp.add_argument("--provider", choices=provider_names(),
                        help=f"wire profile (default: the policy's [service] provider, else {DEFAULT})")
        sp.add_argument("--http-proxy", metavar="URL",
                        help="connect to the service through this proxy (never through HTTP_PROXY, HTTPS_PROXY or "
                             "ALL_PROXY; a proxied connection is not a loopback one)")

    def on_change(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--on-change", choices=["refuse", "accept"], default="refuse",
                        help="when the service's release (measurement, version, image, publisher) differs from the one "
                             "last accepted for it (the state directory's record): refuse and send nothing (default), or "
                             "accept it and record it")

    c = sub.add_parser("chat", help="open the chat TUI on a service")
    c.add_argument("url", nargs="?")
    common(c)
    c.add_argument("--no-history", action="store_true", help="keep nothing on disk")

    d = sub.add_parser("demo", help="start the reference enclave on loopback and chat with it (INSECURE DEMO)",
                       description="Start the bundled reference enclave, its transparency log and its witness on "
                                   "free loopback ports and open the chat on it with the demo policy. INSECURE DEMO: "
                                   "its TEE is simulated and its roots' private keys are public; it proves nothing.")
    d.add_argument("--no-history", action="store_true", help="keep nothing on disk")
    d.add_argument("--platform", choices=SIMULATED_PLATFORMS, default="sev-snp",
                   help="the simulated CPU platform: bare SEV-SNP or TDX, or an Azure SEV-SNP or TDX CVM (HCL report, vTPM quote)")

    s = sub.add_parser("serve", help="run the reference enclave (INSECURE DEMO: simulated TEE)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=arguments.port, default=8700)
    s.add_argument("--upstream", help="OpenAI-compatible base URL (…/v1) to forward prompts to")
    s.add_argument("--token-delay", type=arguments.seconds, default=0.02, help="seconds between demo-model tokens")
    s.add_argument("--attack", metavar="MODE",
                   help="misbehave on purpose, for tests (docs/protocol.md lists the modes)")
    s.add_argument("--no-log", action="store_true",
                   help="start no transparency log and witness beside the enclave (the bundle then carries no log proof)")
    s.add_argument("--platform", choices=SIMULATED_PLATFORMS, default=None,
                   help="the simulated CPU platform: bare SEV-SNP or TDX, or an Azure SEV-SNP or TDX CVM (HCL report, vTPM "
                        "quote); default sev-snp, tdx with --provider nearai")
    s.add_argument("--tinfoil-layout", choices=("current", "june"), default="current",
                   help="the Tinfoil-compatible attestation document: Tinfoil's current v3 envelope, or the June 2026 v3 layout")
    s.add_argument("--provider", choices=SERVE_PROFILES, default="native",
                   help="the second wire profile beside the native one: native (with Tinfoil's routes) or nearai (NEAR AI's "
                        "report and plaintext /v1 on a simulated dstack TD with 8 simulated GPUs; INSECURE DEMO)")

    lg = sub.add_parser("log", help="run a transparency log or a witness (docs/transparency.md)")
    lsub = lg.add_subparsers(dest="log_command", parser_class=_Parser)
    ls = lsub.add_parser("serve", help="serve an append-only log (C2SP tlog-tiles) from a directory")
    ls.add_argument("--host", default="127.0.0.1")
    ls.add_argument("--port", type=arguments.port, default=8470, help="0: a free port (the URL is printed)")
    ls.add_argument("--dir", type=Path, help="the log's directory (default: DATA/log)")
    ls.add_argument("--key", type=Path, help="the log's signer key file (default: DIR/log.skey; created if absent)")
    ls.add_argument("--origin", help="the log's origin (checkpoint first line), for a new key")
    ls.add_argument("--witness", nargs=2, action="append", default=[], metavar=("URL", "VKEY"),
                    help="a witness to ask for cosignatures (repeatable)")
    ls.add_argument("--demo-keys", action="store_true",
                    help="INSECURE: the committed demo log key, and by default the demo deployment's directory")
    lw = lsub.add_parser("witness", help="cosign checkpoints of known logs (C2SP tlog-witness)")
    lw.add_argument("--host", default="127.0.0.1")
    lw.add_argument("--port", type=arguments.port, default=8471, help="0: a free port (the URL is printed)")
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
    v.add_argument("--at", type=arguments.iso_time, help="verification time for --replay (ISO-8601)")

    a = sub.add_parser("ask", help="verify, then send one prompt and stream the reply to stdout")
    a.add_argument("url")
    a.add_argument("prompt")
    common(a)
    a.add_argument("--model")
    a.add_argument("--system", help="a system prompt")
    on_change(a)

    e = sub.add_parser("evidence", help="verify or decode saved evidence offline")
    esub = e.add_subparsers(dest="evidence_command", parser_class=_Parser)
    ev = esub.add_parser("verify")
    ev.add_argument("kind", choices=file_kinds())
    ev.add_argument("files", nargs="+", type=Path)
    ev.add_argument("--cert", action="append", type=Path, default=[])
    ev.add_argument("--crl", action="append", type=Path, default=[])
    ev.add_argument("--collateral", type=Path)
    ev.add_argument("--rim", action="append", type=Path, default=[])
    ev.add_argument("--ocsp", action="append", type=Path, default=[])
    ev.add_argument("--maa-token", type=Path, help="an MAA token beside Azure CVM evidence (informative)")
    g = ev.add_mutually_exclusive_group()
    g.add_argument("--nonce", type=arguments.hex_bytes)
    g.add_argument("--report-data", type=arguments.hex_bytes)
    ev.add_argument("--policy", help=f"policy file, or a built-in name: {policies} (default: default)"
                    ).completer = complete_policy  # type: ignore[attr-defined]
    ev.add_argument("--at", type=arguments.iso_time)
    ev.add_argument("--offline", action="store_true")
    ev.add_argument("--json", action="store_true")
    ei = esub.add_parser("inspect")
    ei.add_argument("file", type=Path)
    ei.add_argument("--json", action="store_true")

    px = sub.add_parser("proxy", help="serve an OpenAI-compatible endpoint on loopback that carries every request over the verified channel")
    px.add_argument("url")
    common(px)
    px.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1; another needs --token-file)")
    px.add_argument("--port", type=arguments.port, default=8787, help="port to listen on (default: 8787; 0: a free one)")
    px.add_argument("--token-file", type=Path, help="a file holding the token clients must send as Authorization: Bearer")
    px.add_argument("--api-key-file", type=Path,
                    help="a file holding the service's API key, sent only inside the verified channel (else ENCLAVE_CHAT_API_KEY)")
    on_change(px)

    sv = sub.add_parser("services", help="list the services enclave-chat knows, and the provider and policy each gets "
                                         "when no --provider or --policy is given")
    sv.add_argument("--json", action="store_true", help="print them as one JSON object on stdout")

    loc = sub.add_parser("locate", help="print where enclave-chat keeps its files")
    loc.add_argument("what", choices=["config", "data", "cache", "state"])

    hi = sub.add_parser("history", help="the saved conversations, what each message was sent to, and that proof checked again")
    hsub = hi.add_subparsers(dest="history_command", parser_class=_Parser)
    hl = hsub.add_parser("list", help="list the saved conversations, newest first")
    hl.add_argument("--json", action="store_true", help="print them as one JSON object on stdout")
    hs = hsub.add_parser("show", help="print a conversation, each message with the release it went to")
    hs.add_argument("id", help="a conversation id (or its first characters, at least 4)")
    he = hsub.add_parser("export", help="print a conversation as Markdown or JSON, with its attestations")
    he.add_argument("id", help="a conversation id (or its first characters, at least 4)")
    he.add_argument("--format", choices=["md", "json"], default="md")
    he.add_argument("--with-evidence", action="store_true",
                    help="with --format json: each attestation's kept recording, its files in base64")
    hv = hsub.add_parser("verify", help="re-verify every attestation of a conversation offline, at the time each was made")
    hv.add_argument("id", help="a conversation id (or its first characters, at least 4)")
    hv.add_argument("--policy", help="judge every attestation by this policy instead of the one each was judged by"
                    ).completer = complete_policy  # type: ignore[attr-defined]
    hv.add_argument("--json", action="store_true", help="print the combined result as one JSON object on stdout")

    co = sub.add_parser("completion", help="print the shell completion script for bash, zsh or fish (docs/cli.md)")
    co.add_argument("shell", choices=SHELLS)

    from enclave_chat.conformance.contract import STAGES
    cf = sub.add_parser("conformance", help="speak a provider's conformance-suite contract (docs/cli.md: its own exit codes)")
    cf.add_argument("suite", choices=["tinfoil"])
    cf.add_argument("subcommand", choices=["capabilities", *STAGES], help="capabilities (no stdin) or a stage (JSON on stdin)")
    return p


Command = Callable[[argparse.Namespace], Exit]


def _lazy(target: str) -> Command:
    """The command ``"module:function"`` names, its module imported only when it runs."""
    module_name, _, name = target.partition(":")

    def command(args: argparse.Namespace) -> Exit:
        handler: Command = getattr(importlib.import_module(module_name), name)
        return handler(args)

    command.__name__ = command.__qualname__ = name
    return command


COMMANDS: dict[str, Command] = {
    name: _lazy(f"enclave_chat.commands.{module}:{function}")
    for name, module, function in (
        ("verify", "verify", "cmd_verify"), ("ask", "ask", "cmd_ask"), ("evidence", "evidence", "cmd_evidence"),
        ("locate", "locate", "cmd_locate"), ("serve", "serve", "cmd_serve"), ("chat", "chat", "cmd_chat"),
        ("demo", "chat", "cmd_demo"), ("log", "log", "cmd_log"), ("release", "release", "cmd_release"),
        ("proxy", "proxy", "cmd_proxy"), ("conformance", "conformance", "cmd_conformance"),
        ("completion", "completion", "cmd_completion"), ("services", "services", "cmd_services"),
        ("history", "history", "cmd_history"),
    )
}
"""Each command's handler, by its name on the command line."""


def main(argv: Sequence[str] | None = None) -> int:
    with scope(OwnWarnings):
        try:
            code = _main(argv)
            check_interrupt()
            return code
        except KeyboardInterrupt:
            say("interrupted")
            return int(Exit.INTERRUPTED)


def _main(argv: Sequence[str] | None) -> int:
    try:
        parser = build_parser()
        if argv is None and "_ARGCOMPLETE" in os.environ:
            from enclave_chat.completion import complete

            complete(parser)  # the shell asks for completions (the script `completion SHELL` prints)
        args = parser.parse_args(argv)
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
    error_line(prefix, message)
    return int(code)


if __name__ == "__main__":
    raise SystemExit(main())
