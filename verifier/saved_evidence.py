"""``enclave-chat evidence verify KIND FILE...``: saved evidence appraised offline by its kind's
registered file appraiser (:mod:`verifier.kinds`), after refusing every option that kind would
ignore."""

from __future__ import annotations

import dataclasses

from verifier import kinds
from verifier.appraisal.offline import OfflineOptions, refuse_unused
from verifier.errors import InputError
from verifier.providers import registry
from verifier.result import AttestationResult

__all__ = ["appraise_saved", "file_kinds", "registry"]


def file_kinds() -> tuple[str, ...]:
    """The kinds ``evidence verify`` takes (every registered kind with a file appraiser; the
    provider registry is loaded first, so that providers' own kinds are among them)."""
    return kinds.kind_names(with_files=True)


def appraise_saved(kind_name: str, opts: OfflineOptions) -> AttestationResult:
    kind = kinds.get_kind(kind_name)
    if kind.files is None:
        raise InputError(f"evidence kind {kind_name!r} has no offline appraiser; known: {', '.join(file_kinds())}")
    refuse_unused(kind.name, kind.options, opts)
    result: AttestationResult = kinds.callable_of(kind.files)(opts)
    return dataclasses.replace(result, evidence_kind=result.evidence_kind or kind.name,
                               provider=result.provider or kind.provider)
