"""Reading the files a user hands the verifier: whole, bounded, and with a plain error.

An unreadable or oversized file is an :class:`~verifier.errors.InputError` (the CLI's exit 2);
nothing is read past the limit, so a hostile path (a device, a huge file) cannot exhaust memory,
and nothing blocks for ever: a FIFO with no writer reads as empty instead of waiting for one, and
a pipe or device that gives nothing for :data:`IDLE_TIMEOUT` seconds is an error. (A pipe whose
writer is still sending, ``<(curl ...)`` say, is read to its end as usual.)
"""

from __future__ import annotations

import errno
import os
import select
import stat
from pathlib import Path

from verifier.errors import InputError

DEFAULT_LIMIT = 8 * 1024 * 1024
IDLE_TIMEOUT = 30.0
"""Seconds a pipe or device may stay silent before reading it is given up."""

_CHUNK = 1024 * 1024


def read_file(path: Path, limit: int = DEFAULT_LIMIT, what: str = "") -> bytes:
    label = f"{what} {path}" if what else str(path)
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, for ever.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise InputError(f"cannot read {label}: {e.strerror or e}") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise InputError(f"cannot read {label}: it is a directory, not a file")
        data = _read_bounded(fd, limit + 1, regular=stat.S_ISREG(mode), label=label)
    except OSError as e:
        raise InputError(f"cannot read {label}: {e.strerror or e}") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise InputError(f"{label} is larger than {limit} bytes")
    return data


def _read_bounded(fd: int, most: int, *, regular: bool, label: str) -> bytes:
    """Up to ``most`` bytes from ``fd`` (non-blocking), until end of file."""
    chunks: list[bytes] = []
    size = 0
    while size < most:
        try:
            chunk = os.read(fd, min(_CHUNK, most - size))
        except BlockingIOError:
            if regular:  # pragma: no cover - a regular file never answers EAGAIN
                raise
            ready, _, _ = select.select([fd], [], [], IDLE_TIMEOUT)
            if not ready:
                raise InputError(f"cannot read {label}: nothing arrived for {IDLE_TIMEOUT:g} s") from None
            continue
        except InterruptedError:  # pragma: no cover - retried by Python itself (PEP 475)
            continue
        except OSError as e:
            if e.errno == errno.EISDIR:
                raise InputError(f"cannot read {label}: it is a directory, not a file") from None
            raise
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
