"""Process-wide, bounded memory of what does not change between attestations of the same device.

A client that attests a service again sees the same certificate chains, the same RIMs and the
same issuers every time; only the report (its nonces, its signature) and the revocation answers are
new. What those unchanging bytes yield is remembered here, keyed by the **exact bytes** it was
computed from (the bytes themselves, compared whole on a hit, or a SHA-256 over them,
:meth:`BoundedCache.key`), or, for what is read from an immutable parsed object, by that object
(:class:`PerObject`):

* parsed certificates, chains and documents (by their bytes);
* that a signature verified (by the signed object's bytes and its issuer's), and only when it did:
  a failure is never remembered, so a bad signature is refused every time it is met;
* a RIM's verified content (by the RIM's bytes and its signer's).

Never here, by design: the report signature (it changes with every nonce), validity times, pins,
policy and revocation (OCSP answers and CRLs are judged on every appraisal). A hit only means
"these exact bytes gave this before"; every caller checks the rest again.

Each cache is bounded and thread-safe. :func:`clear_all` empties every one (a cold start: the
benchmarks' cold runs, tests).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
V = TypeVar("V")


class BoundedCache(Generic[V]):
    """A least-recently-used map of at most ``size`` entries, from keys made of exact bytes (a
    :meth:`key` digest, bytes, or a tuple of them) to values."""

    def __init__(self, what: str, size: int) -> None:
        if size < 1:
            raise ValueError("a cache holds at least one entry")
        self.what = what
        self.size = size
        self._entries: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()
        _ALL.append(self)

    @staticmethod
    def key(*parts: bytes) -> bytes:
        """SHA-256 over the parts, each preceded by its length: no two sequences of parts share one."""
        h = hashlib.sha256()
        for part in parts:
            h.update(len(part).to_bytes(8, "big"))
            h.update(part)
        return h.digest()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: Hashable, value: V) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def through(self, key: Hashable, compute: Callable[[], V]) -> V:
        """The value remembered under ``key``; else ``compute()``, remembered when it returns (when
        it raises, nothing is remembered and the next call computes again)."""
        hit = self.get(key)
        if hit is not None:
            return hit
        value = compute()
        self.put(key, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


class PerObject(Generic[T, V]):
    """``compute(obj)`` remembered for each object itself, for objects that never change once made
    (parsed certificates and documents, which the caches above hand out again and again): keyed by
    ``id`` and holding the object, so that the id stays that object's while it is remembered. At
    most ``size`` objects, the oldest out first; a lookup takes no lock (one dict read)."""

    def __init__(self, what: str, size: int, compute: Callable[[T], V]) -> None:
        if size < 1:
            raise ValueError("a cache holds at least one entry")
        self.what = what
        self.size = size
        self._compute = compute
        self._entries: dict[int, tuple[T, V]] = {}
        self._lock = threading.Lock()
        _ALL.append(self)

    def __call__(self, obj: T) -> V:
        entry = self._entries.get(id(obj))
        if entry is not None and entry[0] is obj:
            return entry[1]
        value = self._compute(obj)
        with self._lock:
            self._entries[id(obj)] = (obj, value)
            while len(self._entries) > self.size:
                del self._entries[next(iter(self._entries))]
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class VerifiedCache(BoundedCache[bool]):
    """Remembers the keys of signature checks that passed; callers :meth:`add` only on success."""

    def hit(self, key: Hashable) -> bool:
        return self.get(key) is not None

    def add(self, key: Hashable) -> None:
        self.put(key, True)


_ALL: list[BoundedCache[Any] | PerObject[Any, Any]] = []


def clear_all() -> None:
    """Empty every cache of this module's kind (a cold start, as for the first attestation)."""
    for cache in _ALL:
        cache.clear()
