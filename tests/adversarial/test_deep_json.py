"""JSON from a service or a file that nests without end is a typed refusal, never a RecursionError."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from verifier.errors import ParseError, PolicyError
from verifier.reference.dsse import parse_envelope
from verifier.reference.release import parse_statement

DEEP = b"[" * 200_000 + b"]" * 200_000


@pytest.mark.parametrize("parse", [parse_envelope, parse_statement])
def test_deep_json_is_a_parse_error(parse) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ParseError):
        parse(DEEP)


def test_names_under_localhost_are_not_loopback_for_tinfoil_urls() -> None:
    from verifier.appraisal.policy import parse_policy
    from verifier.providers.tinfoil.rules import TinfoilPolicy

    text = b'name = "t"\n[tinfoil]\ndiscovery = "http://evil.localhost/x"\n'
    with pytest.raises(PolicyError):
        TinfoilPolicy.from_policy(parse_policy(text))


@pytest.mark.parametrize("where", ["body", "format"])
def test_a_deep_tinfoil_document_is_one_parse_failure_in_json(where: str, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 12, finding 5: a Tinfoil document nesting 5,000 arrays gave "internal error
    (RecursionError ...)" and no JSON; it is a ``tinfoil.parse`` failure in one JSON result, exit 1."""
    from enclave_chat.cli import main

    deep = "[" * 5000 + "]" * 5000
    head = '{"format": "https://tinfoil.sh/predicate/attestation/v3", "body": ' if where == "body" else '{"format": '
    doc = head + deep + ("}" if where == "body" else ', "body": "x"}')
    (tmp_path / "doc.json").write_text(doc)
    code = main(["evidence", "verify", "tinfoil", str(tmp_path / "doc.json"), "--offline", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [c["id"] for c in out["checks"] if c["status"] == "fail"] == ["tinfoil.parse"]
    assert "nests deeper than" in out["checks"][0]["detail"]
