"""Builders shared by the transparency tests: keys, statements, policies."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from enclave.transparency.keys import generate_log_signer, generate_witness_signer
from verifier.appraisal.policy import Policy, parse_policy
from verifier.reference.dsse import format_ed25519_public
from verifier.reference.note import NoteSigner
from verifier.reference.release import ReleaseStatement

ORIGIN = "test.enclave-chat.localhost/log"
WITNESS = "test.enclave-chat.localhost/witness"
MEASUREMENT = bytes(range(48))
IMAGE = "sha256:" + "ab" * 32


def statement(version: str = "1.2.0", measurement: bytes = MEASUREMENT, image: str = IMAGE) -> ReleaseStatement:
    return ReleaseStatement(image, version, {"sev-snp": [measurement.hex()]})


def log_signer(origin: str = ORIGIN) -> NoteSigner:
    return generate_log_signer(origin)


def witness_signer(name: str = WITNESS) -> NoteSigner:
    return generate_witness_signer(name)


def policy(publisher: Ed25519PrivateKey, log: NoteSigner | None, *, url: str | None = None,
           witnesses: tuple[NoteSigner, ...] = (), min_witnesses: int = 0, demo: bool = False,
           url_from_bundle: bool = False, min_version: str = "1.0", fresh: str = "required",
           required: bool = True) -> Policy:
    """A policy text with [release] and, when ``log`` is given, [release.log]."""
    lines = ['name = "transparency-test"']
    if demo:
        lines += ["[service]", "demo_roots = true"]
    lines += ["[release]", f'publisher_keys = ["{format_ed25519_public(publisher.public_key())}"]',
              f'min_version = "{min_version}"']
    if log is not None:
        lines += ["[release.log]", f'origin = "{log.name}"', f'key = "{log.verifier.vkey()}"',
                  "witnesses = [" + ", ".join(f'"{w.verifier.vkey()}"' for w in witnesses) + "]",
                  f"min_witnesses = {min_witnesses}", f'fresh_checkpoint = "{fresh}"',
                  f"required = {'true' if required else 'false'}"]
        if url:
            lines.append(f'url = "{url}"')
        if url_from_bundle:
            lines.append("url_from_bundle = true")
    return parse_policy(("\n".join(lines) + "\n").encode(), "transparency-test.toml")
