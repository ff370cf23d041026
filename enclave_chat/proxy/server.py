"""Running the proxy on uvicorn: in the foreground (``enclave-chat proxy``) or in a background
thread on a free port (tests, benchmarks). The same stack as the reference enclave, but the
proxy's own: nothing here imports the reference service."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING

import uvicorn

from enclave_chat.proxy.app import ProxyApp, allowed_hosts
from verifier.urls import is_loopback_host

if TYPE_CHECKING:
    from verifier.session import Session

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787


def is_loopback(host: str) -> bool:
    """The one loopback rule (:func:`verifier.urls.is_loopback_host`)."""
    return is_loopback_host(host)


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket (TCP_NODELAY, so streamed tokens do not wait for a delayed ACK)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host.strip("[]"), port))
    return sock


def base_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}/v1"


def config(app: ProxyApp) -> uvicorn.Config:
    return uvicorn.Config(app.app(), log_level="warning", lifespan="on", access_log=False,
                          timeout_graceful_shutdown=1, server_header=False, date_header=False)


class BackgroundProxy:
    """The proxy over ``session`` on ``host`` (a free port unless ``port``), in a thread; a context
    manager. ``url`` is its base URL (``…/v1``); ``app`` its routes (``app.requests``)."""

    def __init__(self, session: Session, *, host: str = DEFAULT_HOST, port: int = 0,
                 token: str | None = None, api_key: str | None = None) -> None:
        self._socket = listening_socket(host, port)
        self.port = self._socket.getsockname()[1]
        self.url = base_url(host, self.port)
        self.app = ProxyApp(session, hosts=allowed_hosts(host, self.port), token=token, api_key=api_key)
        self._server = uvicorn.Server(config(self.app))
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self._socket]}, daemon=True)

    @property
    def session(self) -> Session:
        return self.app.session

    def start(self, timeout: float = 10.0) -> BackgroundProxy:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:  # a bounded poll, as BackgroundEnclave.start does
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the proxy did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._socket.close()

    def __enter__(self) -> BackgroundProxy:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


async def serve(app: ProxyApp, sock: socket.socket) -> None:
    """Serve ``app`` on ``sock`` until interrupted (the session is closed on the way out)."""
    await uvicorn.Server(config(app)).serve(sockets=[sock])
