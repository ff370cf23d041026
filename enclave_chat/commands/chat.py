"""``enclave-chat [chat [URL]]`` and ``enclave-chat demo``: the chat TUI (:mod:`enclave_chat.tui_entry`,
imported here, inside the commands, so that no other command loads textual)."""

from __future__ import annotations

import argparse

from enclave_chat.arguments import load_policy_arg, proxy_url, service_url
from enclave_chat.process import Exit, default_sigint


def cmd_chat(args: argparse.Namespace) -> Exit:
    from enclave_chat.tui_entry import run_chat

    if args.url is not None:
        service_url(args.url)
    if args.policy is not None:
        load_policy_arg(args.policy)  # a broken policy is a one-line usage error, not a TUI screen
    if args.http_proxy is not None:
        proxy_url(args.http_proxy)
    with default_sigint():
        return Exit(run_chat(url=args.url, policy=args.policy, provider=args.provider,
                             no_history=args.no_history, http_proxy=args.http_proxy))


def cmd_demo(args: argparse.Namespace) -> Exit:
    from enclave_chat.tui_entry import run_demo

    with default_sigint():
        return Exit(run_demo(no_history=args.no_history, platform=args.platform))
