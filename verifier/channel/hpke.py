"""HPKE (RFC 9180) base mode, on top of ``pyhpke``, plus the bare KDF and AEAD primitives OHTTP needs.

Only mode 0 (base) is offered: OHTTP (RFC 9458 §4.3) uses ``SetupBaseS``/``SetupBaseR``. The
contexts wrap pyhpke's so that sequence numbers (RFC 9180 §5.2) are visible and bounded, and so that
every failure is a :class:`~verifier.errors.ChannelError`. A context whose ``open`` failed refuses
further use (pyhpke advances its counter even on failure, RFC 9180 does not).

Keys travel as raw bytes in the RFC 9180 §7.1.1 serialisation (``SerializePublicKey``,
``SerializePrivateKey``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand
from pyhpke import (
    AEADId,
    CipherSuite,
    ContextInterface,
    KDFId,
    KEMId,
    KEMKey,
    KEMKeyInterface,
    KEMKeyPair,
    PyHPKEError,
)

from verifier.errors import ChannelError

KEM_P256_SHA256: Final = 0x0010
KEM_P384_SHA384: Final = 0x0011
KEM_P521_SHA512: Final = 0x0012
KEM_X25519_SHA256: Final = 0x0020
KEM_X448_SHA512: Final = 0x0021

KDF_HKDF_SHA256: Final = 0x0001
KDF_HKDF_SHA384: Final = 0x0002
KDF_HKDF_SHA512: Final = 0x0003

AEAD_AES_128_GCM: Final = 0x0001
AEAD_AES_256_GCM: Final = 0x0002
AEAD_CHACHA20_POLY1305: Final = 0x0003
AEAD_EXPORT_ONLY: Final = 0xFFFF

# RFC 9180 §7.1: (Nsecret, Nenc, Npk, Nsk) per KEM.
_KEMS: Final[dict[int, tuple[int, int, int, int]]] = {
    KEM_P256_SHA256: (32, 65, 65, 32),
    KEM_P384_SHA384: (48, 97, 97, 48),
    KEM_P521_SHA512: (64, 133, 133, 66),
    KEM_X25519_SHA256: (32, 32, 32, 32),
    KEM_X448_SHA512: (64, 56, 56, 56),
}
# RFC 9180 §7.2: Nh per KDF.
_KDFS: Final[dict[int, type[hashes.HashAlgorithm]]] = {
    KDF_HKDF_SHA256: hashes.SHA256,
    KDF_HKDF_SHA384: hashes.SHA384,
    KDF_HKDF_SHA512: hashes.SHA512,
}
# RFC 9180 §7.3: (Nk, Nn, Nt) per AEAD.
_AEADS: Final[dict[int, tuple[int, int, int]]] = {
    AEAD_AES_128_GCM: (16, 12, 16),
    AEAD_AES_256_GCM: (32, 12, 16),
    AEAD_CHACHA20_POLY1305: (32, 12, 16),
    AEAD_EXPORT_ONLY: (0, 0, 0),
}

SUPPORTED_KEMS: Final = frozenset(_KEMS)
SUPPORTED_KDFS: Final = frozenset(_KDFS)
SUPPORTED_AEADS: Final = frozenset(_AEADS)

_CRYPTO_ERRORS: Final = (ValueError, TypeError, PyHPKEError, InvalidTag, UnsupportedAlgorithm)


def kem_public_key_size(kem_id: int) -> int:
    """``Npk`` (= ``Nenc``) of a KEM, RFC 9180 §7.1; ``KeyError`` if unknown."""
    return _KEMS[kem_id][2]


def kem_private_key_size(kem_id: int) -> int:
    """``Nsk`` of a KEM, RFC 9180 §7.1; ``KeyError`` if unknown."""
    return _KEMS[kem_id][3]


@dataclass(frozen=True)
class Suite:
    """An HPKE ciphersuite (KEM, KDF, AEAD identifiers, RFC 9180 §7)."""

    kem_id: int
    kdf_id: int
    aead_id: int

    def __post_init__(self) -> None:
        if self.kem_id not in _KEMS:
            raise ChannelError(f"unsupported HPKE KEM 0x{self.kem_id:04x}")
        if self.kdf_id not in _KDFS:
            raise ChannelError(f"unsupported HPKE KDF 0x{self.kdf_id:04x}")
        if self.aead_id not in _AEADS:
            raise ChannelError(f"unsupported HPKE AEAD 0x{self.aead_id:04x}")

    @property
    def nenc(self) -> int:
        """Length of the encapsulated key ``enc``."""
        return _KEMS[self.kem_id][1]

    @property
    def npk(self) -> int:
        """Length of a serialised public key."""
        return _KEMS[self.kem_id][2]

    @property
    def nk(self) -> int:
        """AEAD key length."""
        return _AEADS[self.aead_id][0]

    @property
    def nn(self) -> int:
        """AEAD nonce length."""
        return _AEADS[self.aead_id][1]

    @property
    def nt(self) -> int:
        """AEAD tag length."""
        return _AEADS[self.aead_id][2]

    @property
    def nh(self) -> int:
        """KDF output length."""
        return _KDFS[self.kdf_id]().digest_size

    def _pyhpke(self) -> CipherSuite:
        return CipherSuite.new(KEMId(self.kem_id), KDFId(self.kdf_id), AEADId(self.aead_id))


def _kem_suite(kem_id: int) -> CipherSuite:
    if kem_id not in _KEMS:
        raise ChannelError(f"unsupported HPKE KEM 0x{kem_id:04x}")
    return Suite(kem_id, KDF_HKDF_SHA256, AEAD_AES_128_GCM)._pyhpke()


def _private_key(kem_id: int, private_key: bytes) -> KEMKeyInterface:
    if len(private_key) != kem_private_key_size(kem_id):
        raise ChannelError(f"HPKE private key must be {kem_private_key_size(kem_id)} bytes")
    try:
        return _kem_suite(kem_id).kem.deserialize_private_key(private_key)
    except _CRYPTO_ERRORS as err:
        raise ChannelError("HPKE private key is not valid for its KEM") from err


def _public_key(kem_id: int, public_key: bytes) -> KEMKeyInterface:
    if len(public_key) != kem_public_key_size(kem_id):
        raise ChannelError(f"HPKE public key must be {kem_public_key_size(kem_id)} bytes")
    try:
        return _kem_suite(kem_id).kem.deserialize_public_key(public_key)
    except _CRYPTO_ERRORS as err:
        raise ChannelError("HPKE public key is not valid for its KEM") from err


def _key_pair(kem_id: int, private_key: bytes) -> KEMKeyPair:
    sk = _private_key(kem_id, private_key)
    return KEMKeyPair(sk, KEMKey.from_pyca_cryptography_key(sk.raw.public_key()))


def _serialize_private(kem_id: int, key: KEMKeyInterface) -> bytes:
    # SerializePrivateKey (RFC 9180 §7.1.2): raw bytes for X25519/X448, the Nsk-byte big-endian
    # scalar for the NIST curves (pyhpke's own EC serialiser pads to the bit size, so not used).
    raw = key.raw
    if isinstance(raw, ec.EllipticCurvePrivateKey):
        return raw.private_numbers().private_value.to_bytes(kem_private_key_size(kem_id), "big")
    private = raw.private_bytes_raw()
    assert isinstance(private, bytes)
    return private


def public_key_from_private(kem_id: int, private_key: bytes) -> bytes:
    """``SerializePublicKey(pk(sk))`` for a raw private key (RFC 9180 §7.1.1)."""
    public = _key_pair(kem_id, private_key).public_key.to_public_bytes()
    assert isinstance(public, bytes)
    return public


def check_public_key(kem_id: int, public_key: bytes) -> None:
    """Raise :class:`ChannelError` unless ``public_key`` deserialises for ``kem_id`` (RFC 9180 §7.1.1)."""
    _public_key(kem_id, public_key)


def generate_private_key(kem_id: int) -> bytes:
    """A fresh random private key, serialised (RFC 9180 §7.1.1)."""
    return _serialize_private(
        kem_id, _kem_suite(kem_id).kem.derive_key_pair(os.urandom(64)).private_key
    )


def derive_key_pair(kem_id: int, ikm: bytes) -> tuple[bytes, bytes]:
    """``DeriveKeyPair(ikm)`` (RFC 9180 §7.1.3): ``(private_key, public_key)``, both serialised."""
    try:
        pair = _kem_suite(kem_id).kem.derive_key_pair(ikm)
    except _CRYPTO_ERRORS as err:
        raise ChannelError("DeriveKeyPair failed") from err
    public = pair.public_key.to_public_bytes()
    assert isinstance(public, bytes)
    return _serialize_private(kem_id, pair.private_key), public


class _Context:
    """Shared part of the sender and receiver contexts: sequence number and Export (RFC 9180 §5.3)."""

    def __init__(self, suite: Suite, inner: ContextInterface) -> None:
        self._suite = suite
        self._inner = inner
        self._seq = 0
        self._broken = False

    @property
    def suite(self) -> Suite:
        """The ciphersuite this context was set up with."""
        return self._suite

    @property
    def seq(self) -> int:
        """The sequence number of the next ``seal``/``open`` (RFC 9180 §5.2)."""
        return self._seq

    def export(self, exporter_context: bytes, length: int) -> bytes:
        """``Context.Export(exporter_context, L)`` (RFC 9180 §5.3); ``L`` is at most ``255 * Nh``."""
        if not 0 < length <= 255 * self._suite.nh:
            raise ValueError(f"export length must be in 1..{255 * self._suite.nh}")
        try:
            return self._inner.export(exporter_context, length)
        except _CRYPTO_ERRORS as err:  # pragma: no cover - pyhpke checked the bounds above
            raise ChannelError("HPKE export failed") from err

    def _check_usable(self) -> None:
        if self._suite.aead_id == AEAD_EXPORT_ONLY:
            raise ChannelError("this HPKE context is export-only: it cannot seal or open")
        if self._broken:
            raise ChannelError("this HPKE context failed to open a message and is no longer usable")
        if self._seq >= (1 << (8 * self._suite.nn)) - 1:
            raise ChannelError("HPKE message limit reached (sequence number overflow)")


class SenderContext(_Context):
    """``ContextS`` (RFC 9180 §5.2): seals messages in sequence."""

    def seal(self, plaintext: bytes, aad: bytes = b"") -> bytes:
        """``ContextS.Seal(aad, pt)`` at the current sequence number, then increment it."""
        self._check_usable()
        try:
            ciphertext = self._inner.seal(plaintext, aad)
        except _CRYPTO_ERRORS as err:  # pragma: no cover - AEAD sealing does not fail on bytes
            self._broken = True
            raise ChannelError("HPKE seal failed") from err
        self._seq += 1
        return ciphertext


class ReceiverContext(_Context):
    """``ContextR`` (RFC 9180 §5.2): opens messages in sequence."""

    def open(self, ciphertext: bytes, aad: bytes = b"") -> bytes:
        """``ContextR.Open(aad, ct)`` at the current sequence number; increments it on success."""
        self._check_usable()
        try:
            plaintext = self._inner.open(ciphertext, aad)
        except _CRYPTO_ERRORS as err:
            self._broken = True
            raise ChannelError(
                "decryption failed: the message was altered or not meant for this key"
            ) from err
        self._seq += 1
        return plaintext


def setup_base_sender(
    suite: Suite,
    public_key: bytes,
    info: bytes,
    *,
    ephemeral_private_key: bytes | None = None,
) -> tuple[bytes, SenderContext]:
    """``SetupBaseS(pkR, info)`` (RFC 9180 §5.1.1): ``(enc, context)``.

    ``ephemeral_private_key`` fixes the KEM's ephemeral key (for known-answer tests only); by
    default a fresh one is generated.
    """
    pkr = _public_key(suite.kem_id, public_key)
    eks = None if ephemeral_private_key is None else _key_pair(suite.kem_id, ephemeral_private_key)
    try:
        enc, inner = suite._pyhpke().create_sender_context(pkr, info, eks=eks)
    except _CRYPTO_ERRORS as err:
        raise ChannelError("HPKE encapsulation failed") from err
    return enc, SenderContext(suite, inner)


def setup_base_receiver(
    suite: Suite, enc: bytes, private_key: bytes, info: bytes
) -> ReceiverContext:
    """``SetupBaseR(enc, skR, info)`` (RFC 9180 §5.1.1)."""
    if len(enc) != suite.nenc:
        raise ChannelError(f"HPKE encapsulated key must be {suite.nenc} bytes, got {len(enc)}")
    skr = _private_key(suite.kem_id, private_key)
    try:
        inner = suite._pyhpke().create_recipient_context(enc, skr, info)
    except _CRYPTO_ERRORS as err:
        raise ChannelError("HPKE decapsulation failed: the encapsulated key is not valid") from err
    return ReceiverContext(suite, inner)


# --- Bare primitives (RFC 9180 §4 Extract/Expand and the AEADs of §7.3), used by OHTTP responses.


def _hash(kdf_id: int) -> hashes.HashAlgorithm:
    try:
        return _KDFS[kdf_id]()
    except KeyError:
        raise ChannelError(f"unsupported HPKE KDF 0x{kdf_id:04x}") from None


def kdf_extract(kdf_id: int, salt: bytes, ikm: bytes) -> bytes:
    """HKDF-Extract(salt, ikm) with the KDF's hash (RFC 5869 §2.2)."""
    return HKDF.extract(_hash(kdf_id), salt, ikm)


def kdf_expand(kdf_id: int, prk: bytes, info: bytes, length: int) -> bytes:
    """HKDF-Expand(prk, info, L) with the KDF's hash (RFC 5869 §2.3)."""
    return HKDFExpand(_hash(kdf_id), length, info).derive(prk)


def _aead(aead_id: int, key: bytes) -> AESGCM | ChaCha20Poly1305:
    nk = _AEADS.get(aead_id, (0, 0, 0))[0]
    if nk == 0:
        raise ChannelError(f"HPKE AEAD 0x{aead_id:04x} cannot seal or open")
    if len(key) != nk:
        raise ValueError(f"AEAD key must be {nk} bytes")
    return ChaCha20Poly1305(key) if aead_id == AEAD_CHACHA20_POLY1305 else AESGCM(key)


def aead_seal(aead_id: int, key: bytes, nonce: bytes, aad: bytes, plaintext: bytes) -> bytes:
    """The AEAD's ``Seal(key, nonce, aad, pt)`` (RFC 9180 §4, RFC 5116)."""
    return _aead(aead_id, key).encrypt(nonce, plaintext, aad)


def aead_open(aead_id: int, key: bytes, nonce: bytes, aad: bytes, ciphertext: bytes) -> bytes:
    """The AEAD's ``Open(key, nonce, aad, ct)``; :class:`ChannelError` when authentication fails."""
    try:
        return _aead(aead_id, key).decrypt(nonce, ciphertext, aad)
    except InvalidTag as err:
        raise ChannelError("decryption failed: the message was altered or truncated") from err
