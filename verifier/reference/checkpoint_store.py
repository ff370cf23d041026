"""The last checkpoint this client accepted for each log (DESIGN.md "Split view").

A later checkpoint from the same log (same origin) is accepted only with a consistency proof from
the stored one; a log that shows this user a tree that does not extend what it showed before has
forked, which is refused as a possible split view. Files live under the user's state directory:
``checkpoints/<SHA-256 of the origin>.checkpoint``, mode 0600, in directories of mode 0700. The
stored note is re-verified with the policy's log key whenever it is read.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path

from verifier.errors import VerifierError
from verifier.private_files import private_dir, write_private
from verifier.reference.checkpoint import read_checkpoint
from verifier.reference.note import MAX_NOTE_BYTES


def default_state_dir() -> Path:
    """The platform's user state directory for enclave-chat (``ENCLAVE_CHAT_STATE_DIR`` overrides)."""
    override = os.environ.get("ENCLAVE_CHAT_STATE_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_state_dir("enclave-chat"))


class CheckpointStore:
    """One file per log origin under ``state_dir/checkpoints``."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.directory = state_dir / "checkpoints"

    def path(self, origin: str) -> Path:
        return self.directory / f"{hashlib.sha256(origin.encode()).hexdigest()}.checkpoint"

    def load(self, origin: str) -> bytes | None:
        """The stored signed checkpoint for ``origin``, or None on first contact."""
        try:
            with open(self.path(origin), "rb") as f:
                return f.read(MAX_NOTE_BYTES + 1)
        except FileNotFoundError:
            return None

    def save(self, origin: str, checkpoint: bytes) -> None:
        """Remember ``checkpoint`` (already verified and consistent) as the latest for ``origin``.

        Under a lock, and only if it is larger than what another session may have stored since:
        the remembered tree never shrinks.
        """
        private_dir(self.state_dir)
        private_dir(self.directory)
        fd = os.open(self.directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            current = self.load(origin)
            if current is not None:
                try:
                    if read_checkpoint(current)[0].size >= read_checkpoint(checkpoint)[0].size:
                        return
                except VerifierError:
                    pass
            write_private(self.path(origin), checkpoint, sync=True)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
