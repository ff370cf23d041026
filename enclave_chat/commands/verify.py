"""``enclave-chat verify URL`` (attest once) and ``verify --replay DIR`` (a recording, offline)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from enclave_chat.arguments import load_policy_arg, proxy_url, service_url
from enclave_chat.output import fail, report
from enclave_chat.process import Exit, run_async
from verifier.errors import InputError, ServiceUnreachable

if TYPE_CHECKING:
    from verifier.result import AttestationResult


def cmd_verify(args: argparse.Namespace) -> Exit:
    if args.replay is not None:
        if args.url is not None:
            fail(Exit.USAGE, "give a URL or --replay DIR, not both")
        if args.save_evidence is not None:
            fail(Exit.USAGE, "--save-evidence records a live verification; a replay has nothing new to record")
        if args.http_proxy is not None:
            fail(Exit.USAGE, "--http-proxy applies to a live verification; a replay connects to nothing")
    else:
        if not args.url:
            fail(Exit.USAGE, "verify needs a URL (or --replay DIR)")
        if args.at is not None:
            fail(Exit.USAGE, "--at applies to --replay only: a live verification happens now")
        service_url(args.url)
        if args.http_proxy is not None:
            proxy_url(args.http_proxy)
    if args.replay is not None:
        return _replay(args)
    from enclave_chat.services import resolve

    policy, provider = resolve(args.url, policy=args.policy, provider=args.provider)
    if args.save_evidence is not None:
        from verifier.private_files import private_dir

        try:  # before anything is fetched: a directory that cannot be private is refused now
            private_dir(args.save_evidence)
        except OSError as e:
            fail(Exit.USAGE, f"cannot save evidence in {args.save_evidence}: {e.strerror or e}")
        except InputError as e:
            fail(Exit.USAGE, f"cannot save evidence: {e}")

    from enclave_chat.paths import user_dir
    from verifier.endorsements.fetch import CollateralFetcher
    from verifier.policy_check import policy_provider
    from verifier.session import Session

    fetcher = CollateralFetcher(user_dir("cache") / "collateral", offline=args.offline)

    async def run() -> AttestationResult:
        # --offline: no collateral fetch, and no transparency-log fetch either (the log's fresh
        # checkpoint is then a skip); only the service itself is asked.
        async with Session(args.url, policy, provider=provider or policy_provider(policy), fetcher=fetcher,
                           fetch_logs=not args.offline, state_dir=user_dir("state"),
                           save_evidence=args.save_evidence, http_proxy=args.http_proxy) as session:
            return await session.attest()

    return report(run_async(run()), args.json)


def _replay(args: argparse.Namespace) -> Exit:
    """``verify --replay DIR``: an explicit ``--policy`` is read first, as before; without one the
    policy is the known service's that the recording's URL names (docs/cli.md, "Known services"),
    provided the recording is of that service's provider, else the default."""
    from enclave_chat.services import resolve
    from verifier.recording import load_recording
    from verifier.replay import replay

    policy = load_policy_arg(args.policy) if args.policy is not None else None
    recording = load_recording(args.replay)
    if policy is None:
        policy, _ = resolve(recording.manifest.url, policy=None,
                            provider=args.provider or recording.manifest.provider)
    try:
        result = run_async(replay(args.replay, policy=policy, provider=args.provider, at=args.at,
                                  recording=recording))
    except ServiceUnreachable as e:
        # A replay reaches nothing: an exchange it needs is missing from the recording.
        raise InputError(f"{args.replay} is not a complete recording: {e}") from None
    return report(result, args.json)
