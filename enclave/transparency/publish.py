"""The publisher's tool: sign a release statement (DSSE, Ed25519) and append it to the log.

The log leaf is the RFC 9162 §2.1.1 leaf hash of the exact envelope bytes. What comes back is the
``release`` object of the evidence bundle (docs/protocol.md)::

    {"envelope": base64, "log": {"origin", "index", "inclusion_proof": [base64, ...], "checkpoint": text}}
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from enclave.transparency.log import TransparencyLog
from verifier.reference.dsse import sign_envelope
from verifier.reference.release import PAYLOAD_TYPE, ReleaseStatement


def sign_release(statement: ReleaseStatement, publisher_key: Ed25519PrivateKey) -> bytes:
    """The DSSE envelope bytes (deterministic: Ed25519 and canonical JSON) for ``statement``."""
    return sign_envelope(PAYLOAD_TYPE, statement.encode(), publisher_key)


def release_bundle(log: TransparencyLog, envelope: bytes, index: int) -> dict[str, Any]:
    """The bundle's ``release`` object for leaf ``index``, proved against the current checkpoint."""
    checkpoint = log.checkpoint_bytes()
    from verifier.reference.checkpoint import read_checkpoint

    size = read_checkpoint(checkpoint)[0].size
    return {
        "envelope": base64.b64encode(envelope).decode(),
        "log": {
            "origin": log.origin,
            "index": index,
            "inclusion_proof": [base64.b64encode(h).decode() for h in log.inclusion_proof(index, size)],
            "checkpoint": checkpoint.decode("utf-8"),
        },
    }


def publish_release(statement: ReleaseStatement, *, publisher_key: Ed25519PrivateKey,
                    log: TransparencyLog, reuse: bool = True) -> dict[str, Any]:
    """Sign ``statement`` and append its envelope to ``log`` (unless ``reuse`` finds it there
    already); return the bundle's ``release`` object."""
    envelope = sign_release(statement, publisher_key)
    index = log.find(envelope) if reuse else None
    if index is None:
        index = log.append(envelope).first_index
    return release_bundle(log, envelope, index)
