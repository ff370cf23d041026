"""The Sigstore check catalogue: every check id of
:func:`verifier.reference.sigstore_bundle.verify_bundle`, in the order docs/transparency.md
("Sigstore bundles") lists them.

A bundle's appraisal emits them all, in this order; when ``sigstore.bundle`` fails the others are
skips. Tinfoil's hardware release carries them again under ``tinfoil.hardware.``
(:mod:`verifier.providers.tinfoil.checks`).
"""

from __future__ import annotations

BUNDLE = "sigstore.bundle"
TLOG_INCLUSION = "sigstore.tlog.inclusion"
TLOG_CHECKPOINT = "sigstore.tlog.checkpoint"
SIGNATURE = "sigstore.signature"
IDENTITY_ISSUER = "sigstore.identity.issuer"
IDENTITY_REPOSITORY = "sigstore.identity.repository"
IDENTITY_WORKFLOW = "sigstore.identity.workflow"
STATEMENT = "sigstore.statement"
DIGEST = "sigstore.digest"
ARTIFACT = "sigstore.artifact"

CATALOGUE: tuple[str, ...] = (
    BUNDLE, TLOG_INCLUSION, TLOG_CHECKPOINT, SIGNATURE, IDENTITY_ISSUER, IDENTITY_REPOSITORY,
    IDENTITY_WORKFLOW, STATEMENT, DIGEST, ARTIFACT,
)
"""Every id a Sigstore bundle's appraisal emits, in documented (and emitted) order."""

AUTHENTICITY: tuple[str, ...] = (BUNDLE, TLOG_INCLUSION, TLOG_CHECKPOINT, SIGNATURE)
"""The ids that decide ``authentic`` (when they run: the skips after a failed ``sigstore.bundle``
do not)."""
