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


__all__ = ["APPRAISERS", "OfflineOptions", "appraiser", "read_file"]

APPRAISERS: dict[str, str] = {
    "sev-snp": "verifier.appraisal.sev_snp_files:appraise_files",
    "tdx": "verifier.appraisal.tdx_files:appraise_files",
    "nvidia-gpu": "verifier.appraisal.nvidia_files:appraise_files",
    "tinfoil": "verifier.providers.tinfoil_files:appraise_files",
}


def appraiser(kind: str) -> Callable[[OfflineOptions], AttestationResult]:
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
