"""The catalogue of the ``maa.*`` checks: what a Microsoft Azure Attestation (MAA) token given
beside Azure CVM evidence (``--maa-token``) is checked for, in the order docs/azure.md lists them
and :func:`verifier.appraisal.azure.maa.verify_maa_token` emits them.

None of them is an authenticity check and none is required: a token is a weaker, informative input
that never decides ``authentic`` and never stands in for the evidence's own checks (a failed one
still makes the result unverified: the user asked for the token to be checked).
"""

from __future__ import annotations

MAA_PARSE = "maa.parse"
MAA_KEY = "maa.key"
MAA_SIGNATURE = "maa.signature"
MAA_ISSUER = "maa.issuer"
MAA_LIFETIME = "maa.lifetime"
MAA_NONCE = "maa.nonce"
MAA_ATTESTATION_TYPE = "maa.attestation_type"

CATALOGUE: tuple[str, ...] = (MAA_PARSE, MAA_KEY, MAA_SIGNATURE, MAA_ISSUER, MAA_LIFETIME, MAA_NONCE,
                              MAA_ATTESTATION_TYPE)
"""Every ``maa.*`` id, in documented (and emitted) order. A token that does not parse gives
``maa.parse`` alone."""

AUTHENTICITY: tuple[str, ...] = ()
"""No ``maa.*`` check decides ``authentic``: the evidence's own checks do."""
