"""EHBP, Tinfoil's Encrypted HTTP Body Protocol (``tinfoil/ehbp/SPEC.md`` in the vectors), sans-IO.

EHBP seals HTTP *bodies* end to end and leaves headers in the clear. Per exchange (SPEC §4.4.1):

- request: ``enc, ctx = SetupBaseS(pkR, "ehbp request")`` (RFC 9180 §5.1.1) with the fixed suite
  X25519-HKDF-SHA256 / HKDF-SHA256 / AES-256-GCM (SPEC §7.3); the body is a sequence of frames
  ``LEN(4, big-endian) || ctx.Seal("", chunk)`` (SPEC §4.3); header ``Ehbp-Encapsulated-Key: hex(enc)``;
- response: ``secret = ctx.Export("ehbp response", 32)``, ``salt = enc || response_nonce`` (32 random
  bytes, header ``Ehbp-Response-Nonce``), ``prk = Extract(salt, secret)``, ``key = Expand(prk, "key",
  32)``, ``nonce = Expand(prk, "nonce", 12)`` (as RFC 9458 §4.4), and frame ``i`` (counting non-empty
  frames from 0) is AES-256-GCM under ``nonce XOR i`` with empty AAD.

A zero-length frame is skipped (SPEC §4.3, §6.2.1). End of message is the end of the HTTP body:
there is no final frame, so **EHBP cannot tell a response cut at a frame boundary from a whole
one** (SPEC §6.2.1: "transport EOF alone does not prove that the application response is
complete"); only a cut inside a frame is detected (:class:`~verifier.errors.TruncatedResponse`).

Client::

    sealer = RequestSealer(attested_public_key)
    body = sealer.seal_frame(json_bytes)                 # header: sealer.encapsulated_key_header
    opener = sealer.response_opener(response_nonce_hex)  # from the Ehbp-Response-Nonce header
    for piece in http_body: plaintexts = opener.feed(piece)
    opener.close()

Server::

    opener = RequestOpener(private_key, enc_hex)
    request_body = b"".join(opener.feed(body)); opener.close()
    sealer = opener.response_sealer()                    # header: sealer.nonce_header
    yield sealer.seal_frame(piece) ...

Every failure is a :class:`~verifier.errors.ChannelError`. Frames longer than 16 MiB are refused as
soon as their length prefix arrives, and at most 2**31 frames are opened per message (AES-GCM's
invocation limit with a safety margin).
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from verifier.channel import hpke
from verifier.errors import ChannelError, ParseError, TruncatedResponse
from verifier.strict_json import load_strict_json

SUITE: Final = hpke.Suite(hpke.KEM_X25519_SHA256, hpke.KDF_HKDF_SHA256, hpke.AEAD_AES_256_GCM)
"""The only suite EHBP uses (SPEC §3.2, §7.3)."""
REQUEST_INFO: Final = b"ehbp request"
RESPONSE_EXPORT_LABEL: Final = b"ehbp response"
ENCAPSULATED_KEY_HEADER: Final = "Ehbp-Encapsulated-Key"
RESPONSE_NONCE_HEADER: Final = "Ehbp-Response-Nonce"
KEY_CONFIG_PROBLEM_TYPE: Final = "urn:ietf:params:ehbp:error:key-config"
"""``type`` of the 422 problem document for a stale key (SPEC §5.4.2)."""

PUBLIC_KEY_SIZE: Final = 32
RESPONSE_NONCE_SIZE: Final = 32
"""``max(Nn, Nk)`` for AES-256-GCM (SPEC §4.2)."""
KEY_SIZE: Final = 32
NONCE_SIZE: Final = 12
LENGTH_SIZE: Final = 4
MAX_FRAME_SIZE: Final = 16 * 1024 * 1024
MAX_FRAMES: Final = 1 << 31
MAX_PLAINTEXT_FRAME: Final = MAX_FRAME_SIZE - 16


# -- small helpers ----------------------------------------------------------------------------------

def _hex_field(value: str, size: int, what: str) -> bytes:
    """A lowercase-or-uppercase hex header value of exactly ``size`` bytes (SPEC §4.1, §4.2)."""
    text = value.strip()
    if len(text) != 2 * size:
        raise ChannelError(f"{what} must be {2 * size} hex digits, not {len(text)} characters")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise ChannelError(f"{what} is not hex") from None


def parse_public_key(value: bytes | str) -> bytes:
    """An X25519 public key (raw 32 bytes or 64 hex digits), checked to deserialise (RFC 9180 §7.1.1)."""
    raw = _hex_field(value, PUBLIC_KEY_SIZE, "the HPKE public key") if isinstance(value, str) else bytes(value)
    if len(raw) != PUBLIC_KEY_SIZE:
        raise ChannelError(f"the HPKE public key must be {PUBLIC_KEY_SIZE} bytes, not {len(raw)}")
    hpke.check_public_key(SUITE.kem_id, raw)
    return raw


def frame(ciphertext: bytes) -> bytes:
    """``LEN(4 bytes, big-endian) || CIPHERTEXT`` (SPEC §4.3)."""
    if len(ciphertext) > MAX_FRAME_SIZE:
        raise ChannelError(f"an EHBP frame holds at most {MAX_FRAME_SIZE} bytes")
    return struct.pack(">I", len(ciphertext)) + ciphertext


class FrameReader:
    """Splits a body into ciphertext frames as bytes arrive (SPEC §4.3, §6.2.1): buffers a partial
    frame, refuses a length above 16 MiB at once, skips zero-length frames, and at ``close()``
    refuses a body that ends inside a length prefix or a frame."""

    def __init__(self, max_frame: int = MAX_FRAME_SIZE) -> None:
        self._buffer = bytearray()
        self._max = max_frame
        self._closed = False

    def feed(self, data: bytes) -> list[bytes]:
        if self._closed:
            raise ChannelError("the EHBP body was already closed")
        self._buffer += data
        out: list[bytes] = []
        while len(self._buffer) >= LENGTH_SIZE:
            (length,) = struct.unpack_from(">I", self._buffer)
            if length > self._max:
                raise ChannelError(f"an EHBP frame announces {length} bytes, more than the {self._max} allowed")
            if len(self._buffer) < LENGTH_SIZE + length:
                break
            ciphertext = bytes(self._buffer[LENGTH_SIZE:LENGTH_SIZE + length])
            del self._buffer[:LENGTH_SIZE + length]
            if ciphertext:
                out.append(ciphertext)
        return out

    def close(self) -> None:
        self._closed = True
        if self._buffer:
            raise TruncatedResponse(f"the EHBP body ends inside a frame ({len(self._buffer)} bytes left over)")


# -- response keys (SPEC §4.4) ----------------------------------------------------------------------

@dataclass(frozen=True)
class ResponseKeys:
    """The AES-256-GCM key and nonce base of one response (SPEC §4.4.1 steps 3-4)."""

    key: bytes
    nonce_base: bytes

    def nonce(self, index: int) -> bytes:
        """``aead_nonce XOR i``, ``i`` big-endian in the nonce's low bytes (SPEC §4.4.1 step 5)."""
        if not 0 <= index < MAX_FRAMES:
            raise ChannelError("too many EHBP frames for one key (AES-GCM invocation limit)")
        counter = index.to_bytes(NONCE_SIZE, "big")
        return bytes(a ^ b for a, b in zip(self.nonce_base, counter, strict=True))


def derive_response_keys(exported_secret: bytes, request_enc: bytes, response_nonce: bytes) -> ResponseKeys:
    """``salt = enc || response_nonce; prk = Extract(salt, secret); key = Expand(prk, "key", Nk);
    nonce = Expand(prk, "nonce", Nn)`` (SPEC §4.4.1, following RFC 9458 §4.4)."""
    if len(exported_secret) != KEY_SIZE:
        raise ChannelError(f"the exported secret must be {KEY_SIZE} bytes")
    if len(response_nonce) != RESPONSE_NONCE_SIZE:
        raise ChannelError(f"the response nonce must be {RESPONSE_NONCE_SIZE} bytes")
    prk = hpke.kdf_extract(SUITE.kdf_id, request_enc + response_nonce, exported_secret)
    return ResponseKeys(hpke.kdf_expand(SUITE.kdf_id, prk, b"key", KEY_SIZE),
                        hpke.kdf_expand(SUITE.kdf_id, prk, b"nonce", NONCE_SIZE))


@dataclass(frozen=True)
class RecoveryToken:
    """A session recovery token (SPEC §6.1): enough to decrypt one response, and nothing more.

    It is key material: keep it no longer than the response it decrypts (SPEC §6.3)."""

    exported_secret: bytes
    request_enc: bytes

    def to_json(self) -> str:
        """SPEC §6.1.1: both fields as lowercase hex, ``exportedSecret`` and ``requestEnc``."""
        return json.dumps({"exportedSecret": self.exported_secret.hex(), "requestEnc": self.request_enc.hex()})

    @classmethod
    def from_json(cls, text: str | bytes) -> RecoveryToken:
        try:
            doc = load_strict_json(text.encode() if isinstance(text, str) else text, "recovery token")
            secret, enc = doc["exportedSecret"], doc["requestEnc"]
        except (ParseError, KeyError, TypeError):
            raise ChannelError("a recovery token is JSON with exportedSecret and requestEnc") from None
        if not isinstance(secret, str) or not isinstance(enc, str):
            raise ChannelError("a recovery token's fields are hex strings")
        return cls(_hex_field(secret, KEY_SIZE, "exportedSecret"),
                   _hex_field(enc, SUITE.nenc, "requestEnc"))

    def response_opener(self, response_nonce: bytes | str) -> ResponseOpener:
        """Decrypt the response with this token instead of the live context (SPEC §6.2)."""
        nonce = (_hex_field(response_nonce, RESPONSE_NONCE_SIZE, RESPONSE_NONCE_HEADER)
                 if isinstance(response_nonce, str) else bytes(response_nonce))
        return ResponseOpener(derive_response_keys(self.exported_secret, self.request_enc, nonce))


# -- response bodies -------------------------------------------------------------------------------

class ResponseOpener:
    """Opens a response body frame by frame, emitting each frame's plaintext only after it
    authenticated (SPEC §6.2.1). The first failure breaks it for good: no partial plaintext after
    an authentication failure (SPEC §5.4.1)."""

    def __init__(self, keys: ResponseKeys) -> None:
        self._keys = keys
        self._frames = FrameReader()
        self._index = 0
        self._broken = False

    @property
    def frames(self) -> int:
        """How many non-empty frames were opened."""
        return self._index

    def feed(self, data: bytes) -> list[bytes]:
        if self._broken:
            raise ChannelError("this EHBP response failed to authenticate earlier")
        try:
            out = []
            for ciphertext in self._frames.feed(data):
                out.append(hpke.aead_open(SUITE.aead_id, self._keys.key, self._keys.nonce(self._index),
                                          b"", ciphertext))
                self._index += 1
            return out
        except ChannelError:
            self._broken = True
            raise

    def close(self) -> None:
        if self._broken:
            raise ChannelError("this EHBP response failed to authenticate earlier")
        self._frames.close()


class ResponseSealer:
    """The server's side of a response: a fresh 32-byte nonce and one frame per write (SPEC §5.2)."""

    def __init__(self, keys: ResponseKeys, nonce: bytes) -> None:
        self._keys = keys
        self.nonce = nonce
        self._index = 0

    @property
    def nonce_header(self) -> str:
        return self.nonce.hex()

    def seal_frame(self, plaintext: bytes) -> bytes:
        out = bytearray()
        for start in range(0, max(len(plaintext), 1), MAX_PLAINTEXT_FRAME):
            piece = plaintext[start:start + MAX_PLAINTEXT_FRAME]
            ciphertext = hpke.aead_seal(SUITE.aead_id, self._keys.key, self._keys.nonce(self._index), b"", piece)
            self._index += 1
            out += frame(ciphertext)
        return bytes(out)


# -- requests ---------------------------------------------------------------------------------------

class RequestSealer:
    """The client's side of one exchange: ``SetupBaseS(pkR, "ehbp request")`` (SPEC §4.4.1), request
    frames, and the response opener bound to this request (SPEC §4.4.2)."""

    def __init__(self, public_key: bytes, *, ephemeral_private_key: bytes | None = None) -> None:
        self.public_key = parse_public_key(public_key)
        self.enc, self._context = hpke.setup_base_sender(SUITE, self.public_key, REQUEST_INFO,
                                                         ephemeral_private_key=ephemeral_private_key)

    @property
    def encapsulated_key_header(self) -> str:
        """``Ehbp-Encapsulated-Key``: lowercase hex of ``enc`` (SPEC §4.1)."""
        return self.enc.hex()

    def seal_frame(self, plaintext: bytes) -> bytes:
        """One or more frames (a frame holds at most 16 MiB) carrying ``plaintext``."""
        out = bytearray()
        for start in range(0, max(len(plaintext), 1), MAX_PLAINTEXT_FRAME):
            out += frame(self._context.seal(plaintext[start:start + MAX_PLAINTEXT_FRAME]))
        return bytes(out)

    def seal_body(self, chunks: Iterable[bytes]) -> bytes:
        return b"".join(self.seal_frame(c) for c in chunks if c)

    def recovery_token(self) -> RecoveryToken:
        """``exported_secret = ctx.Export("ehbp response", Nk)`` and ``enc`` (SPEC §6.1)."""
        return RecoveryToken(self._context.export(RESPONSE_EXPORT_LABEL, KEY_SIZE), self.enc)

    def response_opener(self, response_nonce: bytes | str) -> ResponseOpener:
        """The opener for the response to this request (SPEC §4.4), from ``Ehbp-Response-Nonce``."""
        return self.recovery_token().response_opener(response_nonce)


class RequestOpener:
    """The server's side: opens the request body frame by frame with ``SetupBaseR`` (SPEC §5.2)."""

    def __init__(self, private_key: bytes, encapsulated_key: bytes | str) -> None:
        enc = (_hex_field(encapsulated_key, SUITE.nenc, ENCAPSULATED_KEY_HEADER)
               if isinstance(encapsulated_key, str) else bytes(encapsulated_key))
        self.enc = enc
        self._context = hpke.setup_base_receiver(SUITE, enc, private_key, REQUEST_INFO)
        self._frames = FrameReader()

    def feed(self, data: bytes) -> list[bytes]:
        return [self._context.open(c) for c in self._frames.feed(data)]

    def close(self) -> None:
        try:
            self._frames.close()
        except TruncatedResponse as e:
            raise ChannelError(f"the encrypted request is truncated ({e})") from None

    def response_sealer(self, nonce: bytes | None = None) -> ResponseSealer:
        """A sealer for the response with a fresh random nonce (SPEC §5.2; ``nonce`` for tests)."""
        nonce = os.urandom(RESPONSE_NONCE_SIZE) if nonce is None else nonce
        secret = self._context.export(RESPONSE_EXPORT_LABEL, KEY_SIZE)
        return ResponseSealer(derive_response_keys(secret, self.enc, nonce), nonce)


def generate_key_pair() -> tuple[bytes, bytes]:
    """A fresh X25519 key pair for a server: ``(private_key, public_key)``, raw bytes."""
    private = hpke.generate_private_key(SUITE.kem_id)
    return private, hpke.public_key_from_private(SUITE.kem_id, private)
