"""Signed notes (C2SP signed-note): text signed by one or more keys, each signature on its own line.

A note is UTF-8 text ending in a newline, a blank line, then signature lines
``— <key name> base64(4-byte key ID || signature)``. A signature counts only when the (key name,
key ID) pair names a key the caller trusts; signatures from other keys are ignored (C2SP
signed-note, "Signatures"). A known key whose signature fails to verify rejects the whole note.

Signature types handled here (C2SP signed-note, "Signature types"):

* ``0x01`` Ed25519 over the note text; key ID ``SHA-256(name || 0x0A || 0x01 || key)[:4]``.
* ``0x02`` ECDSA (NIST P-256, SHA-256, DER signature) over the note text; key ID is the first four
  bytes of SHA-256 of the DER SubjectPublicKeyInfo (this is also how Rekor names its key).
* ``0x04`` timestamped Ed25519 witness cosignatures (C2SP tlog-cosignature): the signature is
  ``u64 timestamp || Ed25519 signature`` over ``"cosignature/v1\\ntime <t>\\n" || note text``.

Verifier keys ("vkeys") are written ``<name>+<8 hex digits of key ID>+<base64(type || key)>``, with
the key as 32 raw bytes for Ed25519 and cosignatures and as DER SubjectPublicKeyInfo for ECDSA.
Signer keys are written ``PRIVATE+KEY+<name>+<key ID>+<base64(type || 32-byte seed)>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from verifier.errors import ParseError, VerifierError

SIG_ED25519 = 0x01
SIG_ECDSA = 0x02
SIG_COSIGNATURE_V1 = 0x04

EM_DASH = "\u2014"
MAX_NOTE_BYTES = 1024 * 1024
MAX_SIGNATURES = 100
MAX_TIMESTAMP = (1 << 63) - 1
COSIGNATURE_HEADER = "cosignature/v1\n"

PublicKey = Ed25519PublicKey | ec.EllipticCurvePublicKey


class NoteFormatError(ParseError):
    """A note, signature line, vkey or signer key is not in the C2SP signed-note format."""

    def __init__(self, message: str, *, field: str = "note") -> None:
        super().__init__(message, field=field)


class NoteVerificationError(VerifierError):
    """No trusted signature verifies, or a signature by a trusted key is invalid."""


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise NoteFormatError(f"{what} is not valid base64") from None


def check_key_name(name: str) -> str:
    """C2SP signed-note: key names are non-empty and contain no Unicode space and no ``+``."""
    if not name or "+" in name or any(ch.isspace() for ch in name) or any(ord(ch) < 0x20 for ch in name):
        raise NoteFormatError(f"key name {name!r} must be non-empty, without spaces or '+'", field="key name")
    return name


def key_id(name: str, sig_type: int, key: bytes) -> bytes:
    """C2SP signed-note (recommended form): ``SHA-256(name || 0x0A || type || key)[:4]``."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + key).digest()[:4]


def spki_key_id(public_key: ec.EllipticCurvePublicKey | Ed25519PublicKey) -> bytes:
    """C2SP signed-note type 0x02 (and Rekor's log ID): SHA-256 of the DER SPKI, first four bytes."""
    spki = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).digest()[:4]


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


# -- the note itself -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: the key's name, its 4-byte key ID and the signature bytes after it."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        return f"{EM_DASH} {self.name} {base64.b64encode(self.key_id + self.signature).decode()}\n"


@dataclass(frozen=True)
class Note:
    """A parsed note: ``text`` includes its final newline; ``signatures`` in the order written."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def encode(self) -> bytes:
        """C2SP signed-note "Format": text, a blank line, one line per signature."""
        return (self.text + "\n" + "".join(s.line() for s in self.signatures)).encode()

    def with_signatures(self, extra: Iterable[NoteSignature]) -> Note:
        """The same text with ``extra`` signature lines added (duplicates dropped)."""
        sigs = list(self.signatures)
        for s in extra:
            if s not in sigs:
                sigs.append(s)
        return Note(self.text, tuple(sigs))


def _check_text(text: str) -> None:
    for ch in text:
        if ord(ch) < 0x20 and ch != "\n":
            raise NoteFormatError("contains an ASCII control character other than newline")


def parse_signature_line(line: str) -> NoteSignature:
    """``— <name> <base64(key ID || signature)>`` without its newline (C2SP signed-note)."""
    if not line.startswith(EM_DASH + " "):
        raise NoteFormatError("a signature line must start with an em dash and a space", field="note signature")
    name, sep, b64 = line[2:].partition(" ")
    if not sep or " " in b64:
        raise NoteFormatError("a signature line is '— <name> <base64>'", field="note signature")
    check_key_name(name)
    raw = _b64decode(b64, "a signature")
    if len(raw) < 5:
        raise NoteFormatError("a signature holds a 4-byte key ID and at least one byte", field="note signature")
    return NoteSignature(name, raw[:4], raw[4:])


def parse_signature_lines(data: bytes) -> tuple[NoteSignature, ...]:
    """A block of signature lines, each ending in a newline (a witness's answer, C2SP tlog-witness)."""
    if len(data) > MAX_NOTE_BYTES:
        raise NoteFormatError(f"larger than {MAX_NOTE_BYTES} bytes", field="note signature")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise NoteFormatError("is not UTF-8", field="note signature") from None
    _check_text(text)
    if not text.endswith("\n"):
        raise NoteFormatError("signature lines must end with a newline", field="note signature")
    lines = text[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteFormatError(f"more than {MAX_SIGNATURES} signatures", field="note signature")
    return tuple(parse_signature_line(line) for line in lines)


def parse_note(data: bytes | str) -> Note:
    """Split a signed note into its text and its signature lines (C2SP signed-note "Format")."""
    if isinstance(data, str):
        try:
            data = data.encode("utf-8")
        except UnicodeEncodeError:
            raise NoteFormatError("is not valid UTF-8") from None
    if len(data) > MAX_NOTE_BYTES:
        raise NoteFormatError(f"larger than {MAX_NOTE_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise NoteFormatError("is not valid UTF-8") from None
    _check_text(text)
    split = text.rfind("\n\n")
    if split < 0:
        raise NoteFormatError("has no blank line before its signatures")
    body, block = text[: split + 1], text[split + 2 :]
    if not block:
        raise NoteFormatError("has no signature lines")
    if not block.endswith("\n"):
        raise NoteFormatError("its last signature line does not end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteFormatError(f"has more than {MAX_SIGNATURES} signatures")
    return Note(body, tuple(parse_signature_line(line) for line in lines))


# -- verifiers ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verified:
    """A signature that verified: which key, and for a cosignature the time the witness stated."""

    verifier: NoteVerifier
    timestamp: int | None = None


@dataclass(frozen=True)
class NoteVerifier:
    """A trusted note key: (name, key ID) select its signature lines; ``sig_type`` its algorithm."""

    name: str
    key_id: bytes
    sig_type: int
    public_key: PublicKey

    def verify(self, text: str, signature: NoteSignature) -> Verified | None:
        """The verified signature, or None when it does not verify. Only call for a matching line."""
        message = text.encode("utf-8")
        try:
            if self.sig_type == SIG_ED25519 and isinstance(self.public_key, Ed25519PublicKey):
                self.public_key.verify(signature.signature, message)
                return Verified(self)
            if self.sig_type == SIG_ECDSA and isinstance(self.public_key, ec.EllipticCurvePublicKey):
                self.public_key.verify(signature.signature, message, ec.ECDSA(hashes.SHA256()))
                return Verified(self)
            if self.sig_type == SIG_COSIGNATURE_V1 and isinstance(self.public_key, Ed25519PublicKey):
                if len(signature.signature) != 8 + 64:
                    return None
                (timestamp,) = struct.unpack(">Q", signature.signature[:8])
                if timestamp > MAX_TIMESTAMP:
                    return None
                self.public_key.verify(signature.signature[8:], cosignature_message(text, timestamp))
                return Verified(self, timestamp)
        except (InvalidSignature, ValueError):
            return None
        return None

    def __hash__(self) -> int:
        return hash((self.name, self.key_id, self.sig_type))

    def matches(self, signature: NoteSignature) -> bool:
        return signature.name == self.name and signature.key_id == self.key_id

    def vkey(self) -> str:
        """The C2SP vkey text for this key."""
        if isinstance(self.public_key, Ed25519PublicKey):
            material = _raw(self.public_key)
        else:
            material = self.public_key.public_bytes(serialization.Encoding.DER,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo)
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(bytes([self.sig_type]) + material).decode()}"


def cosignature_message(text: str, timestamp: int) -> bytes:
    """C2SP tlog-cosignature "Ed25519 signed message": header line, time line, then the note text."""
    return f"{COSIGNATURE_HEADER}time {timestamp}\n{text}".encode()


def ed25519_verifier(name: str, public_key: Ed25519PublicKey, *, explicit_key_id: bytes | None = None) -> NoteVerifier:
    """An Ed25519 (type 0x01) note key; ``explicit_key_id`` for logs that name keys otherwise (Rekor v2)."""
    kid = explicit_key_id if explicit_key_id is not None else key_id(name, SIG_ED25519, _raw(public_key))
    return NoteVerifier(check_key_name(name), kid, SIG_ED25519, public_key)


def ecdsa_verifier(name: str, public_key: ec.EllipticCurvePublicKey) -> NoteVerifier:
    """An ECDSA P-256 (type 0x02) note key, identified by its SPKI hash."""
    if not isinstance(public_key.curve, ec.SECP256R1):
        raise NoteFormatError("only NIST P-256 ECDSA note keys are supported", field="vkey")
    return NoteVerifier(check_key_name(name), spki_key_id(public_key), SIG_ECDSA, public_key)


def cosignature_verifier(name: str, public_key: Ed25519PublicKey) -> NoteVerifier:
    """A witness's Ed25519 cosignature key (type 0x04, C2SP tlog-cosignature)."""
    return NoteVerifier(check_key_name(name), key_id(name, SIG_COSIGNATURE_V1, _raw(public_key)),
                        SIG_COSIGNATURE_V1, public_key)


def parse_vkey(text: str) -> NoteVerifier:
    """``<name>+<hex key ID>+<base64(type || key)>``; the key ID must be the one the key implies."""
    parts = text.strip().split("+", 2)
    if len(parts) != 3:
        raise NoteFormatError("a vkey is <name>+<key id>+<base64 key>", field="vkey")
    name, hex_id, b64 = parts
    check_key_name(name)
    try:
        kid = bytes.fromhex(hex_id)
    except ValueError:
        raise NoteFormatError("the key ID must be 8 hex digits", field="vkey") from None
    if len(kid) != 4 or len(hex_id) != 8:
        raise NoteFormatError("the key ID must be 8 hex digits", field="vkey")
    raw = _b64decode(b64, "the vkey's key")
    if not raw:
        raise NoteFormatError("the key is empty", field="vkey")
    sig_type, material = raw[0], raw[1:]
    try:
        if sig_type in (SIG_ED25519, SIG_COSIGNATURE_V1):
            if len(material) != 32:
                raise NoteFormatError("an Ed25519 key is 32 bytes", field="vkey")
            ed = Ed25519PublicKey.from_public_bytes(material)
            verifier = ed25519_verifier(name, ed) if sig_type == SIG_ED25519 else cosignature_verifier(name, ed)
        elif sig_type == SIG_ECDSA:
            loaded = serialization.load_der_public_key(material)
            if not isinstance(loaded, ec.EllipticCurvePublicKey):
                raise NoteFormatError("an ECDSA vkey holds an EC SubjectPublicKeyInfo", field="vkey")
            verifier = ecdsa_verifier(name, loaded)
        else:
            raise NoteFormatError(f"signature type 0x{sig_type:02x} is not supported", field="vkey")
    except (ValueError, UnsupportedAlgorithm):
        raise NoteFormatError("the key does not decode", field="vkey") from None
    if verifier.key_id != kid:
        raise NoteFormatError("the key ID does not match the key", field="vkey")
    return verifier


# -- signers (logs, witnesses, tests) ------------------------------------------------------------------


@dataclass(frozen=True)
class NoteSigner:
    """A note signing key: Ed25519 (0x01), ECDSA P-256 (0x02) or a witness cosigner (0x04)."""

    name: str
    sig_type: int
    private_key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey

    @property
    def verifier(self) -> NoteVerifier:
        key = self.private_key.public_key()
        if self.sig_type == SIG_ECDSA and isinstance(key, ec.EllipticCurvePublicKey):
            return ecdsa_verifier(self.name, key)
        if isinstance(key, Ed25519PublicKey):
            if self.sig_type == SIG_COSIGNATURE_V1:
                return cosignature_verifier(self.name, key)
            return ed25519_verifier(self.name, key)
        raise NoteFormatError("signer key does not fit its signature type", field="signer key")

    def sign(self, text: str, *, timestamp: int | None = None) -> NoteSignature:
        """Sign ``text`` (a cosigner needs ``timestamp``, seconds since the epoch)."""
        message = text.encode("utf-8")
        kid = self.verifier.key_id
        if self.sig_type == SIG_ECDSA and isinstance(self.private_key, ec.EllipticCurvePrivateKey):
            return NoteSignature(self.name, kid, self.private_key.sign(message, ec.ECDSA(hashes.SHA256())))
        if isinstance(self.private_key, Ed25519PrivateKey):
            if self.sig_type == SIG_COSIGNATURE_V1:
                if timestamp is None or not 0 <= timestamp <= MAX_TIMESTAMP:
                    raise NoteFormatError("a cosignature needs a timestamp", field="signer key")
                sig = self.private_key.sign(cosignature_message(text, timestamp))
                return NoteSignature(self.name, kid, struct.pack(">Q", timestamp) + sig)
            return NoteSignature(self.name, kid, self.private_key.sign(message))
        raise NoteFormatError("signer key does not fit its signature type", field="signer key")

    def skey(self) -> str:
        """``PRIVATE+KEY+<name>+<key ID>+<base64(type || seed)>`` (Ed25519 kinds only)."""
        if not isinstance(self.private_key, Ed25519PrivateKey):
            raise NoteFormatError("only Ed25519 signer keys have a text form", field="signer key")
        seed = self.private_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                              serialization.NoEncryption())
        return (f"PRIVATE+KEY+{self.name}+{self.verifier.key_id.hex()}+"
                f"{base64.b64encode(bytes([self.sig_type]) + seed).decode()}")


def parse_skey(text: str) -> NoteSigner:
    """Read a signer key written by :meth:`NoteSigner.skey`."""
    parts = text.strip().split("+", 4)
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
        raise NoteFormatError("a signer key is PRIVATE+KEY+<name>+<key id>+<base64>", field="signer key")
    name, hex_id, b64 = parts[2:]
    raw = _b64decode(b64, "the signer key")
    if len(raw) != 33 or raw[0] not in (SIG_ED25519, SIG_COSIGNATURE_V1):
        raise NoteFormatError("an Ed25519 signer key is a type byte and a 32-byte seed", field="signer key")
    signer = NoteSigner(check_key_name(name), raw[0], Ed25519PrivateKey.from_private_bytes(raw[1:]))
    if signer.verifier.key_id.hex() != hex_id:
        raise NoteFormatError("the key ID does not match the key", field="signer key")
    return signer


def sign_note(text: str, signers: Sequence[NoteSigner], *, timestamp: int | None = None) -> Note:
    """A note over ``text`` (which must end in a newline) signed by each of ``signers``."""
    if not text.endswith("\n"):
        raise NoteFormatError("note text must end with a newline")
    _check_text(text)
    return Note(text, tuple(s.sign(text, timestamp=timestamp) for s in signers))


def check_signatures(note: Note, verifiers: Iterable[NoteVerifier]) -> tuple[tuple[Verified, ...], tuple[NoteVerifier, ...]]:
    """Each trusted key's verdict: (keys whose signatures verified, keys with a signature that did not).

    Lines from unknown keys, even sharing a name or an ID with a trusted one, are ignored (C2SP
    signed-note, "Signatures"); a key counts once however many lines it has, and a key with any
    line that fails to verify is in the second tuple only.
    """
    good: dict[NoteVerifier, Verified] = {}
    bad: list[NoteVerifier] = []
    keys = list(verifiers)
    for sig in note.signatures:
        for v in keys:
            if not v.matches(sig):
                continue
            result = v.verify(note.text, sig)
            if result is None:
                if v not in bad:
                    bad.append(v)
            elif v not in good:
                good[v] = result
    return tuple(g for v, g in good.items() if v not in bad), tuple(bad)


def verify_note(note: Note, verifiers: Iterable[NoteVerifier]) -> tuple[Verified, ...]:
    """C2SP signed-note verification: at least one trusted signature, and no invalid one.

    Raises :class:`NoteVerificationError` otherwise.
    """
    good, bad = check_signatures(note, verifiers)
    if bad:
        raise NoteVerificationError(f"the signature by trusted key {bad[0].name} does not verify")
    if not good:
        raise NoteVerificationError("no signature from a trusted key")
    return good
