"""The native profile, "attested OHTTP" version 1 (docs/protocol.md).

- :mod:`.bundle`: the evidence bundle (strict parse, the REPORT_DATA binding);
- :mod:`.appraisal`: the bundle's checks in their documented order;
- :mod:`.transport`: its HTTP exchanges and the chunked-OHTTP channel;
- :mod:`.provider`: the provider the session runs.

Nothing heavy is imported here: the registry reads :data:`PROVIDER` without loading httpx.
"""

from __future__ import annotations

from verifier.kinds import EvidenceKind
from verifier.providers.base import ProviderSpec

NAME = "native"

PROVIDER = ProviderSpec(
    NAME, "the native attested-OHTTP protocol (the reference enclave)",
    factory="verifier.providers.native.provider:NativeProvider",
    truncation_detectable=True, recorded_as=(NAME,))

KINDS = (
    EvidenceKind("native-bundle", "a native evidence bundle (JSON; docs/protocol.md)",
                 inspectors=((0, "verifier.providers.native.inspect:looks_like_bundle",
                              "verifier.providers.native.inspect:bundle_fields"),),
                 provider=NAME),
)
