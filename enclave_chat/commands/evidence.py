"""``enclave-chat evidence verify KIND FILE...`` (saved evidence, appraised offline by its kind's
registered appraiser) and ``evidence inspect FILE`` (decode any supported evidence)."""

from __future__ import annotations

import argparse
import datetime as dt

from enclave_chat.arguments import load_policy_arg
from enclave_chat.output import fail, print_json, report
from enclave_chat.process import Exit


def cmd_evidence(args: argparse.Namespace) -> Exit:
    if args.evidence_command == "inspect":
        from verifier.inspection import inspect_file

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
    from verifier.appraisal.offline import OfflineOptions
    from verifier.endorsements.fetch import CollateralFetcher
    from verifier.saved_evidence import appraise_saved

    opts = OfflineOptions(
        files=tuple(args.files), policy=load_policy_arg(args.policy),
        at=args.at or dt.datetime.now(dt.UTC),
        fetcher=CollateralFetcher(user_dir("cache") / "collateral", offline=args.offline),
        certs=tuple(args.cert), crls=tuple(args.crl), collateral=args.collateral,
        rims=tuple(args.rim), ocsp=tuple(args.ocsp), nonce=args.nonce, report_data=args.report_data,
        maa_token=args.maa_token,
    )
    return report(appraise_saved(args.kind, opts), args.json)
