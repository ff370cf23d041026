"""Running the reference enclave on uvicorn: in the foreground (``enclave-chat serve``) or in a
background thread on a free loopback port (``enclave-chat demo`` and the end-to-end tests)."""

from __future__ import annotations

import socket
import sys
import threading
import time
from types import TracebackType

import uvicorn

from enclave import INSECURE_DEMO_BANNER
from enclave.app import Enclave, Settings


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


def serve(*, host: str = "127.0.0.1", port: int = 8700, upstream: str | None = None,
          token_delay: float = 0.02, attack: str | None = None) -> None:
    """``enclave-chat serve``: run until interrupted."""
    enclave = Enclave(Settings(upstream=upstream, token_delay=token_delay, attack=attack))
    print(f"{INSECURE_DEMO_BANNER}\nreference enclave on http://{host}:{port}  "
          f"(upstream {enclave.backend.describe()}, measurement {enclave.measurement.hex()[:16]}…)"
          + (f"\nATTACK MODE: {attack}" if attack else ""), file=sys.stderr, flush=True)
    sock = listening_socket(host, port)
    try:
        uvicorn.Server(_config(enclave, host, port)).run(sockets=[sock])
    finally:
        sock.close()


class BackgroundEnclave:
    """The reference enclave on a free loopback port, in a thread; a context manager.

    ``url`` is where it listens; ``enclave`` is its state (tests read ``gateway_posts``).
    """

    def __init__(self, settings: Settings | None = None, *, host: str = "127.0.0.1") -> None:
        self.enclave = Enclave(settings or Settings())
        self._socket = listening_socket(host, 0)
        self.port = self._socket.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        self._server = uvicorn.Server(_config(self.enclave, host, self.port))
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self._socket]}, daemon=True)

    def start(self, timeout: float = 10.0) -> BackgroundEnclave:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the reference enclave did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
        self._socket.close()

    def __enter__(self) -> BackgroundEnclave:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
