"""The ``[dstack]`` policy table: its keys, and the refusals of a table that says nothing sensible."""

from __future__ import annotations

import pytest

from verifier.appraisal.dstack import DstackPolicy
from verifier.appraisal.policy import parse_policy
from verifier.errors import PolicyError
from verifier.policy_check import check_policy

M = "11" * 48
IMAGE = f'[dstack.os_images.img]\nmrtd = "{M}"\nrtmr1 = "{M}"\nrtmr2 = "{M}"\n'


def rules(text: str) -> DstackPolicy:
    return DstackPolicy.from_policy(check_policy(parse_policy(f'name = "t"\n{text}\n'.encode())))


def test_defaults_and_a_full_table() -> None:
    assert rules("") == DstackPolicy()
    pol = rules(f'[dstack]\ncompose_hashes = "{"ab" * 32}"\nallow_unset_mrconfigid = true\n'
                + IMAGE + f'rtmr0 = {{ "small" = "{"22" * 48}", "large" = "{"33" * 48}" }}\n')
    assert pol.compose_hashes == (bytes.fromhex("ab" * 32),) and pol.allow_unset_mrconfigid
    assert pol.os_images is not None and pol.os_images[0].name == "img"
    assert [name for name, _ in pol.os_images[0].rtmr0] == ["small", "large"]


@pytest.mark.parametrize(("text", "message"), [
    ("[dstack]\nos_image = 1", "unknown keys: os_image"),
    ("[dstack]\ncompose_hashes = []", "empty list"),
    ('[dstack]\ncompose_hashes = ["ab"]', "not 32 bytes"),
    ("[dstack.os_images]", "empty"),
    (IMAGE, "rtmr0 must name"),
    (IMAGE.replace(f'rtmr2 = "{M}"\n', "") + f'rtmr0 = {{ a = "{M}" }}', "lacks rtmr2"),
    (IMAGE + 'rtmr0 = { a = "00" }', "not 48 bytes"),
    (IMAGE + f'rtmr0 = {{ a = "{M}" }}\nrtmr3 = "{M}"', "unknown keys: rtmr3"),
    ("[dstack]\nallow_unset_mrconfigid = 1", "must be a bool"),
])
def test_bad_tables_are_policy_errors(text: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        rules(text)
