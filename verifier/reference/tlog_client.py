"""Read a tiled transparency log over HTTP (C2SP tlog-tiles): its checkpoint, tiles, and the proofs
they yield.

The client never trusts what it reads: the checkpoint is verified against the log key the policy
pins (:mod:`verifier.reference.checkpoint`), and every proof computed from the tiles is checked
against signed roots (:mod:`verifier.reference.merkle`). A wrong tile only makes a proof fail.
Responses are bounded in size; a connection failure is :class:`~verifier.errors.ServiceUnreachable`,
an unexpected answer :class:`~verifier.errors.ProtocolError`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from verifier import bounded_http
from verifier.errors import ProtocolError, ServiceUnreachable
from verifier.reference.merkle import consistency_proof, inclusion_proof
from verifier.reference.tiles import TILE_WIDTH, TileMissing, TileReader

MAX_CHECKPOINT_BYTES = 64 * 1024
MAX_TILE_BYTES = TILE_WIDTH * 32
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class TlogClient:
    """GET a log's resources below ``url`` (its tlog-tiles prefix) with one ``httpx`` client."""

    def __init__(self, url: str, http: httpx.Client) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ProtocolError(f"log URL {url!r} is not an http(s) URL")
        self.url = url if url.endswith("/") else url + "/"
        self._http = http

    def fetch(self, path: str, *, limit: int = MAX_TILE_BYTES) -> bytes:
        """One resource, at most ``limit`` bytes; a 404 is :class:`TileMissing`."""
        target = self.url + path
        try:
            answer = bounded_http.get(self._http, target, limit=limit, timeout=DEFAULT_TIMEOUT,
                                      network_unreachable=True)
        except ServiceUnreachable as e:
            raise ServiceUnreachable(f"could not reach the transparency log at {self.url}: {e}") from None
        if answer.status == 404:
            raise TileMissing(f"the log has no {path}")
        if answer.status != 200:
            raise ProtocolError(f"{target} answered HTTP {answer.status}")
        return answer.body

    def checkpoint(self) -> bytes:
        """The log's current signed checkpoint (C2SP tlog-tiles "Checkpoints"), unverified."""
        try:
            return self.fetch("checkpoint", limit=MAX_CHECKPOINT_BYTES)
        except TileMissing:
            raise ProtocolError(f"the log at {self.url} serves no checkpoint") from None

    def reader(self, size: int) -> TileReader:
        """Subtree hashes of the tree of ``size``, read from the log's tiles."""
        return TileReader(self.fetch, size)

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        """RFC 9162 §2.1.4.1 proof from ``size1`` to ``size2``, computed from the log's tiles."""
        return consistency_proof(self.reader(size2), size1, size2)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """RFC 9162 §2.1.3.1 proof for leaf ``index`` in the tree of ``size``, from the tiles."""
        return inclusion_proof(self.reader(size), index, size)
