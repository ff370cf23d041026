"""Reading the files a user hands the verifier: whole, bounded, and with a plain error.

An unreadable or oversized file is an :class:`~verifier.errors.InputError` (the CLI's exit 2);
nothing is read past the limit, so a hostile path (a device, a huge file) cannot exhaust memory.
"""

from __future__ import annotations

from pathlib import Path

from verifier.errors import InputError

DEFAULT_LIMIT = 8 * 1024 * 1024


def read_file(path: Path, limit: int = DEFAULT_LIMIT, what: str = "") -> bytes:
    label = f"{what} {path}" if what else str(path)
    try:
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise InputError(f"cannot read {label}: {e.strerror or e}") from None
    if len(data) > limit:
        raise InputError(f"{label} is larger than {limit} bytes")
    return data
