"""The ``[chutes]`` table (docs/providers.md), and the same keys for a provider of this format
that reads its own table (``[phala]``)."""

from __future__ import annotations

from dataclasses import dataclass

from verifier.appraisal.policy import Policy
from verifier.errors import PolicyError
from verifier.providers.chutes import NAME

POLICY_KEYS = ("chute", "model")


@dataclass(frozen=True)
class ChutesPolicy:
    chute: str
    """Chutes: the chute id whose instances are attested (``/e2e/instances/{chute}``)."""
    model: str
    """Phala: the model whose instances are attested (``?model=``)."""

    @classmethod
    def from_policy(cls, policy: Policy, table: str = NAME) -> ChutesPolicy:
        section = policy.section(table)
        section.only(*POLICY_KEYS)
        values = {k: section.get(k, str, "") for k in POLICY_KEYS}
        for key, value in values.items():
            if any(c.isspace() or not c.isprintable() or c in "?#" for c in value):
                raise PolicyError(f"policy [{table}] {key} must be an id (no spaces, '?' or '#')")
        return cls(values["chute"], values["model"])


def chutes_rules(policy: Policy) -> ChutesPolicy:
    return ChutesPolicy.from_policy(policy)
