"""The NEAR AI provider's check catalogue: every ``nearai.*`` id (and the shared ``service.url``),
in the order docs/providers.md ("NEAR AI: the checks, in order") lists them.

A result also carries, between them, the dstack appraisal's ``tdx.*`` and ``dstack.*`` checks (the
model host's TD quote, event log and app compose), the GPU appraisal's ``gpu.*`` checks (each GPU of
``nvidia_payload``), and the compose-manager's second quote as ``compose_manager.tdx.*`` /
``compose_manager.dstack.*``. In the cloud gateway's form the gateway's own checks carry the prefix
``gateway.`` (``gateway.tdx.tcb.status``, ``gateway.nearai.report_data`` ...) and model attestation N
the prefix ``model.N.`` (``model.0.gpu.3.signature``, ``model.0.nearai.compose_manager.actions`` ...).
"""

from __future__ import annotations

from verifier.service_checks import SERVICE_URL

FETCH = "nearai.fetch"
PARSE = "nearai.parse"
MODELS = "nearai.models"
DUPLICATES = "nearai.duplicates"
NONCE = "nearai.nonce"
SIGNING_KEY = "nearai.signing_key"
REPORT_DATA = "nearai.report_data"
TLS_KEY = "nearai.tls_key"
GPU_EVIDENCE = "nearai.gpu_evidence"
GPU_BINDING = "nearai.gpu_binding"
COMPOSE_MANAGER = "nearai.compose_manager"
COMPOSE_MANAGER_ACTIONS = "nearai.compose_manager.actions"
COMPOSE_MANAGER_SAME_TD = "nearai.compose_manager.same_td"
MODEL_FILE = "nearai.model_file"
IMAGE_DIGEST = "nearai.image_digest"
IMAGES_FIRST_PARTY = "nearai.images.first_party"
IMAGES_THIRD_PARTY = "nearai.images.third_party"
OHTTP_KEY = "nearai.ohttp_key"
E2EE = "nearai.e2ee"

CATALOGUE: tuple[str, ...] = (
    SERVICE_URL, FETCH, PARSE, MODELS, DUPLICATES, NONCE, SIGNING_KEY, REPORT_DATA, TLS_KEY,
    GPU_EVIDENCE, GPU_BINDING, COMPOSE_MANAGER, COMPOSE_MANAGER_ACTIONS, COMPOSE_MANAGER_SAME_TD,
    MODEL_FILE, IMAGE_DIGEST, IMAGES_FIRST_PARTY, IMAGES_THIRD_PARTY, OHTTP_KEY, E2EE,
)
"""Every id this provider emits itself, in the documented order."""

AUTHENTICITY: tuple[str, ...] = (PARSE, DUPLICATES, SIGNING_KEY)
"""The provider's own checks an authentic answer needs (the quotes' and GPUs' are their catalogues')."""
