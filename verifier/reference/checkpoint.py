"""Transparency log checkpoints (C2SP tlog-checkpoint): a signed note whose text is a tree head.

The note text is the log's **origin** line, the **tree size** in decimal (no leading zeroes), the
**root hash** in base64 (an RFC 9162 §2.1.1 Merkle tree hash, 32 bytes), then optional non-empty
extension lines (C2SP tlog-checkpoint, "Note text"). A checkpoint is trusted only once a signature
by the log's key verifies (C2SP signed-note); other signatures (witnesses, rotated keys) are
ignored here and judged by :mod:`verifier.reference.cosignature`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass

from verifier.errors import VerifierError
from verifier.reference.merkle import HASH_SIZE, MAX_TREE_SIZE
from verifier.reference.note import (
    Note,
    NoteFormatError,
    NoteVerifier,
    Verified,
    parse_note,
    verify_note,
)

_SIZE = re.compile(r"\A(0|[1-9][0-9]{0,18})\Z")


class CheckpointError(VerifierError):
    """A checkpoint verifies, but is not the one expected (another log's origin, for example)."""


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: which log (``origin``), how many leaves (``size``), and their ``root_hash``."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        """The note text (C2SP tlog-checkpoint "Note text"), ending in a newline."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode(), *self.extensions]
        return "\n".join(lines) + "\n"


def parse_checkpoint_body(text: str) -> Checkpoint:
    """Parse a checkpoint's note text strictly (C2SP tlog-checkpoint "Note text")."""
    if not text.endswith("\n"):
        raise NoteFormatError("must end with a newline", field="checkpoint")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise NoteFormatError("needs an origin, a tree size and a root hash", field="checkpoint")
    origin, size_text, root_text, *extensions = lines
    if not origin:
        raise NoteFormatError("the origin line is empty", field="checkpoint.origin")
    if not _SIZE.match(size_text) or int(size_text) > MAX_TREE_SIZE:
        raise NoteFormatError("the tree size must be a decimal number without leading zeroes",
                              field="checkpoint.size")
    try:
        root = base64.b64decode(root_text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise NoteFormatError("the root hash is not base64", field="checkpoint.root") from None
    if len(root) != HASH_SIZE:
        raise NoteFormatError(f"the root hash must be {HASH_SIZE} bytes", field="checkpoint.root")
    if any(not line for line in extensions):
        raise NoteFormatError("extension lines must be non-empty", field="checkpoint")
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint with its note; ``log_signatures`` are the log-key signatures that verified."""

    checkpoint: Checkpoint
    note: Note
    log_signatures: tuple[Verified, ...]

    def encode(self) -> bytes:
        return self.note.encode()


def read_checkpoint(data: bytes | str) -> tuple[Checkpoint, Note]:
    """Parse a signed checkpoint without verifying it (to show what was presented)."""
    note = parse_note(data)
    return parse_checkpoint_body(note.text), note


def open_checkpoint(data: bytes | str, log_keys: Iterable[NoteVerifier], *, origin: str | None = None) -> SignedCheckpoint:
    """Parse a signed checkpoint and verify the log's signature (C2SP tlog-checkpoint "Signatures").

    ``origin``, when given, must equal the checkpoint's origin line. Raises
    :class:`~verifier.reference.note.NoteFormatError`,
    :class:`~verifier.reference.note.NoteVerificationError` or :class:`CheckpointError`.
    """
    checkpoint, note = read_checkpoint(data)
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(f"the checkpoint is for log {checkpoint.origin!r}, not {origin!r}")
    verified = verify_note(note, log_keys)
    return SignedCheckpoint(checkpoint, note, verified)
