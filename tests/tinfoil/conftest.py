"""Tinfoil fixtures: the real teep recordings, copies to mutate, and the reference enclave served in
its Tinfoil-compatible mode (enclave/tinfoil_mode.py) on a loopback port."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from enclave import tinfoil_mode
from enclave.app import Enclave, Settings
from enclave.server import listening_socket, start_release_log
from enclave_chat.paths import resolve_policy
from verifier.appraisal.policy import Policy

CLOUD = "tinfoil/teep/tinfoil_v3_cloud_llama3-3-70b_20260629_021249"
DIRECT = "tinfoil/teep/tinfoil_v3_direct_gemma4-31b_20260629_021304"
V2_BUNDLE = "tinfoil/conformance/attestation-sev/real_genoa_bundle.json"
V2_TRUST_ROOT = "tinfoil/conformance/sigstore-001/trust_root.json"
GENOA_CHAIN = "tinfoil/verifier/attestation/genoa_cert_chain.pem"

@pytest.fixture(scope="session")
def tinfoil_policy() -> Policy:
    return resolve_policy("tinfoil")


@pytest.fixture
def recording_copy(vectors: Path, tmp_path: Path) -> object:
    """A writable copy of a recording (never the shared vectors themselves)."""

    def copy(name: str) -> Path:
        target = tmp_path / Path(name).name
        shutil.copytree(vectors / name, target)
        for path in target.rglob("*"):
            path.chmod(0o700 if path.is_dir() else 0o600)
        return target

    return copy


class TinfoilEnclave:
    """The reference enclave with the Tinfoil-compatible routes mounted in front of the native
    ones, exactly as docs/tinfoil.md tells the lead to mount them, on a free loopback port;
    ``layout`` and the other keywords are :class:`enclave.tinfoil_mode.TinfoilMode`'s."""

    def __init__(self, settings: Settings | None = None, *, serve_v2: bool = False, layout: str = "current",
                 **mode: Any) -> None:
        self.enclave = Enclave(settings or Settings(token_delay=0))
        self.mode = tinfoil_mode.TinfoilMode(self.enclave, serve_v2=serve_v2, layout=layout, **mode)
        app = Starlette(routes=[*tinfoil_mode.routes(self.mode), Mount("/", app=self.enclave.app())])
        self._socket = listening_socket("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False,
                                timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        daemon=True)

    def __enter__(self) -> TinfoilEnclave:
        self.log = start_release_log(self.enclave)  # the demo log and witness, as BackgroundEnclave
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the reference enclave did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        if self.log is not None:
            self.log.stop()
        self._thread.join(timeout=5)
        self._socket.close()


