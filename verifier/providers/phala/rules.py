"""The ``[phala]`` table: the Chutes format's keys (:class:`~verifier.providers.chutes.rules.ChutesPolicy`),
of which Phala reads ``model``. Imports no HTTP client: every policy check loads it."""

from __future__ import annotations

from verifier.appraisal.policy import Policy
from verifier.providers.chutes.rules import ChutesPolicy
from verifier.providers.phala import NAME


def phala_rules(policy: Policy) -> ChutesPolicy:
    return ChutesPolicy.from_policy(policy, table=NAME)
