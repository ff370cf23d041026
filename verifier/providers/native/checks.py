"""The native provider's own check catalogue: every id of the evidence bundle and its session, in
the order docs/protocol.md ("Check order") lists them.

Between ``bundle.expires`` and ``config.upstream`` a result carries the CPU checks (``snp.*`` or
``tdx.*``), the GPU checks (``gpu.*``) and the release checks (``release.*``): those are the
vendor and release catalogues' (:mod:`verifier.appraisal.sev_snp.checks`,
:mod:`verifier.appraisal.tdx.checks`, :mod:`verifier.appraisal.nvidia.checks`,
:mod:`verifier.appraisal.release_checks`). ``bundle.fetch`` appears only when the attestation
endpoint does not answer 200, and then nothing follows it; ``channel.key_config`` only after a
verified appraisal.
"""

from __future__ import annotations

from verifier.service_checks import SERVICE_URL

BUNDLE_FETCH = "bundle.fetch"
BUNDLE_PARSE = "bundle.parse"
BUNDLE_NONCE = "bundle.nonce"
BUNDLE_EXPIRES = "bundle.expires"
CONFIG_UPSTREAM = "config.upstream"
CHANNEL_KEY_CONFIG = "channel.key_config"

CATALOGUE: tuple[str, ...] = (
    SERVICE_URL, BUNDLE_FETCH, BUNDLE_PARSE, BUNDLE_NONCE, BUNDLE_EXPIRES, CONFIG_UPSTREAM,
    CHANNEL_KEY_CONFIG,
)
"""Every id of the native provider's own checks, in documented (and emitted) order."""

AUTHENTICITY: tuple[str, ...] = (BUNDLE_FETCH, BUNDLE_PARSE)
"""The native ids that decide ``authentic`` (the CPU and GPU catalogues name theirs)."""
