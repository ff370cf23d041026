"""``verify-ehbp-key-binding`` (SPEC §14.2): the HPKE key a request is sealed to is REPORT_DATA[32:64].

On this project's checks: ``tinfoil.hpke_key`` (the key parses as an X25519 key through the EHBP
channel's parser, :func:`verifier.channel.ehbp.parse_public_key`) and the v2 document's rule that
the key a server names must equal the bound REPORT_DATA[32:64] (``tinfoil.hpke_key`` failing).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from enclave_chat.conformance.inputs import hex_bytes
from enclave_chat.conformance.taxonomy import Malformed, Rejected
from verifier.channel import ehbp
from verifier.errors import ChannelError


def verify_ehbp_key_binding(doc: Mapping[str, Any]) -> dict[str, Any]:
    report_data = hex_bytes(doc, "report_data_hex", length=64)
    offered = hex_bytes(doc, "offered_hpke_public_key_hex")
    assert report_data is not None and offered is not None
    try:
        ehbp.parse_public_key(offered)
    except ChannelError as e:
        raise Malformed(f"the offered key is not an X25519 key: {e}") from None
    bound = report_data[32:]
    if not hmac.compare_digest(bound, offered):
        raise Rejected("EHBP_KEY_BINDING_MISMATCH", "the offered HPKE key is not REPORT_DATA[32:64]", "14.2")
    return {"attested_hpke_public_key_hex": bound.hex(), "tls_fingerprint_hex": report_data[:32].hex()}
