"""What the SEV stages' tests share: AMD's Genoa ASK and ARK put where a KDS fetch would leave them
(the suite's SEV vectors carry the VCEK only; tests/conformance/kds_cache.py), and the stage run
offline against that cache. A module asks for it with ``pytestmark = usefixtures("amd_chain_offline")``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conformance.kds_cache import seed
from tests.conformance.suite import GENOA_CHAIN


@pytest.fixture(scope="module")
def kds_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("cache")
    if GENOA_CHAIN.is_file():
        seed(cache / "collateral", GENOA_CHAIN.read_bytes())
    return cache


@pytest.fixture
def amd_chain_offline(kds_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ENCLAVE_CHAT_CACHE_DIR", str(kds_cache))
    monkeypatch.setenv("ENCLAVE_CHAT_OFFLINE", "1")
    yield
