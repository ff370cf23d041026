"""An appraisal against the raw signature verifications it needs, timed in the same run."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def appraisal_against_raw(benchmark: Any, appraise: Callable[[], object], raw: Callable[[], None], *,
                          count: int, label: str, signatures: str, rounds: int) -> float:
    """Time ``appraise`` (pytest-benchmark) and ``raw`` (the baseline), print both and their ratio."""
    assert benchmark.pedantic(appraise, rounds=rounds, iterations=1, warmup_rounds=2)
    baseline = []
    for _ in range(rounds):
        start = time.perf_counter()
        raw()
        baseline.append(time.perf_counter() - start)
    appraisal = statistics.median(benchmark.stats.stats.data)
    raw_median = statistics.median(baseline)
    ratio = appraisal / raw_median
    benchmark.extra_info.update(raw_signatures=count, raw_ms=raw_median * 1000, ratio=ratio)
    print(f"\n{label} (median of {rounds}): {appraisal * 1000:.2f} ms; its {count} raw {signatures} "
          f"verifications: {raw_median * 1000:.2f} ms; ratio {ratio:.2f}x")
    return ratio


def paired_ratio(fn: Callable[[], object], baseline: Callable[[], object], *, rounds: int
                 ) -> tuple[float, float, float]:
    """``fn`` against ``baseline``, timed back to back in each of ``rounds`` rounds (which runs first
    alternates): the median of the rounds' ratios, and the median time (seconds) of each. A ratio
    taken within one round sees one load on the machine, so slow drift in the load cancels out."""
    fn()
    baseline()
    ratios: list[float] = []
    times: dict[str, list[float]] = {"fn": [], "baseline": []}
    for n in range(rounds):
        order = (("fn", fn), ("baseline", baseline)) if n % 2 == 0 else (("baseline", baseline), ("fn", fn))
        took: dict[str, float] = {}
        for name, f in order:
            start = time.perf_counter()
            f()
            took[name] = time.perf_counter() - start
        ratios.append(took["fn"] / took["baseline"])
        for name, t in took.items():
            times[name].append(t)
    return statistics.median(ratios), statistics.median(times["fn"]), statistics.median(times["baseline"])

