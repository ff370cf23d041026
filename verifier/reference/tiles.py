"""The C2SP tlog-tiles layout: where a tiled log keeps its checkpoint, hash tiles and entry bundles.

Paths (relative to the log's prefix, C2SP tlog-tiles "APIs"):

* ``checkpoint`` - the signed tree head (C2SP tlog-checkpoint);
* ``tile/<L>/<N>[.p/<W>]`` - 256 hashes (or a partial tile of ``W``) at level ``L``: a level-0
  tile holds leaf hashes; each level-``L`` hash is the tree hash of a full level-``L-1`` tile;
* ``tile/entries/<N>[.p/<W>]`` - the entries behind level-0 tile ``N``, each prefixed with its
  length as a big-endian uint16.

``<N>`` is written in groups of three digits, every group but the last prefixed with ``x``
(``1234067`` is ``x001/x234/067``). :class:`TileReader` turns tiles into the subtree hashes that
RFC 9162 proofs need (:mod:`verifier.reference.merkle`), so a client computes and checks
consistency and inclusion proofs itself from what the log serves.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Sequence

from verifier.errors import VerifierError
from verifier.reference.merkle import HASH_SIZE, ProofError, node_hash

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
MAX_LEVEL = 63
MAX_ENTRY_BYTES = 0xFFFF

_PATH = re.compile(r"\Atile/(entries|0|[1-9][0-9]?)/((?:x[0-9]{3}/)*[0-9]{3})(?:\.p/([1-9][0-9]{0,2}))?\Z")


class TileMissing(VerifierError):
    """The log does not serve a tile (or entry bundle) at that path."""


def encode_index(n: int) -> str:
    """C2SP tlog-tiles: ``<N>`` as zero-padded 3-digit path elements, all but the last with ``x``."""
    if n < 0:
        raise ValueError("a tile index is not negative")
    groups = []
    while True:
        groups.append(f"{n % 1000:03d}")
        n //= 1000
        if n == 0:
            break
    groups.reverse()
    return "/".join([*("x" + g for g in groups[:-1]), groups[-1]])


def tile_path(level: int, index: int, width: int = TILE_WIDTH) -> str:
    """``tile/<L>/<N>`` for a full tile, ``tile/<L>/<N>.p/<W>`` for a partial one."""
    if not 0 <= level <= MAX_LEVEL or not 1 <= width <= TILE_WIDTH:
        raise ValueError("tile level 0..63 and width 1..256")
    suffix = "" if width == TILE_WIDTH else f".p/{width}"
    return f"tile/{level}/{encode_index(index)}{suffix}"


def entries_path(index: int, width: int = TILE_WIDTH) -> str:
    """``tile/entries/<N>[.p/<W>]``: the entry bundle behind level-0 tile ``index``."""
    if not 1 <= width <= TILE_WIDTH:
        raise ValueError("tile width 1..256")
    suffix = "" if width == TILE_WIDTH else f".p/{width}"
    return f"tile/entries/{encode_index(index)}{suffix}"


def parse_tile_path(path: str) -> tuple[int | None, int, int]:
    """``(level, index, width)`` of a tile path; level ``None`` for an entry bundle.

    Refuses anything that is not exactly a tlog-tiles path (so a server may map it to a file).
    """
    m = _PATH.match(path)
    if not m:
        raise TileMissing(f"{path!r} is not a tlog-tiles path")
    level_text, index_text, width_text = m.groups()
    groups = index_text.split("/")
    index = int("".join(g.lstrip("x") for g in groups))
    if encode_index(index) != index_text:
        raise TileMissing(f"{path!r} is not a canonical tile index")
    width = int(width_text) if width_text else TILE_WIDTH
    if width >= TILE_WIDTH and width_text:
        raise TileMissing(f"{path!r}: a partial tile is narrower than {TILE_WIDTH}")
    level = None if level_text == "entries" else int(level_text)
    if level is not None and level > MAX_LEVEL:
        raise TileMissing(f"{path!r}: level above {MAX_LEVEL}")
    return level, index, width


def tile_width(level: int, index: int, size: int) -> int:
    """How many hashes tile ``index`` at ``level`` holds in a tree of ``size`` (0: none yet)."""
    count = size >> (TILE_HEIGHT * level)
    return max(0, min(TILE_WIDTH, count - index * TILE_WIDTH))


def encode_entry_bundle(entries: Sequence[bytes]) -> bytes:
    """C2SP tlog-tiles "Log entries": each entry with a big-endian uint16 length before it."""
    out = bytearray()
    for e in entries:
        if len(e) > MAX_ENTRY_BYTES:
            raise ValueError(f"a log entry is at most {MAX_ENTRY_BYTES} bytes")
        out += struct.pack(">H", len(e)) + e
    return bytes(out)


def parse_entry_bundle(data: bytes) -> list[bytes]:
    """Split an entry bundle into its entries; refuses trailing or truncated bytes."""
    entries, pos = [], 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise ProofError("an entry bundle ends inside a length prefix")
        (n,) = struct.unpack(">H", data[pos : pos + 2])
        if pos + 2 + n > len(data):
            raise ProofError("an entry bundle ends inside an entry")
        entries.append(data[pos + 2 : pos + 2 + n])
        pos += 2 + n
    if len(entries) > TILE_WIDTH:
        raise ProofError(f"an entry bundle holds at most {TILE_WIDTH} entries")
    return entries


def split_tile(data: bytes, width: int) -> list[bytes]:
    """The ``width`` hashes of a tile (a full tile may stand in for a partial one: its prefix)."""
    if len(data) < width * HASH_SIZE or len(data) % HASH_SIZE or len(data) > TILE_WIDTH * HASH_SIZE:
        raise ProofError(f"a tile of width {width} must hold {width * HASH_SIZE} bytes, got {len(data)}")
    return [data[i * HASH_SIZE : (i + 1) * HASH_SIZE] for i in range(width)]


class TileReader:
    """A :data:`~verifier.reference.merkle.HashReader` for the tree of ``size`` backed by tiles.

    ``fetch(path)`` returns a tile's bytes or raises :class:`TileMissing`; a missing partial tile is
    retried as the full tile (C2SP tlog-tiles lets logs delete partial tiles once full). Tiles are
    fetched once each. Nothing read here is trusted: callers verify the proofs it yields against
    signed checkpoints.
    """

    def __init__(self, fetch: Callable[[str], bytes], size: int) -> None:
        self._fetch = fetch
        self.size = size
        self._tiles: dict[tuple[int, int], list[bytes]] = {}

    def tile(self, level: int, index: int) -> list[bytes]:
        key = (level, index)
        if key not in self._tiles:
            width = tile_width(level, index, self.size)
            if width == 0:
                raise ProofError(f"tile {level}/{index} is not part of a tree of size {self.size}")
            try:
                data = self._fetch(tile_path(level, index, width))
            except TileMissing:
                if width == TILE_WIDTH:
                    raise
                data = self._fetch(tile_path(level, index))
            self._tiles[key] = split_tile(data, width)
        return self._tiles[key]

    def __call__(self, height: int, index: int) -> bytes:
        if height < 0 or index < 0 or (index + 1) << height > self.size:
            raise ProofError(f"no complete subtree of height {height} at {index} in a tree of size {self.size}")
        level, within = divmod(height, TILE_HEIGHT)
        first = index << within
        hashes = self.tile(level, first // TILE_WIDTH)
        row = hashes[first % TILE_WIDTH : first % TILE_WIDTH + (1 << within)]
        while len(row) > 1:
            row = [node_hash(row[i], row[i + 1]) for i in range(0, len(row), 2)]
        return row[0]
