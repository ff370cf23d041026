"""The Venice provider's own check catalogue, in the order docs/providers.md lists them.

A result also carries, between ``venice.signing_key`` and ``venice.gpu.evidence``, the dstack and
TDX checks (``dstack.*``, ``tdx.*``: the dstack appraisal's), and after ``venice.gpu.evidence`` the
GPU checks (``gpu.*``: the NVIDIA appraisal's, with the client's nonce as the SPDM nonce).
``venice.fetch`` alone follows ``service.url`` when the endpoint does not answer 200.
"""

from __future__ import annotations

from verifier.service_checks import SERVICE_URL

FETCH = "venice.fetch"
PARSE = "venice.parse"
NONCE = "venice.nonce"
SIGNING_KEY = "venice.signing_key"
GPU_EVIDENCE = "venice.gpu.evidence"
GPU_BINDING = "venice.gpu.binding"
TLS_KEY = "venice.tls_key"
E2EE = "venice.e2ee"

CATALOGUE: tuple[str, ...] = (SERVICE_URL, FETCH, PARSE, NONCE, SIGNING_KEY, GPU_EVIDENCE, GPU_BINDING,
                              TLS_KEY, E2EE)
"""Every id of the Venice provider's own checks, in documented order."""

AUTHENTICITY: tuple[str, ...] = (FETCH, PARSE)
"""The ids that always decide ``authentic`` (with the TDX and GPU appraisals' own)."""
