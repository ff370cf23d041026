from __future__ import annotations

from pathlib import Path

import pytest

from tests.vectors import vectors_dir


@pytest.fixture(scope="session")
def vectors() -> Path:
    """The real vectors folder (skips, or fails under ENCLAVE_CHAT_REQUIRE_VECTORS=1, when absent)."""
    return vectors_dir()
