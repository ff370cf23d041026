from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from enclave.app import Settings
from enclave.server import BackgroundEnclave
from enclave_chat.paths import policies_dir, resolve_policy
from tests.tinfoil.conftest import TinfoilEnclave
from tests.vectors import vectors_dir
from verifier.appraisal.policy import Policy, parse_policy
from verifier.policy_check import check_policy

# Property tests: the default suite (and CI) draws the same examples on every run, so a run fails
# only for a change in the code, never for a new draw; `make fuzz` (the long runs, -m slow) draws
# new ones each time (HYPOTHESIS_PROFILE=explore) and keeps what it finds in .hypothesis/.
settings.register_profile("suite", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))

# Tests never leave this machine: collateral services are mocked or recorded, and every server a
# test starts listens on loopback. In this process any name or address that is not loopback fails
# to resolve; subprocesses that run the CLI get ENCLAVE_CHAT_OFFLINE=1 (no collateral fetches).
_real_getaddrinfo = socket.getaddrinfo


def _is_loopback(host: Any) -> bool:
    if host in (None, "", b""):
        return True
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def _loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
    if not _is_loopback(host):
        raise socket.gaierror(socket.EAI_NONAME, f"tests stay on loopback; refused to resolve {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True, scope="session")
def _no_network_beyond_loopback() -> Iterator[None]:
    socket.getaddrinfo = _loopback_only
    try:
        yield
    finally:
        socket.getaddrinfo = _real_getaddrinfo


@pytest.fixture(scope="session")
def vectors() -> Path:
    """The real vectors folder (skips, or fails under ENCLAVE_CHAT_REQUIRE_VECTORS=1, when absent)."""
    return vectors_dir()


# -- the reference enclave, shared by the end-to-end, adversarial and proxy tests --------------------

@pytest.fixture(scope="session")
def demo_policy() -> Policy:
    return resolve_policy("demo")


@pytest.fixture(scope="module")
def enclave() -> Iterator[BackgroundEnclave]:
    with BackgroundEnclave(Settings(token_delay=0)) as server:
        yield server


@pytest.fixture(scope="session")
def demo_tinfoil_policy_text() -> str:
    """policies/demo.toml, whose [tinfoil] table serves the reference enclave's Tinfoil mode."""
    text = (policies_dir() / "demo.toml").read_text()
    assert 'release_source = "demo"' in text
    return text


@pytest.fixture(scope="session")
def demo_tinfoil_policy(demo_tinfoil_policy_text: str) -> Policy:
    return check_policy(parse_policy(demo_tinfoil_policy_text.encode(), "demo+tinfoil"))


@pytest.fixture(scope="module")
def tinfoil_enclave() -> Iterator[TinfoilEnclave]:
    """The reference enclave's Tinfoil mode in its default layout, Tinfoil's current one."""
    with TinfoilEnclave() as server:
        yield server


@pytest.fixture(scope="module")
def june_enclave() -> Iterator[TinfoilEnclave]:
    """The reference enclave's Tinfoil mode serving the June 2026 layout (on request)."""
    with TinfoilEnclave(layout="june") as server:
        yield server
