"""What this client remembers about Tinfoil hosts: which ones answered with a v3 document.

A v3 document answers the client's nonce; the v2 document does not. Once a host has served v3, a
v2 answer from it is a downgrade (an attacker replaying old evidence, or a host made to drop its
freshness) and is refused (``tinfoil.downgrade``). One file per host under the user's state
directory, ``tinfoil/v3-hosts/<SHA-256 of the host>``, mode 0600 in directories of mode 0700, holding
the time it was first seen.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from verifier.private_files import private_dir, write_private
from verifier.result import iso

MAX_STATE_BYTES = 256


def _path(state_dir: Path, host: str) -> Path:
    return state_dir / "tinfoil" / "v3-hosts" / hashlib.sha256(host.lower().encode()).hexdigest()


def v3_seen(state_dir: Path | None, host: str) -> str | None:
    """When ``host`` first served a v3 document to this client (ISO-8601), or None."""
    if state_dir is None:
        return None
    try:
        with open(_path(state_dir, host), "rb") as f:
            text = f.read(MAX_STATE_BYTES).decode("utf-8", errors="replace").strip()
    except FileNotFoundError:
        return None
    return text or "an earlier session"


def remember_v3(state_dir: Path | None, host: str, at: dt.datetime) -> bool:
    """Remember that ``host`` served v3 (keeps the first time); False when there is no state dir."""
    if state_dir is None:
        return False
    if v3_seen(state_dir, host) is None:
        path = _path(state_dir, host)
        for directory in (state_dir, state_dir / "tinfoil"):
            private_dir(directory)
        write_private(path, iso(at).encode())
    return True
