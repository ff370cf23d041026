"""The ``phala`` profile: Phala Cloud's confidential models through RedPill (``api.redpill.ai``),
whose attestation answers in the Chutes format (``attestation_type: "chutes"``): it is appraised
by :mod:`verifier.providers.chutes` (docs/providers.md). Recordings of ``phalacloud`` replay here.
"""

from __future__ import annotations

from verifier.providers.base import ProviderSpec

NAME = "phala"

PROVIDER = ProviderSpec(
    NAME, "Phala Cloud's models via RedPill: the Chutes attestation format (api.redpill.ai)",
    factory="verifier.providers.phala.provider:PhalaProvider",
    table=NAME, rules="verifier.providers.phala.rules:phala_rules",
    recorded_as=(NAME,))
