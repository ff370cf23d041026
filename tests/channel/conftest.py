"""Fixtures for the channel tests: the real RFC vectors, read from the shared vectors folder.

The folder is ``$ENCLAVE_CHAT_VECTORS`` or ``<repo>/../shared/vectors`` (see ``tests/vectors.py``);
without it these tests skip, or fail under ``ENCLAVE_CHAT_REQUIRE_VECTORS=1``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.vectors import vectors_dir


def _load(relative: str) -> Any:
    path = vectors_dir() / relative
    assert path.is_file(), f"vector {relative} is missing from {path.parent}"
    return json.loads(path.read_text())


@pytest.fixture(scope="session")
def channel_vectors() -> Path:
    """The real vectors folder."""
    return vectors_dir()


@pytest.fixture(scope="session")
def hpke_vectors(channel_vectors: Path) -> list[dict[str, Any]]:
    """RFC 9180 test vectors (all modes; tests filter)."""
    data = _load("hpke/rfc9180-test-vectors.json")
    assert isinstance(data, list)
    return data


@pytest.fixture(scope="session")
def ohttp_vector(channel_vectors: Path) -> dict[str, Any]:
    """RFC 9458 Appendix A, one complete exchange."""
    data = _load("ohttp/rfc9458-appendix-a.json")
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="session")
def chunked_vector(channel_vectors: Path) -> dict[str, Any]:
    """The chunked OHTTP draft's example exchange."""
    data = _load("ohttp/chunked-ohttp-example.json")
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="session")
def bhttp_vectors(channel_vectors: Path) -> dict[str, str]:
    """RFC 9292 §5 examples, name -> hex."""
    data = _load("bhttp/rfc9292-examples.json")
    assert isinstance(data, dict)
    vectors = data["vectors"]
    assert isinstance(vectors, dict)
    return vectors
