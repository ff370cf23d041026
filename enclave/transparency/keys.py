"""Log and witness signing keys: C2SP signed-note signer keys kept in files (mode 0600).

The INSECURE demo keys in ``demo_keys/`` are public (committed), like the reference enclave's demo
roots: only ``policies/demo.toml`` trusts them, and only on loopback.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verifier.private_files import write_private
from verifier.reference.note import SIG_COSIGNATURE_V1, SIG_ED25519, NoteSigner, parse_skey

DEMO_KEYS = Path(__file__).parent / "demo_keys"


def generate_log_signer(origin: str) -> NoteSigner:
    """A new Ed25519 log key whose name is the log's origin (C2SP tlog-checkpoint "Signatures")."""
    return NoteSigner(origin, SIG_ED25519, Ed25519PrivateKey.generate())


def generate_witness_signer(name: str) -> NoteSigner:
    """A new witness cosigner key (C2SP tlog-cosignature, type 0x04)."""
    return NoteSigner(name, SIG_COSIGNATURE_V1, Ed25519PrivateKey.generate())


def save_signer(path: Path, signer: NoteSigner) -> None:
    write_private(path, (signer.skey() + "\n").encode())


def load_signer(path: Path) -> NoteSigner:
    return parse_skey(path.read_text())


def demo_log_signer() -> NoteSigner:
    """INSECURE DEMO: the log key the demo policy pins."""
    return load_signer(DEMO_KEYS / "log-INSECURE-DEMO.skey")


def demo_witness_signer() -> NoteSigner:
    """INSECURE DEMO: the witness key the demo policy pins."""
    return load_signer(DEMO_KEYS / "witness-INSECURE-DEMO.skey")
