"""The ``venice`` profile: Venice AI's TEE models (``api.venice.ai``), served by NEAR AI's dstack
TDX machines with NVIDIA GPUs (docs/providers.md).

- :mod:`.checks`: the ``venice.*`` catalogue; :mod:`.rules`: the ``[venice]`` policy table;
- :mod:`.appraisal`: the answer parsed, the signing key's address (Keccak-256), the dstack and TDX
  appraisal with REPORT_DATA = address || 12 zero bytes || nonce, every GPU with the client's nonce;
- :mod:`.provider`: its one HTTP exchange and the provider (no channel: see ``venice.e2ee``).

Nothing heavy is imported here: the registry reads :data:`PROVIDER`.
"""

from __future__ import annotations

from verifier.providers.base import ProviderSpec

NAME = "venice"

PROVIDER = ProviderSpec(
    NAME, "Venice AI's TEE models: dstack TDX + NVIDIA GPUs, secp256k1 signing key (api.venice.ai)",
    factory="verifier.providers.venice.provider:VeniceProvider",
    table=NAME, rules="verifier.providers.venice.rules:VenicePolicy.from_policy",
    recorded_as=(NAME,))
