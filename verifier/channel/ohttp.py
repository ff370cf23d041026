"""Oblivious HTTP encapsulation (RFC 9458 §4): requests to a key configuration, and their responses.

Client::

    enc_request, ctx = encapsulate_request(key_config, bhttp_request)
    bhttp_response = ctx.decapsulate_response(enc_response)

Gateway::

    bhttp_request, ctx = decapsulate_request(key_pairs, enc_request)   # UnknownKeyConfig -> 400
    enc_response = ctx.encapsulate_response(bhttp_response)

Every failure is a :class:`~verifier.errors.ChannelError`; a request for a key identifier, KEM or
KDF/AEAD pair the gateway does not hold is the subclass :class:`UnknownKeyConfig`, which a gateway
answers with the ``ohttp-key`` problem type (RFC 9458 §5.3) so the client can re-attest.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field

from verifier.channel import hpke
from verifier.channel.keyconfig import KeyConfig, KeyPair, SymmetricSuite
from verifier.errors import ChannelError

REQUEST_MEDIA_TYPE = "message/ohttp-req"
RESPONSE_MEDIA_TYPE = "message/ohttp-res"
KEYS_MEDIA_TYPE = "application/ohttp-keys"
KEY_PROBLEM_TYPE = "https://iana.org/assignments/http-problem-types#ohttp-key"

REQUEST_LABEL = b"message/bhttp request"
RESPONSE_LABEL = b"message/bhttp response"

HEADER_SIZE = 7


class UnknownKeyConfig(ChannelError):
    """The request names a key identifier, KEM or KDF/AEAD pair this gateway does not hold.

    The gateway answers 400 with :data:`KEY_PROBLEM_TYPE` (RFC 9458 §5.3); a client that sees it
    re-attests to fetch the current key configuration.
    """

    def __init__(self, message: str, *, key_id: int | None = None) -> None:
        self.key_id = key_id
        super().__init__(message)


@dataclass(frozen=True)
class RequestHeader:
    """``hdr`` of an Encapsulated Request: key_id, kem_id, kdf_id, aead_id (RFC 9458 §4.3)."""

    key_id: int
    kem_id: int
    kdf_id: int
    aead_id: int

    def encode(self) -> bytes:
        """The 7-byte encoding: one 8-bit and three 16-bit integers, network byte order."""
        return struct.pack(">BHHH", self.key_id, self.kem_id, self.kdf_id, self.aead_id)

    @classmethod
    def parse(cls, data: bytes) -> RequestHeader:
        """Read the header from the first 7 bytes of ``data``."""
        if len(data) < HEADER_SIZE:
            raise ChannelError("encapsulated request is shorter than its header")
        return cls(*struct.unpack_from(">BHHH", data, 0))

    @property
    def suite(self) -> hpke.Suite:
        """The HPKE ciphersuite the header names (ChannelError if unsupported)."""
        return hpke.Suite(self.kem_id, self.kdf_id, self.aead_id)


def request_info(header: RequestHeader, label: bytes = REQUEST_LABEL) -> bytes:
    """HPKE ``info``: ``label || 0x00 || hdr`` (RFC 9458 §4.3; the chunked draft changes the label)."""
    return label + b"\x00" + header.encode()


def response_nonce_size(suite: hpke.Suite) -> int:
    """``max(Nn, Nk)``, the length of the response nonce (RFC 9458 §4.4)."""
    return max(suite.nn, suite.nk)


@dataclass(frozen=True)
class ResponseKeys:
    """The values derived for a response (RFC 9458 §4.4); exposed for known-answer tests."""

    exported_secret: bytes = field(repr=False)
    salt: bytes
    prk: bytes = field(repr=False)
    aead_key: bytes = field(repr=False)
    aead_nonce: bytes = field(repr=False)


def derive_response_keys(
    context: hpke.SenderContext | hpke.ReceiverContext,
    enc: bytes,
    response_nonce: bytes,
    label: bytes = RESPONSE_LABEL,
) -> ResponseKeys:
    """RFC 9458 §4.4: ``secret = Export(label, max(Nn, Nk))``, ``prk = Extract(enc || nonce, secret)``,
    ``key = Expand(prk, "key", Nk)``, ``nonce = Expand(prk, "nonce", Nn)``."""
    suite = context.suite
    size = response_nonce_size(suite)
    if len(response_nonce) != size:
        raise ValueError(f"response nonce must be {size} bytes")
    secret = context.export(label, size)
    salt = enc + response_nonce
    prk = hpke.kdf_extract(suite.kdf_id, salt, secret)
    return ResponseKeys(
        exported_secret=secret,
        salt=salt,
        prk=prk,
        aead_key=hpke.kdf_expand(suite.kdf_id, prk, b"key", suite.nk),
        aead_nonce=hpke.kdf_expand(suite.kdf_id, prk, b"nonce", suite.nn),
    )


def new_response_nonce(suite: hpke.Suite, response_nonce: bytes | None = None) -> bytes:
    """A fresh random response nonce of ``max(Nn, Nk)`` bytes, or the injected one checked."""
    size = response_nonce_size(suite)
    if response_nonce is None:
        return os.urandom(size)
    if len(response_nonce) != size:
        raise ValueError(f"response nonce must be {size} bytes")
    return bytes(response_nonce)


# --- shared set-up for plain and chunked requests


def setup_client(
    key_config: KeyConfig,
    *,
    label: bytes = REQUEST_LABEL,
    suite: SymmetricSuite | tuple[int, int] | None = None,
    ephemeral_private_key: bytes | None = None,
) -> tuple[bytes, bytes, hpke.SenderContext]:
    """``SetupBaseS`` for a request (RFC 9458 §4.3): ``(hdr || enc, enc, sender context)``.

    ``suite`` picks the KDF/AEAD pair (it must be in the configuration); by default the first pair
    this implementation supports.
    """
    if suite is None:
        chosen = key_config.select_suite()
    else:
        chosen = SymmetricSuite(*suite)
        if chosen not in key_config.supported_suites():
            raise ChannelError(f"the key configuration does not offer KDF/AEAD {tuple(chosen)}")
    header = RequestHeader(key_config.key_id, key_config.kem_id, chosen.kdf_id, chosen.aead_id)
    enc, context = hpke.setup_base_sender(
        header.suite,
        key_config.public_key,
        request_info(header, label),
        ephemeral_private_key=ephemeral_private_key,
    )
    return header.encode() + enc, enc, context


def find_key(server_keys: KeyPair | Iterable[KeyPair], header: RequestHeader) -> KeyPair:
    """The key pair a request header names (RFC 9458 §4.3 step 1), else :class:`UnknownKeyConfig`."""
    keys = (server_keys,) if isinstance(server_keys, KeyPair) else tuple(server_keys)
    for key in keys:
        if key.key_id != header.key_id or key.config.kem_id != header.kem_id:
            continue
        wanted = SymmetricSuite(header.kdf_id, header.aead_id)
        if wanted not in key.config.supported_suites():
            raise UnknownKeyConfig(
                f"key {header.key_id} is not offered with KDF 0x{header.kdf_id:04x} / AEAD 0x{header.aead_id:04x}",
                key_id=header.key_id,
            )
        return key
    raise UnknownKeyConfig(
        f"no key with identifier {header.key_id} and KEM 0x{header.kem_id:04x}",
        key_id=header.key_id,
    )


def setup_server(
    server_keys: KeyPair | Iterable[KeyPair], data: bytes, *, label: bytes = REQUEST_LABEL
) -> tuple[RequestHeader, bytes, hpke.ReceiverContext]:
    """Parse ``hdr || enc`` at the start of ``data`` and run ``SetupBaseR`` (RFC 9458 §4.3).

    Returns ``(header, enc, receiver context)``; the sealed part starts at ``7 + Nenc``.
    """
    header = RequestHeader.parse(data)
    key = find_key(server_keys, header)
    suite = header.suite
    if len(data) < HEADER_SIZE + suite.nenc:
        raise ChannelError("encapsulated request is shorter than its encapsulated key")
    enc = bytes(data[HEADER_SIZE : HEADER_SIZE + suite.nenc])
    context = hpke.setup_base_receiver(suite, enc, key.private_key, request_info(header, label))
    return header, enc, context


# --- RFC 9458 whole-message encapsulation


class ClientContext:
    """The client's state after sending a request: it opens the one response (RFC 9458 §4.4)."""

    def __init__(self, header: RequestHeader, enc: bytes, context: hpke.SenderContext) -> None:
        self.header = header
        self.enc = enc
        self._context = context

    def response_keys(self, response_nonce: bytes) -> ResponseKeys:
        """The keys for a response with this nonce (for known-answer tests)."""
        return derive_response_keys(self._context, self.enc, response_nonce)

    def decapsulate_response(self, data: bytes) -> bytes:
        """Open an Encapsulated Response (``message/ohttp-res``) to its Binary HTTP plaintext."""
        suite = self._context.suite
        size = response_nonce_size(suite)
        if len(data) < size + suite.nt:
            raise ChannelError("encapsulated response is too short")
        keys = self.response_keys(bytes(data[:size]))
        return hpke.aead_open(
            suite.aead_id, keys.aead_key, keys.aead_nonce, b"", bytes(data[size:])
        )


class ServerContext:
    """The gateway's state after opening a request: it seals the response (RFC 9458 §4.4)."""

    def __init__(self, header: RequestHeader, enc: bytes, context: hpke.ReceiverContext) -> None:
        self.header = header
        self.enc = enc
        self._context = context

    def response_keys(self, response_nonce: bytes) -> ResponseKeys:
        """The keys for a response with this nonce (for known-answer tests)."""
        return derive_response_keys(self._context, self.enc, response_nonce)

    def encapsulate_response(
        self, plaintext: bytes, *, response_nonce: bytes | None = None
    ) -> bytes:
        """Seal a Binary HTTP response as ``message/ohttp-res``: ``response_nonce || ct``.

        ``response_nonce`` is for known-answer tests only; by default it is random.
        """
        suite = self._context.suite
        nonce = new_response_nonce(suite, response_nonce)
        keys = self.response_keys(nonce)
        return nonce + hpke.aead_seal(suite.aead_id, keys.aead_key, keys.aead_nonce, b"", plaintext)


def encapsulate_request(
    key_config: KeyConfig,
    plaintext: bytes,
    *,
    suite: SymmetricSuite | tuple[int, int] | None = None,
    ephemeral_private_key: bytes | None = None,
) -> tuple[bytes, ClientContext]:
    """Seal a Binary HTTP request to ``key_config`` (RFC 9458 §4.3): ``(message/ohttp-req, context)``.

    ``ephemeral_private_key`` is for known-answer tests only.
    """
    prefix, enc, context = setup_client(
        key_config, suite=suite, ephemeral_private_key=ephemeral_private_key
    )
    ciphertext = context.seal(plaintext)
    return prefix + ciphertext, ClientContext(RequestHeader.parse(prefix), enc, context)


def decapsulate_request(
    server_keys: KeyPair | Iterable[KeyPair], data: bytes
) -> tuple[bytes, ServerContext]:
    """Open a ``message/ohttp-req`` (RFC 9458 §4.3): ``(Binary HTTP request, context)``.

    Raises :class:`UnknownKeyConfig` for a key the gateway does not hold, :class:`ChannelError` for
    anything else.
    """
    data = bytes(data)
    header, enc, context = setup_server(server_keys, data)
    plaintext = context.open(data[HEADER_SIZE + len(enc) :])
    return plaintext, ServerContext(header, enc, context)
