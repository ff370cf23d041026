"""The ``[nearai]`` policy table (docs/providers.md, policies/nearai.toml), read and checked once.

====================  ==========================  ====================================================
key                   default                     meaning
====================  ==========================  ====================================================
``model``             ``""``                      the model the gateway is asked to attest (its
                                                  ``model`` query parameter); a model host needs none
``gateway_hosts``     ``["cloud-api.near.ai"]``   hosts that are NEAR AI's cloud gateway (asked with
                                                  ``model``), not a model host
``compose_manager``   ``"required"``              ``"required"``: a model host must serve its
                                                  compose-manager attestation; ``"if-present"``
``model_files``       absent (any, shown)         allow-list of the deployed model files' SHA-256
                                                  (compose-manager's ``file_sha256``)
====================  ==========================  ====================================================
"""

from __future__ import annotations

from dataclasses import dataclass

from verifier.appraisal.policy import Policy

KEYS = ("model", "gateway_hosts", "compose_manager", "model_files")
COMPOSE_MANAGER_CHOICES = ("required", "if-present")
GATEWAY_HOSTS = ("cloud-api.near.ai",)


@dataclass(frozen=True)
class NearAiPolicy:
    """``[nearai]``, typed (the module docstring has each key)."""

    model: str = ""
    gateway_hosts: tuple[str, ...] = GATEWAY_HOSTS
    compose_manager: str = "required"
    model_files: tuple[bytes, ...] | None = None

    @classmethod
    def from_policy(cls, policy: Policy) -> NearAiPolicy:
        s = policy.section("nearai")
        s.only(*KEYS)
        return cls(model=s.get("model", str, ""),
                   gateway_hosts=tuple(h.lower() for h in s.str_list("gateway_hosts", list(GATEWAY_HOSTS))),
                   compose_manager=s.choice("compose_manager", COMPOSE_MANAGER_CHOICES, "required"),
                   model_files=s.hex_allow_list("model_files", 32, " (a SHA-256 of a deployed model file)"))
