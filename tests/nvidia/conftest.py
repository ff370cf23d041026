from __future__ import annotations

import pytest

from tests.nvidia import pki


@pytest.fixture(scope="session")
def device() -> pki.DevicePki:
    """A look-alike device chain under a fresh test root (generated once per session)."""
    return pki.device_pki()


@pytest.fixture(scope="session")
def rim_signers() -> pki.RimPki:
    return pki.rim_pki()
