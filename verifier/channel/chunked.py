"""Chunked Oblivious HTTP (draft-ietf-ohai-chunked-ohttp), streaming in both directions.

Request (§4, §6.1): ``hdr || enc`` then chunks ``varint(len) || Seal("", chunk)`` and a final
``0x00 || Seal("final", chunk)`` that runs to the end of the body; HPKE info uses the label
"message/bhttp chunked request". Response (§5, §6.2): ``response_nonce`` then chunks sealed with
the key and nonce derived as in RFC 9458 §4.4 from the export label "message/bhttp chunked
response", each chunk's nonce being ``aead_nonce XOR counter``; the final one has AAD "final".

Client::

    enc = ChunkedRequestEncoder(key_config)
    body = enc.encode_final(bhttp_request)           # or encode_chunk(...) several times first
    dec = enc.response_decoder()
    for piece in http_body:  plaintexts = dec.feed(piece)
    last = dec.close()                                # TruncatedResponse if the final chunk is missing

Gateway::

    dec = ChunkedRequestDecoder(key_pairs)
    parts = dec.feed(body); parts.append(dec.close())
    out = dec.response_encoder()
    yield out.encode_chunk(b"...") ...; yield out.encode_final()

The final chunk has no length, so it is opened only at ``close()``; bytes after a genuine final
chunk therefore make it fail to authenticate. Chunk lengths above ``max_chunk_size`` (16 MiB by
default) are refused as soon as their length prefix arrives, so hostile input cannot make a
decoder buffer without bound. Every failure is a :class:`~verifier.errors.ChannelError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from verifier.channel import hpke
from verifier.channel.keyconfig import KeyConfig, KeyPair, SymmetricSuite
from verifier.channel.ohttp import (
    HEADER_SIZE,
    RequestHeader,
    ResponseKeys,
    derive_response_keys,
    find_key,
    new_response_nonce,
    request_info,
    response_nonce_size,
    setup_client,
)
from verifier.channel.varint import encode_varint, read_varint
from verifier.errors import ChannelError, TruncatedResponse

REQUEST_MEDIA_TYPE = "message/ohttp-chunked-req"
RESPONSE_MEDIA_TYPE = "message/ohttp-chunked-res"

REQUEST_LABEL = b"message/bhttp chunked request"
RESPONSE_LABEL = b"message/bhttp chunked response"
FINAL_AAD = b"final"

MAX_CHUNK_SIZE = 16 * 1024 * 1024
"""Largest sealed chunk a decoder accepts (the draft only requires 16384 bytes of plaintext)."""


class TruncatedRequest(ChannelError):
    """A chunked request ended before its final chunk."""


# --- framing shared by both decoders


class _ChunkReader:
    """Splits a byte stream into sealed chunks: ``varint(len) || data`` ... ``0 || rest``."""

    def __init__(self, min_size: int, max_size: int) -> None:
        self._min = min_size
        self._max = max_size
        self._buf = bytearray()
        self.final = False

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        if self.final:
            if len(self._buf) > self._max:
                raise ChannelError(f"final chunk is longer than {self._max} bytes")
            return []
        chunks: list[bytes] = []
        pos = 0
        while True:
            result = read_varint(self._buf, pos)
            if result is None:
                break
            length, start = result
            if length == 0:
                self.final = True
                pos = start
                break
            if length < self._min:
                raise ChannelError(f"a {length}-byte chunk cannot hold a non-empty sealed chunk")
            if length > self._max:
                raise ChannelError(f"chunk length {length} exceeds the limit of {self._max} bytes")
            if start + length > len(self._buf):
                break
            chunks.append(bytes(self._buf[start : start + length]))
            pos = start + length
        del self._buf[:pos]
        if self.final and len(self._buf) > self._max:
            raise ChannelError(f"final chunk is longer than {self._max} bytes")
        return chunks

    def close(self) -> bytes | None:
        """The sealed final chunk, or ``None`` if the stream ended before the final indicator."""
        return bytes(self._buf) if self.final else None


class _State:
    """A decoder's lifecycle: after a failure every call re-raises it; after close, calls are misuse."""

    def __init__(self) -> None:
        self._error: ChannelError | None = None
        self._closed = False

    @contextmanager
    def step(self, *, last: bool = False) -> Iterator[None]:
        if self._error is not None:
            raise self._error
        if self._closed:
            raise ValueError("this decoder is closed")
        try:
            yield
        except ChannelError as err:
            self._error = err
            raise
        finally:
            self._closed = self._closed or last


def chunk_nonce(aead_nonce: bytes, counter: int) -> bytes:
    """``aead_nonce XOR encode(Nn, counter)`` (draft §6.2); refuses a counter that would wrap."""
    nn = len(aead_nonce)
    if counter >= 1 << (8 * nn):
        raise ChannelError("too many chunks: the chunk nonce would repeat")
    mask = counter.to_bytes(nn, "big")
    return bytes(a ^ b for a, b in zip(aead_nonce, mask, strict=True))


# --- requests


class ChunkedRequestEncoder:
    """Client: writes a chunked Encapsulated Request (draft §4, §6.1) one chunk at a time.

    The concatenation of everything returned (``start``, ``encode_chunk``..., ``encode_final``) is
    the request body; the header is put in front of the first output automatically.
    """

    def __init__(
        self,
        key_config: KeyConfig,
        *,
        suite: SymmetricSuite | tuple[int, int] | None = None,
        ephemeral_private_key: bytes | None = None,
    ) -> None:
        self._prefix, self._enc, self._context = setup_client(
            key_config,
            label=REQUEST_LABEL,
            suite=suite,
            ephemeral_private_key=ephemeral_private_key,
        )
        self.header = RequestHeader.parse(self._prefix)
        self._pending = self._prefix
        self._finished = False

    def start(self) -> bytes:
        """The request header (``hdr || enc``) if not yet emitted, else nothing."""
        out, self._pending = self._pending, b""
        return out

    def encode_chunk(self, plaintext: bytes) -> bytes:
        """One non-final chunk; empty plaintext emits nothing (the draft forbids empty chunks)."""
        if self._finished:
            raise ValueError("the final chunk was already written")
        if not plaintext:
            return self.start()
        sealed = self._context.seal(plaintext)
        return self.start() + encode_varint(len(sealed)) + sealed

    def encode_final(self, plaintext: bytes = b"") -> bytes:
        """The final chunk (length 0, AAD "final"); nothing may follow it."""
        if self._finished:
            raise ValueError("the final chunk was already written")
        self._finished = True
        return self.start() + b"\x00" + self._context.seal(plaintext, FINAL_AAD)

    def response_decoder(self, *, max_chunk_size: int = MAX_CHUNK_SIZE) -> ChunkedResponseDecoder:
        """The decoder for this request's ``message/ohttp-chunked-res`` response."""
        return ChunkedResponseDecoder(self._context, self._enc, max_chunk_size=max_chunk_size)


def encapsulate_chunked_request(
    key_config: KeyConfig,
    plaintext: bytes,
    *,
    chunk_size: int = 16384,
    suite: SymmetricSuite | tuple[int, int] | None = None,
    ephemeral_private_key: bytes | None = None,
) -> tuple[bytes, ChunkedRequestEncoder]:
    """A whole request as ``message/ohttp-chunked-req``: ``chunk_size`` pieces, then an empty final chunk.

    Returns the body and the encoder (call its ``response_decoder()`` for the response).
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be positive")
    encoder = ChunkedRequestEncoder(
        key_config, suite=suite, ephemeral_private_key=ephemeral_private_key
    )
    parts = [encoder.start()]
    parts += [
        encoder.encode_chunk(plaintext[i : i + chunk_size])
        for i in range(0, len(plaintext), chunk_size)
    ]
    parts.append(encoder.encode_final())
    return b"".join(parts), encoder


class ChunkedRequestDecoder:
    """Gateway: opens a chunked Encapsulated Request incrementally (draft §4, §6.1).

    ``feed`` returns the plaintext of each non-final chunk as it completes (raising
    :class:`~verifier.channel.ohttp.UnknownKeyConfig` as soon as the header names a key the gateway
    lacks); ``close`` returns the final chunk's plaintext or raises :class:`TruncatedRequest`.
    """

    def __init__(
        self, server_keys: KeyPair | Iterable[KeyPair], *, max_chunk_size: int = MAX_CHUNK_SIZE
    ) -> None:
        self._keys = (server_keys,) if isinstance(server_keys, KeyPair) else tuple(server_keys)
        self._max = max_chunk_size
        self._head = bytearray()
        self.header: RequestHeader | None = None
        self._enc = b""
        self._context: hpke.ReceiverContext | None = None
        self._key: KeyPair | None = None
        self._reader: _ChunkReader | None = None
        self._state = _State()

    def feed(self, data: bytes) -> list[bytes]:
        """Plaintexts of the non-final chunks completed by ``data``."""
        with self._state.step():
            if self._reader is None:
                self._head += data
                if not self._setup():
                    return []
                data = bytes(self._head)
                self._head.clear()
            assert self._reader is not None
            return [self._open_chunk(chunk) for chunk in self._reader.feed(data)]

    def _setup(self) -> bool:
        if self.header is None:
            if len(self._head) < HEADER_SIZE:
                return False
            header = RequestHeader.parse(bytes(self._head))
            self._key = find_key(self._keys, header)
            self.header = header
        suite = self.header.suite
        if len(self._head) < HEADER_SIZE + suite.nenc:
            return False
        self._enc = bytes(self._head[HEADER_SIZE : HEADER_SIZE + suite.nenc])
        info = request_info(self.header, REQUEST_LABEL)
        assert self._key is not None
        self._context = hpke.setup_base_receiver(suite, self._enc, self._key.private_key, info)
        self._reader = _ChunkReader(suite.nt + 1, self._max)
        del self._head[: HEADER_SIZE + suite.nenc]
        return True

    def _open_chunk(self, sealed: bytes) -> bytes:
        assert self._context is not None
        plaintext = self._context.open(sealed)
        if not plaintext:
            raise ChannelError("empty non-final chunk")
        return plaintext

    def close(self) -> bytes:
        """The final chunk's plaintext; :class:`TruncatedRequest` if it never (fully) arrived."""
        with self._state.step(last=True):
            sealed = None if self._reader is None else self._reader.close()
            if sealed is None or self._context is None:
                raise TruncatedRequest("the chunked request ended before its final chunk")
            if len(sealed) < self._context.suite.nt:
                raise TruncatedRequest("the chunked request's final chunk is cut short")
            return self._context.open(sealed, FINAL_AAD)

    def response_encoder(self, *, response_nonce: bytes | None = None) -> ChunkedResponseEncoder:
        """The encoder for the response (available once the request header has been read).

        ``response_nonce`` is for known-answer tests only.
        """
        if self._context is None:
            raise ValueError("the request header has not been read yet")
        return ChunkedResponseEncoder(self._context, self._enc, response_nonce=response_nonce)


# --- responses


class _ResponseCrypto:
    def __init__(self, keys: ResponseKeys, suite: hpke.Suite) -> None:
        self.keys = keys
        self.suite = suite
        self.counter = 0

    def next_nonce(self) -> bytes:
        nonce = chunk_nonce(self.keys.aead_nonce, self.counter)
        self.counter += 1
        return nonce


class ChunkedResponseEncoder:
    """Gateway: writes a chunked Encapsulated Response (draft §5, §6.2) one chunk at a time.

    The response nonce is put in front of the first output automatically, so the concatenation of
    everything returned is the response body; each ``encode_chunk`` can be sent as soon as made.
    """

    def __init__(
        self,
        context: hpke.ReceiverContext | hpke.SenderContext,
        enc: bytes,
        *,
        response_nonce: bytes | None = None,
    ) -> None:
        suite = context.suite
        nonce = new_response_nonce(suite, response_nonce)
        self._crypto = _ResponseCrypto(
            derive_response_keys(context, enc, nonce, RESPONSE_LABEL), suite
        )
        self._pending = nonce
        self._finished = False

    @property
    def keys(self) -> ResponseKeys:
        """The derived response keys (for known-answer tests)."""
        return self._crypto.keys

    def start(self) -> bytes:
        """The response nonce if not yet emitted, else nothing."""
        out, self._pending = self._pending, b""
        return out

    def _seal(self, plaintext: bytes, aad: bytes) -> bytes:
        c = self._crypto
        return hpke.aead_seal(c.suite.aead_id, c.keys.aead_key, c.next_nonce(), aad, plaintext)

    def encode_chunk(self, plaintext: bytes) -> bytes:
        """One non-final chunk; empty plaintext emits nothing (the draft forbids empty chunks)."""
        if self._finished:
            raise ValueError("the final chunk was already written")
        if not plaintext:
            return self.start()
        sealed = self._seal(plaintext, b"")
        return self.start() + encode_varint(len(sealed)) + sealed

    def encode_final(self, plaintext: bytes = b"") -> bytes:
        """The final chunk (length 0, AAD "final"); nothing may follow it."""
        if self._finished:
            raise ValueError("the final chunk was already written")
        self._finished = True
        return self.start() + b"\x00" + self._seal(plaintext, FINAL_AAD)


class ChunkedResponseDecoder:
    """Client: opens a chunked Encapsulated Response incrementally (draft §5, §6.2).

    ``feed(bytes)`` returns the plaintext of every non-final chunk it completes; ``close()``
    returns the final chunk's plaintext, or raises :class:`~verifier.errors.TruncatedResponse`
    when the response ended before a final chunk (what was returned so far is incomplete).
    """

    def __init__(
        self,
        context: hpke.SenderContext | hpke.ReceiverContext,
        enc: bytes,
        *,
        max_chunk_size: int = MAX_CHUNK_SIZE,
    ) -> None:
        self._context = context
        self._enc = enc
        self._nonce_size = response_nonce_size(context.suite)
        self._head = bytearray()
        self._crypto: _ResponseCrypto | None = None
        self._reader = _ChunkReader(context.suite.nt + 1, max_chunk_size)
        self._state = _State()

    @property
    def keys(self) -> ResponseKeys | None:
        """The derived response keys once the nonce has arrived (for known-answer tests)."""
        return None if self._crypto is None else self._crypto.keys

    def feed(self, data: bytes) -> list[bytes]:
        """Plaintexts of the non-final chunks completed by ``data``."""
        with self._state.step():
            if self._crypto is None:
                self._head += data
                if len(self._head) < self._nonce_size:
                    return []
                nonce = bytes(self._head[: self._nonce_size])
                data = bytes(self._head[self._nonce_size :])
                self._head.clear()
                keys = derive_response_keys(self._context, self._enc, nonce, RESPONSE_LABEL)
                self._crypto = _ResponseCrypto(keys, self._context.suite)
            return [self._open(chunk, b"") for chunk in self._reader.feed(data)]

    def _open(self, sealed: bytes, aad: bytes) -> bytes:
        c = self._crypto
        assert c is not None
        plaintext = hpke.aead_open(c.suite.aead_id, c.keys.aead_key, c.next_nonce(), aad, sealed)
        if not plaintext and aad != FINAL_AAD:
            raise ChannelError("empty non-final chunk")
        return plaintext

    def close(self) -> bytes:
        """The final chunk's plaintext; :class:`TruncatedResponse` if it never (fully) arrived."""
        with self._state.step(last=True):
            sealed = self._reader.close() if self._crypto is not None else None
            if sealed is None:
                raise TruncatedResponse(
                    "the response ended before its final chunk: it is incomplete"
                )
            if len(sealed) < self._context.suite.nt:
                raise TruncatedResponse("the response's final chunk is cut short: it is incomplete")
            return self._open(sealed, FINAL_AAD)
