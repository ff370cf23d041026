"""Start a log and a witness on loopback, wired together: what ``enclave-chat serve`` needs.

:func:`start_transparency` starts the witness, then the log (which asks the witness to cosign each
checkpoint), each on its own port, and returns a :class:`TransparencyServices` with both URLs, a
``publish`` method and the ``[release.log]`` policy text that trusts exactly these keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from enclave.transparency.keys import demo_log_signer, demo_witness_signer
from enclave.transparency.log import TransparencyLog, WitnessEndpoint
from enclave.transparency.publish import publish_release
from enclave.transparency.server import RunningServer, log_app, start_server, witness_app
from enclave.transparency.witness import Witness
from verifier.reference.note import NoteSigner
from verifier.reference.release import ReleaseStatement


@dataclass
class TransparencyServices:
    """A running log and witness. ``stop()`` shuts both down."""

    log: TransparencyLog
    witness: Witness
    log_server: RunningServer
    witness_server: RunningServer
    http: httpx.Client

    @property
    def log_url(self) -> str:
        return self.log_server.url

    @property
    def witness_url(self) -> str:
        return self.witness_server.url

    def publish(self, statement: ReleaseStatement, publisher_key: Ed25519PrivateKey) -> dict[str, Any]:
        """Sign and append ``statement``; the bundle's ``release`` object (see :mod:`.publish`)."""
        return publish_release(statement, publisher_key=publisher_key, log=self.log)

    def policy_log_table(self, *, min_witnesses: int = 1, url: bool = True) -> str:
        """TOML for ``[release.log]`` pinning this log's and witness's keys."""
        lines = [
            "[release.log]",
            f'origin = "{self.log.origin}"',
            f'key = "{self.log.signer.verifier.vkey()}"',
            f'witnesses = ["{self.witness.signer.verifier.vkey()}"]',
            f"min_witnesses = {min_witnesses}",
        ]
        lines.append(f'url = "{self.log_url}"' if url else "url_from_bundle = true")
        return "\n".join(lines) + "\n"

    def stop(self) -> None:
        self.http.close()
        self.log_server.stop()
        self.witness_server.stop()


def start_transparency(state_dir: Path, *, host: str = "127.0.0.1", log_port: int = 0,
                       witness_port: int = 0, log_signer: NoteSigner | None = None,
                       witness_signer: NoteSigner | None = None) -> TransparencyServices:
    """Start a witness (state in ``state_dir/witness``) and a log (``state_dir/log``) on ``host``.

    Without keys, the INSECURE demo keys are used (which ``policies/demo.toml`` pins).
    """
    log_signer = log_signer or demo_log_signer()
    witness_signer = witness_signer or demo_witness_signer()
    witness = Witness(witness_signer, state_dir / "witness", {log_signer.name: [log_signer.verifier]})
    witness_server = start_server(witness_app(witness), host=host, port=witness_port)
    http = httpx.Client()
    try:
        log = TransparencyLog(state_dir / "log", log_signer,
                              witnesses=[WitnessEndpoint(witness_server.url, witness_signer.verifier)], http=http)
        log_server = start_server(log_app(log), host=host, port=log_port)
    except BaseException:
        witness_server.stop()
        http.close()
        raise
    return TransparencyServices(log, witness, log_server, witness_server, http)
