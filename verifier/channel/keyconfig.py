"""OHTTP key configurations (RFC 9458 §3) and the ``application/ohttp-keys`` list (RFC 9458 §3.2).

Parsing is strict: every length is bounds-checked, trailing bytes are refused, and each refusal is
a :class:`~verifier.errors.ParseError` naming the field at fault. :class:`KeyPair` is the gateway's
side: the private key with the configuration it publishes.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from verifier.channel import hpke
from verifier.errors import ChannelError, ParseError


class SymmetricSuite(NamedTuple):
    """One ``HPKE Symmetric Algorithms`` entry: a (KDF, AEAD) pair (RFC 9458 §3.1)."""

    kdf_id: int
    aead_id: int


DEFAULT_SUITES: tuple[SymmetricSuite, ...] = (
    SymmetricSuite(hpke.KDF_HKDF_SHA256, hpke.AEAD_AES_128_GCM),
    SymmetricSuite(hpke.KDF_HKDF_SHA256, hpke.AEAD_CHACHA20_POLY1305),
)

# AEADs a key configuration may offer for OHTTP: the response needs a real AEAD (RFC 9458 §4.4).
_OHTTP_AEADS = frozenset(
    {hpke.AEAD_AES_128_GCM, hpke.AEAD_AES_256_GCM, hpke.AEAD_CHACHA20_POLY1305}
)


def _is_u8(value: int) -> bool:
    return 0 <= value <= 0xFF


def _is_u16(value: int) -> bool:
    return 0 <= value <= 0xFFFF


@dataclass(frozen=True)
class KeyConfig:
    """A single key configuration (RFC 9458 §3.1).

    ``suites`` keeps the gateway's order; it holds at least one pair. Unknown KDF or AEAD
    identifiers are kept (a client simply does not pick them); the KEM must be one whose public key
    length is known, or the encoding could not be parsed at all.
    """

    key_id: int
    kem_id: int
    public_key: bytes
    suites: tuple[SymmetricSuite, ...]

    def __post_init__(self) -> None:
        if not _is_u8(self.key_id):
            raise ValueError("key_id must fit in one byte")
        if self.kem_id not in hpke.SUPPORTED_KEMS:
            raise ValueError(f"unsupported KEM 0x{self.kem_id:04x}")
        if len(self.public_key) != hpke.kem_public_key_size(self.kem_id):
            raise ValueError(f"public_key must be {hpke.kem_public_key_size(self.kem_id)} bytes")
        suites = tuple(SymmetricSuite(int(kdf), int(aead)) for kdf, aead in self.suites)
        if not 1 <= len(suites) <= 65532 // 4:
            raise ValueError("a key configuration needs 1..16383 symmetric suites")
        if not all(_is_u16(s.kdf_id) and _is_u16(s.aead_id) for s in suites):
            raise ValueError("KDF and AEAD identifiers must fit in two bytes")
        object.__setattr__(self, "public_key", bytes(self.public_key))
        object.__setattr__(self, "suites", suites)

    def encode(self) -> bytes:
        """The RFC 9458 §3.1 encoding of this configuration."""
        algorithms = b"".join(struct.pack(">HH", s.kdf_id, s.aead_id) for s in self.suites)
        return (
            struct.pack(">BH", self.key_id, self.kem_id)
            + self.public_key
            + struct.pack(">H", len(algorithms))
            + algorithms
        )

    @classmethod
    def parse(cls, data: bytes) -> KeyConfig:
        """Parse exactly one RFC 9458 §3.1 key configuration; trailing bytes are refused."""
        config, end = _parse_one(bytes(data), 0, len(data))
        if end != len(data):
            raise ParseError(
                f"{len(data) - end} trailing bytes after the key configuration", field="key_config"
            )
        return config

    def supported_suites(self) -> tuple[SymmetricSuite, ...]:
        """The pairs, in the gateway's order, that this implementation can use for OHTTP."""
        return tuple(
            s for s in self.suites if s.kdf_id in hpke.SUPPORTED_KDFS and s.aead_id in _OHTTP_AEADS
        )

    def select_suite(self, preferred: Sequence[SymmetricSuite] = ()) -> SymmetricSuite:
        """The first of ``preferred`` the configuration offers, else its first usable pair.

        Raises :class:`ChannelError` when none is usable.
        """
        usable = self.supported_suites()
        for suite in preferred:
            if suite in usable:
                return SymmetricSuite(*suite)
        if not usable:
            raise ChannelError(
                f"key configuration {self.key_id} offers no KDF/AEAD pair this client supports"
            )
        return usable[0]


def _parse_one(data: bytes, offset: int, end: int) -> tuple[KeyConfig, int]:
    if end - offset < 3:
        raise ParseError("truncated before the KEM identifier", field="key_config")
    key_id, kem_id = struct.unpack_from(">BH", data, offset)
    offset += 3
    if kem_id not in hpke.SUPPORTED_KEMS:
        raise ParseError(f"unsupported KEM 0x{kem_id:04x}", field="kem_id")
    npk = hpke.kem_public_key_size(kem_id)
    if end - offset < npk:
        raise ParseError(f"truncated: {npk} bytes needed", field="public_key")
    public_key = data[offset : offset + npk]
    offset += npk
    try:
        hpke.check_public_key(kem_id, public_key)
    except ChannelError as err:
        raise ParseError("not a valid public key for its KEM", field="public_key") from err
    if end - offset < 2:
        raise ParseError("truncated before its length", field="symmetric_algorithms")
    (length,) = struct.unpack_from(">H", data, offset)
    offset += 2
    if length < 4 or length % 4:
        raise ParseError(
            f"length {length} is not a positive multiple of 4", field="symmetric_algorithms"
        )
    if end - offset < length:
        raise ParseError(
            f"truncated: {length} bytes announced, {end - offset} present",
            field="symmetric_algorithms",
        )
    suites = tuple(
        SymmetricSuite(*struct.unpack_from(">HH", data, offset + i)) for i in range(0, length, 4)
    )
    offset += length
    return KeyConfig(key_id, kem_id, public_key, suites), offset


def parse_ohttp_keys(data: bytes) -> tuple[KeyConfig, ...]:
    """Parse an ``application/ohttp-keys`` body (RFC 9458 §3.2): 2-byte-length-prefixed configs.

    Any encoding error refuses the whole collection, as §3.2 requires. A well-framed entry whose KEM
    this implementation does not know is skipped; if no entry is left, that is a ParseError too.
    """
    data = bytes(data)
    configs: list[KeyConfig] = []
    offset = 0
    entries = 0
    while offset < len(data):
        if len(data) - offset < 2:
            raise ParseError("truncated length prefix", field="ohttp_keys")
        (length,) = struct.unpack_from(">H", data, offset)
        offset += 2
        if len(data) - offset < length:
            raise ParseError(
                f"entry of {length} bytes, {len(data) - offset} present", field="ohttp_keys"
            )
        entries += 1
        end = offset + length
        if length >= 3 and struct.unpack_from(">H", data, offset + 1)[0] not in hpke.SUPPORTED_KEMS:
            offset = end
            continue
        config, used = _parse_one(data, offset, end)
        if used != end:
            raise ParseError(
                f"{end - used} bytes after a key configuration in its entry", field="ohttp_keys"
            )
        configs.append(config)
        offset = end
    if not configs:
        what = (
            "no key configuration" if entries == 0 else "no key configuration with a supported KEM"
        )
        raise ParseError(what, field="ohttp_keys")
    return tuple(configs)


def encode_ohttp_keys(configs: Iterable[KeyConfig]) -> bytes:
    """Encode configurations as an ``application/ohttp-keys`` body (RFC 9458 §3.2)."""
    out = bytearray()
    for config in configs:
        encoded = config.encode()
        if len(encoded) > 0xFFFF:
            raise ValueError("a key configuration longer than 65535 bytes cannot be listed")
        out += struct.pack(">H", len(encoded)) + encoded
    if not out:
        raise ValueError("an application/ohttp-keys body needs at least one configuration")
    return bytes(out)


@dataclass(frozen=True)
class KeyPair:
    """The gateway's private key and the key configuration it publishes (RFC 9458 §3)."""

    config: KeyConfig
    private_key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        derived = hpke.public_key_from_private(self.config.kem_id, self.private_key)
        if derived != self.config.public_key:
            raise ValueError("the private key does not match the configuration's public key")

    @classmethod
    def generate(
        cls,
        key_id: int = 0,
        *,
        kem_id: int = hpke.KEM_X25519_SHA256,
        suites: Sequence[tuple[int, int]] = DEFAULT_SUITES,
    ) -> KeyPair:
        """A fresh key (X25519 by default) and its configuration."""
        return cls.from_private_key(
            hpke.generate_private_key(kem_id), key_id, kem_id=kem_id, suites=suites
        )

    @classmethod
    def from_private_key(
        cls,
        private_key: bytes,
        key_id: int = 0,
        *,
        kem_id: int = hpke.KEM_X25519_SHA256,
        suites: Sequence[tuple[int, int]] = DEFAULT_SUITES,
    ) -> KeyPair:
        """The key pair for a stored raw private key (RFC 9180 §7.1.2 serialisation)."""
        public = hpke.public_key_from_private(kem_id, private_key)
        config = KeyConfig(key_id, kem_id, public, tuple(SymmetricSuite(*s) for s in suites))
        return cls(config, bytes(private_key))

    @property
    def key_id(self) -> int:
        """The configuration's key identifier."""
        return self.config.key_id
