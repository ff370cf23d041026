"""The tiled log on disk and the witness, in process (no HTTP): layout, proofs, C2SP answers."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from enclave.transparency.log import LogError, TransparencyLog, fork_log
from enclave.transparency.witness import Witness
from tests.transparency.helpers import log_signer, witness_signer
from verifier.reference.checkpoint import Checkpoint, open_checkpoint
from verifier.reference.checkpoint_store import CheckpointStore
from verifier.reference.merkle import (
    EMPTY_ROOT,
    ProofError,
    leaf_hash,
    memory_reader,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from verifier.reference.note import parse_note, parse_signature_lines, sign_note
from verifier.reference.tiles import (
    TileMissing,
    TileReader,
    encode_entry_bundle,
    encode_index,
    parse_entry_bundle,
    parse_tile_path,
    tile_path,
    tile_width,
)


def test_tile_paths_follow_c2sp() -> None:
    assert encode_index(1234067) == "x001/x234/067"
    assert encode_index(0) == "000" and encode_index(1000) == "x001/000"
    assert tile_path(1, 1234067, 17) == "tile/1/x001/x234/067.p/17"
    assert parse_tile_path("tile/entries/x001/x234/067.p/5") == (None, 1234067, 5)
    assert parse_tile_path("tile/2/000") == (2, 0, 256)
    # C2SP tlog-tiles' example: a tree of 70,000 leaves.
    assert (tile_width(0, 273, 70000), tile_width(1, 1, 70000), tile_width(2, 0, 70000)) == (112, 17, 1)
    assert tile_width(0, 274, 70000) == 0
    for bad in ("tile/0/1", "tile/0/x000/001", "tile/0/000.p/256", "tile/0/000.p/0", "tile/64/000",
                "tile/0/../checkpoint", "checkpoint", "tile/entries/000/../../x", "tile/00/000"):
        with pytest.raises(TileMissing):
            parse_tile_path(bad)


def test_entry_bundles() -> None:
    entries = [b"", b"a", bytes(300)]
    assert parse_entry_bundle(encode_entry_bundle(entries)) == entries
    with pytest.raises(ProofError):
        parse_entry_bundle(encode_entry_bundle(entries)[:-1])


def test_log_layout_and_proofs_across_tile_boundaries(tmp_path: Path) -> None:
    log = TransparencyLog(tmp_path, log_signer())
    assert log.checkpoint() == Checkpoint(log.origin, 0, EMPTY_ROOT)
    entries = [i.to_bytes(3, "big") for i in range(700)]
    log.append_many(entries[:300])
    log.append_many(entries[300:555])
    for e in entries[555:]:
        log.append(e)
    leaves = [leaf_hash(e) for e in entries]
    assert log.checkpoint().root_hash == root_hash(memory_reader(leaves), 700)
    assert (tmp_path / "tile/0/000").stat().st_size == 8192
    assert (tmp_path / "tile/0/002.p/188").stat().st_size == 188 * 32
    assert (tmp_path / "tile/1/000.p/2").stat().st_size == 64
    assert log.entries() == entries
    assert log.find(entries[600]) == 600 and log.find(b"absent") is None
    # Old partial tiles stay: proofs against old sizes still work.
    for size in (1, 255, 256, 257, 300, 555, 700):
        root = root_hash(memory_reader(leaves[:size]), size)
        for i in {0, size // 2, size - 1}:
            verify_inclusion(leaves[i], i, size, log.inclusion_proof(i, size), root)
        for old in {1, size // 3 or 1, size}:
            verify_consistency(old, size, log.consistency_proof(old, size), root_hash(memory_reader(leaves[:old]), old), root)
    # A reader that finds a partial tile gone falls back to the full one.
    (tmp_path / "tile/0/000.p/200").unlink(missing_ok=True)
    assert TileReader(log.read, 200)(0, 199) == leaves[199]
    with pytest.raises(LogError):
        log.append(bytes(70000))


def test_fork_log_cuts_back_and_diverges(tmp_path: Path) -> None:
    log = TransparencyLog(tmp_path / "log", log_signer())
    entries = [i.to_bytes(2, "big") for i in range(300)]
    log.append_many(entries)
    fork = fork_log(log, tmp_path / "fork", size=270)
    assert fork.size == 270 and fork.entries() == entries[:270]
    fork.append_many([b"evil", b"more"])
    leaves = [leaf_hash(e) for e in [*entries[:270], b"evil", b"more"]]
    assert fork.checkpoint().root_hash == root_hash(memory_reader(leaves), 272)
    assert fork.checkpoint().root_hash != root_hash(memory_reader([leaf_hash(e) for e in entries]), 272)
    assert log.entries() == entries  # the original is untouched
    with pytest.raises(LogError):
        fork_log(log, tmp_path / "too-far", size=301)


def _request(old: int, proof: list[bytes], note: bytes) -> bytes:
    return (f"old {old}\n" + "".join(base64.b64encode(h).decode() + "\n" for h in proof) + "\n").encode() + note


def test_witness_answers_per_c2sp_tlog_witness(tmp_path: Path) -> None:
    signer, wsigner = log_signer(), witness_signer()
    log = TransparencyLog(tmp_path / "log", signer)
    witness = Witness(wsigner, tmp_path / "witness", {signer.name: [signer.verifier]}, clock=lambda: 1_700_000_000)
    log.append_many([b"a", b"b", b"c"])
    cp3 = log.checkpoint_bytes()
    answer = witness.add_checkpoint(_request(0, [], cp3))
    assert answer.status == 200
    line = parse_signature_lines(answer.body)[0]
    assert line.name == wsigner.name and wsigner.verifier.verify(parse_note(cp3).text, line) is not None
    stored = next((tmp_path / "witness").iterdir())
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "witness").stat().st_mode) == 0o700
    log.append_many([b"d", b"e"])
    cp5 = log.checkpoint_bytes()
    # Wrong old size: 409 with the size the witness has.
    wrong = witness.add_checkpoint(_request(0, [], cp5))
    assert (wrong.status, wrong.body, wrong.media_type) == (409, b"3\n", "text/x.tlog.size")
    # A bad proof: 422; then the right one: 200.
    assert witness.add_checkpoint(_request(3, [leaf_hash(b"x")] * 3, cp5)).status == 422
    assert witness.add_checkpoint(_request(3, log.consistency_proof(3, 5), cp5)).status == 200
    # Old size above the checkpoint's: 400. Unknown log: 404. Not signed by the log key: 403.
    assert witness.add_checkpoint(_request(9, [], cp5)).status == 400
    stranger = sign_note(Checkpoint("elsewhere.example/log", 1, leaf_hash(b"a")).body(), [log_signer("elsewhere.example/log")])
    assert witness.add_checkpoint(_request(0, [], stranger.encode())).status == 404
    forged = sign_note(parse_note(cp5).text, [log_signer()])
    assert witness.add_checkpoint(_request(5, [], forged.encode())).status == 403
    # The same size with another root (a fork): 409, and nothing cosigned.
    fork = sign_note(Checkpoint(signer.name, 5, leaf_hash(b"fork")).body(), [signer])
    assert witness.add_checkpoint(_request(5, [], fork.encode())).status == 409
    assert witness.latest(signer.name) == open_checkpoint(cp5, [signer.verifier]).checkpoint
    for garbage in (b"", b"old 01\n\n" + cp5, b"old 3\nnot base64\n\n" + cp5, b"old 0\n" + cp5, b"old 0\n\nnot a note"):
        assert witness.add_checkpoint(garbage).status == 400


def test_checkpoint_store_modes_and_never_shrinks(tmp_path: Path) -> None:
    signer = log_signer("o")
    small = sign_note(Checkpoint("o", 1, leaf_hash(b"a")).body(), [signer]).encode()
    large = sign_note(Checkpoint("o", 2, leaf_hash(b"b")).body(), [signer]).encode()
    store = CheckpointStore(tmp_path / "state")
    assert store.load("o") is None
    store.save("o", large)
    store.save("o", small)  # another session had already remembered a larger tree
    assert store.load("o") == large
    assert stat.S_IMODE(store.path("o").stat().st_mode) == 0o600
    assert stat.S_IMODE(store.directory.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700


DEMO_LOG_VKEY = "demo.enclave-chat.localhost/log+e5dd4266+AXFSSgby4UsYtah2EF59k5gLxZEGt2wjY1GCtuFbzw/w"
DEMO_WITNESS_VKEY = "demo.enclave-chat.localhost/witness+c09ab658+BAEgMYPDH2iVVaUeQu6oXozvnFnOrkc01V4oRVyf8Fk7"


def test_demo_keys_are_the_ones_docs_and_demo_policy_pin() -> None:
    from enclave.transparency.keys import demo_log_signer, demo_witness_signer

    assert demo_log_signer().verifier.vkey() == DEMO_LOG_VKEY
    assert demo_witness_signer().verifier.vkey() == DEMO_WITNESS_VKEY
    docs = (Path(__file__).resolve().parents[2] / "docs" / "transparency.md").read_text()
    assert DEMO_LOG_VKEY in docs and DEMO_WITNESS_VKEY in docs


def test_load_or_create_signer(tmp_path: Path) -> None:
    from enclave.transparency.services import load_or_create_signer, open_log

    key = tmp_path / "keys" / "log.skey"
    signer = load_or_create_signer(key, "example.com/log")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert load_or_create_signer(key, "ignored").verifier == signer.verifier
    with pytest.raises(ValueError):
        load_or_create_signer(key, "x", witness=True)
    wkey = load_or_create_signer(tmp_path / "w.skey", "w.example", witness=True)
    log = open_log(tmp_path / "log", signer, witnesses=[("http://127.0.0.1:9/", wkey.verifier.vkey())])
    assert log.witnesses[0].key == wkey.verifier
