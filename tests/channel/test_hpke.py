"""HPKE base mode against every RFC 9180 mode-0 vector for the suites we support, plus failures."""

from __future__ import annotations

from typing import Any

import pytest

from verifier.channel import hpke
from verifier.errors import ChannelError

X25519_AES128 = hpke.Suite(hpke.KEM_X25519_SHA256, hpke.KDF_HKDF_SHA256, hpke.AEAD_AES_128_GCM)


def _supported(v: dict[str, Any]) -> bool:
    return (
        v["mode"] == 0
        and v["kem_id"] in hpke.SUPPORTED_KEMS
        and v["kdf_id"] in hpke.SUPPORTED_KDFS
        and v["aead_id"] in hpke.SUPPORTED_AEADS
    )


@pytest.mark.vectors
def test_rfc9180_base_mode_vectors(hpke_vectors: list[dict[str, Any]]) -> None:
    h = bytes.fromhex
    suites = seals = opens = exports = 0
    for v in filter(_supported, hpke_vectors):
        suite = hpke.Suite(v["kem_id"], v["kdf_id"], v["aead_id"])
        # DeriveKeyPair and key serialisation (RFC 9180 §7.1).
        assert hpke.derive_key_pair(suite.kem_id, h(v["ikmE"])) == (h(v["skEm"]), h(v["pkEm"]))
        assert hpke.derive_key_pair(suite.kem_id, h(v["ikmR"])) == (h(v["skRm"]), h(v["pkRm"]))
        assert hpke.public_key_from_private(suite.kem_id, h(v["skRm"])) == h(v["pkRm"])

        enc, sender = hpke.setup_base_sender(
            suite, h(v["pkRm"]), h(v["info"]), ephemeral_private_key=h(v["skEm"])
        )
        assert enc == h(v["enc"])
        receiver = hpke.setup_base_receiver(suite, enc, h(v["skRm"]), h(v["info"]))
        for seq, e in enumerate(v["encryptions"]):
            assert sender.seq == receiver.seq == seq
            assert sender.seal(h(e["pt"]), h(e["aad"])) == h(e["ct"])
            assert receiver.open(h(e["ct"]), h(e["aad"])) == h(e["pt"])
            seals += 1
            opens += 1
        for x in v["exports"]:
            for context in (sender, receiver):
                assert context.export(h(x["exporter_context"]), x["L"]) == h(x["exported_value"])
                exports += 1
        suites += 1
    # 4 KEMs x 2 KDFs x 4 AEADs; export-only suites carry no encryptions; 257 sequence numbers each.
    assert suites == 32
    assert seals == opens == 24 * 257
    assert exports == 32 * 3 * 2


@pytest.mark.vectors
def test_vectors_skipped_are_only_other_modes(hpke_vectors: list[dict[str, Any]]) -> None:
    skipped = {
        (v["mode"], v["kem_id"], v["kdf_id"], v["aead_id"])
        for v in hpke_vectors
        if not _supported(v)
    }
    assert skipped
    assert all(mode != 0 for mode, *_ in skipped)


@pytest.mark.vectors
def test_export_only_suite_cannot_seal(hpke_vectors: list[dict[str, Any]]) -> None:
    v = next(x for x in hpke_vectors if x["mode"] == 0 and x["aead_id"] == hpke.AEAD_EXPORT_ONLY)
    suite = hpke.Suite(v["kem_id"], v["kdf_id"], v["aead_id"])
    _, sender = hpke.setup_base_sender(suite, bytes.fromhex(v["pkRm"]), b"")
    with pytest.raises(ChannelError, match="export-only"):
        sender.seal(b"x")


def _pair(
    suite: hpke.Suite = X25519_AES128, info: bytes = b"info"
) -> tuple[hpke.SenderContext, hpke.ReceiverContext]:
    sk = hpke.generate_private_key(suite.kem_id)
    enc, sender = hpke.setup_base_sender(
        suite, hpke.public_key_from_private(suite.kem_id, sk), info
    )
    return sender, hpke.setup_base_receiver(suite, enc, sk, info)


@pytest.mark.parametrize("kem_id", sorted(hpke.SUPPORTED_KEMS))
@pytest.mark.parametrize(
    "aead_id", [hpke.AEAD_AES_128_GCM, hpke.AEAD_AES_256_GCM, hpke.AEAD_CHACHA20_POLY1305]
)
def test_round_trip_every_kem_and_aead(kem_id: int, aead_id: int) -> None:
    sender, receiver = _pair(hpke.Suite(kem_id, hpke.KDF_HKDF_SHA384, aead_id))
    for i in range(3):
        message = b"message %d" % i
        assert receiver.open(sender.seal(message, b"aad"), b"aad") == message
    assert sender.export(b"ctx", 48) == receiver.export(b"ctx", 48)
    assert receiver.seq == 3


def test_generated_keys_have_rfc_sizes() -> None:
    for kem_id in hpke.SUPPORTED_KEMS:
        sk = hpke.generate_private_key(kem_id)
        assert len(sk) == hpke.kem_private_key_size(kem_id)
        assert len(hpke.public_key_from_private(kem_id, sk)) == hpke.kem_public_key_size(kem_id)
    assert hpke.generate_private_key(hpke.KEM_X25519_SHA256) != hpke.generate_private_key(
        hpke.KEM_X25519_SHA256
    )


def test_tampered_ciphertext_fails_and_poisons_the_context() -> None:
    sender, receiver = _pair()
    sealed = bytearray(sender.seal(b"hello"))
    sealed[0] ^= 1
    with pytest.raises(ChannelError, match="decryption failed"):
        receiver.open(bytes(sealed))
    assert receiver.seq == 0
    with pytest.raises(ChannelError, match="no longer usable"):
        receiver.open(sender.seal(b"again"))


def test_wrong_aad_or_info_fails() -> None:
    sender, receiver = _pair()
    with pytest.raises(ChannelError):
        receiver.open(sender.seal(b"x", b"a"), b"b")
    sk = hpke.generate_private_key(hpke.KEM_X25519_SHA256)
    pk = hpke.public_key_from_private(hpke.KEM_X25519_SHA256, sk)
    enc, s = hpke.setup_base_sender(X25519_AES128, pk, b"one")
    r = hpke.setup_base_receiver(X25519_AES128, enc, sk, b"two")
    with pytest.raises(ChannelError):
        r.open(s.seal(b"x"))


def test_out_of_order_open_fails() -> None:
    sender, receiver = _pair()
    first, second = sender.seal(b"1"), sender.seal(b"2")
    with pytest.raises(ChannelError):
        receiver.open(second)
    assert first != second


def test_bad_keys_and_enc_are_channel_errors() -> None:
    sk = hpke.generate_private_key(hpke.KEM_X25519_SHA256)
    with pytest.raises(ChannelError, match="32 bytes"):
        hpke.setup_base_sender(X25519_AES128, b"\x01" * 31, b"")
    with pytest.raises(ChannelError, match="encapsulated key"):
        hpke.setup_base_receiver(X25519_AES128, b"\x01" * 33, sk, b"")
    # The all-zero X25519 point gives an all-zero shared secret, which RFC 9180 §7.1.4 refuses.
    with pytest.raises(ChannelError):
        hpke.setup_base_receiver(X25519_AES128, bytes(32), sk, b"")
    with pytest.raises(ChannelError):
        hpke.setup_base_sender(X25519_AES128, bytes(32), b"")
    p256 = hpke.Suite(hpke.KEM_P256_SHA256, hpke.KDF_HKDF_SHA256, hpke.AEAD_AES_128_GCM)
    with pytest.raises(ChannelError, match="not valid"):
        hpke.setup_base_sender(p256, b"\x04" + b"\x01" * 64, b"")
    with pytest.raises(ChannelError, match="unsupported"):
        hpke.Suite(0x0042, 1, 1)
    with pytest.raises(ChannelError, match="unsupported"):
        hpke.Suite(hpke.KEM_X25519_SHA256, 9, 1)


def test_sequence_number_limit() -> None:
    sender, _ = _pair()
    sender._seq = (1 << 96) - 1  # the last value RFC 9180 §5.2 leaves unusable
    with pytest.raises(ChannelError, match="message limit"):
        sender.seal(b"x")


def test_export_length_bounds() -> None:
    sender, _ = _pair()
    assert len(sender.export(b"", 255 * 32)) == 255 * 32
    with pytest.raises(ValueError):
        sender.export(b"", 255 * 32 + 1)
    with pytest.raises(ValueError):
        sender.export(b"", 0)


def test_hkdf_rfc5869_case_1() -> None:
    prk = hpke.kdf_extract(hpke.KDF_HKDF_SHA256, bytes(range(13)), b"\x0b" * 22)
    assert prk.hex() == "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"
    okm = hpke.kdf_expand(hpke.KDF_HKDF_SHA256, prk, bytes(range(0xF0, 0xFA)), 42)
    assert okm.hex() == (
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    )


def test_bare_aead_round_trip_and_tamper() -> None:
    for aead_id, nk in ((1, 16), (2, 32), (3, 32)):
        key, nonce = b"k" * nk, b"n" * 12
        sealed = hpke.aead_seal(aead_id, key, nonce, b"aad", b"plain")
        assert hpke.aead_open(aead_id, key, nonce, b"aad", sealed) == b"plain"
        with pytest.raises(ChannelError):
            hpke.aead_open(aead_id, key, nonce, b"aad", sealed[:-1])
    with pytest.raises(ChannelError):
        hpke.aead_seal(hpke.AEAD_EXPORT_ONLY, b"", b"", b"", b"")
