"""Appraise a release: the attested measurement must be one a trusted publisher released.

Policy table ``[release]`` (docs/policies.md): ``publisher_keys`` (``ed25519:<base64>``),
``min_version`` (rollback floor), ``images`` (optional allow-list of ``sha256:`` digests).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from verifier.appraisal.policy import Policy
from verifier.errors import ParseError
from verifier.reference.dsse import load_ed25519_public, parse_envelope, verify_envelope
from verifier.reference.release import (
    PAYLOAD_TYPE,
    ReleaseStatement,
    parse_statement,
    version_tuple,
)
from verifier.result import Check, failed, passed


@dataclass(frozen=True)
class ReleaseAppraisal:
    checks: tuple[Check, ...]
    statement: ReleaseStatement | None = None
    claims: dict[str, Any] = field(default_factory=dict)


def appraise_release(release: Mapping[str, Any] | None, *, platform: str, measurement: bytes,
                     policy: Policy) -> ReleaseAppraisal:
    """Checks ``release.envelope``, ``release.signature``, ``release.measurement``,
    ``release.image`` and ``release.version``, in that order; stops at the first that cannot hold."""
    section = policy.section("release")
    keys = [load_ed25519_public(k) for k in section.str_list("publisher_keys")]
    min_version = section.get("min_version", str, "0")
    images = section.str_list("images")
    checks: list[Check] = []
    if not isinstance(release, Mapping) or "envelope" not in release:
        checks.append(failed("release.envelope", "The evidence carries no release statement, so the measured code cannot be matched to a published release."))
        return ReleaseAppraisal(tuple(checks))
    try:
        raw = base64.b64decode(release["envelope"], validate=True)
        envelope = parse_envelope(raw)
        if envelope.payload_type != PAYLOAD_TYPE:
            raise ParseError(f"payload type is {envelope.payload_type!r}, expected {PAYLOAD_TYPE}", field="envelope")
        statement = parse_statement(envelope.payload)
    except (ParseError, binascii.Error, ValueError, TypeError) as e:
        checks.append(failed("release.envelope", f"The release statement cannot be read ({e})."))
        return ReleaseAppraisal(tuple(checks))
    checks.append(passed("release.envelope", f"Release statement for {statement.image} version {statement.version}."))
    claims: dict[str, Any] = {"image": statement.image, "version": statement.version}
    signer = verify_envelope(envelope, keys)
    if signer is None:
        checks.append(failed("release.signature", f"The release statement is not signed by any of the {len(keys)} publisher keys the policy trusts."))
        return ReleaseAppraisal(tuple(checks), statement, claims)
    checks.append(passed("release.signature", "The release statement is signed by a publisher key the policy trusts."))
    if platform != "sev-snp":
        checks.append(failed("release.measurement", f"Release matching for platform {platform} is not supported yet."))
    elif measurement in statement.snp_measurements():
        checks.append(passed("release.measurement", f"The attested measurement {measurement.hex()[:16]}… is one release {statement.version} produces."))
    else:
        checks.append(failed("release.measurement", f"The attested measurement {measurement.hex()[:16]}… is not among the {len(statement.snp_measurements())} that release {statement.version} publishes: the enclave runs code that was not released."))
    if images and statement.image not in images:
        checks.append(failed("release.image", f"Image {statement.image} is not one the policy accepts."))
    elif images:
        checks.append(passed("release.image", f"Image {statement.image} is on the policy's list."))
    try:
        too_old = version_tuple(statement.version) < version_tuple(min_version)
    except ParseError as e:
        checks.append(failed("release.version", f"Cannot compare versions ({e})."))
    else:
        if too_old:
            checks.append(failed("release.version", f"Release {statement.version} is older than the policy's minimum {min_version} (rollback)."))
        else:
            checks.append(passed("release.version", f"Release {statement.version} is at or above the minimum {min_version}."))
    return ReleaseAppraisal(tuple(checks), statement, claims)
