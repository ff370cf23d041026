"""What the vendor appraisals (SEV-SNP, TDX, NVIDIA) share to build their checks.

:class:`CheckCollector` gathers the checks of one appraisal in the order they run and refuses an
id added twice (ids are stable and unique within a result: scripts match on them, and
:meth:`verifier.result.Checked.check` finds the first). :func:`expect_one_of` is the one
allow-list comparison behind every "the value is one the policy names" check.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Collection, Iterable
from typing import TypeVar

from verifier.result import Check, failed, passed, skipped

T = TypeVar("T")

__all__ = ["CheckCollector", "expect_one_of"]


class CheckCollector:
    """The checks of one appraisal, in the order they were added; each id at most once."""

    def __init__(self) -> None:
        self._checks: list[Check] = []
        self._ids: set[str] = set()

    def add(self, check: Check) -> Check:
        """Append ``check`` and return it; a second check with the same id is a bug: ValueError."""
        if check.id in self._ids:
            raise ValueError(f"check id {check.id!r} added twice")
        self._ids.add(check.id)
        self._checks.append(check)
        return check

    def extend(self, checks: Iterable[Check]) -> None:
        """Append ``checks`` in order; any id already here, or twice among them, is a bug: ValueError."""
        batch = list(checks)
        ids = {c.id for c in batch}
        if len(ids) != len(batch) or not self._ids.isdisjoint(ids):
            for check in batch:             # name the first id met twice
                self.add(check)
        self._ids |= ids
        self._checks.extend(batch)

    @property
    def checks(self) -> tuple[Check, ...]:
        return tuple(self._checks)

    def __contains__(self, id: object) -> bool:
        return id in self._ids

    def __len__(self) -> int:
        return len(self._checks)


def _same(a: object, b: object) -> bool:
    if isinstance(a, bytes) and isinstance(b, bytes):
        return hmac.compare_digest(a, b)
    return a == b


def expect_one_of(id: str, name: str, actual: T | None, allowed: Collection[T] | None, *,
                  show: Callable[[T], str] = str,
                  unset: str = "the policy sets no expected {name}; any value is accepted",
                  unset_required: bool = False,
                  passes: str = "{name} {value} is one the policy accepts",
                  fails: str = "{name} {value} is not one of the {count} value(s) the policy accepts",
                  absent: str = "no {name} to compare with the policy's {count} value(s)",
                  authenticity: bool = False) -> Check:
    """One check that ``actual`` is among ``allowed``.

    ``allowed`` None: the policy sets no allow-list, a ``skip`` (not required unless
    ``unset_required``; a skip is never shown as a pass). ``actual`` None: a required ``skip``, its
    input is absent. Otherwise ``pass`` when it equals one of them (bytes are compared in constant
    time), else ``fail`` naming the value (an empty allow-list accepts nothing). The detail texts are format strings over ``{name}``, ``{value}`` (``show``
    of the actual value), ``{count}`` (how many values are allowed) and ``{allowed}`` (``show`` of
    each, comma-separated).
    """
    values = list(allowed) if allowed is not None else []
    fields = _Fields(name, values, actual, show)
    if allowed is None:
        return skipped(id, unset.format_map(fields), required=unset_required, authenticity=authenticity)
    if actual is None:
        return skipped(id, absent.format_map(fields), authenticity=authenticity)
    if any(_same(actual, v) for v in values):
        return passed(id, passes.format_map(fields), authenticity=authenticity)
    return failed(id, fails.format_map(fields), authenticity=authenticity)


class _Fields(dict[str, object]):
    """The fields of :func:`expect_one_of`'s texts; ``value`` and ``allowed`` are shown only when
    the text chosen names them (a passing check's text seldom does)."""

    def __init__(self, name: str, values: list[T], actual: T | None, show: Callable[[T], str]) -> None:
        super().__init__(name=name, count=len(values))
        self._values, self._actual, self._show = values, actual, show

    def __missing__(self, key: str) -> object:
        if key == "allowed":
            value = ", ".join(self._show(v) for v in self._values)
        elif key == "value":
            value = self._show(self._actual) if self._actual is not None else "absent"
        else:
            raise KeyError(key)
        self[key] = value
        return value
