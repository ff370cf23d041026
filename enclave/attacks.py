"""Attack modes of the reference enclave: ways a compromised or dishonest service could misbehave.

The adversarial end-to-end tests start the enclave in each mode and assert that the client refuses
with the named check and that **no** request reaches the OHTTP gateway.
"""

from __future__ import annotations

from enclave import PLATFORMS

ATTACK_MODES: dict[str, str] = {
    "flip-measurement": "the report's MEASUREMENT has one bit flipped (code that was never released), still signed by the VCEK",
    "rogue-vcek": "the report is signed by a VCEK issued by a rogue key under the demo ASK's name",
    "replay-nonce": "every attestation answers with the bundle made for the first nonce it saw",
    "swap-key-config": "the bundle names a key configuration that the report does not bind",
    "gateway-key-mismatch": "GET /.well-known/ohttp-gateway serves a key other than the attested one",
    "malformed-json": "the attestation endpoint answers JSON that does not parse",
    "truncate-stream": "streamed replies stop before the final chunk",
    "tamper-gpu": "the GPU's SPDM report has a measurement byte changed after the GPU signed it (and is bound as sent)",
    "gpu-binding": "the bundle carries valid GPU evidence other than the evidence REPORT_DATA binds",
    "foreign-publisher": "the release statement (logged) is signed by a publisher key that no policy trusts",
    "wrong-leaf-proof": "the release's inclusion proof and index are those of another leaf of the log",
    "unknown-log-key": "the release's checkpoint is signed by a key with the log's name that the policy does not pin",
    "old-release": "the bundle carries a logged statement for version 0.0.9 of the same image, below the demo policy's minimum (rollback)",
    "fork-log": "the log is swapped for a fork (same origin and key, another history from the last leaf on) that the witness refused to cosign (split view)",
    "azure-stale-quote": "(Azure CVM) the vTPM quote's qualifying data is the binding value of another nonce",
    "azure-foreign-ak": "(Azure CVM) the vTPM quote is signed by a key that is not the AK of the runtime claims",
    "azure-pcr-changed": "(Azure CVM) a PCR value is changed after the vTPM quoted it",
    "azure-claims-changed": "(Azure CVM) the runtime claims are changed after the report (another AK, which signs the quote)",
    "nearai-wrong-key": "(NEAR AI profile) the report serves a valid ed25519 signing key other than the one REPORT_DATA binds",
    "nearai-event-payload": "(NEAR AI profile) an event log payload (instance-id) is changed after its digest was extended into RTMR3",
    "nearai-compose-changed": "(NEAR AI profile) the app compose served is not the one MRCONFIGID and the compose-hash event bind",
    "nearai-gpu-nonce": "(NEAR AI profile) one of the 8 GPUs answers another nonce (honestly signed, stale), still declared as the client's",
}

LOG_ATTACKS = frozenset({"foreign-publisher", "wrong-leaf-proof", "unknown-log-key", "old-release", "fork-log"})
"""The modes that need the transparency log beside the enclave (not with ``serve --no-log``)."""

AZURE_ATTACKS = frozenset({"azure-stale-quote", "azure-foreign-ak", "azure-pcr-changed", "azure-claims-changed"})
"""The modes that need a simulated Azure CVM (``serve --platform azure-snp-vtpm`` or ``azure-tdx-vtpm``)."""

SNP_ATTACKS = frozenset({"rogue-vcek"})
"""The modes that need simulated SEV-SNP hardware (``--platform sev-snp`` or ``azure-snp-vtpm``)."""


NEARAI_ATTACKS = frozenset({"nearai-wrong-key", "nearai-event-payload", "nearai-compose-changed", "nearai-gpu-nonce"})
"""The modes of the NEAR AI profile (``serve --provider nearai``); ``replay-nonce`` applies to it too."""


def check_mode(mode: str | None, *, transparency: bool = True, platform: str = "sev-snp",
               profile: str = "native") -> str | None:
    """``mode`` if it is a known attack mode that works with or without the log, on the
    simulated platform and in the wire profile, as asked."""
    if platform not in PLATFORMS:
        raise ValueError(f"the reference enclave does not simulate {platform!r}; it simulates {', '.join(PLATFORMS)}")
    if mode is not None and mode not in ATTACK_MODES:
        raise ValueError(f"unknown attack mode {mode!r}; known: {', '.join(ATTACK_MODES)}")
    if mode in LOG_ATTACKS and not transparency:
        raise ValueError(f"attack mode {mode!r} needs the transparency log beside the enclave (drop --no-log)")
    if mode in AZURE_ATTACKS and not platform.startswith("azure-"):
        raise ValueError(f"attack mode {mode!r} needs a simulated Azure CVM (--platform azure-snp-vtpm or azure-tdx-vtpm)")
    if mode in SNP_ATTACKS and platform not in ("sev-snp", "azure-snp-vtpm"):
        raise ValueError(f"attack mode {mode!r} needs simulated SEV-SNP hardware (--platform sev-snp or azure-snp-vtpm)")
    if mode in NEARAI_ATTACKS and profile != "nearai":
        raise ValueError(f"attack mode {mode!r} needs the NEAR AI profile (serve --provider nearai)")
    return mode
