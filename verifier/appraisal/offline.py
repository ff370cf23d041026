"""What ``enclave-chat evidence verify KIND FILE...`` hands a kind's file appraiser.

Each kind's appraiser (named in the kind registry, :mod:`verifier.kinds`) takes
:class:`OfflineOptions` and returns an :class:`verifier.result.AttestationResult`;
:mod:`verifier.saved_evidence` dispatches to it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from verifier.appraisal.policy import Policy
from verifier.endorsements.fetch import CollateralFetcher
from verifier.errors import InputError
from verifier.files import read_file


@dataclass(frozen=True)
class OfflineOptions:
    """Everything the command line can hand an appraiser (DESIGN.md, `evidence verify`)."""

    files: tuple[Path, ...]
    policy: Policy
    at: dt.datetime
    fetcher: CollateralFetcher
    certs: tuple[Path, ...] = ()
    crls: tuple[Path, ...] = ()
    collateral: Path | None = None
    rims: tuple[Path, ...] = ()
    ocsp: tuple[Path, ...] = ()
    nonce: bytes | None = None
    report_data: bytes | None = None
    maa_token: Path | None = None
    """A Microsoft Azure Attestation token beside Azure CVM evidence (informative: docs/azure.md)."""


__all__ = ["OPTIONS", "OfflineOptions", "read_file", "refuse_unused"]

OPTIONS: dict[str, str] = {"certs": "--cert", "crls": "--crl", "collateral": "--collateral", "rims": "--rim",
                           "ocsp": "--ocsp", "nonce": "--nonce", "report_data": "--report-data",
                           "maa_token": "--maa-token"}
"""The :class:`OfflineOptions` fields a kind may use, by their command-line names."""


def refuse_unused(kind: str, uses: frozenset[str], opts: OfflineOptions) -> None:
    """Raise :class:`InputError` naming each option given that ``kind`` (which reads ``uses``, its
    registered options) would silently ignore: an auditor who passes ``--crl`` to a kind that never
    reads one must not believe it was checked."""
    unused = [flag for name, flag in OPTIONS.items()
              if name not in uses and getattr(opts, name) not in (None, ())]
    if unused:
        raise InputError(f"{kind} evidence does not use {', '.join(unused)} "
                         f"(it takes {', '.join(OPTIONS[n] for n in OPTIONS if n in uses)})")
