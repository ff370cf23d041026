"""JSON from a service or a file that nests without end is a typed refusal, never a RecursionError."""

from __future__ import annotations

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
