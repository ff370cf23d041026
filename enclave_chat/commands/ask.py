"""``enclave-chat ask URL PROMPT``: verify, then stream the decrypted reply to stdout."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from enclave_chat.arguments import proxy_url, service_url
from enclave_chat.output import color, say, terminal_text
from enclave_chat.process import Exit, run_async
from verifier.errors import NotVerified, TruncatedResponse

if TYPE_CHECKING:
    from verifier.session import Session


def refuse_release_change(session: Session) -> str:
    """Under ``--on-change refuse``: a release that differs from the recorded one ends the command
    (:class:`ReleaseChanged`, exit 1) before anything is sent. Else what the verdict line adds:
    the change ``--on-change accept`` accepted, if any."""
    from verifier.release_pin import ReleaseChanged

    if session.release_change is not None and session.last_result is not None:
        raise ReleaseChanged(session.release_change, session.last_result, hint="--on-change accept accepts it")
    return "".join(f"; accepted (--on-change accept): {change.text()}" for change, _ in session.accepted_changes)


def cmd_ask(args: argparse.Namespace) -> Exit:
    from enclave_chat.paths import release_store, user_dir
    from enclave_chat.services import resolve
    from verifier.endorsements.fetch import CollateralFetcher
    from verifier.policy_check import policy_provider
    from verifier.session import Session

    service_url(args.url)
    if args.http_proxy is not None:
        proxy_url(args.http_proxy)
    policy, provider = resolve(args.url, policy=args.policy, provider=args.provider)
    fetcher = CollateralFetcher(user_dir("cache") / "collateral")
    messages: list[dict[str, Any]] = []
    if args.system:
        messages.append({"role": "system", "content": args.system})
    messages.append({"role": "user", "content": args.prompt})

    # On a terminal, control characters in the reply (escape sequences from the service) are shown
    # escaped; into a pipe or a file the reply passes as it is (docs/cli.md).
    shown = terminal_text if sys.stdout.isatty() else str

    async def run() -> None:
        async with Session(args.url, policy, provider=provider or policy_provider(policy), fetcher=fetcher,
                           state_dir=user_dir("state"), http_proxy=args.http_proxy,
                           release_store=release_store(), accept_release_changes=args.on_change == "accept") as session:
            result = await session.attest()
            if not result.verified:
                raise NotVerified(result.verdict(), result)
            accepted = refuse_release_change(session)
            say(color("32", f"verified ({policy.name}){accepted}; sending the prompt encrypted to the attested key"))
            if not session.truncation_detectable:
                say("note: this provider's transport cannot detect a reply cut short; an incomplete reply would look whole")
            try:
                async for delta in session.stream_chat(messages, model=args.model):
                    sys.stdout.write(shown(delta))
                    sys.stdout.flush()
            except TruncatedResponse as e:
                sys.stdout.write("\n")
                sys.stdout.flush()
                raise TruncatedResponse(f"the reply above is incomplete: {e}") from None
            sys.stdout.write("\n")

    run_async(run())
    return Exit.VERIFIED
