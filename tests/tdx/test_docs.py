"""docs/tdx.md stays true: its policy TOML parses, and its check table is the appraisal's order."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.tdx.conftest import JAN_2026_AT, read, tinfoil_collateral
from tests.tdx.test_appraisal import ORDER
from tests.vectors import REPO
from verifier.appraisal.policy import parse_policy
from verifier.appraisal.tdx import TdxPolicy, appraise_tdx
from verifier.evidence.tdx import parse_quote
from verifier.result import Status

DOC = (REPO / "docs" / "tdx.md").read_text()


def _toml_blocks() -> list[str]:
    return re.findall(r"```toml\n(.*?)```", DOC, re.S)


def test_documented_check_ids_are_the_appraisal_order() -> None:
    rows = re.findall(r"^\| `(tdx\.[^`]+)`", DOC, re.M)
    expanded: list[str] = []
    for row in rows:
        if row == "tdx.td.rtmr0":
            expanded += [f"tdx.td.rtmr{i}" for i in range(4)]
        elif row == "tdx.td.mrconfigid":
            expanded += ["tdx.td.mrconfigid", "tdx.td.mrowner", "tdx.td.mrownerconfig"]
        else:
            expanded.append(row)
    assert tuple(expanded) == ORDER


@pytest.mark.parametrize("index", [0, 1])
def test_documented_policies_verify_the_v5_sample(vectors: Path, index: int) -> None:
    text = _toml_blocks()[index]
    pol = parse_policy(b'name = "doc"\n' + text.encode())
    parsed = TdxPolicy.from_policy(pol)
    if index == 0:
        assert parsed == TdxPolicy.from_policy(parse_policy(b'name = "empty"\n'))  # the defaults, spelled out
    else:
        assert parsed.trailing_bytes == "none" and parsed.min_tcb_evaluation_data_number == 18
    quote = read(vectors, "tdx/go-tdx-guest/quote_v5_sample.dat")
    a = appraise_tdx(quote, policy=pol, at=JAN_2026_AT, expected_report_data=parse_quote(quote).body.report_data,
                     collateral=tinfoil_collateral(vectors, "90c06f000000"))
    assert a.authentic and not [c.id for c in a.checks if c.status is Status.FAIL
                                or (c.status is Status.SKIP and c.required)]
