"""The release check catalogue: every check id of :func:`verifier.appraisal.release.appraise_release`,
in the order docs/transparency.md ("Client checks") lists them.

An appraisal emits them in this order and stops at the first statement check that cannot hold
(``release.envelope`` alone when there is no readable statement; no ``release.image`` when the
policy lists no images). Without a ``[release.log]`` table the log part is one
``release.log.inclusion`` skip.
"""

from __future__ import annotations

ENVELOPE = "release.envelope"
SIGNATURE = "release.signature"
MEASUREMENT = "release.measurement"
IMAGE = "release.image"
VERSION = "release.version"
LOG_CHECKPOINT = "release.log.checkpoint"
LOG_WITNESS = "release.log.witness"
LOG_INCLUSION = "release.log.inclusion"
LOG_FRESH_CHECKPOINT = "release.log.fresh_checkpoint"
LOG_CONSISTENCY = "release.log.consistency"

CATALOGUE: tuple[str, ...] = (
    ENVELOPE, SIGNATURE, MEASUREMENT, IMAGE, VERSION, LOG_CHECKPOINT, LOG_WITNESS, LOG_INCLUSION,
    LOG_FRESH_CHECKPOINT, LOG_CONSISTENCY,
)
"""Every id a release appraisal can emit, in documented (and emitted) order."""

LOG: tuple[str, ...] = (LOG_CHECKPOINT, LOG_WITNESS, LOG_INCLUSION, LOG_FRESH_CHECKPOINT, LOG_CONSISTENCY)
"""The transparency log's checks, asked for by ``[release.log]``."""

AUTHENTICITY: tuple[str, ...] = ()
"""None: a release decides whether the attested code was published, not whether the evidence is
authentic."""
