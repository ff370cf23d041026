"""The suite's rejection taxonomy and the map from this project's (check id, reason) to it.

A failing :class:`verifier.result.Check` names its check id and, where one id covers reasons the
taxonomy tells apart, a structured ``reason`` (set by the appraisal at the point of failure). The
adapter looks the pair up here; it never reads a check's detail sentence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from verifier.result import Check, Status


class Rejected(Exception):
    """The stage's verdict is a rejection with the taxonomy's ``code``."""

    def __init__(self, code: str, detail: str = "", spec_ref: str | None = None,
                 stage: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail or code
        self.spec_ref = spec_ref
        self.stage = stage
        """The sub-stage that refused, for ``verify-full`` (its output's ``rejection.stage``)."""


class Malformed(Exception):
    """The input violates the stage's schema or does not decode (exit 30)."""


class Unsupported(Exception):
    """The input asks for a knob this project does not have (exit 20)."""


Key = tuple[str, str | None]
"""(check id, reason); a reason of None matches every reason of that check id."""


def code_for(check: Check, table: Mapping[Key, str]) -> str | None:
    """The taxonomy code of one failing check: (id, reason) first, then (id, None)."""
    return table.get((check.id, check.reason)) or table.get((check.id, None))


def reject_first(checks: Iterable[Check], table: Mapping[Key, str], *, fallback: str) -> None:
    """Raise :class:`Rejected` for the first failing check (in appraisal order), mapped by ``table``;
    an unmapped failure is ``fallback`` (the stage's most general code)."""
    for check in checks:
        if check.status is Status.FAIL:
            code = code_for(check, table) or fallback
            where = f"{check.id}" + (f" ({check.reason})" if check.reason else "")
            raise Rejected(code, f"{where}: {check.detail}")
