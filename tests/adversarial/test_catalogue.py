"""Run the attack catalogue (tests/adversarial/catalogue.py): each attack is stopped by what the
catalogue names, and where a prompt was at stake, nothing reached the gateway."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from enclave.server import BackgroundEnclave
from tests.adversarial.catalogue import ATTACKS, Attack, Env
from tests.vectors import REPO
from verifier.appraisal.policy import Policy

pytestmark = pytest.mark.e2e

GUARD = 60.0
"""No row may take longer than this, even when the defence under test is broken."""


@pytest.fixture(scope="module")
def honest() -> Iterator[BackgroundEnclave]:
    with BackgroundEnclave() as server:
        yield server


def test_the_catalogue_has_at_least_50_distinct_attacks() -> None:
    names = [a.name for a in ATTACKS]
    assert len(names) >= 50 and len(set(names)) == len(names)


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
async def test_each_attack_is_stopped(attack: Attack, demo_policy: Policy, honest: BackgroundEnclave,
                                      tmp_path: Path) -> None:
    outcome = await asyncio.wait_for(attack.run(Env(demo_policy, honest, tmp_path)), GUARD)
    assert outcome.stopped == attack.stops, f"{attack.name} was stopped by {outcome.stopped}, not {attack.stops}"
    if attack.prompt_at_stake:
        assert outcome.posts == 0, f"{attack.name}: {outcome.posts} request(s) reached the gateway"


def documented_rows() -> list[tuple[str, str, str, str]]:
    text = (REPO / "docs" / "security.md").read_text()
    table = text.split("\n## The attack catalogue\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`"):
            rows.append((cells[0].strip("`"), cells[1], cells[2].strip("`"), cells[3]))
    return rows


def test_docs_security_lists_the_catalogue() -> None:
    expected = [(a.name, a.enters, a.stops, "0" if a.prompt_at_stake else "n/a") for a in ATTACKS]
    assert documented_rows() == expected


def test_each_documented_stop_is_a_check_id_or_an_outcome() -> None:
    for _, _, stops, _ in documented_rows():
        assert re.fullmatch(r"[a-z0-9_.]+|[A-Z][A-Za-z]+|[a-z ,-]+", stops), stops
