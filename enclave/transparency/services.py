"""Start a log and a witness on loopback, wired together: what ``enclave-chat serve`` needs.

:func:`start_transparency` starts the witness, then the log (which asks the witness to cosign each
checkpoint), each on its own port, and returns a :class:`TransparencyServices` with both URLs, a
``publish`` method and the ``[release.log]`` policy text that trusts exactly these keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from enclave.transparency.keys import (
    demo_log_signer,
    demo_witness_signer,
    generate_log_signer,
    generate_witness_signer,
    load_signer,
    save_signer,
)
from enclave.transparency.log import TransparencyLog, WitnessEndpoint
from enclave.transparency.publish import publish_release
from enclave.transparency.server import (
    RunningServer,
    log_app,
    serve_forever,
    start_server,
    witness_app,
)
from enclave.transparency.witness import Witness
from verifier.reference.note import SIG_COSIGNATURE_V1, NoteSigner, NoteVerifier, parse_vkey
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
        """Sign and append ``statement``; the bundle's ``release`` object (see :mod:`.publish`),
        with ``log.url`` added: where this log listens (only a demo policy may use it, on loopback)."""
        release = publish_release(statement, publisher_key=publisher_key, log=self.log)
        release["log"]["url"] = self.log_url
        return release

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

    def request_stop(self) -> None:
        """Ask both servers to stop, without waiting."""
        self.log_server.request_stop()
        self.witness_server.request_stop()

    def stop(self) -> None:
        self.request_stop()
        self.log_server.stop()
        self.witness_server.stop()
        self.http.close()


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


# -- for the command line: `enclave-chat log serve`, `log witness`, `release publish` ----------------


def load_or_create_signer(path: Path, name: str, *, witness: bool = False) -> NoteSigner:
    """The signer key in ``path``; a new one (named ``name``) is created there, mode 0600, if absent."""
    if path.exists():
        signer = load_signer(path)
        if (signer.sig_type == SIG_COSIGNATURE_V1) != witness:
            raise ValueError(f"{path} holds a {'log' if witness else 'witness'} key")
        return signer
    signer = generate_witness_signer(name) if witness else generate_log_signer(name)
    save_signer(path, signer)
    return signer


def open_log(directory: Path, signer: NoteSigner, *, witnesses: Sequence[tuple[str, str]] = (),
             http: httpx.Client | None = None) -> TransparencyLog:
    """The log in ``directory``; ``witnesses`` are (submission URL, cosigner vkey) pairs."""
    endpoints = [WitnessEndpoint(url, parse_vkey(vkey)) for url, vkey in witnesses]
    return TransparencyLog(directory, signer, witnesses=endpoints, http=http)


def run_log_server(directory: Path, signer: NoteSigner, *, host: str = "127.0.0.1", port: int = 8470,
                   witnesses: Sequence[tuple[str, str]] = (),
                   on_listen: Callable[[str], None] | None = None) -> None:
    """``enclave-chat log serve``: serve the log in ``directory`` until interrupted
    (``on_listen`` is told its URL once it is bound)."""
    serve_forever(log_app(open_log(directory, signer, witnesses=witnesses)), host=host, port=port,
                  on_listen=on_listen)


def run_witness_server(state_dir: Path, signer: NoteSigner, logs: Mapping[str, Sequence[str]], *,
                       host: str = "127.0.0.1", port: int = 8471,
                       on_listen: Callable[[str], None] | None = None) -> None:
    """``enclave-chat log witness``: cosign checkpoints of ``logs`` (origin -> log vkeys)."""
    keys: dict[str, list[NoteVerifier]] = {origin: [parse_vkey(v) for v in vkeys] for origin, vkeys in logs.items()}
    serve_forever(witness_app(Witness(signer, state_dir, keys)), host=host, port=port, on_listen=on_listen)
