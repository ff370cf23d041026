"""Merkle tree hashes and proofs of RFC 9162 (Certificate Transparency v2.0), SHA-256 throughout.

RFC 9162 §2.1.1 defines the tree hash, §2.1.3 inclusion proofs and §2.1.4 consistency proofs. The
verifiers below follow the algorithms of §2.1.3.2 and §2.1.4.2 step by step; the generators follow
§2.1.3.1 (PATH) and §2.1.4.1 (PROOF/SUBPROOF), reading subtree hashes through a
:data:`HashReader` so that a log can answer from its tiles (C2SP tlog-tiles) without holding every
node in memory.

Every hash inside a proof, and every leaf hash, must be 32 bytes. Roots are compared byte for byte.
A consistency proof from an empty tree (``size1 == 0``) is refused: it proves nothing (this is what
the transparency-dev test vectors expect).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from verifier.errors import VerifierError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
MAX_TREE_SIZE = (1 << 63) - 1
MAX_PROOF_HASHES = 128

#: ``reader(height, index)`` answers the hash of the perfect subtree of ``2**height`` leaves that
#: starts at leaf ``index * 2**height`` (height 0 is a leaf hash).
HashReader = Callable[[int, int], bytes]


class ProofError(VerifierError):
    """A Merkle proof does not verify, or its inputs are malformed (wrong sizes, wrong lengths)."""


def leaf_hash(entry: bytes) -> bytes:
    """RFC 9162 §2.1.1: ``MTH({d0}) = SHA-256(0x00 || d0)``."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1: an interior node is ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    """RFC 9162 §2.1.1: ``k`` is the largest power of two smaller than ``n`` (``n > 1``)."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_hash(value: object, what: str) -> bytes:
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
        raise ProofError(f"{what} must be {HASH_SIZE} bytes")
    return bytes(value)


def _check_size(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_TREE_SIZE:
        raise ProofError(f"{what} must be an integer from 0 to 2^63-1")
    return value


def _check_proof(proof: Sequence[bytes]) -> list[bytes]:
    if len(proof) > MAX_PROOF_HASHES:
        raise ProofError(f"a proof has at most {MAX_PROOF_HASHES} hashes, this one has {len(proof)}")
    return [_check_hash(p, f"proof hash {i}") for i, p in enumerate(proof)]


# -- verification --------------------------------------------------------------------------------


def root_from_inclusion_proof(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2 steps 1-5 without the final comparison: the root the proof leads to."""
    leaf = _check_hash(leaf, "leaf hash")
    index = _check_size(index, "leaf index")
    size = _check_size(size, "tree size")
    path = _check_proof(proof)
    if index >= size:
        raise ProofError(f"leaf index {index} is not below the tree size {size}")
    fn, sn = index, size - 1
    r = leaf
    for p in path:
        if sn == 0:
            raise ProofError("the inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the inclusion proof is shorter than the tree is deep")
    return r


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """RFC 9162 §2.1.3.2: ``leaf`` is the hash at ``index`` in the tree of ``size`` with ``root``.

    Raises :class:`ProofError` when it is not.
    """
    if root_from_inclusion_proof(leaf, index, size, proof) != root:
        raise ProofError(f"the inclusion proof for leaf {index} does not lead to the root of the tree of size {size}")


def verify_consistency(size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes) -> None:
    """RFC 9162 §2.1.4.2: the tree of ``size2`` with ``root2`` extends the tree of ``size1`` with ``root1``.

    Raises :class:`ProofError` when it does not, or cannot be shown to.
    """
    size1 = _check_size(size1, "first tree size")
    size2 = _check_size(size2, "second tree size")
    path = _check_proof(proof)
    if size1 == 0:
        raise ProofError("a consistency proof from the empty tree proves nothing")
    if size2 < size1:
        raise ProofError(f"the second tree ({size2}) is smaller than the first ({size1})")
    if size1 == size2:
        if path:
            raise ProofError("trees of equal size need an empty consistency proof")
        if root1 != root2:
            raise ProofError(f"two different roots for the same tree size {size1}: the log forked")
        return
    root1 = _check_hash(root1, "first root")
    root2 = _check_hash(root2, "second root")
    # Step 1: a non-trivial proof is never empty.
    if not path:
        raise ProofError("the consistency proof is empty")
    # Step 2: when size1 is a power of two, the first tree is a node of the second: prepend it.
    if size1 & (size1 - 1) == 0:
        path = [root1, *path]
    # Steps 3-4.
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # Step 5.
    fr = sr = path[0]
    # Step 6.
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # Step 7.
    if sn != 0:
        raise ProofError("the consistency proof is shorter than the tree is deep")
    if fr != root1:
        raise ProofError(f"the consistency proof does not lead to the first root (size {size1})")
    if sr != root2:
        raise ProofError(f"the consistency proof does not lead to the second root (size {size2}): the log forked")


# -- generation (for logs, and for clients that read tiles) ----------------------------------------


def subtree_hash(reader: HashReader, start: int, end: int) -> bytes:
    """``MTH(D[start:end])`` (RFC 9162 §2.1.1) for ``start`` aligned to the subtree's left edge.

    Perfect subtrees are read through ``reader``; others are split at the largest power of two.
    """
    n = end - start
    if n <= 0:
        raise ProofError("an empty range has no subtree hash")
    if n & (n - 1) == 0 and start % n == 0:
        height = n.bit_length() - 1
        return reader(height, start >> height)
    k = _largest_power_of_two_below(n)
    return node_hash(subtree_hash(reader, start, start + k), subtree_hash(reader, start + k, end))


def inclusion_proof(reader: HashReader, index: int, size: int) -> list[bytes]:
    """RFC 9162 §2.1.3.1 ``PATH(m, D[n])``, leaf nearest first."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not below the tree size {size}")

    def path(m: int, start: int, end: int) -> list[bytes]:
        n = end - start
        if n == 1:
            return []
        k = _largest_power_of_two_below(n)
        if m < k:
            return [*path(m, start, start + k), subtree_hash(reader, start + k, end)]
        return [*path(m - k, start + k, end), subtree_hash(reader, start, start + k)]

    return path(index, 0, size)


def consistency_proof(reader: HashReader, size1: int, size2: int) -> list[bytes]:
    """RFC 9162 §2.1.4.1 ``PROOF(m, D[n])`` from the tree of ``size1`` to the tree of ``size2``."""
    if not 0 < size1 <= size2:
        raise ProofError(f"no consistency proof from size {size1} to size {size2}")

    def subproof(m: int, start: int, end: int, complete: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if complete else [subtree_hash(reader, start, end)]
        k = _largest_power_of_two_below(n)
        if m <= k:
            return [*subproof(m, start, start + k, complete), subtree_hash(reader, start + k, end)]
        return [*subproof(m - k, start + k, end, False), subtree_hash(reader, start, start + k)]

    return subproof(size1, 0, size2, True)


def memory_reader(leaves: Sequence[bytes]) -> HashReader:
    """A :data:`HashReader` over a list of leaf hashes (tests, small logs), memoised."""
    cache: dict[tuple[int, int], bytes] = {}

    def read(height: int, index: int) -> bytes:
        key = (height, index)
        if key not in cache:
            if height == 0:
                if not 0 <= index < len(leaves):
                    raise ProofError(f"no leaf {index} in a tree of {len(leaves)}")
                cache[key] = leaves[index]
            else:
                cache[key] = node_hash(read(height - 1, 2 * index), read(height - 1, 2 * index + 1))
        return cache[key]

    return read


def root_hash(reader: HashReader, size: int) -> bytes:
    """RFC 9162 §2.1.1 ``MTH(D[0:size])``; the empty tree's root is SHA-256 of the empty string."""
    return EMPTY_ROOT if size == 0 else subtree_hash(reader, 0, size)
