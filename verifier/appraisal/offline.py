"""Offline appraisal of saved evidence files: what ``enclave-chat evidence verify KIND FILE...`` runs.

One entry per KIND in :data:`APPRAISERS` ("module:function"); each function takes
:class:`OfflineOptions` and returns an :class:`verifier.result.AttestationResult`. Modules are
imported only when their kind is asked for.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from verifier.appraisal.policy import Policy
from verifier.endorsements.fetch import CollateralFetcher
from verifier.errors import InputError
from verifier.files import read_file
from verifier.result import AttestationResult


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


__all__ = ["APPRAISERS", "OPTIONS", "USES", "OfflineOptions", "appraiser", "read_file", "refuse_unused"]

APPRAISERS: dict[str, str] = {
    "sev-snp": "verifier.appraisal.sev_snp_files:appraise_files",
    "tdx": "verifier.appraisal.tdx_files:appraise_files",
    "nvidia-gpu": "verifier.appraisal.nvidia_files:appraise_files",
    "tinfoil": "verifier.providers.tinfoil_files:appraise_files",
}


OPTIONS: dict[str, str] = {"certs": "--cert", "crls": "--crl", "collateral": "--collateral", "rims": "--rim",
                           "ocsp": "--ocsp", "nonce": "--nonce", "report_data": "--report-data"}
"""The :class:`OfflineOptions` fields a kind may use, by their command-line names."""

USES: dict[str, frozenset[str]] = {
    "sev-snp": frozenset({"certs", "crls", "nonce", "report_data"}),
    "tdx": frozenset({"collateral", "nonce", "report_data"}),
    "nvidia-gpu": frozenset({"certs", "rims", "ocsp", "nonce"}),
    "tinfoil": frozenset({"certs", "crls", "nonce"}),
}
"""Which options each kind reads. Any other is refused: an auditor who passes ``--crl`` to a kind
that never reads one must not believe it was checked."""


def refuse_unused(kind: str, opts: OfflineOptions) -> None:
    """Raise :class:`InputError` naming each option given that ``kind`` would silently ignore."""
    uses = USES.get(kind, frozenset(OPTIONS))
    unused = [flag for name, flag in OPTIONS.items()
              if name not in uses and getattr(opts, name) not in (None, ())]
    if unused:
        raise InputError(f"{kind} evidence does not use {', '.join(unused)} "
                         f"(it takes {', '.join(OPTIONS[n] for n in OPTIONS if n in uses)})")


def appraiser(kind: str) -> Callable[[OfflineOptions], AttestationResult]:
    """The appraiser of ``kind``. It reads what it needs; the command line first refuses, with
    :func:`refuse_unused`, any option this kind would ignore."""
    target = APPRAISERS.get(kind)
    if target is None:
        raise InputError(f"unknown evidence kind {kind!r}; known: {', '.join(APPRAISERS)}")
    module_name, func_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        raise InputError(f"evidence kind {kind!r} is not supported by this build yet") from None
    func = getattr(module, func_name)
    assert callable(func)
    return func  # type: ignore[no-any-return]
