"""The reference enclave's release statement (INSECURE DEMO publisher key), and the log it is in.

A real publisher signs a statement once per release, and the statement lists the launch
measurements the image produces. The demo enclave has no build pipeline, so at start-up it signs a
statement for the image and configuration it runs, with the demo publisher key that only
``policies/demo.toml`` trusts, and publishes it in the reference deployment's transparency log
(:class:`ReleaseLog`: a log and a witness on their own loopback ports, docs/transparency.md).

The release attack modes (enclave/attacks.py) are made here, as what a dishonest publisher or log
operator could put in the bundle's ``release`` object.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from enclave import RELEASE_VERSION, demo_roots
from enclave.tdx import PLATFORMS as TDX_PLATFORMS
from enclave.transparency.log import WitnessEndpoint, fork_log
from enclave.transparency.publish import publish_release
from enclave.transparency.server import RunningServer, log_app, start_server
from enclave.transparency.services import TransparencyServices, start_transparency
from verifier.evidence.encoding import b64encode
from verifier.reference.checkpoint import read_checkpoint
from verifier.reference.dsse import sign_envelope
from verifier.reference.note import SIG_ED25519, NoteSigner, sign_note
from verifier.reference.release import PAYLOAD_TYPE, TDX_REGISTERS, ReleaseStatement

OLD_RELEASE_VERSION = "0.0.9"
"""The version of the ``old-release`` attack: below ``policies/demo.toml``'s ``min_version``."""

FORK_ENTRY = b"enclave-chat INSECURE DEMO attack: a log history shown only to some clients\n"
"""The leaf a forked log (``fork-log`` attack) has where the honest log has another."""


def demo_statement(image: str, measurements: list[bytes], version: str = RELEASE_VERSION,
                   platform: str = "sev-snp") -> ReleaseStatement:
    """The statement the demo publisher signs: ``image`` produces ``measurements`` on ``platform``
    (SEV-SNP, or the simulated Azure SEV-SNP CVM: the MEASUREMENT inside its HCL report; on TDX,
    bare or in an Azure CVM, MRTD || RTMR0 || RTMR1 || RTMR2, listed register by register)."""
    if platform in TDX_PLATFORMS:
        entries: tuple[Any, ...] = tuple(
            {name: m[48 * i:48 * (i + 1)].hex() for i, name in enumerate(TDX_REGISTERS)} for m in measurements)
    else:
        entries = tuple(m.hex() for m in measurements)
    return ReleaseStatement(image, version, {platform: entries})


def demo_release(image: str, measurements: list[bytes], version: str = RELEASE_VERSION,
                 platform: str = "sev-snp") -> dict[str, Any]:
    """The bundle's ``release`` object without a log proof (``serve --no-log``): the statement only."""
    envelope = sign_envelope(PAYLOAD_TYPE, demo_statement(image, measurements, version, platform).encode(),
                             demo_roots.publisher_key())
    return {"envelope": b64encode(envelope)}


def _attack_seed(label: str) -> bytes:
    """A fixed seed per attack key, so that restarting an attack mode reuses its log entries."""
    return hashlib.sha256(b"enclave-chat INSECURE DEMO attack key: " + label.encode()).digest()


def rogue_publisher_key() -> Ed25519PrivateKey:
    """ATTACK: a publisher key that no policy trusts (``foreign-publisher``)."""
    return Ed25519PrivateKey.from_private_bytes(_attack_seed("publisher"))


def impostor_log_signer(origin: str) -> NoteSigner:
    """ATTACK: a note key with the log's name (its origin) that no policy pins (``unknown-log-key``)."""
    return NoteSigner(origin, SIG_ED25519, Ed25519PrivateKey.from_private_bytes(_attack_seed("log " + origin)))


class ReleaseLog:
    """The reference deployment's transparency side: a log and a witness on free loopback ports
    (docs/transparency.md), their state in ``directory`` (a temporary one, removed by :meth:`stop`,
    when None), both with the INSECURE demo keys that ``policies/demo.toml`` pins.

    :meth:`release_for` publishes the enclave's statement and returns the bundle's ``release``
    object; :meth:`stop` stops both servers (and any an attack mode started).
    """

    def __init__(self, directory: Path | None = None, *, host: str = "127.0.0.1") -> None:
        self.host = host
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._servers: list[RunningServer] = []
        self.directory = directory if directory is not None else self._scratch_dir("enclave-chat-log-")
        try:
            self.services: TransparencyServices = start_transparency(self.directory, host=host)
        except BaseException:
            self._cleanup()
            raise

    @property
    def log_url(self) -> str:
        return self.services.log_url

    @property
    def witness_url(self) -> str:
        return self.services.witness_url

    def _scratch_dir(self, prefix: str) -> Path:
        if self._scratch is None:
            self._scratch = tempfile.TemporaryDirectory(prefix=prefix)
        return Path(self._scratch.name)

    def release_for(self, image: str, measurement: bytes, *, attack: str | None = None,
                    platform: str = "sev-snp") -> dict[str, Any]:
        """Publish (or find already published) the demo statement for ``image`` and
        ``measurement`` on ``platform``; the ``release`` object the enclave serves, as ``attack``
        bends it."""
        svc = self.services
        publisher = demo_roots.publisher_key()
        statement = demo_statement(image, [measurement], platform=platform)
        if attack == "foreign-publisher":
            return svc.publish(statement, rogue_publisher_key())
        if attack == "old-release":
            return svc.publish(demo_statement(image, [measurement], OLD_RELEASE_VERSION, platform), publisher)
        honest = svc.publish(statement, publisher)
        if attack == "wrong-leaf-proof":
            other = svc.publish(demo_statement(image, [measurement], OLD_RELEASE_VERSION, platform), publisher)
            return {"envelope": honest["envelope"], "log": other["log"]}
        if attack == "unknown-log-key":
            checkpoint, _ = read_checkpoint(honest["log"]["checkpoint"])
            note = sign_note(checkpoint.body(), [impostor_log_signer(checkpoint.origin)])
            honest["log"]["checkpoint"] = note.encode().decode()
            return honest
        if attack == "fork-log":
            return self._forked_release(statement, publisher)
        return honest

    def _forked_release(self, statement: ReleaseStatement, publisher: Ed25519PrivateKey) -> dict[str, Any]:
        """ATTACK (split view): the honest log cut back by one leaf, going on with
        :data:`FORK_ENTRY`, with the statement published in it and served on a port of its own.
        Same origin, same log key; the honest witness is asked to cosign it and refuses."""
        svc = self.services
        witness = WitnessEndpoint(svc.witness_url, svc.witness.signer.verifier)
        fork = fork_log(svc.log, self._scratch_dir("enclave-chat-log-") / "fork",
                        size=max(svc.log.size - 1, 0), witnesses=[witness])
        fork.append(FORK_ENTRY)
        release = publish_release(statement, publisher_key=publisher, log=fork)
        server = start_server(log_app(fork), host=self.host)
        self._servers.append(server)
        release["log"]["url"] = server.url
        return release

    def request_stop(self) -> None:
        """Ask every server to stop, without waiting (they then stop together)."""
        self.services.request_stop()
        for server in self._servers:
            server.request_stop()

    def _cleanup(self) -> None:
        for server in self._servers:
            server.stop()
        self._servers.clear()
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None

    def stop(self) -> None:
        """Stop the log, the witness and any attack server; remove a temporary directory."""
        self.request_stop()
        try:
            self.services.stop()
        finally:
            self._cleanup()
