"""The ``tinfoil`` profile: Tinfoil's attestation documents (v3 in its current and its June 2026
layout, and v2 which is never verified) and EHBP (docs/tinfoil.md).

- :mod:`.document`: the document parser (v2, v3 in its June 2026 layout, the ATC bundle) and the
  test that tells the two v3 layouts apart;
- :mod:`.envelope`: Tinfoil's current v3 layout (its Go SDK's envelope), parsed strictly, and
  :func:`~.envelope.parse_any` for every layout;
- :mod:`.reference`: that layout's platform endorsements, freshness witnesses, machine allow-list
  and freshness deadline; :mod:`.collateral`: its Intel PCS answers, served to the TDX appraisal;
- :mod:`.rules`: the ``[tinfoil]`` policy table;
- :mod:`.release`: the repository's release, digest and Sigstore bundle;
- :mod:`.appraisal`: a document's checks in their documented order;
- :mod:`.state`: the hosts that served v3 (downgrade memory);
- :mod:`.provider`: its HTTP exchanges, the provider and the EHBP channel;
- :mod:`.files`: ``enclave-chat evidence verify tinfoil``.

Nothing heavy is imported here: the registry reads :data:`PROVIDER` and :data:`KINDS`.
"""

from __future__ import annotations

from verifier.kinds import EvidenceKind
from verifier.providers.base import ProviderSpec

NAME = "tinfoil"

PROVIDER = ProviderSpec(
    NAME, "Tinfoil's attestation documents and EHBP (inference.tinfoil.sh)",
    factory="verifier.providers.tinfoil.provider:TinfoilProvider",
    table=NAME, rules="verifier.providers.tinfoil.rules:TinfoilPolicy.from_policy",
    truncation_detectable=False, recorded_as=(NAME,))

KINDS = (
    EvidenceKind(NAME, "a saved Tinfoil attestation document (v2, v3 or an ATC bundle)",
                 files="verifier.providers.tinfoil.files:appraise_files",
                 options=frozenset({"certs", "crls", "nonce"}), provider=NAME),
)
