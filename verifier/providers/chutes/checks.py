"""The Chutes format's check catalogue (the ``chutes`` and ``phala`` providers), in the order
docs/providers.md lists them.

Per instance N (in answer order) come ``chutes.instance.N.key``, the TD quote's checks renamed
``instance.N.tdx.*``, ``chutes.instance.N.nonce_binding``, ``chutes.instance.N.certificate_binding``,
the GPU checks renamed ``instance.N.gpu.*`` (SPDM nonce = the expected REPORT_DATA[0:32]) and
``chutes.instance.N.gpu_binding``. ``chutes.fetch`` alone follows ``service.url`` when an endpoint
does not answer 200.
"""

from __future__ import annotations

from verifier.service_checks import SERVICE_URL

FETCH = "chutes.fetch"
PARSE = "chutes.parse"
NONCE = "chutes.nonce"
INSTANCES = "chutes.instances"
INSTANCE_KEY = "chutes.instance.{n}.key"
INSTANCE_NONCE_BINDING = "chutes.instance.{n}.nonce_binding"
INSTANCE_CERTIFICATE_BINDING = "chutes.instance.{n}.certificate_binding"
INSTANCE_GPU_BINDING = "chutes.instance.{n}.gpu_binding"
TLS_KEY = "chutes.tls_key"
E2EE = "chutes.e2ee"

INSTANCE_PREFIX = "instance.{n}."
"""Prefixed to the TDX and GPU appraisals' ids of instance N (a result holds each id once)."""

CATALOGUE: tuple[str, ...] = (SERVICE_URL, FETCH, PARSE, NONCE, INSTANCES, INSTANCE_KEY,
                              INSTANCE_NONCE_BINDING, INSTANCE_CERTIFICATE_BINDING, INSTANCE_GPU_BINDING,
                              TLS_KEY, E2EE)
"""Every id of the Chutes format's own checks (templates with ``{n}``), in documented order."""

AUTHENTICITY: tuple[str, ...] = (FETCH, PARSE, INSTANCES)


def instance_id(template: str, n: int) -> str:
    return template.format(n=n)
