"""The ``chutes`` profile: Chutes' TEE chutes (``api.chutes.ai``): ``instances[]``, each a TDX
machine with NVIDIA GPUs, an ML-KEM-768 key and an instance certificate (docs/providers.md).

- :mod:`.checks`: the ``chutes.*`` catalogue; :mod:`.rules`: the ``[chutes]`` table (and the same
  rules for another provider's table that speaks this format);
- :mod:`.appraisal`: the Chutes answer format (``attestation_type: "chutes"``, also Phala's), each
  instance's TD quote (TDX appraisal, no event log), REPORT_DATA[0:32] = SHA-256(ASCII(nonce hex ||
  e2e key base64)), REPORT_DATA[32:64] = SHA-256(SPKI of the instance certificate), its GPUs with
  SPDM nonce = REPORT_DATA[0:32];
- :mod:`.provider`: Chutes' two HTTP exchanges and the provider (no channel: see ``chutes.e2ee``).
"""

from __future__ import annotations

from verifier.providers.base import ProviderSpec

NAME = "chutes"
ATTESTATION_TYPE = NAME
"""The ``attestation_type`` of an answer in this format (Phala's service answers it too)."""

PROVIDER = ProviderSpec(
    NAME, "Chutes' TEE chutes: TDX instances with NVIDIA GPUs and ML-KEM-768 keys (api.chutes.ai)",
    factory="verifier.providers.chutes.provider:ChutesProvider",
    table=NAME, rules="verifier.providers.chutes.rules:chutes_rules",
    recorded_as=(NAME,))
