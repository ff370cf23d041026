"""The proxy over a session to the reference enclave (demo policy), both on free loopback ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from enclave.server import BackgroundEnclave
from enclave_chat.proxy.server import BackgroundProxy
from verifier.appraisal.policy import Policy
from verifier.session import Session


@pytest.fixture
def proxy(enclave: BackgroundEnclave, demo_policy: Policy) -> Iterator[BackgroundProxy]:
    with BackgroundProxy(Session(enclave.url, demo_policy)) as server:
        yield server
