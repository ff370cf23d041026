"""The reference enclave's release statement (INSECURE DEMO publisher key).

A real publisher signs a statement once per release, and the statement lists the launch
measurements the image produces. The demo enclave has no build pipeline, so at start-up it signs a
statement for the image and configuration it runs, with the demo publisher key that only
``policies/demo.toml`` trusts.
"""

from __future__ import annotations

from typing import Any

from enclave import RELEASE_VERSION, demo_roots
from verifier.evidence.encoding import b64encode
from verifier.reference.dsse import sign_envelope
from verifier.reference.release import PAYLOAD_TYPE, ReleaseStatement


def demo_release(image: str, measurements: list[bytes], version: str = RELEASE_VERSION) -> dict[str, Any]:
    """The bundle's ``release`` object for a statement signed by the demo publisher."""
    statement = ReleaseStatement(image, version, {"sev-snp": tuple(m.hex() for m in measurements)})
    envelope = sign_envelope(PAYLOAD_TYPE, statement.encode(), demo_roots.publisher_key())
    return {"envelope": b64encode(envelope)}
