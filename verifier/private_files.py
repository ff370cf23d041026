"""The one private file writer: what enclave-chat keeps on disk (collateral cache, accepted log
checkpoints, recordings, downgrade memory, the TUI's config and exports) is written here.

Files are mode 0600 in directories of mode 0700; a file is written to a fresh temporary name
(``O_CREAT | O_EXCL | O_NOFOLLOW``: never through a planted symlink, never into a file someone else
opened) and renamed over its target, so a reader sees the old bytes or the new ones, and a symlink
planted at the target is replaced, not followed.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from verifier.errors import InputError

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def private_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) mode 0700; an existing directory is made 0700. A symlink
    or a non-directory there, or a directory that cannot be made private, is an :class:`InputError`."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    st = path.lstat()
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise InputError(f"{path} is not a directory of its own (a symlink or a file is there)")
    if stat.S_IMODE(st.st_mode) != 0o700:
        try:
            os.chmod(path, 0o700)
        except OSError as e:
            raise InputError(f"{path} cannot be made private (mode 0700): {e.strerror or e}") from None
    return path


def write_private(path: Path, data: bytes, *, sync: bool = False, own_parent: bool = True) -> None:
    """Write ``data`` to ``path`` atomically, mode 0600, creating 0700 parent directories.
    ``own_parent=False``: the file goes into a directory the user chose (an export); a missing one
    is created 0700, an existing one is left as it is."""
    if own_parent or not path.parent.is_dir():
        private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if sync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
