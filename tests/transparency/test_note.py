"""C2SP signed notes, checkpoints and cosignatures: our keys, and real Rekor v1/v2 checkpoints."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tests.transparency.helpers import log_signer, witness_signer
from verifier.errors import PolicyError
from verifier.reference.checkpoint import (
    Checkpoint,
    CheckpointError,
    open_checkpoint,
    parse_checkpoint_body,
)
from verifier.reference.cosignature import WitnessPolicy, cosign
from verifier.reference.merkle import EMPTY_ROOT
from verifier.reference.note import (
    SIG_ECDSA,
    Note,
    NoteFormatError,
    NoteSignature,
    NoteSigner,
    NoteVerificationError,
    ecdsa_verifier,
    ed25519_verifier,
    key_id,
    parse_note,
    parse_skey,
    parse_vkey,
    sign_note,
    verify_note,
)

AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
BODY = Checkpoint("example.com/log", 5, b"\x11" * 32).body()


def test_format_round_trip_and_text_split() -> None:
    signer = log_signer("example.com/log")
    note = sign_note(BODY, [signer])
    data = note.encode()
    assert data.startswith(BODY.encode() + b"\n\xe2\x80\x94 example.com/log ")
    assert parse_note(data) == note
    # The text may hold blank lines: the signatures start after the last one.
    text = "a\n\nb\n"
    assert parse_note(sign_note(text, [signer]).encode()).text == text


@pytest.mark.parametrize("data, reason", [
    (b"no blank line\n\xe2\x80\x94 a AAAAAAA=\n", "blank line"),
    (b"text\n\n", "no signature lines"),
    (b"text\n\n\xe2\x80\x94 a AAAAAAA=", "newline"),
    (b"text\n\n- a AAAAAAA=\n", "em dash"),
    (b"text\n\n\xe2\x80\x94 a+b AAAAAAA=\n", "key name"),
    (b"text\n\n\xe2\x80\x94 a AAAA\n", "key ID"),
    (b"text\n\n\xe2\x80\x94 a !!!!\n", "base64"),
    (b"te\x01xt\n\n\xe2\x80\x94 a AAAAAAA=\n", "control character"),
    (b"\xff\n\n\xe2\x80\x94 a AAAAAAA=\n", "UTF-8"),
])
def test_malformed_notes_are_refused(data: bytes, reason: str) -> None:
    with pytest.raises(NoteFormatError, match=reason):
        parse_note(data)


def test_unknown_signatures_are_ignored_and_known_bad_ones_reject() -> None:
    signer, other = log_signer("example.com/log"), log_signer("example.com/log")
    note = sign_note(BODY, [other, signer])
    assert [v.verifier.name for v in verify_note(note, [signer.verifier])] == ["example.com/log"]
    # Same name, another key: ignored, so only the unknown signature is there: refused.
    with pytest.raises(NoteVerificationError, match="no signature from a trusted key"):
        verify_note(sign_note(BODY, [other]), [signer.verifier])
    # A known key whose signature does not verify rejects the whole note.
    good = note.signatures[1]
    forged = NoteSignature(good.name, good.key_id, bytes(64))
    with pytest.raises(NoteVerificationError, match="does not verify"):
        verify_note(Note(BODY, (note.signatures[0], forged, good)), [signer.verifier])


def test_ecdsa_note_keys_sign_and_verify() -> None:
    signer = NoteSigner("example.com/ecdsa-log", SIG_ECDSA, ec.generate_private_key(ec.SECP256R1()))
    note = sign_note(BODY, [signer])
    vkey = signer.verifier.vkey()
    assert parse_vkey(vkey) == signer.verifier
    assert verify_note(parse_note(note.encode()), [parse_vkey(vkey)])[0].verifier.sig_type == SIG_ECDSA
    with pytest.raises(NoteFormatError, match="P-256"):
        ecdsa_verifier("x", ec.generate_private_key(ec.SECP384R1()).public_key())


def test_vkeys_and_signer_keys() -> None:
    signer = log_signer("example.com/log")
    raw = signer.verifier.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)  # type: ignore[union-attr]
    assert signer.verifier.key_id == key_id("example.com/log", 1, raw)
    assert parse_vkey(signer.verifier.vkey()) == signer.verifier
    assert parse_skey(signer.skey()).verifier == signer.verifier
    name, kid, b64 = signer.verifier.vkey().split("+", 2)
    wrong_id = f"{name}+{'0' * 8 if kid != '0' * 8 else '1' * 8}+{b64}"
    with pytest.raises(NoteFormatError, match="does not match"):
        parse_vkey(wrong_id)
    for bad in ("", "a+b", "name+zzzzzzzz+AQ==", "name+00000000+" + base64.b64encode(b"\x09" + bytes(32)).decode()):
        with pytest.raises(NoteFormatError):
            parse_vkey(bad)


def test_checkpoint_body_is_strict() -> None:
    cp = parse_checkpoint_body(BODY)
    assert (cp.origin, cp.size, cp.root_hash) == ("example.com/log", 5, b"\x11" * 32)
    assert parse_checkpoint_body(Checkpoint("o", 0, EMPTY_ROOT, ("ext",)).body()).extensions == ("ext",)
    root = base64.b64encode(b"\x11" * 32).decode()
    for bad in (f"o\n05\n{root}\n", f"o\n-1\n{root}\n", f"\n5\n{root}\n", "o\n5\nAAAA\n", f"o\n5\n{root}\n\n",
                f"o\n5\n{root}", "o\n5\n", f"o\n99999999999999999999\n{root}\n"):
        with pytest.raises(NoteFormatError):
            parse_checkpoint_body(bad)


def test_open_checkpoint_checks_origin_and_key() -> None:
    signer = log_signer("example.com/log")
    data = sign_note(BODY, [signer]).encode()
    assert open_checkpoint(data, [signer.verifier], origin="example.com/log").checkpoint.size == 5
    with pytest.raises(CheckpointError):
        open_checkpoint(data, [signer.verifier], origin="example.com/other")
    with pytest.raises(NoteVerificationError):
        open_checkpoint(data, [log_signer("example.com/log").verifier])


def test_witness_policy_counts_distinct_valid_cosignatures() -> None:
    log = log_signer("example.com/log")
    w1, w2, w3 = witness_signer("w1.example"), witness_signer("w2.example"), witness_signer("w3.example")
    note = sign_note(BODY, [log])
    ts = int(AT.timestamp())
    cosigned = note.with_signatures([cosign(note, w1, ts), cosign(note, w1, ts - 1), cosign(note, w2, ts)])
    policy = WitnessPolicy((w1.verifier, w2.verifier, w3.verifier), 2)
    verdict = policy.evaluate(cosigned, at=AT)
    assert verdict.satisfied and verdict.cosigned_by == ("w1.example", "w2.example")
    assert not WitnessPolicy((w1.verifier, w2.verifier, w3.verifier), 3).evaluate(cosigned, at=AT).satisfied
    # A cosignature over another checkpoint does not count, and is reported.
    other = sign_note(Checkpoint("example.com/log", 6, b"\x22" * 32).body(), [log])
    moved = note.with_signatures([cosign(other, w1, ts)])
    verdict = policy.evaluate(moved, at=AT)
    assert not verdict.satisfied and verdict.invalid == ("w1.example",)
    # Dated in the future (beyond the allowed skew): not counted.
    future = note.with_signatures([cosign(note, w1, ts + 3600), cosign(note, w2, ts)])
    verdict = policy.evaluate(future, at=AT)
    assert verdict.future == ("w1.example",) and not verdict.satisfied


def test_witness_policy_rejects_bad_configuration() -> None:
    w = witness_signer()
    with pytest.raises(PolicyError):
        WitnessPolicy((w.verifier,), 2)
    with pytest.raises(PolicyError):
        WitnessPolicy((log_signer().verifier,), 1)
    with pytest.raises(PolicyError):
        WitnessPolicy.from_vkeys(["not a vkey"], 0)


def _rekor_keys(root: Path) -> list[Ed25519PublicKey | ec.EllipticCurvePublicKey]:
    keys = []
    for t in json.loads(root.read_text())["tlogs"]:
        key = serialization.load_der_public_key(base64.b64decode(t["publicKey"]["rawBytes"]))
        assert isinstance(key, Ed25519PublicKey | ec.EllipticCurvePublicKey)
        keys.append(key)
    return keys


@pytest.mark.vectors
def test_real_rekor_v1_checkpoint_ecdsa(vectors: Path) -> None:
    """Rekor v1 signs checkpoints with ECDSA P-256; its key ID is the SPKI hash (signature type 0x02)."""
    bundle = json.loads((vectors / "sigstore/cli-cli/reusable-workflow-attestation.sigstore.json").read_text())
    text = bundle["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]["envelope"]
    keys = [ecdsa_verifier("rekor.sigstore.dev", k) for k in _rekor_keys(vectors / "sigstore/cli-cli/trusted_root.json")
            if isinstance(k, ec.EllipticCurvePublicKey)]
    signed = open_checkpoint(text, keys, origin="rekor.sigstore.dev - 2605736670972794746")
    assert signed.checkpoint.size == 92601055
    assert parse_note(text).encode().decode() == text
    tampered = text.replace("92601055", "92601056")
    with pytest.raises(NoteVerificationError):
        open_checkpoint(tampered, keys)


@pytest.mark.vectors
def test_real_rekor_v2_checkpoint_with_witness_cosignatures(vectors: Path) -> None:
    """Rekor v2: Ed25519 (type 0x01) by the log, three timestamped cosignatures by unknown witnesses."""
    case = vectors / "sigstore/sigstore-conformance/rekor2-dsse-happy-path"
    text = json.loads((case / "bundle.sigstore.json").read_text())["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]["envelope"]
    keys = [ed25519_verifier("log2025-alpha3.rekor.sigstage.dev", k) for k in _rekor_keys(case / "trusted_root.json")
            if isinstance(k, Ed25519PublicKey)]
    signed = open_checkpoint(text, keys, origin="log2025-alpha3.rekor.sigstage.dev")
    assert signed.checkpoint.size == 4026479
    assert len(signed.note.signatures) == 4 and len(signed.log_signatures) == 1
    # Without the witnesses' keys, a witness policy cannot be met: unknown cosignatures never count.
    assert not WitnessPolicy((witness_signer().verifier,), 1).evaluate(signed.note, at=AT).satisfied


def test_random_ed25519_key_not_trusted() -> None:
    key = Ed25519PrivateKey.generate()
    signer = NoteSigner("example.com/log", 1, key)
    assert verify_note(sign_note(BODY, [signer]), [ed25519_verifier("example.com/log", key.public_key())])
