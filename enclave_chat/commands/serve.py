"""``enclave-chat serve``: the reference enclave (INSECURE DEMO: simulated TEE), with its
transparency log and witness unless ``--no-log``."""

from __future__ import annotations

import argparse

from enclave_chat.output import fail
from enclave_chat.process import Exit
from verifier.errors import VerifierError


def cmd_serve(args: argparse.Namespace) -> Exit:
    from enclave.attacks import (
        ATTACK_MODES,
        AZURE_ATTACKS,
        LOG_ATTACKS,
        NEARAI_ATTACKS,
        SNP_ATTACKS,
    )
    from enclave.nearai_mode import PROFILE as NEARAI
    from enclave.server import serve
    from enclave.transparency.log import LogError
    from enclave_chat.paths import demo_transparency_dir

    nearai = args.provider == NEARAI
    platform = args.platform or ("tdx" if nearai else "sev-snp")
    if nearai and platform != "tdx":
        fail(Exit.USAGE, f"--provider nearai runs on the simulated TDX machine; drop --platform {platform} or use tdx")
    if args.attack in NEARAI_ATTACKS and not nearai:
        fail(Exit.USAGE, f"attack mode {args.attack!r} needs the NEAR AI profile; add --provider nearai")
    if args.attack is not None and args.attack not in ATTACK_MODES:
        fail(Exit.USAGE, f"unknown attack mode {args.attack!r}; known: {', '.join(ATTACK_MODES)}")
    if args.attack in LOG_ATTACKS and args.no_log:
        fail(Exit.USAGE, f"attack mode {args.attack!r} needs the transparency log; drop --no-log")
    if args.attack in AZURE_ATTACKS and not platform.startswith("azure-"):
        fail(Exit.USAGE, f"attack mode {args.attack!r} needs a simulated Azure CVM; add --platform azure-snp-vtpm "
                         "or azure-tdx-vtpm")
    if args.attack in SNP_ATTACKS and platform not in ("sev-snp", "azure-snp-vtpm"):
        fail(Exit.USAGE, f"attack mode {args.attack!r} needs simulated SEV-SNP hardware; use --platform sev-snp "
                         "or azure-snp-vtpm")
    directory = None if args.no_log else demo_transparency_dir()
    try:
        serve(host=args.host, port=args.port, upstream=args.upstream,
              token_delay=args.token_delay, attack=args.attack, transparency=not args.no_log,
              transparency_dir=directory, platform=platform, tinfoil_layout=args.tinfoil_layout,
              profile=args.provider)
    except OSError as e:
        if e.filename:
            fail(Exit.USAGE, f"cannot use {e.filename}: {e.strerror or e}")
        fail(Exit.USAGE, f"cannot listen on {args.host}:{args.port}: {e.strerror or e}")
    except (LogError, VerifierError, RuntimeError) as e:
        fail(Exit.USAGE, f"the transparency log in {directory} cannot start ({e}); "
             "to start it afresh, remove that directory and the clients' remembered checkpoint for it")
    return Exit.VERIFIED
