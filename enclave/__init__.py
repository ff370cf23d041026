"""The reference confidential service: INSECURE DEMO.

A real ASGI server (starlette on uvicorn) that speaks enclave-chat's native protocol (docs/protocol.md)
with **simulated** TEE hardware: its SEV-SNP evidence chains to demo roots whose private keys are
committed in ``enclave/demo_keys``. Only ``policies/demo.toml`` trusts those roots. Nothing it attests
is protected by hardware.
"""

INSECURE_DEMO_BANNER = "INSECURE DEMO: simulated TEE, demo roots whose private keys are public"

RELEASE_VERSION = "0.1.0"
"""The version the reference enclave's self-signed release statement carries."""

PLATFORMS = ("sev-snp", "azure-snp-vtpm", "tdx", "azure-tdx-vtpm")
"""The CPU platforms the reference enclave simulates (``serve --platform``; ``sev-snp`` by default):
bare SEV-SNP, an Azure SEV-SNP confidential VM (:mod:`enclave.azure`), bare Intel TDX
(:mod:`enclave.tdx`) or an Azure TDX confidential VM."""
