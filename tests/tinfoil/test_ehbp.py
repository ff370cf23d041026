"""EHBP (tinfoil/ehbp/SPEC.md): the known-answer vectors, a round trip, and every way a body or
header can be wrong failing closed."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.channel import ehbp
from verifier.errors import ChannelError, TruncatedResponse

SERVER_PRIVATE, SERVER_PUBLIC = ehbp.generate_key_pair()


def kat(vectors: Path, name: str) -> dict[str, str]:
    doc = json.loads((vectors / "tinfoil/ehbp" / name).read_text())
    assert isinstance(doc, dict)
    return doc


@pytest.mark.vectors
def test_derive_known_answer(vectors: Path) -> None:
    v = kat(vectors, "derive.json")
    keys = ehbp.derive_response_keys(bytes.fromhex(v["exportedSecret"]), bytes.fromhex(v["requestEnc"]),
                                     bytes.fromhex(v["responseNonce"]))
    assert keys.key.hex() == v["derivedKey"]
    assert keys.nonce_base.hex() == v["derivedNonceBase"]
    assert keys.nonce(0) == keys.nonce_base and keys.nonce(1)[-1] == keys.nonce_base[-1] ^ 1


@pytest.mark.vectors
def test_response_decryption_known_answer(vectors: Path) -> None:
    v = kat(vectors, "response-decryption.json")
    token = ehbp.RecoveryToken(bytes.fromhex(v["exportedSecret"]), bytes.fromhex(v["requestEnc"]))
    opener = token.response_opener(v["responseNonce"])
    assert opener.feed(bytes.fromhex(v["encryptedResponse"])) == [bytes.fromhex(v["plaintext"])]
    opener.close()
    assert opener.frames == 1


@pytest.mark.vectors
def test_response_known_answer_refuses_another_nonce_or_a_flipped_bit(vectors: Path) -> None:
    v = kat(vectors, "response-decryption.json")
    token = ehbp.RecoveryToken(bytes.fromhex(v["exportedSecret"]), bytes.fromhex(v["requestEnc"]))
    with pytest.raises(ChannelError):
        token.response_opener("00" * 32).feed(bytes.fromhex(v["encryptedResponse"]))
    body = bytearray(bytes.fromhex(v["encryptedResponse"]))
    body[-1] ^= 1
    with pytest.raises(ChannelError):
        token.response_opener(v["responseNonce"]).feed(bytes(body))


@pytest.mark.vectors
def test_recovery_token_json_round_trip(vectors: Path) -> None:
    v = kat(vectors, "session-recovery-token.json")
    token = ehbp.RecoveryToken.from_json(json.dumps(v))
    assert token.exported_secret.hex() == v["exportedSecret"] and token.request_enc.hex() == v["requestEnc"]
    assert json.loads(token.to_json()) == v


def exchange(request_parts: list[bytes], response_parts: list[bytes]) -> tuple[list[bytes], bytes, list[bytes]]:
    """A full exchange: what the server read, the sealed response body, what the client read."""
    client = ehbp.RequestSealer(SERVER_PUBLIC)
    body = client.seal_body(request_parts)
    server = ehbp.RequestOpener(SERVER_PRIVATE, client.encapsulated_key_header)
    received = server.feed(body)
    server.close()
    sealer = server.response_sealer()
    sealed = b"".join(sealer.seal_frame(p) for p in response_parts)
    opener = client.response_opener(sealer.nonce_header)
    plain = opener.feed(sealed)
    opener.close()
    return received, sealed, plain


def test_round_trip_frame_by_frame() -> None:
    received, sealed, plain = exchange([b"hello", b" world"], [b"data: 1\n\n", b"data: 2\n\n"])
    assert received == [b"hello", b" world"]
    assert plain == [b"data: 1\n\n", b"data: 2\n\n"]
    first_length = struct.unpack(">I", sealed[:4])[0]
    assert first_length == len(b"data: 1\n\n") + 16  # AES-256-GCM tag


@settings(max_examples=25, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=64), min_size=1, max_size=5), st.integers(1, 17))
def test_any_split_of_the_stream_gives_the_same_frames(parts: list[bytes], step: int) -> None:
    client = ehbp.RequestSealer(SERVER_PUBLIC)
    server = ehbp.RequestOpener(SERVER_PRIVATE, client.enc)
    server.feed(client.seal_frame(b"x"))
    sealer = server.response_sealer()
    sealed = b"".join(sealer.seal_frame(p) for p in parts)
    opener = client.response_opener(sealer.nonce)
    out: list[bytes] = []
    for i in range(0, len(sealed), step):
        out += opener.feed(sealed[i:i + step])
    opener.close()
    assert out == parts


def test_zero_length_frames_are_skipped_and_do_not_advance_the_counter() -> None:
    client = ehbp.RequestSealer(SERVER_PUBLIC)
    server = ehbp.RequestOpener(SERVER_PRIVATE, client.enc)
    sealer = server.response_sealer()
    body = ehbp.frame(b"") + sealer.seal_frame(b"a") + ehbp.frame(b"") + sealer.seal_frame(b"b")
    opener = client.response_opener(sealer.nonce)
    assert opener.feed(body) == [b"a", b"b"]


def test_a_response_cut_inside_a_frame_is_truncated_but_one_cut_between_frames_is_not_detectable() -> None:
    client = ehbp.RequestSealer(SERVER_PUBLIC)
    server = ehbp.RequestOpener(SERVER_PRIVATE, client.enc)
    sealer = server.response_sealer()
    one, two = sealer.seal_frame(b"first"), sealer.seal_frame(b"second")
    opener = client.response_opener(sealer.nonce)
    assert opener.feed(one + two[:7]) == [b"first"]
    with pytest.raises(TruncatedResponse):
        opener.close()
    cut = client.response_opener(sealer.nonce)
    assert cut.feed(one) == [b"first"]
    cut.close()  # SPEC §6.2.1: EOF between frames proves nothing either way; the channel says so


def test_frames_out_of_order_or_from_another_response_fail() -> None:
    client = ehbp.RequestSealer(SERVER_PUBLIC)
    server = ehbp.RequestOpener(SERVER_PRIVATE, client.enc)
    sealer = server.response_sealer()
    one, two = sealer.seal_frame(b"1"), sealer.seal_frame(b"2")
    with pytest.raises(ChannelError):
        client.response_opener(sealer.nonce).feed(two + one)
    other = ehbp.RequestSealer(SERVER_PUBLIC)  # a response bound to another request
    with pytest.raises(ChannelError):
        other.response_opener(sealer.nonce).feed(one)


def test_after_a_failure_the_opener_stays_broken() -> None:
    client = ehbp.RequestSealer(SERVER_PUBLIC)
    server = ehbp.RequestOpener(SERVER_PRIVATE, client.enc)
    sealer = server.response_sealer()
    good = sealer.seal_frame(b"ok")
    bad = bytearray(good)
    bad[-1] ^= 0x80
    opener = client.response_opener(sealer.nonce)
    with pytest.raises(ChannelError):
        opener.feed(bytes(bad))
    with pytest.raises(ChannelError, match="earlier"):
        opener.feed(good)
    with pytest.raises(ChannelError, match="earlier"):
        opener.close()


def test_an_oversized_length_prefix_is_refused_before_its_bytes_arrive() -> None:
    reader = ehbp.FrameReader()
    with pytest.raises(ChannelError, match="more than"):
        reader.feed(struct.pack(">I", ehbp.MAX_FRAME_SIZE + 1))


def test_a_request_sealed_to_another_key_does_not_open() -> None:
    _, other_public = ehbp.generate_key_pair()
    client = ehbp.RequestSealer(other_public)
    server = ehbp.RequestOpener(SERVER_PRIVATE, client.enc)
    with pytest.raises(ChannelError):
        server.feed(client.seal_frame(b"secret"))


@pytest.mark.parametrize("header", ["", "zz" * 32, "00" * 31, "00" * 33])
def test_malformed_header_values_are_refused(header: str) -> None:
    client = ehbp.RequestSealer(SERVER_PUBLIC)
    with pytest.raises(ChannelError):
        client.response_opener(header)
    with pytest.raises(ChannelError):
        ehbp.RequestOpener(SERVER_PRIVATE, header)


@pytest.mark.parametrize("key", [b"", b"\x01" * 31, "not hex" * 9])
def test_bad_public_keys_are_refused(key: bytes | str) -> None:
    with pytest.raises(ChannelError):
        ehbp.parse_public_key(key)


def test_known_ephemeral_key_gives_a_stable_encapsulation() -> None:
    ephemeral = bytes(range(32))
    a = ehbp.RequestSealer(SERVER_PUBLIC, ephemeral_private_key=ephemeral)
    b = ehbp.RequestSealer(SERVER_PUBLIC, ephemeral_private_key=ephemeral)
    assert a.enc == b.enc and a.seal_frame(b"x") == b.seal_frame(b"x")
    assert a.recovery_token() == b.recovery_token()
