"""The environment a test runs ``enclave-chat`` in as a process: the user's directories moved
under the test's own folder (``ENCLAVE_CHAT_{CONFIG,DATA,CACHE,STATE}_DIR``), no colour, and
collateral never fetched from the internet (``ENCLAVE_CHAT_OFFLINE=1``). One definition for every
process test."""

from __future__ import annotations

import os
from pathlib import Path

USER_DIRS = ("config", "data", "cache", "state")


def user_dirs(root: Path) -> dict[str, str]:
    """The variables that put each user directory under ``root``."""
    return {f"ENCLAVE_CHAT_{kind.upper()}_DIR": str(root / kind) for kind in USER_DIRS}


def isolated_env(root: Path, *, offline: bool = True) -> dict[str, str]:
    """This process's environment with the user directories under ``root``, ``NO_COLOR=1`` and,
    unless ``offline`` is false, ``ENCLAVE_CHAT_OFFLINE=1``."""
    env = {**os.environ, **user_dirs(root), "NO_COLOR": "1"}
    if offline:
        env["ENCLAVE_CHAT_OFFLINE"] = "1"
    return env
