"""Chunked OHTTP (draft-ietf-ohai-chunked-ohttp): the draft's example, streaming, truncation, tampering."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.channel import bhttp, chunked
from verifier.channel.chunked import (
    ChunkedRequestDecoder,
    ChunkedRequestEncoder,
    ChunkedResponseDecoder,
    ChunkedResponseEncoder,
    TruncatedRequest,
    encapsulate_chunked_request,
)
from verifier.channel.keyconfig import KeyConfig, KeyPair
from verifier.channel.ohttp import UnknownKeyConfig
from verifier.channel.varint import encode_varint
from verifier.errors import ChannelError, TruncatedResponse


def _split(data: bytes, sizes: list[int]) -> list[bytes]:
    out, pos = [], 0
    for size in sizes:
        out.append(data[pos : pos + size])
        pos += size
    assert pos == len(data)
    return out


@pytest.mark.vectors
def test_draft_example(chunked_vector: dict[str, Any]) -> None:
    v = chunked_vector
    h = bytes.fromhex
    config = KeyConfig.parse(h(v["key_config"]))
    request, response = h(v["request"]), h(v["response"])
    request_parts = _split(request, v["request_chunk_plaintext_lengths"])
    response_parts = _split(response, v["response_chunk_plaintext_lengths"])
    assert [len(p) for p in request_parts] == [12, 13, 0]
    assert [len(p) for p in response_parts] == [1, 2, 0]

    # Client: three request chunks (12, 13, final 0) with the example's ephemeral key.
    encoder = ChunkedRequestEncoder(config, ephemeral_private_key=h(v["skE"]))
    body = b"".join(
        [encoder.encode_chunk(p) for p in request_parts[:-1]]
        + [encoder.encode_final(request_parts[-1])]
    )
    assert body == h(v["encapsulated_request"])

    # Gateway: open it, byte by byte, recovering the same chunk boundaries.
    gateway = KeyPair.from_private_key(h(v["skR"]), config.key_id, suites=config.suites)
    decoder = ChunkedRequestDecoder(gateway)
    opened: list[bytes] = []
    for i in range(len(body)):
        opened += decoder.feed(body[i : i + 1])
    opened.append(decoder.close())
    assert opened == request_parts
    assert decoder.header is not None and decoder.header.key_id == 1

    # Gateway: the response, with the example's nonce; intermediate values and chunk nonces.
    out = decoder.response_encoder(response_nonce=h(v["response_nonce"]))
    keys = out.keys
    assert keys.exported_secret == h(v["exported_secret"])
    assert keys.salt == h(v["salt"])
    assert keys.prk == h(v["prk"])
    assert keys.aead_key == h(v["aead_key"])
    assert keys.aead_nonce == h(v["aead_nonce"])
    nonces = [chunked.chunk_nonce(keys.aead_nonce, i) for i in range(3)]
    assert nonces == [h(n) for n in v["chunk_nonces"]]
    enc_response = b"".join(
        [out.encode_chunk(p) for p in response_parts[:-1]] + [out.encode_final(response_parts[-1])]
    )
    assert enc_response == h(v["encapsulated_response"])

    # Client: open the example's response, as one piece and byte by byte.
    whole = encoder.response_decoder()
    assert whole.feed(h(v["encapsulated_response"])) == response_parts[:-1]
    assert whole.close() == b""
    assert whole.keys == keys
    streamed = encoder.response_decoder()
    pieces: list[bytes] = []
    for i in range(len(enc_response)):
        pieces += streamed.feed(enc_response[i : i + 1])
    assert [*pieces, streamed.close()] == response_parts


def _exchange(
    request_chunks: list[bytes], response_chunks: list[bytes], final: bytes = b""
) -> tuple[ChunkedRequestEncoder, bytes, bytes]:
    gateway = KeyPair.generate(2)
    encoder = ChunkedRequestEncoder(gateway.config)
    body = b"".join([encoder.encode_chunk(c) for c in request_chunks] + [encoder.encode_final()])
    decoder = ChunkedRequestDecoder([gateway])
    assert b"".join(decoder.feed(body)) + decoder.close() == b"".join(request_chunks)
    out = decoder.response_encoder()
    enc_response = b"".join(
        [out.encode_chunk(c) for c in response_chunks] + [out.encode_final(final)]
    )
    return encoder, body, enc_response


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.binary(max_size=64), max_size=6),
    st.lists(st.binary(max_size=64), max_size=6),
    st.binary(max_size=16),
    st.lists(st.integers(1, 50), max_size=12),
)
def test_round_trip_any_split(
    request_chunks: list[bytes], response_chunks: list[bytes], final: bytes, splits: list[int]
) -> None:
    encoder, _, enc_response = _exchange(request_chunks, response_chunks, final)
    decoder = encoder.response_decoder()
    got: list[bytes] = []
    pos = 0
    for size in splits:
        got += decoder.feed(enc_response[pos : pos + size])
        pos += size
    got += decoder.feed(enc_response[pos:])
    assert got == [c for c in response_chunks if c]
    assert decoder.close() == final


def test_every_truncation_is_refused() -> None:
    encoder, _, enc_response = _exchange([b"req"], [b"first", b"second"])
    final_indicator = len(enc_response) - 17  # "\x00" then a 16-byte sealed empty final chunk
    assert enc_response[final_indicator] == 0
    for cut in range(len(enc_response)):
        decoder = encoder.response_decoder()
        with pytest.raises(ChannelError) as info:
            decoder.feed(enc_response[:cut])
            decoder.close()
        # Anything cut before or inside the final chunk's tag is reported as truncation.
        assert isinstance(info.value, TruncatedResponse), cut


def test_truncated_inside_a_longer_final_chunk() -> None:
    encoder, _, enc_response = _exchange([b"req"], [b"first"], final=b"last words")
    decoder = encoder.response_decoder()
    assert decoder.feed(enc_response[:-3]) == [b"first"]
    with pytest.raises(ChannelError):  # the tag no longer authenticates
        decoder.close()


def test_data_after_the_final_chunk_is_refused() -> None:
    encoder, _, enc_response = _exchange([b"req"], [b"one"])
    decoder = encoder.response_decoder()
    decoder.feed(enc_response + b"\x00")
    with pytest.raises(ChannelError) as info:
        decoder.close()
    assert not isinstance(info.value, TruncatedResponse)


def test_every_flipped_response_byte_is_refused() -> None:
    encoder, _, enc_response = _exchange([b"req"], [b"alpha", b"beta"])
    for i in range(len(enc_response)):
        tampered = bytearray(enc_response)
        tampered[i] ^= 0x01
        decoder = encoder.response_decoder()
        with pytest.raises(ChannelError):
            decoder.feed(bytes(tampered))
            decoder.close()


def test_every_flipped_request_byte_is_refused() -> None:
    gateway = KeyPair.generate(3)
    body, _ = encapsulate_chunked_request(gateway.config, b"0123456789" * 3, chunk_size=10)
    decoder = ChunkedRequestDecoder(gateway)
    assert b"".join(decoder.feed(body)) + decoder.close() == b"0123456789" * 3
    for i in range(len(body)):
        tampered = bytearray(body)
        tampered[i] ^= 0x01
        decoder = ChunkedRequestDecoder(gateway)
        with pytest.raises(ChannelError):
            decoder.feed(bytes(tampered))
            decoder.close()


def test_reordered_chunks_are_refused() -> None:
    gateway = KeyPair.generate()
    request_encoder = ChunkedRequestEncoder(gateway.config)
    request_decoder = ChunkedRequestDecoder(gateway)
    request_decoder.feed(request_encoder.start())
    out = request_decoder.response_encoder()
    nonce = out.start()
    first, second = out.encode_chunk(b"1"), out.encode_chunk(b"2")
    decoder = request_encoder.response_decoder()
    with pytest.raises(ChannelError):
        decoder.feed(nonce + second + first)


def test_request_truncation_and_unknown_key() -> None:
    gateway = KeyPair.generate(1)
    body, _ = encapsulate_chunked_request(gateway.config, b"hello")
    for cut in range(len(body) - 16):
        decoder = ChunkedRequestDecoder(gateway)
        with pytest.raises(TruncatedRequest):
            decoder.feed(body[:cut])
            decoder.close()
    stale = KeyPair.generate(2)
    stale_body, _ = encapsulate_chunked_request(stale.config, b"hello")
    decoder = ChunkedRequestDecoder(gateway)
    assert decoder.feed(stale_body[:6]) == []
    with pytest.raises(UnknownKeyConfig):
        decoder.feed(stale_body[6:7])  # the 7-byte header is complete: refused at once
    with pytest.raises(UnknownKeyConfig):  # and the decoder stays failed
        decoder.close()


def test_chunk_length_is_bounded() -> None:
    gateway = KeyPair.generate()
    encoder = ChunkedRequestEncoder(gateway.config)
    decoder = ChunkedRequestDecoder(gateway, max_chunk_size=1024)
    decoder.feed(encoder.start())
    out = decoder.response_encoder()
    client = encoder.response_decoder(max_chunk_size=1024)
    # A hostile length prefix is refused as soon as it arrives, before any of its data.
    with pytest.raises(ChannelError, match="limit"):
        client.feed(out.start() + encode_varint(1 << 40))
    # So is a non-final chunk too small to hold anything, and an oversized final chunk.
    small = encoder.response_decoder()
    with pytest.raises(ChannelError, match="cannot hold"):
        small.feed(b"\x00" * 16 + encode_varint(16) + b"\x00" * 16)
    big_final = encoder.response_decoder(max_chunk_size=1024)
    big_final.feed(b"\x00" * 16 + b"\x00")
    with pytest.raises(ChannelError, match="longer than"):
        big_final.feed(b"\x00" * 1025)
    with pytest.raises(ChannelError, match="limit"):
        decoder.feed(encode_varint(1 << 30))


def test_empty_non_final_chunk_is_refused() -> None:
    gateway = KeyPair.generate()
    encoder = ChunkedRequestEncoder(gateway.config)
    decoder = ChunkedRequestDecoder(gateway)
    decoder.feed(encoder.start())
    out = decoder.response_encoder()
    nonce = out.encode_chunk(b"")  # an empty chunk emits only the pending nonce
    assert len(nonce) == 16 and out.encode_chunk(b"") == b""
    sealed_empty = out._seal(b"", b"")  # what a misbehaving gateway would send
    client = encoder.response_decoder()
    with pytest.raises(ChannelError, match="empty"):
        client.feed(nonce + encode_varint(len(sealed_empty)) + sealed_empty)


def test_encoders_refuse_writing_after_final() -> None:
    gateway = KeyPair.generate()
    encoder = ChunkedRequestEncoder(gateway.config)
    first = encoder.encode_chunk(b"")
    assert len(first) == 7 + 32  # the header alone
    encoder.encode_final(b"x")
    with pytest.raises(ValueError):
        encoder.encode_chunk(b"y")
    with pytest.raises(ValueError):
        encoder.encode_final()


def test_streaming_sse_through_bhttp() -> None:
    """The gateway streams an SSE response; the client sees each event before the response ends."""
    gateway = KeyPair.generate()
    request = bhttp.Request(
        b"POST", b"https", b"enclave", b"/v1/chat/completions", body=b'{"stream":true}'
    )
    body, encoder = encapsulate_chunked_request(gateway.config, bhttp.encode_request(request))
    server = ChunkedRequestDecoder(gateway)
    received = b"".join(server.feed(body)) + server.close()
    assert bhttp.decode_request(received) == request

    out: ChunkedResponseEncoder = server.response_encoder()
    client: ChunkedResponseDecoder = encoder.response_decoder()
    parser = bhttp.ResponseDecoder()
    wire = out.encode_chunk(
        bhttp.encode_response_head(200, [(b"content-type", b"text/event-stream")])
    )
    events: list[bhttp.Event] = []
    for plaintext in client.feed(wire):
        events += parser.feed(plaintext)
    assert events == [bhttp.ResponseHead(200, ((b"content-type", b"text/event-stream"),))]
    for token in (b"data: Hel\n\n", b"data: lo\n\n"):
        got: list[bhttp.Event] = []
        for plaintext in client.feed(out.encode_chunk(bhttp.encode_content_chunk(token))):
            got += parser.feed(plaintext)
        assert got == [bhttp.BodyChunk(token)]
    tail = client.feed(out.encode_final(bhttp.encode_response_end()))
    assert tail == []
    assert parser.feed(client.close()) == [bhttp.MessageEnd(())]
    assert parser.close() == []


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.booleans())
def test_fuzz_response_decoder_only_typed_errors(data: bytes, with_nonce: bool) -> None:
    decoder = _FUZZ_ENCODER.response_decoder(max_chunk_size=4096)
    prefix = b"\x00" * 16 if with_nonce else b""
    try:
        decoder.feed(prefix + data)
        decoder.close()
    except ChannelError:
        return
    pytest.fail("random bytes were accepted as an authenticated response")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_request_decoder_only_typed_errors(data: bytes) -> None:
    decoder = ChunkedRequestDecoder(_FUZZ_GATEWAY, max_chunk_size=4096)
    header = _FUZZ_GATEWAY.config.encode()[:1] + b"\x00\x20\x00\x01\x00\x01"
    try:
        decoder.feed(header + data)
        decoder.close()
    except ChannelError:
        return
    pytest.fail("random bytes were accepted as an authenticated request")


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_fuzz_mutated_response_only_typed_errors(data: st.DataObject) -> None:
    tampered = bytearray(_FUZZ_RESPONSE)
    index = data.draw(st.integers(0, len(tampered) - 1))
    tampered[index] ^= data.draw(st.integers(1, 255))
    decoder = _FUZZ_ENCODER.response_decoder()
    with pytest.raises(ChannelError):
        decoder.feed(bytes(tampered))
        decoder.close()


_FUZZ_GATEWAY = KeyPair.generate(0, suites=[(1, 1)])
_FUZZ_ENCODER = ChunkedRequestEncoder(_FUZZ_GATEWAY.config)
_fuzz_server = ChunkedRequestDecoder(_FUZZ_GATEWAY)
_fuzz_server.feed(_FUZZ_ENCODER.start())
_fuzz_out = _fuzz_server.response_encoder()
_FUZZ_RESPONSE = (
    _fuzz_out.encode_chunk(b"chunk one")
    + _fuzz_out.encode_chunk(b"two")
    + _fuzz_out.encode_final(b"end")
)
