"""Hypothesis properties: hostile proofs, notes, checkpoints, statements and witness requests only
ever produce the verifier's typed errors (or a clean refusal), never another exception."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enclave.transparency.publish import sign_release
from enclave.transparency.witness import Witness
from tests.transparency.helpers import MEASUREMENT, log_signer, policy, statement, witness_signer
from verifier.appraisal.release import appraise_release
from verifier.errors import VerifierError
from verifier.reference.checkpoint import open_checkpoint
from verifier.reference.cosignature import WitnessPolicy
from verifier.reference.dsse import parse_envelope
from verifier.reference.merkle import (
    leaf_hash,
    memory_reader,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from verifier.reference.note import (
    parse_note,
    parse_signature_lines,
    parse_skey,
    parse_vkey,
    verify_note,
)
from verifier.reference.release import parse_statement
from verifier.reference.tiles import parse_entry_bundle, parse_tile_path
from verifier.result import Status

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
hashes = st.one_of(st.binary(min_size=32, max_size=32), st.binary(max_size=40))
sizes = st.one_of(st.integers(min_value=0, max_value=300), st.integers(min_value=-2, max_value=(1 << 65)))
LOG = log_signer("prop.example/log")
WITNESS = witness_signer("prop.example/witness")
PUBLISHER = Ed25519PrivateKey.generate()


@SETTINGS
@given(leaf=hashes, index=sizes, size=sizes, proof=st.lists(hashes, max_size=12), root=hashes)
def test_random_inclusion_proofs(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> None:
    try:
        verify_inclusion(leaf, index, size, proof, root)
    except VerifierError:
        pass


@SETTINGS
@given(size1=sizes, size2=sizes, proof=st.lists(hashes, max_size=12), root1=hashes, root2=hashes)
def test_random_consistency_proofs(size1: int, size2: int, proof: list[bytes], root1: bytes, root2: bytes) -> None:
    try:
        verify_consistency(size1, size2, proof, root1, root2)
    except VerifierError:
        pass


@SETTINGS
@given(n=st.integers(min_value=2, max_value=40), data=st.data())
def test_a_flipped_bit_anywhere_in_a_real_proof_is_refused(n: int, data: st.DataObject) -> None:
    leaves = [leaf_hash(bytes([i])) for i in range(n)]
    reader = memory_reader(leaves)
    from verifier.reference.merkle import inclusion_proof

    i = data.draw(st.integers(min_value=0, max_value=n - 1))
    proof = inclusion_proof(reader, i, n)
    root = root_hash(reader, n)
    j = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
    bit = data.draw(st.integers(min_value=0, max_value=255))
    bad = list(proof)
    bad[j] = bytes(b ^ (1 << (bit % 8)) if k == bit // 8 else b for k, b in enumerate(bad[j]))
    with pytest.raises(VerifierError):
        verify_inclusion(leaves[i], i, n, bad, root)


note_text = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.builds(lambda body, name, sig: f"{body}\n\n\u2014 {name} {sig}\n".encode("utf-8", "surrogatepass"),
              st.text(max_size=80), st.text(max_size=20), st.text(alphabet="ABCDabcd0123+/=", max_size=120)),
)


@SETTINGS
@given(data=note_text)
def test_random_notes_and_keys(data: bytes) -> None:
    for parse in (parse_note, parse_signature_lines):
        try:
            parse(data)
        except VerifierError:
            pass
    text = data.decode("utf-8", "replace")
    for parse_key in (parse_vkey, parse_skey):
        try:
            parse_key(text)
        except VerifierError:
            pass
    try:
        open_checkpoint(data, [LOG.verifier])
    except VerifierError:
        pass


@SETTINGS
@given(extra=st.lists(st.tuples(st.sampled_from([LOG.name, WITNESS.name, "x"]), st.binary(min_size=5, max_size=90)), max_size=6))
def test_notes_with_hostile_signature_lines(extra: list[tuple[str, bytes]]) -> None:
    from verifier.reference.checkpoint import Checkpoint
    from verifier.reference.note import sign_note

    note = sign_note(Checkpoint(LOG.name, 3, bytes(32)).body(), [LOG])
    lines = "".join(f"\u2014 {name} {base64.b64encode(raw).decode()}\n" for name, raw in extra)
    hostile = parse_note(note.encode() + lines.encode())
    try:
        verify_note(hostile, [LOG.verifier, WITNESS.verifier])
    except VerifierError:
        pass
    verdict = WitnessPolicy((WITNESS.verifier,), 1).evaluate(hostile, at=dt.datetime.now(dt.UTC))
    assert not verdict.satisfied  # random bytes never make a valid cosignature


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
statement_like = st.fixed_dictionaries(
    {"_type": st.sampled_from(["https://enclave-chat.dev/release/v1", "other"]),
     "image": st.one_of(st.just("sha256:" + "ab" * 32), st.text(max_size=20)),
     "version": st.one_of(st.just("1.2.3"), st.text(max_size=12)),
     "measurements": st.one_of(json_values, st.dictionaries(st.sampled_from(["sev-snp", "tdx"]), st.lists(st.text(max_size=100), max_size=3)))})


@SETTINGS
@given(doc=st.one_of(statement_like, json_values))
def test_random_statements_and_envelopes(doc: Any) -> None:
    raw = json.dumps(doc).encode()
    for parse in (parse_statement, parse_envelope):
        try:
            parse(raw)
        except VerifierError:
            pass


VALID_ENVELOPE = base64.b64encode(sign_release(statement(), PUBLISHER)).decode()
KNOWN_IDS = {"release.envelope", "release.signature", "release.measurement", "release.image", "release.version",
             "release.log.checkpoint", "release.log.witness", "release.log.inclusion",
             "release.log.fresh_checkpoint", "release.log.consistency"}
surrogates = st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3)
release_like = st.one_of(
    json_values,
    st.fixed_dictionaries({"envelope": st.one_of(st.just(VALID_ENVELOPE), st.text(max_size=40), json_values),
                           "log": st.one_of(json_values, st.fixed_dictionaries(
                               {"origin": st.one_of(st.just(LOG.name), json_values),
                                "index": st.one_of(st.integers(min_value=-3, max_value=1 << 70), json_values),
                                "inclusion_proof": st.one_of(st.lists(st.text(alphabet="AQ=+/", max_size=48), max_size=70), json_values),
                                "checkpoint": st.one_of(st.text(max_size=200), surrogates, json_values)}))}),
)


@SETTINGS
@given(release=release_like)
def test_random_release_objects_give_checks_not_exceptions(release: Any, tmp_path: Path) -> None:
    pol = policy(PUBLISHER, LOG, url="https://log.invalid/", witnesses=(WITNESS,), min_witnesses=1)
    result = appraise_release(release, platform="sev-snp", measurement=MEASUREMENT, policy=pol,
                              state_dir=tmp_path / "state")
    assert result.checks[0].id == "release.envelope"
    assert {c.id for c in result.checks} <= KNOWN_IDS
    # A random log proof is never a checkpoint signed by the pinned log key: always refused.
    assert any(c.status is Status.FAIL for c in result.checks)
    assert all(c.status is not Status.PASS for c in result.checks if c.id == "release.log.checkpoint")


@SETTINGS
@given(body=st.one_of(st.binary(max_size=400),
                      st.builds(lambda old, lines, cp: f"old {old}\n{lines}\n{cp}".encode(),
                                st.integers(min_value=0, max_value=9),
                                st.text(alphabet="AQ=+/\n", max_size=80), st.text(max_size=200))))
def test_random_witness_requests_are_answered_not_raised(body: bytes, tmp_path: Path) -> None:
    witness = Witness(WITNESS, tmp_path / "w", {LOG.name: [LOG.verifier]})
    assert witness.add_checkpoint(body).status in (400, 403, 404, 409, 422)


def test_lone_surrogates_from_json_are_format_errors() -> None:
    hostile = json.loads('"\\ud800\\n\\n\\u2014 a AAAAAAA=\\n"')
    with pytest.raises(VerifierError):
        parse_note(hostile)
    envelope = base64.b64encode(sign_release(statement(), PUBLISHER)).decode()
    release = {"envelope": envelope, "log": {"origin": LOG.name, "index": 0, "inclusion_proof": [], "checkpoint": hostile}}
    pol = policy(PUBLISHER, LOG, url="https://log.invalid/")
    checks = {c.id: c for c in appraise_release(release, platform="sev-snp", measurement=MEASUREMENT, policy=pol).checks}
    assert checks["release.signature"].status is Status.PASS
    assert checks["release.log.checkpoint"].status is Status.FAIL and "UTF-8" in checks["release.log.checkpoint"].detail


@pytest.mark.slow
@settings(max_examples=5000, deadline=None)
@given(leaf=hashes, index=sizes, size=sizes, proof=st.lists(hashes, max_size=70), root=hashes)
def test_long_fuzz_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> None:
    try:
        verify_inclusion(leaf, index, size, proof, root)
    except VerifierError:
        pass


@SETTINGS
@given(path=st.text(max_size=60), bundle=st.binary(max_size=200))
def test_random_tile_paths_and_bundles(path: str, bundle: bytes) -> None:
    try:
        parse_tile_path(path)
    except VerifierError:
        pass
    try:
        parse_entry_bundle(bundle)
    except VerifierError:
        pass
