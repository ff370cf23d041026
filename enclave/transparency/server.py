"""HTTP faces of the log and the witness (starlette), and a small uvicorn runner.

The log serves its directory as C2SP tlog-tiles static resources: ``GET /checkpoint``
(``text/plain; charset=utf-8``, not cached) and ``GET /tile/...`` (``application/octet-stream``,
immutable); any other path is 404, and tile paths are matched strictly before touching the disk.
The witness answers ``POST /add-checkpoint`` (C2SP tlog-witness). Both bind to loopback unless
told otherwise.

:func:`start_server` runs an app on uvicorn in a background thread and returns once it accepts
connections (readiness is uvicorn's own startup signal, waited for with bounded retries);
:func:`serve_forever` runs one in the foreground for ``enclave-chat log serve`` / ``log witness``.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from enclave.transparency.log import TransparencyLog
from enclave.transparency.witness import Witness
from verifier.reference.tiles import TileMissing, parse_tile_path

READY_POLLS = 200
READY_POLL_SECONDS = 0.05


def log_app(log: TransparencyLog) -> Starlette:
    """GET ``/checkpoint`` and ``/tile/<L>/<N>[.p/<W>]``, ``/tile/entries/<N>[.p/<W>]``."""

    def checkpoint(request: Request) -> Response:
        return Response(log.checkpoint_bytes(), media_type="text/plain; charset=utf-8",
                        headers={"cache-control": "no-store"})

    def tile(request: Request) -> Response:
        path = "tile/" + request.path_params["path"]
        try:
            parse_tile_path(path)
            data = log.read(path)
        except TileMissing:
            return Response(b"not found\n", status_code=404, media_type="text/plain")
        return Response(data, media_type="application/octet-stream",
                        headers={"cache-control": "public, max-age=604800, immutable"})

    return Starlette(routes=[Route("/checkpoint", checkpoint), Route("/tile/{path:path}", tile)])


def witness_app(witness: Witness) -> Starlette:
    """POST ``/add-checkpoint`` (C2SP tlog-witness)."""

    async def add_checkpoint(request: Request) -> Response:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > 256 * 1024:
                return Response(b"request too large\n", status_code=400, media_type="text/plain")
        from starlette.concurrency import run_in_threadpool

        answer = await run_in_threadpool(witness.add_checkpoint, bytes(body))
        return Response(answer.body, status_code=answer.status, media_type=answer.media_type)

    return Starlette(routes=[Route("/add-checkpoint", add_checkpoint, methods=["POST"])])


class _Server(uvicorn.Server):
    """uvicorn's server, telling a thread when it has started listening."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def _url(host: str, port: int) -> str:
    try:
        is_v6 = ipaddress.ip_address(host).version == 6
    except ValueError:
        is_v6 = False
    return f"http://[{host}]:{port}/" if is_v6 else f"http://{host}:{port}/"


@dataclass
class RunningServer:
    """A server started by :func:`start_server`; ``url`` ends with a slash."""

    url: str
    port: int
    server: _Server
    thread: threading.Thread

    def request_stop(self) -> None:
        """Ask the server to stop, without waiting (to stop several at once, then :meth:`stop` each)."""
        self.server.should_exit = True

    def stop(self, timeout: float = 10.0) -> None:
        self.request_stop()
        self.thread.join(timeout)


def start_server(app: Starlette, *, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Run ``app`` on uvicorn in a daemon thread; return when it listens (port 0: a free port)."""
    sock = _bind(host, port)
    actual = sock.getsockname()[1]
    server = _Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                           timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name=f"uvicorn-{actual}")
    thread.start()
    for _ in range(READY_POLLS):
        if server.ready.wait(READY_POLL_SECONDS):
            return RunningServer(_url(host, actual), actual, server, thread)
        if not thread.is_alive():
            break
    server.should_exit = True
    sock.close()
    raise RuntimeError(f"the server on {host}:{actual} did not start")


def serve_forever(app: Starlette, *, host: str = "127.0.0.1", port: int,
                  on_listen: Callable[[str], None] | None = None) -> None:
    """Run ``app`` in the foreground until interrupted (uvicorn handles SIGINT/SIGTERM).

    The socket is bound first, so a port in use is an :class:`OSError` here; ``on_listen`` is then
    told the URL (with the real port when ``port`` is 0)."""
    sock = _bind(host, port)
    try:
        if on_listen is not None:
            on_listen(_url(host, sock.getsockname()[1]))
        uvicorn.Server(uvicorn.Config(app, log_level="info", lifespan="off")).run(sockets=[sock])
    finally:
        sock.close()
