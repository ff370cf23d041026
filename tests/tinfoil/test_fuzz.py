"""Hostile documents: mutated real v3 documents never raise out of the parser or the appraisal,
and are never verified."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.tinfoil.conftest import CLOUD, DIRECT
from verifier.appraisal.policy import Policy
from verifier.errors import ParseError
from verifier.providers.tinfoil import document as docs
from verifier.providers.tinfoil.appraisal import Fetched, appraise_document

pytestmark = pytest.mark.vectors
AT = dt.datetime(2026, 6, 29, 2, 13, tzinfo=dt.UTC)


def body(vectors: Path, name: str) -> bytes:
    return next((vectors / name / "responses").glob("*tinfoil-attestation.body")).read_bytes()


mutations = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 1 << 20), st.integers(1, 255)),
    st.tuples(st.just("cut"), st.integers(0, 1 << 20), st.just(0)),
    st.tuples(st.just("delete"), st.integers(0, 1 << 20), st.integers(1, 64)),
)


def mutate(raw: bytes, how: tuple[str, int, int]) -> bytes:
    kind, where, amount = how
    i = where % len(raw)
    if kind == "flip":
        return raw[:i] + bytes([raw[i] ^ amount]) + raw[i + 1:]
    if kind == "cut":
        return raw[:i]
    return raw[:i] + raw[i + amount:]


@pytest.mark.parametrize("name", [CLOUD, DIRECT])
@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(how=mutations)
def test_mutated_documents_are_refused_without_a_traceback(vectors: Path, tinfoil_policy: Policy, name: str,
                                                           how: tuple[str, int, int]) -> None:
    raw = mutate(body(vectors, name), how)
    try:
        docs.parse_document(raw)
    except ParseError:
        pass
    nonce = bytes.fromhex("229471a8453a3521eac3d6ada9f1d52e42c97a527c3a50d565e999401dfd3e9b")
    result, _ = appraise_document(raw, nonce=nonce, policy=tinfoil_policy, at=AT, host="h",
                                  fetched=Fetched(transport="https"), fetcher=None)
    assert not result.verified
    assert result.check("tinfoil.internal") is None
