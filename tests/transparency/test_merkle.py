"""RFC 9162 Merkle proofs against the transparency-dev vectors, and our generators against the verifiers."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tests.vectors import vectors_dir
from verifier.reference.merkle import (
    EMPTY_ROOT,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    memory_reader,
    node_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

pytestmark = pytest.mark.vectors


def _vector_files() -> list[Path]:
    try:
        root = vectors_dir() / "tlog" / "testdata"
    except pytest.skip.Exception:
        return []
    return sorted(root.rglob("*.json"))


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value) if value is not None else b""


def test_all_196_vectors_are_present(vectors: Path) -> None:
    files = sorted((vectors / "tlog" / "testdata").rglob("*.json"))
    assert len(files) == 196
    assert sum("inclusion" in f.parts for f in files) == 98
    assert sum("consistency" in f.parts for f in files) == 98


@pytest.mark.parametrize("path", _vector_files(), ids=lambda p: "/".join(p.parts[-3:]))
def test_transparency_dev_vector(path: Path) -> None:
    """Each vector's wantErr: a refusal is a ProofError, an acceptance returns None."""
    v = json.loads(path.read_text())
    proof = [_b64(p) for p in (v["proof"] or [])]
    try:
        if "inclusion" in path.parts:
            verify_inclusion(_b64(v["leafHash"]), v["leafIdx"], v["treeSize"], proof, _b64(v["root"]))
        else:
            verify_consistency(v["size1"], v["size2"], proof, _b64(v["root1"]), _b64(v["root2"]))
    except ProofError:
        assert v["wantErr"], f"refused a valid proof: {v['desc']}"
    else:
        assert not v["wantErr"], f"accepted an invalid proof: {v['desc']}"


def test_rfc9162_hashes() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    # transparency-dev's leaf 0 of its reference tree is the empty entry: SHA-256(0x00).
    assert leaf_hash(b"") == base64.b64decode("bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=")
    a, b = leaf_hash(b"a"), leaf_hash(b"b")
    assert root_hash(memory_reader([a, b]), 2) == node_hash(a, b)
    assert root_hash(memory_reader([]), 0) == EMPTY_ROOT


@pytest.mark.parametrize("size", [1, 2, 3, 7, 8, 9, 31, 64, 65])
def test_generated_proofs_verify_and_fail_when_altered(size: int) -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    reader = memory_reader(leaves)
    root = root_hash(reader, size)
    for i in range(size):
        proof = inclusion_proof(reader, i, size)
        verify_inclusion(leaves[i], i, size, proof, root)
        if proof:
            bad = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
            with pytest.raises(ProofError):
                verify_inclusion(leaves[i], i, size, bad, root)
        with pytest.raises(ProofError):
            verify_inclusion(leaf_hash(b"another leaf"), i, size, proof, root)
    for m in range(1, size + 1):
        old_root = root_hash(memory_reader(leaves[:m]), m)
        proof = consistency_proof(reader, m, size)
        verify_consistency(m, size, proof, old_root, root)
        if m < size:
            with pytest.raises(ProofError):
                verify_consistency(m, size, proof, leaf_hash(b"fork"), root)


def test_inputs_out_of_range_are_typed_errors() -> None:
    with pytest.raises(ProofError):
        verify_inclusion(b"\x00" * 32, 1 << 64, 1, [], b"\x00" * 32)
    with pytest.raises(ProofError):
        verify_inclusion(b"short", 0, 1, [], b"short")
    with pytest.raises(ProofError):
        verify_consistency(1, 2, [b"\x00" * 32] * 129, b"\x00" * 32, b"\x00" * 32)
    with pytest.raises(ProofError):
        inclusion_proof(memory_reader([]), 0, 0)
    with pytest.raises(ProofError):
        consistency_proof(memory_reader([leaf_hash(b"")]), 0, 1)
