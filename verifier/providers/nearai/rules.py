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
``tls_key``           ``"required"``              ``"off"``: INSECURE DEMO, plain http on loopback:
                                                  ``nearai.tls_key`` is an optional skip and the
                                                  channel takes answers not over TLS (loopback demo
                                                  policies only)
``collateral_from_``  ``false``                   INSECURE DEMO: use the Intel collateral and GPU RIMs
``report``                                        the report's ``collateral`` member carries (only the
                                                  reference enclave serves one) instead of fetching
                                                  them (loopback demo policies only)
``first_party_``      ``[]`` (none looked up)     patterns of the compose's first-party image
``images``                                        repositories (``nearaidev/*``): each must have a
                                                  Rekor entry signed by the workflows below
                                                  (``nearai.images.first_party``)
``image_signer_``     ``""``                      pattern of the signing workflow's repository
``repository``                                    (``github.com/nearai/*``), one glob per segment
``image_signer_refs`` ``[]``                      the source refs the signing run may be on
                                                  (``refs/heads/main``, ``refs/heads/master``)
====================  ==========================  ====================================================
"""

from __future__ import annotations

from dataclasses import dataclass

from verifier.appraisal.policy import Policy
from verifier.errors import PolicyError

KEYS = ("model", "gateway_hosts", "compose_manager", "model_files", "tls_key", "collateral_from_report",
        "first_party_images", "image_signer_repository", "image_signer_refs")
COMPOSE_MANAGER_CHOICES = ("required", "if-present")
TLS_KEY_CHOICES = ("required", "off")
GATEWAY_HOSTS = ("cloud-api.near.ai",)


@dataclass(frozen=True)
class NearAiPolicy:
    """``[nearai]``, typed (the module docstring has each key)."""

    model: str = ""
    gateway_hosts: tuple[str, ...] = GATEWAY_HOSTS
    compose_manager: str = "required"
    model_files: tuple[bytes, ...] | None = None
    tls_key: str = "required"
    collateral_from_report: bool = False
    first_party_images: tuple[str, ...] = ()
    image_signer_repository: str = ""
    image_signer_refs: tuple[str, ...] = ()

    @classmethod
    def from_policy(cls, policy: Policy) -> NearAiPolicy:
        s = policy.section("nearai")
        s.only(*KEYS)
        tls_key = s.choice("tls_key", TLS_KEY_CHOICES, "required")
        from_report = s.get("collateral_from_report", bool, False)
        loopback_demo = policy.demo and policy.section("service").get("loopback_only", bool, False)
        if tls_key == "off" and not loopback_demo:
            raise PolicyError('policy [nearai] tls_key = "off" is for loopback demo policies only ([service] '
                              "demo_roots and loopback_only): a real service must prove its TLS key")
        if from_report and not loopback_demo:
            raise PolicyError("policy [nearai] collateral_from_report (INSECURE DEMO: the reference enclave's "
                              "collateral) is for loopback demo policies only ([service] demo_roots and "
                              "loopback_only); a real service's collateral is fetched from Intel and NVIDIA")
        first_party = tuple(s.str_list("first_party_images"))
        signer = s.get("image_signer_repository", str, "")
        if first_party and (not signer or not s.str_list("image_signer_refs")):
            raise PolicyError("policy [nearai] first_party_images needs image_signer_repository and "
                              "image_signer_refs: who must have signed those images")
        return cls(model=s.get("model", str, ""),
                   gateway_hosts=tuple(h.lower() for h in s.str_list("gateway_hosts", list(GATEWAY_HOSTS))),
                   compose_manager=s.choice("compose_manager", COMPOSE_MANAGER_CHOICES, "required"),
                   model_files=s.hex_allow_list("model_files", 32, " (a SHA-256 of a deployed model file)"),
                   tls_key=tls_key, collateral_from_report=from_report,
                   first_party_images=first_party, image_signer_repository=signer,
                   image_signer_refs=tuple(s.str_list("image_signer_refs")))
