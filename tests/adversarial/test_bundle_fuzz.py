"""Property: ``appraise_native`` on mutated bytes of a real bundle never raises, and never
verifies a bundle whose bound content (nonce, key configuration, CPU report, GPU evidence,
configuration, release statement) differs from the one the enclave made."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.adversarial.bundles import SERVICE, base
from verifier.errors import ParseError, VerifierError
from verifier.providers.native.appraisal import appraise_native
from verifier.providers.native.bundle import canonical_json, parse_bundle
from verifier.reference.dsse import parse_envelope

Path = tuple[str | int, ...]


def _leaves(value: Any, path: Path = ()) -> list[Path]:
    if isinstance(value, dict):
        return [path] + [p for k, v in value.items() for p in _leaves(v, (*path, k))]
    if isinstance(value, list):
        return [path] + [p for i, v in enumerate(value) for p in _leaves(v, (*path, i))]
    return [path]


DOC = json.loads(base().bundle)
PATHS = [p for p in _leaves(DOC) if p]
BINARY = [p for p in PATHS if p[-1] in ("key_config", "report", "certificate_chain", "envelope")
          or (isinstance(p[-1], int) and p[-2] in ("certificates", "rims"))]
"""The base64 members: mutated as the bytes they decode to."""


def _bound(data: bytes) -> tuple[Any, ...] | None:
    """What the appraisal vouches for; None when the bytes do not parse."""
    try:
        b = parse_bundle(data)
    except ParseError:
        return None
    return (b.nonce, b.key_config, b.cpu.platform, b.cpu.report,
            tuple((g.report, g.certificate_chain) for g in b.gpus), canonical_json(b.config),
            _statement((b.release or {}).get("envelope")))


def _statement(envelope: Any) -> Any:
    """What a release envelope vouches for: the signed payload and its type. The envelope's JSON
    around them (white space, member order) is not signed, and without a log proof (these bundles
    carry none) it is not bound either, so an edit there that keeps the statement is no forgery."""
    try:
        parsed = parse_envelope(base64.b64decode(envelope, validate=True))
    except (ParseError, ValueError, TypeError):
        return envelope
    return (parsed.payload_type, parsed.payload)


ORIGINAL = _bound(base().bundle)

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8)
EDITS = st.lists(st.tuples(st.integers(min_value=0, max_value=1 << 20), st.integers(min_value=0, max_value=255)),
                 min_size=1, max_size=4)


def _get(doc: Any, path: Path) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def _put(doc: Any, path: Path, value: Any, delete: bool = False) -> None:
    parent = _get(doc, path[:-1])
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value


def _edit(data: bytes, edits: list[tuple[int, int]]) -> bytes:
    out = bytearray(data)
    for position, value in edits:
        if out:
            out[position % len(out)] = value
    return bytes(out)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    raw = base().bundle
    kind = draw(st.sampled_from(["bytes", "truncate", "value", "delete", "binary", "config",
                                 "expires", "nest"]))
    if kind == "bytes":
        return _edit(raw, draw(EDITS))
    if kind == "truncate":
        return raw[: draw(st.integers(min_value=0, max_value=len(raw) - 1))]
    doc = json.loads(raw)
    if kind == "value":
        _put(doc, draw(st.sampled_from(PATHS)), draw(JSON_VALUES))
    elif kind == "delete":
        _put(doc, draw(st.sampled_from(PATHS)), None, delete=True)
    elif kind == "config":  # hashed as canonical JSON (RFC 8785), which has no NaN or big integers
        doc["config"][draw(st.text(max_size=8))] = draw(JSON_VALUES)
    elif kind == "expires":
        year = draw(st.integers(min_value=1, max_value=9999))
        minutes = draw(st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1))
        sign, hours = ("-" if minutes < 0 else "+"), divmod(abs(minutes), 60)
        doc["expires"] = f"{year:04d}-12-31T23:59:59{sign}{hours[0]:02d}:{hours[1]:02d}"
    elif kind == "nest":
        path = draw(st.sampled_from(PATHS))
        depth = draw(st.integers(min_value=1, max_value=3000))
        inner = json.dumps(_get(doc, path))
        _put(doc, path, "\x00nest\x00")  # json.dumps itself cannot write deep nesting
        return json.dumps(doc).replace('"\\u0000nest\\u0000"', "[" * depth + inner + "]" * depth).encode()
    else:
        path = draw(st.sampled_from(BINARY))
        blob = base64.b64decode(_get(doc, path))
        how = draw(st.sampled_from(["edit", "cut", "append"]))
        if how == "edit":
            blob = _edit(blob, draw(EDITS))
        elif how == "cut":
            blob = blob[: draw(st.integers(min_value=0, max_value=max(0, len(blob) - 1)))]
        else:
            blob += draw(st.binary(min_size=1, max_size=64))
        _put(doc, path, base64.b64encode(blob).decode())
    return json.dumps(doc, allow_nan=True).encode()


def _check(data: bytes) -> None:
    b = base()
    try:
        result, _ = appraise_native(data, nonce=b.nonce, policy=b.policy, at=b.at, service_url=SERVICE)
    except VerifierError:
        return  # typed: allowed, though the appraisal normally turns everything into checks
    assert result.checks
    json.dumps(result.to_json())
    if result.verified:
        assert _bound(data) == ORIGINAL, "a modified bundle verified"


def test_the_unmodified_bundle_verifies() -> None:
    b = base()
    result, _ = appraise_native(b.bundle, nonce=b.nonce, policy=b.policy, at=b.at, service_url=SERVICE)
    assert result.verified, result.verdict()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_bundles_never_raise_and_never_verify(data: bytes) -> None:
    _check(data)


@pytest.mark.slow
@settings(max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_bundles_never_raise_and_never_verify_long(data: bytes) -> None:
    _check(data)
