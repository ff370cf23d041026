"""Where the real vectors are: ``$ENCLAVE_CHAT_VECTORS`` or ``../shared/vectors`` beside the checkout.

They are never copied into the repository. Without them a test skips with the reason, unless
``ENCLAVE_CHAT_REQUIRE_VECTORS=1`` (CI), where their absence is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def vectors_dir() -> Path:
    env = os.environ.get("ENCLAVE_CHAT_VECTORS")
    path = Path(env) if env else REPO.parent / "shared" / "vectors"
    if not (path / "README.md").is_file():
        message = f"real vectors not found at {path} (set ENCLAVE_CHAT_VECTORS)"
        if os.environ.get("ENCLAVE_CHAT_REQUIRE_VECTORS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


def vector(relative: str) -> Path:
    """One vector file; fails (never skips) when the folder exists but the file is missing."""
    path = vectors_dir() / relative
    assert path.exists(), f"vector {relative} is missing from {vectors_dir()}"
    return path
