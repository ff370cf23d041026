"""A transparency log witness (C2SP tlog-witness) with Ed25519 cosignatures (C2SP tlog-cosignature).

For each log it knows (origin -> the log's note keys), the witness keeps the last checkpoint it
cosigned, in ``state_dir/<SHA-256 of origin>.json`` (mode 0600, directory 0700). It cosigns a new
checkpoint only when the log's signature verifies, the ``old`` size the log sends is the size it
has, and the consistency proof from that checkpoint to the new one verifies; the check and the
update are one atomic step under a lock. Because it never cosigns two inconsistent checkpoints, a
client that requires its cosignature cannot be shown a fork of the log.

HTTP answers follow C2SP tlog-witness "add-checkpoint": 200 with cosignature lines, 400 malformed
request or ``old`` above the checkpoint size, 403 no trusted log signature, 404 unknown origin,
409 ``old`` is not the size the witness has (body: that size, ``text/x.tlog.size``) or the same
size with another root, 422 the consistency proof does not verify.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from verifier.errors import VerifierError
from verifier.private_files import write_private
from verifier.reference.checkpoint import Checkpoint, parse_checkpoint_body
from verifier.reference.cosignature import cosign
from verifier.reference.merkle import HASH_SIZE, ProofError, verify_consistency
from verifier.reference.note import NoteSigner, NoteVerifier, parse_note, verify_note

MAX_REQUEST_BYTES = 256 * 1024
MAX_PROOF_LINES = 63
_OLD = re.compile(r"\Aold (0|[1-9][0-9]{0,18})\Z")


@dataclass(frozen=True)
class WitnessResponse:
    """An HTTP answer: status, body and media type."""

    status: int
    body: bytes
    media_type: str = "text/plain; charset=utf-8"


def _text(status: int, message: str) -> WitnessResponse:
    return WitnessResponse(status, (message + "\n").encode())


class Witness:
    """Cosign checkpoints of the logs in ``logs`` (origin -> trusted log keys) with ``signer``."""

    def __init__(self, signer: NoteSigner, state_dir: Path, logs: Mapping[str, Sequence[NoteVerifier]],
                 *, clock: Callable[[], float] = time.time) -> None:
        self.signer = signer
        self.state_dir = state_dir
        self.logs = {origin: tuple(keys) for origin, keys in logs.items()}
        self._clock = clock
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.signer.name

    def _path(self, origin: str) -> Path:
        return self.state_dir / f"{hashlib.sha256(origin.encode()).hexdigest()}.json"

    def latest(self, origin: str) -> Checkpoint | None:
        """The last checkpoint cosigned for ``origin`` (None if never)."""
        try:
            state = json.loads(self._path(origin).read_text())
            return parse_checkpoint_body(state["checkpoint"])
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError, VerifierError) as e:
            raise RuntimeError(f"witness state for {origin!r} is corrupt: {e}") from None

    def add_checkpoint(self, body: bytes) -> WitnessResponse:
        """C2SP tlog-witness ``POST <prefix>/add-checkpoint``."""
        if len(body) > MAX_REQUEST_BYTES:
            return _text(400, f"request larger than {MAX_REQUEST_BYTES} bytes")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return _text(400, "request is not UTF-8")
        head, sep, rest = text.partition("\n")
        m = _OLD.match(head)
        if not sep or not m:
            return _text(400, "the first line must be 'old <size>'")
        old = int(m.group(1))
        proof: list[bytes] = []
        while True:
            line, sep, rest = rest.partition("\n")
            if not sep:
                return _text(400, "no empty line before the checkpoint")
            if not line:
                break
            if len(proof) == MAX_PROOF_LINES:
                return _text(400, f"more than {MAX_PROOF_LINES} consistency proof lines")
            try:
                h = base64.b64decode(line, validate=True)
            except (binascii.Error, ValueError):
                return _text(400, "a consistency proof line is not base64")
            if len(h) != HASH_SIZE:
                return _text(400, f"a consistency proof hash must be {HASH_SIZE} bytes")
            proof.append(h)
        try:
            note = parse_note(rest)
            checkpoint = parse_checkpoint_body(note.text)
        except VerifierError as e:
            return _text(400, f"malformed checkpoint: {e}")
        keys = self.logs.get(checkpoint.origin)
        if keys is None:
            return _text(404, f"unknown log {checkpoint.origin!r}")
        try:
            verify_note(note, keys)
        except VerifierError as e:
            return _text(403, f"the checkpoint is not signed by the log's key: {e}")
        if old > checkpoint.size:
            return _text(400, f"old size {old} is above the checkpoint size {checkpoint.size}")
        with self._lock:
            latest = self.latest(checkpoint.origin)
            have = latest.size if latest is not None else 0
            if old != have:
                return WitnessResponse(409, f"{have}\n".encode(), "text/x.tlog.size")
            if old == 0 and proof:
                return _text(400, "the consistency proof must be empty when old is 0")
            if latest is not None and old == checkpoint.size:
                if latest.root_hash != checkpoint.root_hash:
                    return _text(409, "same size, different root hash: the log forked")
            elif latest is not None and old > 0:
                try:
                    verify_consistency(old, checkpoint.size, proof, latest.root_hash, checkpoint.root_hash)
                except ProofError as e:
                    return _text(422, f"the consistency proof does not verify: {e}")
            self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            write_private(self._path(checkpoint.origin),
                          json.dumps({"origin": checkpoint.origin, "checkpoint": note.text}).encode())
            signature = cosign(note, self.signer, int(self._clock()))
        return WitnessResponse(200, signature.line().encode())
