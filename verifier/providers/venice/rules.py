"""The ``[venice]`` policy table (docs/providers.md): which model's TD to attest."""

from __future__ import annotations

from dataclasses import dataclass

from verifier.appraisal.policy import Policy
from verifier.errors import PolicyError

POLICY_KEYS = ("model",)


@dataclass(frozen=True)
class VenicePolicy:
    model: str
    """The Venice model id whose TD is attested (``?model=`` of the attestation endpoint); empty in
    a policy not written for Venice (the provider then refuses before fetching)."""

    @classmethod
    def from_policy(cls, policy: Policy) -> VenicePolicy:
        section = policy.section("venice")
        section.only(*POLICY_KEYS)
        model = section.get("model", str, "")
        if any(c.isspace() or not c.isprintable() for c in model):
            raise PolicyError("policy [venice] model must be a Venice model id (no spaces)")
        return cls(model)
