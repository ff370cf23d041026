"""Attestation results: one :class:`Check` per appraisal step, folded into an :class:`AttestationResult`.

The JSON form is the command-line contract of DESIGN.md ("--json prints one object").
A check is ``pass``, ``fail`` or ``skip``; ``skip`` means its input was absent and is never a pass.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


class Status(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class Check:
    """One appraisal step.

    ``id`` is stable (scripts match on it), ``detail`` is one sentence: what was expected, what was
    found, and where it helps, what the user can do. ``required`` says whether a ``skip`` makes the
    result unverified. ``authenticity`` marks the checks that decide ``authentic`` (signatures and
    certificate paths to a pinned root). ``reason`` is an optional structured code (lower-case
    words joined by ``_``, e.g. ``expired``) telling apart failures that share one check id; it is
    set by the appraisal at the point of failure, for scripts and adapters that must not parse
    ``detail``, and appears in :meth:`to_json` only when set (docs/cli.md).
    """

    id: str
    status: Status
    detail: str
    required: bool = True
    authenticity: bool = False
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "status": str(self.status), "detail": self.detail,
                               "required": self.required}
        if self.reason is not None:
            out["reason"] = self.reason
        return out


def passed(id: str, detail: str, *, authenticity: bool = False, required: bool = True) -> Check:
    return Check(id, Status.PASS, detail, required, authenticity)


def failed(id: str, detail: str, *, authenticity: bool = False, required: bool = True,
           reason: str | None = None) -> Check:
    return Check(id, Status.FAIL, detail, required, authenticity, reason)


def skipped(id: str, detail: str, *, authenticity: bool = False, required: bool = True) -> Check:
    return Check(id, Status.SKIP, detail, required, authenticity)


class Checked:
    """What a sequence of checks adds up to; mixed into every appraisal and result type."""

    checks: tuple[Check, ...]

    @property
    def authentic(self) -> bool:
        """Signatures and certificate paths hold to a pinned root: every authenticity check passed."""
        auth = [c for c in self.checks if c.authenticity]
        return bool(auth) and all(c.status is Status.PASS for c in auth)

    @property
    def verified(self) -> bool:
        """Authentic, no check failed, and no required check skipped."""
        return self.authentic and not any(
            c.status is Status.FAIL or (c.status is Status.SKIP and c.required) for c in self.checks
        )

    def check(self, id: str) -> Check | None:
        return next((c for c in self.checks if c.id == id), None)


@dataclass(frozen=True)
class PolicyRef:
    name: str
    sha256: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "sha256": self.sha256}


@dataclass(frozen=True)
class AttestationResult(Checked):
    """The outcome of appraising one piece of evidence (or one bundle) at one time.

    ``checks`` are in the fixed order the appraisal ran them; ``first_failure`` is the refusal
    reason a user sees first. ``claims`` are decoded facts worth showing (platform, measurement,
    TCB, key fingerprint, release), never a verdict.
    """

    kind: str
    at: dt.datetime
    nonce: bytes | None
    policy: PolicyRef
    checks: tuple[Check, ...]
    evidence: Mapping[str, str] = field(default_factory=dict)
    claims: Mapping[str, Any] = field(default_factory=dict)
    provider: str | None = None
    """The provider (wire profile) whose session produced this result; None for saved evidence."""
    evidence_kind: str | None = None
    """The registered evidence kind appraised (for a session, its CPU evidence's kind)."""

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for c in self.checks:
            if c.id in seen:
                raise ValueError(f"check {c.id!r} appears twice in one result")
            seen.add(c.id)

    @property
    def first_failure(self) -> Check | None:
        """The first failing check, else the first required skip, in appraisal order."""
        for c in self.checks:
            if c.status is Status.FAIL:
                return c
        for c in self.checks:
            if c.status is Status.SKIP and c.required:
                return c
        if not self.authentic:
            return next((c for c in self.checks if c.authenticity), None)
        return None

    def verdict(self) -> str:
        """One human sentence: the verdict, and the reason when it is not verified."""
        if self.verified:
            passes = sum(c.status is Status.PASS for c in self.checks)
            skips = len(self.checks) - passes
            extra = f" ({skips} optional check{'s' if skips != 1 else ''} skipped)" if skips else ""
            return f"verified: {self.kind} evidence passed {passes} checks under policy {self.policy.name!r}{extra}"
        bad = self.first_failure
        state = "authentic but not verified" if self.authentic else "not verified"
        if bad is None:
            return f"{state}: no authenticity check ran"
        return f"{state}: {bad.id} {bad.status}: {bad.detail}"

    def to_json(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "authentic": self.authentic,
            "kind": self.kind,
            "at": iso(self.at),
            "nonce": self.nonce.hex() if self.nonce is not None else None,
            "policy": self.policy.to_json(),
            "evidence": dict(self.evidence),
            "checks": [c.to_json() for c in self.checks],
            "claims": dict(self.claims),
            **({"provider": self.provider} if self.provider is not None else {}),
            **({"evidence_kind": self.evidence_kind} if self.evidence_kind is not None else {}),
        }

    def with_checks(self, extra: Iterable[Check]) -> AttestationResult:
        return dataclasses.replace(self, checks=(*self.checks, *extra))


def utc(t: dt.datetime) -> dt.datetime:
    """``t`` in UTC; a time without a zone is taken to be UTC already."""
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


@functools.lru_cache(maxsize=1024)
def iso(t: dt.datetime) -> str:
    """ISO-8601 in UTC with a ``Z``, seconds precision (a time without a zone is UTC); remembered for
    the times met again with every appraisal (certificates' and answers' validity, ``at``)."""
    return utc(t).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_time(text: str) -> dt.datetime:
    """Parse an ISO-8601 time; a time without a zone is UTC."""
    t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)
