"""Hostile input never raises out of the GPU appraisal: every outcome is a list of checks."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.nvidia import nv
from verifier.appraisal.nvidia import appraise_gpu
from verifier.appraisal.policy import parse_policy

pytestmark = pytest.mark.vectors

POLICY = parse_policy(b'name = "fuzz"\n')
_CACHE: dict[str, object] = {}


def _inputs() -> tuple[bytes, bytes, list[bytes], list[bytes]]:
    if not _CACHE:
        report, chain = nv.h100()
        _CACHE.update(report=report, chain=chain, rims=nv.google_rims(), ocsp=nv.ocsp_answers())
    return (_CACHE["report"], _CACHE["chain"], _CACHE["rims"], _CACHE["ocsp"])  # type: ignore[return-value]


def _mutate(data: bytes, edits: list[tuple[int, int]]) -> bytes:
    out = bytearray(data)
    for position, value in edits:
        out[position % len(out)] = value
    return bytes(out)


EDITS = st.lists(st.tuples(st.integers(min_value=0, max_value=1 << 20), st.integers(min_value=0, max_value=255)),
                 min_size=1, max_size=4)
TARGETS = st.sampled_from(["report", "chain", "rim", "ocsp"])


def _run(target: str, edits: list[tuple[int, int]], truncate: int) -> None:
    report, chain, rims, answers = _inputs()
    if target == "report":
        report = _mutate(report, edits)[: max(truncate, 37)]
    elif target == "chain":
        chain = _mutate(chain, edits)
    elif target == "rim":
        rims = [_mutate(rims[0], edits), rims[1]]
    else:
        answers = [_mutate(a, edits) for a in answers]
    a = appraise_gpu(report, chain, policy=POLICY, at=nv.T_GPU_OCSP, expected_nonce=nv.H100_NONCE,
                     rims=rims, ocsp=answers)
    assert a.checks and not a.verified           # the default policy refuses even the pristine set


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TARGETS, EDITS, st.integers(min_value=0, max_value=5000))
def test_mutated_inputs_never_raise(target: str, edits: list[tuple[int, int]], truncate: int) -> None:
    _run(target, edits, truncate)


@pytest.mark.slow
@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TARGETS, EDITS, st.integers(min_value=0, max_value=5000))
def test_mutated_inputs_never_raise_long(target: str, edits: list[tuple[int, int]], truncate: int) -> None:
    _run(target, edits, truncate)
