"""An append-only transparency log stored on disk in the C2SP tlog-tiles layout.

The directory holds exactly what the log serves: ``checkpoint`` (a C2SP tlog-checkpoint signed by
the log key, with witness cosignatures), ``tile/<L>/<N>[.p/<W>]`` (hash tiles) and
``tile/entries/<N>[.p/<W>]`` (entry bundles), plus two private files: ``.lock`` and
``witnesses.json`` (the size each witness last cosigned). Leaves are RFC 9162 §2.1.1 leaf hashes
of the exact entry bytes. Appends take a lock (a thread lock and an ``flock`` on ``.lock``), write
tiles first and the checkpoint last, each file atomically, so a reader (the HTTP server, another
process) never sees a checkpoint whose tiles are missing.

After each append the log asks its witnesses to cosign (C2SP tlog-witness ``add-checkpoint``),
sending a consistency proof from the size each witness last saw, and adds the cosignatures it gets
to the checkpoint it serves.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from verifier.errors import VerifierError
from verifier.reference.checkpoint import Checkpoint, read_checkpoint
from verifier.reference.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    node_hash,
    root_hash,
)
from verifier.reference.merkle import leaf_hash as rfc9162_leaf_hash
from verifier.reference.note import (
    Note,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    parse_signature_lines,
    sign_note,
)
from verifier.reference.tiles import (
    MAX_ENTRY_BYTES,
    TILE_HEIGHT,
    TILE_WIDTH,
    TileMissing,
    TileReader,
    encode_entry_bundle,
    entries_path,
    parse_entry_bundle,
    tile_path,
    tile_width,
)

WITNESS_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class LogError(Exception):
    """The log cannot do what was asked (an entry too large, a corrupt directory)."""


@dataclass(frozen=True)
class WitnessEndpoint:
    """A witness this log asks for cosignatures: its submission prefix and its cosigner key."""

    url: str
    key: NoteVerifier


@dataclass(frozen=True)
class AppendResult:
    """Where the entries went, the new checkpoint, and what the witnesses said."""

    first_index: int
    count: int
    checkpoint: bytes
    cosigned_by: tuple[str, ...]
    witness_errors: tuple[str, ...]


def _write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _tile_root(hashes: Sequence[bytes]) -> bytes:
    """The tree hash of a full tile: its 256 hashes hashed up eight levels (C2SP tlog-tiles)."""
    row = list(hashes)
    while len(row) > 1:
        row = [node_hash(row[i], row[i + 1]) for i in range(0, len(row), 2)]
    return row[0]


class TransparencyLog:
    """The log in ``directory``, signing checkpoints with ``signer`` (its key name is the origin).

    ``witnesses`` are asked to cosign each new checkpoint; ``http`` is the client used for that
    (one is made per request when omitted).
    """

    def __init__(self, directory: Path, signer: NoteSigner, *, witnesses: Sequence[WitnessEndpoint] = (),
                 http: httpx.Client | None = None) -> None:
        self.directory = directory
        self.signer = signer
        self.origin = signer.name
        self.witnesses = tuple(witnesses)
        self._http = http
        self._thread_lock = threading.RLock()
        directory.mkdir(parents=True, exist_ok=True)
        with self._locked():
            if not (directory / "checkpoint").exists():
                note = sign_note(Checkpoint(self.origin, 0, EMPTY_ROOT).body(), [signer])
                _write_atomic(directory / "checkpoint", note.encode())

    # -- reading ---------------------------------------------------------------------------------
    def read(self, path: str) -> bytes:
        """A served resource by its tlog-tiles path; :class:`TileMissing` when absent."""
        try:
            return (self.directory / path).read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise TileMissing(f"the log has no {path}") from None

    def checkpoint_bytes(self) -> bytes:
        return self.read("checkpoint")

    def checkpoint(self) -> Checkpoint:
        """The current tree head (this log's own file, so not re-verified)."""
        return read_checkpoint(self.checkpoint_bytes())[0]

    @property
    def size(self) -> int:
        return self.checkpoint().size

    def reader(self, size: int | None = None) -> TileReader:
        return TileReader(self.read, self.size if size is None else size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """RFC 9162 §2.1.3.1 proof for leaf ``index`` in the tree of ``size`` (default: current)."""
        size = self.size if size is None else size
        return inclusion_proof(self.reader(size), index, size)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """RFC 9162 §2.1.4.1 proof from ``size1`` to ``size2`` (default: current)."""
        size2 = self.size if size2 is None else size2
        return consistency_proof(self.reader(size2), size1, size2)

    def entries(self, size: int | None = None) -> list[bytes]:
        """Every entry of the tree of ``size`` (default: current), in order."""
        size = self.size if size is None else size
        out: list[bytes] = []
        for n in range((size + TILE_WIDTH - 1) // TILE_WIDTH):
            width = tile_width(0, n, size)
            try:
                data = self.read(entries_path(n, width))
            except TileMissing:
                data = self.read(entries_path(n))
            out.extend(parse_entry_bundle(data)[:width])
        return out

    def find(self, entry: bytes) -> int | None:
        """The index of the first leaf equal to ``entry``, if the log has it."""
        for i, e in enumerate(self.entries()):
            if e == entry:
                return i
        return None

    # -- appending ---------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._thread_lock:
            fd = os.open(self.directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    def append(self, entry: bytes) -> AppendResult:
        """Append one entry; see :meth:`append_many`."""
        return self.append_many([entry])

    def append_many(self, entries: Sequence[bytes]) -> AppendResult:
        """Append ``entries``, rewrite the tiles they touch, sign and cosign the new checkpoint."""
        for e in entries:
            if len(e) > MAX_ENTRY_BYTES:
                raise LogError(f"a log entry is at most {MAX_ENTRY_BYTES} bytes (tlog-tiles entry bundles)")
        with self._locked():
            old = self.size
            new = old + len(entries)
            self._write_level0(old, list(entries))
            self._write_upper_levels(old, new)
            root = root_hash(TileReader(self.read, new), new)
            note = sign_note(Checkpoint(self.origin, new, root).body(), [self.signer])
            cosigs, errors = self._cosign(note, new)
            data = note.with_signatures(cosigs).encode()
            _write_atomic(self.directory / "checkpoint", data)
            return AppendResult(old, len(entries), data, tuple(s.name for s in cosigs), tuple(errors))

    def _write_level0(self, old: int, entries: list[bytes]) -> None:
        first_tile, offset = divmod(old, TILE_WIDTH)
        hashes: list[bytes] = []
        bundle: list[bytes] = []
        if offset:
            hashes = list(TileReader(self.read, old).tile(0, first_tile))
            try:
                bundle = parse_entry_bundle(self.read(entries_path(first_tile, offset)))
            except TileMissing:
                bundle = parse_entry_bundle(self.read(entries_path(first_tile)))[:offset]
        hashes += [rfc9162_leaf_hash(e) for e in entries]
        bundle += entries
        for k in range(0, len(hashes), TILE_WIDTH):
            index = first_tile + k // TILE_WIDTH
            chunk, entry_chunk = hashes[k : k + TILE_WIDTH], bundle[k : k + TILE_WIDTH]
            _write_atomic(self.directory / tile_path(0, index, len(chunk)), b"".join(chunk))
            _write_atomic(self.directory / entries_path(index, len(entry_chunk)), encode_entry_bundle(entry_chunk))

    def _write_upper_levels(self, old: int, new: int) -> None:
        level = 1
        while True:
            old_count = old >> (TILE_HEIGHT * level)
            new_count = new >> (TILE_HEIGHT * level)
            if new_count == old_count:
                return
            below = TileReader(self.read, new)
            first_tile, offset = divmod(old_count, TILE_WIDTH)
            hashes = list(TileReader(self.read, old).tile(level, first_tile)) if offset else []
            hashes += [_tile_root(below.tile(level - 1, j)) for j in range(old_count, new_count)]
            for k in range(0, len(hashes), TILE_WIDTH):
                chunk = hashes[k : k + TILE_WIDTH]
                _write_atomic(self.directory / tile_path(level, first_tile + k // TILE_WIDTH, len(chunk)), b"".join(chunk))
            level += 1

    # -- witnesses (C2SP tlog-witness, client side) --------------------------------------------------
    def _witness_state(self) -> dict[str, int]:
        try:
            state = json.loads((self.directory / "witnesses.json").read_text())
        except (FileNotFoundError, ValueError):
            return {}
        return {k: v for k, v in state.items() if isinstance(k, str) and isinstance(v, int)} if isinstance(state, dict) else {}

    def _cosign(self, note: Note, size: int) -> tuple[list[NoteSignature], list[str]]:
        state = self._witness_state()
        sigs: list[NoteSignature] = []
        errors: list[str] = []
        for w in self.witnesses:
            try:
                sig = self._ask_witness(w, note, size, state.get(w.key.name, 0))
            except (httpx.HTTPError, VerifierError, LogError) as e:
                errors.append(f"{w.key.name}: {e}")
                continue
            sigs.append(sig)
            state[w.key.name] = size
        _write_atomic(self.directory / "witnesses.json", json.dumps(state, sort_keys=True).encode(), 0o600)
        return sigs, errors

    def _ask_witness(self, w: WitnessEndpoint, note: Note, size: int, old: int) -> NoteSignature:
        """POST add-checkpoint; on 409 retry once from the size the witness says it has."""
        url = w.url if w.url.endswith("/") else w.url + "/"
        client = self._http or httpx.Client(timeout=WITNESS_TIMEOUT)
        try:
            for _ in range(2):
                if old > size:
                    raise LogError(f"the witness has size {old}, larger than this log's {size}: the log was rolled back")
                proof = self.consistency_proof(old, size) if 0 < old < size else []
                body = (f"old {old}\n" + "".join(base64.b64encode(h).decode() + "\n" for h in proof) + "\n").encode()
                response = client.post(url + "add-checkpoint", content=body + note.encode(), timeout=WITNESS_TIMEOUT)
                if response.status_code == 409 and response.headers.get("content-type", "").startswith("text/x.tlog.size"):
                    text = response.text.strip()
                    if not text.isdigit():
                        raise LogError("the witness's 409 answer is not a tree size")
                    old = int(text)
                    continue
                if response.status_code != 200:
                    raise LogError(f"the witness refused to cosign (HTTP {response.status_code}: {response.text.strip()[:200]})")
                for line in parse_signature_lines(response.content):
                    if w.key.matches(line) and w.key.verify(note.text, line) is not None:
                        return line
                raise LogError("the witness answered without a valid cosignature from its key")
            raise LogError("the witness kept answering 409")
        finally:
            if self._http is None:
                client.close()


def fork_log(log: TransparencyLog, directory: Path, *, size: int,
             witnesses: Sequence[WitnessEndpoint] = ()) -> TransparencyLog:
    """ATTACK TOOL: a copy of ``log`` cut back to ``size`` leaves, signed with the same key.

    Appending to the copy makes a second history that shares the first ``size`` leaves: what a
    misbehaving (or compromised) log would show some users to mount a split view. Honest witnesses
    refuse to cosign it; a client that remembers an earlier checkpoint detects it.
    """
    current = log.size
    if not 0 <= size <= current:
        raise LogError(f"cannot fork at {size}: the log has {current} leaves")
    directory.mkdir(parents=True, exist_ok=True)
    if (log.directory / "tile").exists():
        shutil.copytree(log.directory / "tile", directory / "tile", dirs_exist_ok=True)
    reader = TileReader(log.read, current)
    level = 0
    while (count := size >> (TILE_HEIGHT * level)) > 0:
        index, width = divmod(count, TILE_WIDTH)
        if width:
            hashes = reader.tile(level, index)[:width]
            _write_atomic(directory / tile_path(level, index, width), b"".join(hashes))
            if level == 0:
                entries = log.entries(current)[index * TILE_WIDTH : index * TILE_WIDTH + width]
                _write_atomic(directory / entries_path(index, width), encode_entry_bundle(entries))
        level += 1
    note = sign_note(Checkpoint(log.origin, size, root_hash(reader, size)).body(), [log.signer])
    _write_atomic(directory / "checkpoint", note.encode())
    return TransparencyLog(directory, log.signer, witnesses=witnesses, http=log._http)
