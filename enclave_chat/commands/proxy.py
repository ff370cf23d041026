"""``enclave-chat proxy URL``: a local OpenAI-compatible endpoint on the verified channel
(docs/proxy.md). Attests once before it listens (a refusal ends it, exit 1; an unreachable service,
exit 3), prints its base URL and the verdict on stderr, then serves until interrupted; every
request goes through the one session, which attests again when the result lapses or the key
rotates, and sends nothing before a passing result."""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

from enclave_chat.arguments import key_file, proxy_url, service_url
from enclave_chat.output import color, fail, say
from enclave_chat.process import Exit
from verifier.errors import NotVerified

API_KEY_ENV = "ENCLAVE_CHAT_API_KEY"
"""The environment variable that holds the service's API key (``--api-key-file`` wins)."""


def _secret(path: Path, what: str) -> str:
    key_file(path, what)
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        fail(Exit.USAGE, f"cannot use the {what} file {path}: it does not exist")
    except (OSError, UnicodeDecodeError) as e:
        fail(Exit.USAGE, f"cannot use the {what} file {path}: {getattr(e, 'strerror', None) or e}")
    if not text or any(c.isspace() or not c.isprintable() for c in text):
        fail(Exit.USAGE, f"the {what} file {path} must hold one token (no white space or control characters)")
    return text


def cmd_proxy(args: argparse.Namespace) -> Exit:
    from enclave_chat.commands.ask import refuse_release_change
    from enclave_chat.paths import release_store, user_dir
    from enclave_chat.proxy.app import ProxyApp, allowed_hosts
    from enclave_chat.proxy.server import base_url, is_loopback, listening_socket, serve
    from enclave_chat.services import resolve
    from verifier.endorsements.fetch import CollateralFetcher
    from verifier.policy_check import policy_provider
    from verifier.session import Session

    service_url(args.url)
    http_proxy = getattr(args, "http_proxy", None)
    if http_proxy is not None:
        proxy_url(http_proxy)
    if not is_loopback(args.host) and args.token_file is None:
        fail(Exit.USAGE, f"--host {args.host} is not a loopback address: give --token-file too, so that "
             "only clients with the token can use the proxy")
    token = _secret(args.token_file, "token") if args.token_file is not None else None
    api_key = (_secret(args.api_key_file, "API key") if args.api_key_file is not None
               else os.environ.get(API_KEY_ENV) or None)
    policy, provider = resolve(args.url, policy=args.policy, provider=args.provider)
    try:
        sock = listening_socket(args.host, args.port)
    except OSError as e:
        fail(Exit.USAGE, f"cannot listen on {args.host}:{args.port}: {e.strerror or e}")
    port = sock.getsockname()[1]

    async def run() -> None:
        session = Session(args.url, policy, provider=provider or policy_provider(policy),
                          fetcher=CollateralFetcher(user_dir("cache") / "collateral"),
                          state_dir=user_dir("state"), http_proxy=http_proxy,
                          release_store=release_store(), accept_release_changes=args.on_change == "accept")
        try:
            result = await session.attest()
            if not result.verified:
                raise NotVerified(result.verdict(), result)
            accepted = refuse_release_change(session)
        except BaseException:
            await session.aclose()
            raise
        say(color("32", result.verdict() + accepted))
        if not session.truncation_detectable:
            say("note: this provider's transport cannot detect a reply cut short; an incomplete reply would look whole")
        app = ProxyApp(session, hosts=allowed_hosts(args.host, port), token=token, api_key=api_key)
        say(f"OpenAI-compatible proxy on {base_url(args.host, port)} -> {args.url}"
            + (" (token required)" if token else "") + (" (service API key inside the channel)" if api_key else ""))
        await serve(app, sock)

    # Not run_async: uvicorn takes Ctrl-C itself once it serves (a graceful stop, then the
    # interruption is raised again and ends the command with 130, as before it served).
    try:
        asyncio.run(run())
    finally:
        sock.close()
    return Exit.VERIFIED
