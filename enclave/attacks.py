"""Attack modes of the reference enclave: ways a compromised or dishonest service could misbehave.

The adversarial end-to-end tests start the enclave in each mode and assert that the client refuses
with the named check and that **no** request reaches the OHTTP gateway.
"""

from __future__ import annotations

ATTACK_MODES: dict[str, str] = {
    "flip-measurement": "the report's MEASUREMENT has one bit flipped (code that was never released), still signed by the VCEK",
    "rogue-vcek": "the report is signed by a VCEK issued by a rogue key under the demo ASK's name",
    "replay-nonce": "every attestation answers with the bundle made for the first nonce it saw",
    "swap-key-config": "the bundle names a key configuration that the report does not bind",
    "gateway-key-mismatch": "GET /.well-known/ohttp-gateway serves a key other than the attested one",
    "malformed-json": "the attestation endpoint answers JSON that does not parse",
    "truncate-stream": "streamed replies stop before the final chunk",
}


def check_mode(mode: str | None) -> str | None:
    if mode is not None and mode not in ATTACK_MODES:
        raise ValueError(f"unknown attack mode {mode!r}; known: {', '.join(ATTACK_MODES)}")
    return mode
