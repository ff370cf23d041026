"""DSSE envelopes (secure-systems-lab/dsse, "protocol.md" v1.0) signed with Ed25519.

The signature covers PAE(payloadType, payload) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body,
never the JSON around it. The envelope JSON is ``{"payloadType", "payload" (base64), "signatures":
[{"keyid", "sig" (base64)}]}``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from verifier.errors import ParseError
from verifier.strict_json import load_strict_json

MAX_ENVELOPE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Signature:
    keyid: str
    sig: bytes


@dataclass(frozen=True)
class Envelope:
    payload_type: str
    payload: bytes
    signatures: tuple[Signature, ...]


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 Pre-Authentication Encoding."""
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def ed25519_keyid(public_key: Ed25519PublicKey) -> str:
    """Key id: hex SHA-256 of the raw 32-byte public key (our convention, stated in docs/protocol.md)."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def sign_envelope(payload_type: str, payload: bytes, key: Ed25519PrivateKey) -> bytes:
    """The exact envelope bytes (compact JSON, sorted keys) that a log records as a leaf."""
    sig = key.sign(pae(payload_type, payload))
    doc = {
        "payload": base64.b64encode(payload).decode(),
        "payloadType": payload_type,
        "signatures": [{"keyid": ed25519_keyid(key.public_key()), "sig": base64.b64encode(sig).decode()}],
    }
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def _b64(value: object, field: str) -> bytes:
    if not isinstance(value, str):
        raise ParseError("must be a base64 string", field=field)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ParseError("is not valid base64", field=field) from None


def parse_envelope(data: bytes) -> Envelope:
    if len(data) > MAX_ENVELOPE_BYTES:
        raise ParseError(f"larger than {MAX_ENVELOPE_BYTES} bytes", field="envelope")
    try:
        doc = load_strict_json(data, "envelope")
    except ParseError:
        raise ParseError("is not JSON", field="envelope") from None
    if not isinstance(doc, dict):
        raise ParseError("must be a JSON object", field="envelope")
    payload_type = doc.get("payloadType")
    if not isinstance(payload_type, str):
        raise ParseError("must be a string", field="envelope.payloadType")
    sigs = doc.get("signatures")
    if not isinstance(sigs, list) or not sigs or len(sigs) > 16:
        raise ParseError("must be a list of 1 to 16 signatures", field="envelope.signatures")
    out = []
    for i, s in enumerate(sigs):
        if not isinstance(s, dict):
            raise ParseError("must be an object", field=f"envelope.signatures[{i}]")
        keyid = s.get("keyid", "")
        if not isinstance(keyid, str):
            raise ParseError("must be a string", field=f"envelope.signatures[{i}].keyid")
        out.append(Signature(keyid, _b64(s.get("sig"), f"envelope.signatures[{i}].sig")))
    return Envelope(payload_type, _b64(doc.get("payload"), "envelope.payload"), tuple(out))


def verify_envelope(envelope: Envelope, keys: Iterable[Ed25519PublicKey]) -> Ed25519PublicKey | None:
    """The first trusted key that signed the envelope's PAE, or None."""
    message = pae(envelope.payload_type, envelope.payload)
    for key in keys:
        for sig in envelope.signatures:
            try:
                key.verify(sig.sig, message)
            except InvalidSignature:
                continue
            return key
    return None


def load_ed25519_public(text: str) -> Ed25519PublicKey:
    """A publisher key as policies write it: ``ed25519:<base64 of the raw 32 bytes>``."""
    from verifier.errors import PolicyError

    prefix, _, b64 = text.partition(":")
    if prefix != "ed25519":
        raise PolicyError(f"publisher key {text!r} must be written ed25519:<base64>")
    try:
        raw = base64.b64decode(b64, validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError):
        raise PolicyError(f"publisher key {text!r} is not a raw 32-byte Ed25519 key in base64") from None


def format_ed25519_public(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + base64.b64encode(raw).decode()


