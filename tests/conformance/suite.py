"""Tinfoil's conformance suite as its harness reads it (``harness/tinfoil_conformance/runner.py``),
for the tests that feed its vectors to the adapter without the harness: where the suite is, its
manifests (YAML, read with PyYAML), the capability rule that skips a vector, the outputs comparison
and the JSON Schemas (jsonschema). One copy for every stage's tests."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.vectors import REPO

SUITE = Path(os.environ.get("ENCLAVE_CHAT_VECTORS", REPO.parent / "shared" / "vectors")) / "tinfoil-conformance"
"""The suite's folder, located as tests/vectors.py locates the vectors (without failing at import)."""

GENOA_CHAIN = SUITE.parent / "tinfoil" / "verifier" / "attestation" / "genoa_cert_chain.pem"
"""AMD's Genoa ASK and ARK (PEM): the chain the SEV vectors' VCEKs are issued under."""

needs_suite = pytest.mark.skipif(not SUITE.is_dir() and os.environ.get("ENCLAVE_CHAT_REQUIRE_VECTORS") != "1",
                                 reason="the tinfoil-conformance vectors are not checked out")
"""Skip where the suite is absent, except in CI (``ENCLAVE_CHAT_REQUIRE_VECTORS=1``), where the
tests run and fail on the missing files."""


def vector_dirs(group: str) -> list[Path]:
    """The vectors of ``vectors/<group>/``, by name (empty where the suite is absent)."""
    return sorted(p.parent for p in (SUITE / "vectors" / group).glob("*/manifest.yaml"))


def manifest(folder: Path) -> dict[str, Any]:
    doc = yaml.safe_load((folder / "manifest.yaml").read_text())
    assert isinstance(doc, dict), folder
    return doc


def unmet(required: dict[str, Any] | None, have: dict[str, Any]) -> str | None:
    """The harness's ``required_capabilities_satisfied``: the first requirement ``have`` does not
    meet, as ``path = value, the vector wants want``, or None. A dotted path; a list capability is
    a set (any wanted value in it), a scalar must be one of the wanted values."""
    for path, want in (required or {}).items():
        cur: Any = have
        for part in path.split("."):
            if not isinstance(cur, dict) or part not in cur:
                return f"{path} not declared"
            cur = cur[part]
        wants = want if isinstance(want, list) else [want]
        if not (any(w in cur for w in wants) if isinstance(cur, list) else cur in wants):
            return f"{path} = {cur!r}, the vector wants {want!r}"
    return None


def outputs_diff(want: dict[str, Any], have: dict[str, Any]) -> list[str]:
    """The harness's ``diff_outputs``: each expected key, strings case-insensitively, the rest exactly."""
    bad = []
    for key, value in want.items():
        got = have.get(key)
        same = value.lower() == got.lower() if isinstance(value, str) and isinstance(got, str) else value == got
        if key not in have or not same:
            bad.append(f"{key}: {got!r} != {value!r}")
    return bad


def schema_errors(value: Any, name: str) -> list[str]:
    """Where ``value`` breaks ``schemas/<name>.schema.json`` (JSON Schema 2020-12)."""
    schema = json.loads((SUITE / "schemas" / f"{name}.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path)) or '$'}: {e.message}" for e in validator.iter_errors(value)]


def rejection_codes(expects: dict[str, Any]) -> list[str]:
    """The manifest's acceptable rejection codes (one string or a list)."""
    want = expects["rejection_code"]
    return [want] if isinstance(want, str) else list(want)
