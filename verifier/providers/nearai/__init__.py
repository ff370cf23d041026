"""The ``nearai`` profile: NEAR AI's confidential inference (docs/providers.md, policies/nearai.toml).

A model host ("direct", ``https://<model>.completions.near.ai``) runs in a dstack TD on Intel TDX
with 8 NVIDIA H100s; NEAR AI's cloud gateway (``https://cloud-api.near.ai``) is a dstack TD of its
own that answers its attestation beside the model hosts' (``model_attestations``).

- :mod:`.document`: the ``/v1/attestation/report`` answer, parsed strictly (both forms);
- :mod:`.rules`: the ``[nearai]`` policy table;
- :mod:`.checks`: the catalogue of ``nearai.*`` ids;
- :mod:`.appraisal`: a report's checks in their documented order (dstack, GPUs, compose-manager);
- :mod:`.provider`: the HTTP exchange, the provider and its channel (TLS to the attested key only).

Recordings whose manifest names ``neardirect`` or ``nearcloud`` (teep's words) replay through it.
Nothing heavy is imported here: the registry reads :data:`PROVIDER`.
"""

from __future__ import annotations

from verifier.providers.base import ProviderSpec

NAME = "nearai"

PROVIDER = ProviderSpec(
    NAME, "NEAR AI's dstack TDX model hosts and cloud gateway (completions.near.ai, cloud-api.near.ai)",
    factory="verifier.providers.nearai.provider:NearAiProvider",
    table=NAME, rules="verifier.providers.nearai.rules:NearAiPolicy.from_policy",
    truncation_detectable=True, recorded_as=(NAME, "neardirect", "nearcloud"))
