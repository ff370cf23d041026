"""Running the reference enclave on uvicorn: in the foreground (``enclave-chat serve``) or in a
background thread on a free loopback port (``enclave-chat demo`` and the end-to-end tests).

Unless ``Settings.transparency`` is off, each also starts the reference deployment's transparency
log and witness on their own free loopback ports (:class:`enclave.release.ReleaseLog`), publishes
the enclave's release statement there before the enclave accepts a request, and stops both with
the enclave.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn

from enclave import INSECURE_DEMO_BANNER
from enclave.app import Enclave, Settings
from enclave.release import ReleaseLog

LOG_HOST = "127.0.0.1"
"""The log and the witness listen on loopback only: only a demo policy takes the log URL from the
bundle, and only a loopback one."""


def _config(enclave: Enclave, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(enclave.app(), host=host, port=port, log_level="warning",
                          lifespan="off", access_log=False, timeout_graceful_shutdown=1)


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket for uvicorn. Accepted connections inherit TCP_NODELAY on Linux, so
    streamed tokens do not wait for the client's delayed ACK (Nagle): ~40 ms a reply otherwise."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    return sock


def start_release_log(enclave: Enclave) -> ReleaseLog | None:
    """The log and witness beside ``enclave``, with its release published and set as the one it
    serves; None when ``Settings.transparency`` is off (the bundle then has no log proof)."""
    settings = enclave.settings
    if not settings.transparency:
        return None
    log = ReleaseLog(settings.transparency_dir, host=LOG_HOST)
    try:
        enclave.release = log.release_for(enclave.image, enclave.measurement, attack=settings.attack,
                                          platform=settings.platform)
    except BaseException:
        log.stop()
        raise
    return log


def serve(*, host: str = "127.0.0.1", port: int = 8700, upstream: str | None = None,
          token_delay: float = 0.02, attack: str | None = None, transparency: bool = True,
          transparency_dir: Path | None = None, platform: str = "sev-snp",
          tinfoil_layout: str = "current", profile: str = "native") -> None:
    """``enclave-chat serve``: run until interrupted (the log and witness too, unless
    ``transparency`` is off; their state in ``transparency_dir``, or a temporary directory);
    ``platform``: the simulated CPU platform; ``profile``: ``nearai`` serves NEAR AI's profile with
    8 simulated GPUs (INSECURE DEMO either way)."""
    from enclave import nearai_mode

    gpus = nearai_mode.GPUS if profile == nearai_mode.PROFILE else Settings.gpus
    enclave = Enclave(Settings(upstream=upstream, token_delay=token_delay, attack=attack,
                               transparency=transparency, transparency_dir=transparency_dir,
                               platform=platform, tinfoil_layout=tinfoil_layout, profile=profile, gpus=gpus))
    sock = listening_socket(host, port)
    port = sock.getsockname()[1]  # the real one when asked for port 0
    log: ReleaseLog | None = None
    try:
        log = start_release_log(enclave)
        where = (f"\ntransparency log on {log.log_url} (state in {log.directory}), witness on {log.witness_url}"
                 if log is not None else "\nno transparency log (--no-log): the bundle carries no log proof")
        print(f"{INSECURE_DEMO_BANNER}\nreference enclave on http://{host}:{port}  "
              f"(upstream {enclave.backend.describe()}, measurement {enclave.measurement.hex()[:16]}…)"
              + (f"\nsimulated {platform}: INSECURE DEMO paravisor, vTPM attestation key and PCRs"
                 if platform != "sev-snp" else "")
              + (f"\nNEAR AI profile (--provider nearai): {gpus} simulated GPUs; /v1 in plaintext over loopback http, "
                 "no TLS, no end-to-end encryption" if profile == nearai_mode.PROFILE else "")
              + where + (f"\nATTACK MODE: {attack}" if attack else ""), file=sys.stderr, flush=True)
        uvicorn.Server(_config(enclave, host, port)).run(sockets=[sock])
    finally:
        sock.close()
        if log is not None:
            log.stop()


class BackgroundEnclave:
    """The reference enclave on a free loopback port, in a thread; a context manager.

    ``url`` is where it listens; ``enclave`` is its state (tests read ``gateway_posts``); ``log`` is
    the transparency log and witness started beside it (None with ``Settings(transparency=False)``
    or before :meth:`start`). :meth:`stop` stops all of them.
    """

    def __init__(self, settings: Settings | None = None, *, host: str = "127.0.0.1") -> None:
        self.enclave = Enclave(settings or Settings())
        self.log: ReleaseLog | None = None
        self._socket = listening_socket(host, 0)
        self.port = self._socket.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        self._server = uvicorn.Server(_config(self.enclave, host, self.port))
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self._socket]}, daemon=True)

    def start(self, timeout: float = 10.0) -> BackgroundEnclave:
        try:
            self.log = start_release_log(self.enclave)
        except BaseException:
            self._socket.close()
            raise
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the reference enclave did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self.log is not None:  # the log and the witness stop while the enclave does
            self.log.stop()
            self.log = None
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._socket.close()

    def __enter__(self) -> BackgroundEnclave:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
