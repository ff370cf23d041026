"""Appraise a release: the attested measurement must be one a trusted publisher released, in a log.

Policy table ``[release]`` (docs/policies.md, docs/transparency.md): ``publisher_keys``
(``ed25519:<base64>``), ``min_version`` (rollback floor), ``images`` (optional allow-list of
``sha256:`` digests), and ``[release.log]``: ``origin``, ``key`` (the log's C2SP note vkey),
``url``, ``url_from_bundle`` (demo policies only, loopback only), ``witnesses`` (cosigner vkeys),
``min_witnesses``, ``required``, ``fresh_checkpoint`` (``"required"`` or ``"if-available"``).

Checks, in order: ``release.envelope``, ``release.signature``, ``release.measurement``,
``release.image``, ``release.version``, then the log: ``release.log.checkpoint``,
``release.log.witness``, ``release.log.inclusion``, ``release.log.fresh_checkpoint``,
``release.log.consistency``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from verifier.appraisal import release_checks as ids
from verifier.appraisal.policy import Policy, Section
from verifier.errors import (
    ParseError,
    PolicyError,
    ServiceUnreachable,
    VerifierError,
)
from verifier.reference.checkpoint import CheckpointError, SignedCheckpoint, open_checkpoint
from verifier.reference.checkpoint_store import CheckpointStore
from verifier.reference.cosignature import WitnessPolicy
from verifier.reference.dsse import load_ed25519_public, parse_envelope, verify_envelope
from verifier.reference.merkle import ProofError, leaf_hash, verify_consistency, verify_inclusion
from verifier.reference.note import (
    NoteFormatError,
    NoteVerificationError,
    NoteVerifier,
    parse_vkey,
)
from verifier.reference.release import (
    PAYLOAD_TYPE,
    ReleaseStatement,
    parse_statement,
    version_tuple,
)
from verifier.result import Check, Status, failed, passed, skipped
from verifier.urls import is_loopback_url

if TYPE_CHECKING:
    import httpx

    from verifier.reference.tlog_client import TlogClient

LOG_KEYS = ("origin", "key", "url", "url_from_bundle", "witnesses", "min_witnesses", "required",
            "fresh_checkpoint")
MAX_PROOF_ITEMS = 64


@dataclass(frozen=True)
class ReleaseAppraisal:
    checks: tuple[Check, ...]
    statement: ReleaseStatement | None = None
    claims: dict[str, Any] = field(default_factory=dict)


def appraise_release(release: Mapping[str, Any] | None, *, platform: str, measurement: bytes,
                     policy: Policy, log_http: httpx.Client | None = None,
                     state_dir: Path | None = None, bundle_log_url: str | None = None,
                     at: dt.datetime | None = None) -> ReleaseAppraisal:
    """Checks ``release.envelope``, ``release.signature``, ``release.measurement``,
    ``release.image`` and ``release.version``, then the transparency log checks that
    ``[release.log]`` asks for; stops at the first statement check that cannot hold.

    ``log_http`` fetches the log's own checkpoint and tiles (None: no fetch, as in a replay);
    ``state_dir`` keeps the last accepted checkpoint per log (None: no memory across runs);
    ``bundle_log_url`` is where the service says its log is (used only by a demo policy, and
    only on loopback); ``at`` is the verification time (cosignatures dated after it are refused).
    """
    section = policy.section("release")
    keys = [load_ed25519_public(k) for k in section.str_list("publisher_keys")]
    min_version = section.get("min_version", str, "0")
    images = section.str_list("images")
    log_policy = LogPolicy.from_section(section, policy) if "log" in section.values else None
    checks: list[Check] = []
    if not isinstance(release, Mapping) or "envelope" not in release:
        checks.append(failed(ids.ENVELOPE, "The evidence carries no release statement, so the measured code cannot be matched to a published release."))
        return ReleaseAppraisal(tuple(checks))
    try:
        raw = base64.b64decode(release["envelope"], validate=True)
        envelope = parse_envelope(raw)
        if envelope.payload_type != PAYLOAD_TYPE:
            raise ParseError(f"payload type is {envelope.payload_type!r}, expected {PAYLOAD_TYPE}", field="envelope")
        statement = parse_statement(envelope.payload)
    except (ParseError, binascii.Error, ValueError, TypeError) as e:
        checks.append(failed(ids.ENVELOPE, f"The release statement cannot be read ({e})."))
        return ReleaseAppraisal(tuple(checks))
    checks.append(passed(ids.ENVELOPE, f"Release statement for {statement.image} version {statement.version}."))
    claims: dict[str, Any] = {"image": statement.image, "version": statement.version}
    signer = verify_envelope(envelope, keys)
    if signer is None:
        checks.append(failed(ids.SIGNATURE, f"The release statement is not signed by any of the {len(keys)} publisher keys the policy trusts."))
        return ReleaseAppraisal(tuple(checks), statement, claims)
    checks.append(passed(ids.SIGNATURE, "The release statement is signed by a publisher key the policy trusts."))
    claims["publisher"] = "ed25519:" + base64.b64encode(signer.public_bytes_raw()).decode()
    published = statement.measurements_for(platform)
    if not published:
        checks.append(failed(ids.MEASUREMENT, f"Release {statement.version} publishes no {platform} measurements."))
    elif measurement in published:
        checks.append(passed(ids.MEASUREMENT, f"The attested measurement {measurement.hex()[:16]}… is one release {statement.version} produces."))
    else:
        checks.append(failed(ids.MEASUREMENT, f"The attested measurement {measurement.hex()[:16]}… is not among the {len(published)} that release {statement.version} publishes: the enclave runs code that was not released."))
    if images and statement.image not in images:
        checks.append(failed(ids.IMAGE, f"Image {statement.image} is not one the policy accepts."))
    elif images:
        checks.append(passed(ids.IMAGE, f"Image {statement.image} is on the policy's list."))
    try:
        too_old = version_tuple(statement.version) < version_tuple(min_version)
    except ParseError as e:
        checks.append(failed(ids.VERSION, f"Cannot compare versions ({e})."))
    else:
        if too_old:
            checks.append(failed(ids.VERSION, f"Release {statement.version} is older than the policy's minimum {min_version} (rollback)."))
        else:
            checks.append(passed(ids.VERSION, f"Release {statement.version} is at or above the minimum {min_version}."))
    if log_policy is None:
        checks.append(skipped(ids.LOG_INCLUSION, "The policy names no transparency log ([release.log]): the release is trusted on the publisher's signature alone.", required=False))
    else:
        log_claims: dict[str, Any] = {}
        checks.extend(_appraise_log(release.get("log"), raw, log_policy, log_http=log_http,
                                    state_dir=state_dir, bundle_log_url=bundle_log_url,
                                    at=at or dt.datetime.now(dt.UTC), claims=log_claims))
        if log_claims:
            claims["log"] = log_claims
    return ReleaseAppraisal(tuple(checks), statement, claims)


# -- the transparency log --------------------------------------------------------------------------


@dataclass(frozen=True)
class LogPolicy:
    """``[release.log]``, read and checked once (a malformed entry is a :class:`PolicyError`)."""

    origin: str
    key: NoteVerifier
    witnesses: WitnessPolicy
    required: bool = True
    url: str | None = None
    url_from_bundle: bool = False
    demo: bool = False
    fresh_required: bool = True

    @classmethod
    def from_section(cls, release: Section, policy: Policy) -> LogPolicy:
        log = release.table("log")
        log.only(*LOG_KEYS)
        origin = log.get("origin", str, "")
        if not origin:
            raise PolicyError("policy [release.log] needs origin, the log's checkpoint origin line")
        key_text = log.get("key", str, "")
        try:
            key = parse_vkey(key_text)
        except NoteFormatError as e:
            raise PolicyError(f"policy [release.log] key {key_text!r} is not a note verifier key: {e}") from None
        witnesses = WitnessPolicy.from_vkeys(log.str_list("witnesses"), log.get("min_witnesses", int, 0))
        url = log.get("url", str, "") or None
        if url is not None and not url.startswith(("https://", "http://")):
            raise PolicyError(f"policy [release.log] url {url!r} must be an http(s) URL")
        fresh = log.choice("fresh_checkpoint", ("required", "if-available"), "required")
        return cls(origin, key, witnesses, log.get("required", bool, True), url,
                   log.get("url_from_bundle", bool, False), policy.demo, fresh == "required")


@dataclass(frozen=True)
class _LogProof:
    origin: str
    index: int
    inclusion_proof: tuple[bytes, ...]
    checkpoint: bytes
    url: str | None


def _parse_log_proof(value: object) -> _LogProof:
    """``release.log``: ``{origin, index, inclusion_proof: [base64...], checkpoint: text}``."""
    if not isinstance(value, Mapping):
        raise ParseError("must be an object", field="release.log")
    origin, index, proof, checkpoint = (value.get(k) for k in ("origin", "index", "inclusion_proof", "checkpoint"))
    if not isinstance(origin, str):
        raise ParseError("must be a string", field="release.log.origin")
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise ParseError("must be a non-negative integer", field="release.log.index")
    if not isinstance(proof, list) or len(proof) > MAX_PROOF_ITEMS:
        raise ParseError(f"must be a list of at most {MAX_PROOF_ITEMS} base64 hashes", field="release.log.inclusion_proof")
    hashes = []
    for item in proof:
        if not isinstance(item, str):
            raise ParseError("must hold base64 strings", field="release.log.inclusion_proof")
        try:
            hashes.append(base64.b64decode(item, validate=True))
        except (binascii.Error, ValueError):
            raise ParseError("holds a value that is not base64", field="release.log.inclusion_proof") from None
    if not isinstance(checkpoint, str):
        raise ParseError("must be the checkpoint's text", field="release.log.checkpoint")
    try:
        checkpoint_bytes = checkpoint.encode("utf-8")
    except UnicodeEncodeError:
        raise ParseError("is not valid UTF-8", field="release.log.checkpoint") from None
    url = value.get("url")
    return _LogProof(origin, index, tuple(hashes), checkpoint_bytes, url if isinstance(url, str) else None)


def _log_url(p: LogPolicy, bundle_url: str | None) -> tuple[str | None, str]:
    """Where to fetch the log from, or None and why not (DESIGN.md: never through the enclave)."""
    if p.url:
        return p.url, f"the policy's log URL {p.url}"
    if not p.url_from_bundle:
        return None, "The policy names no log URL ([release.log] url), so the log's own checkpoint cannot be fetched."
    if not p.demo:
        return None, "Only a demo policy may take the log URL from the service (url_from_bundle); this policy is not one."
    if not bundle_url:
        return None, "The service did not say where its log is, and the policy names no log URL."
    if not is_loopback_url(bundle_url):
        return None, f"The service's log URL {bundle_url} is not on loopback: a demo policy takes the log URL from the service only on loopback."
    return bundle_url, f"the service's loopback log URL {bundle_url} (demo policy)"


def _appraise_log(value: object, envelope: bytes, p: LogPolicy, *, log_http: httpx.Client | None,
                  state_dir: Path | None, bundle_log_url: str | None, at: dt.datetime,
                  claims: dict[str, Any]) -> list[Check]:
    """``release.log.checkpoint``, ``.witness``, ``.inclusion``, ``.fresh_checkpoint``, ``.consistency``."""
    req = p.required
    rest = (ids.LOG_WITNESS, ids.LOG_INCLUSION, ids.LOG_FRESH_CHECKPOINT, ids.LOG_CONSISTENCY)

    def stop(first: Check, why: str) -> list[Check]:
        return [first, *(skipped(i, why, required=req) for i in rest)]

    if value is None:
        detail = f"The evidence carries no proof that its release is in the transparency log {p.origin}."
        if req:
            return stop(failed(ids.LOG_CHECKPOINT, detail + " The policy requires one."), "No log proof to check.")
        return stop(skipped(ids.LOG_CHECKPOINT, detail, required=False), "No log proof to check.")
    try:
        proof = _parse_log_proof(value)
    except ParseError as e:
        return stop(failed(ids.LOG_CHECKPOINT, f"The release's log proof cannot be read ({e})."), "The log proof cannot be read.")
    claims.update({"origin": proof.origin, "index": proof.index})

    # 1. The checkpoint the service presented, signed by the pinned log key.
    try:
        signed = open_checkpoint(proof.checkpoint, [p.key], origin=p.origin)
        if proof.origin != p.origin:
            raise ParseError(f"names log {proof.origin!r}, the policy's log is {p.origin!r}", field="release.log.origin")
    except VerifierError as e:
        return stop(failed(ids.LOG_CHECKPOINT, f"The release's log checkpoint is not one signed by the log key {p.key.name} for {p.origin} ({e})."),
                    "The log checkpoint did not verify.")
    cp = signed.checkpoint
    claims["checkpoint_size"] = cp.size
    checks = [passed(ids.LOG_CHECKPOINT, f"Checkpoint of {p.origin} at size {cp.size}, signed by the pinned log key {p.key.name}.")]

    # 2. Witness cosignatures (C2SP tlog-cosignature), N of M.
    w = p.witnesses
    if not w.witnesses:
        checks.append(skipped(ids.LOG_WITNESS, "The policy names no witnesses, so a split view on first contact is not caught.", required=False))
    else:
        verdict = w.evaluate(signed.note, at=at)
        claims["witnesses"] = list(verdict.cosigned_by)
        if verdict.satisfied:
            checks.append(passed(ids.LOG_WITNESS, verdict.describe() + ".", required=w.threshold > 0))
        else:
            checks.append(failed(ids.LOG_WITNESS, verdict.describe() + ": the checkpoint may be a fork shown only to this client (split view)."))

    # 3. Inclusion of the exact envelope bytes (RFC 9162 §2.1.3.2).
    try:
        verify_inclusion(leaf_hash(envelope), proof.index, cp.size, proof.inclusion_proof, cp.root_hash)
        checks.append(passed(ids.LOG_INCLUSION, f"The release statement is leaf {proof.index} of {p.origin} at size {cp.size} (RFC 9162 inclusion proof)."))
    except ProofError as e:
        checks.append(failed(ids.LOG_INCLUSION, f"The inclusion proof does not show this release statement in the log ({e}): the release may never have been published."))

    # 4. The log's own current checkpoint, fetched from the log, and consistency with the one shown.
    fresh: SignedCheckpoint | None = None
    client: TlogClient | None = None
    url, why = _log_url(p, bundle_log_url or proof.url)
    if url is None:
        checks.append(failed(ids.LOG_FRESH_CHECKPOINT, why) if p.fresh_required
                      else skipped(ids.LOG_FRESH_CHECKPOINT, why, required=False))
    elif log_http is None:
        checks.append(skipped(ids.LOG_FRESH_CHECKPOINT, "The log's current checkpoint was not fetched (offline or replay).", required=p.fresh_required))
    else:
        from verifier.reference.tlog_client import TlogClient  # httpx, only when a log is fetched

        try:
            client = TlogClient(url, log_http)
            fresh = open_checkpoint(client.checkpoint(), [p.key], origin=p.origin)
            f = fresh.checkpoint
            if f.size < cp.size:
                raise ProofError(f"the log's current tree ({f.size}) is smaller than the one the service showed ({cp.size})")
            if f.size > cp.size:
                verify_consistency(cp.size, f.size, client.consistency_proof(cp.size, f.size), cp.root_hash, f.root_hash)
            else:
                verify_consistency(cp.size, f.size, [], cp.root_hash, f.root_hash)
            claims["fresh_size"] = f.size
            checks.append(passed(ids.LOG_FRESH_CHECKPOINT, f"Fetched the log's checkpoint from {why} (size {f.size}); the service's checkpoint (size {cp.size}) is consistent with it."))
        except ServiceUnreachable as e:
            fresh = None
            checks.append(failed(ids.LOG_FRESH_CHECKPOINT, f"{e}.") if p.fresh_required
                          else skipped(ids.LOG_FRESH_CHECKPOINT, f"{e}.", required=False))
        except ProofError as e:
            fresh = None
            checks.append(failed(ids.LOG_FRESH_CHECKPOINT, f"The service's checkpoint is not part of the log as the log itself shows it ({e}): possible split view."))
        except (NoteFormatError, NoteVerificationError, CheckpointError) as e:
            fresh = None
            checks.append(failed(ids.LOG_FRESH_CHECKPOINT, f"The log at {url} did not serve a checkpoint signed by its pinned key ({e})."))
        except VerifierError as e:
            fresh = None
            checks.append(failed(ids.LOG_FRESH_CHECKPOINT, f"The log at {url} did not answer as a tiled log should ({e})."))

    # 5. Consistency with the last checkpoint this client accepted (split view across sessions).
    checks.append(_consistency(signed, fresh, client, p, state_dir,
                               may_save=not any(c.status is Status.FAIL for c in checks)))
    return checks


def _consistency(shown: SignedCheckpoint, fresh: SignedCheckpoint | None, client: TlogClient | None,
                 p: LogPolicy, state_dir: Path | None, *, may_save: bool) -> Check:
    cid = ids.LOG_CONSISTENCY
    if state_dir is None:
        return skipped(cid, "No state directory: this run cannot compare the log with what it showed before.", required=False)
    store = CheckpointStore(state_dir)
    newest = fresh or shown
    n = newest.checkpoint
    try:
        stored_bytes = store.load(p.origin)
    except OSError as e:
        return failed(cid, f"Cannot read the stored checkpoint for {p.origin} ({e.strerror or e}).")
    if stored_bytes is None:
        if may_save:
            store.save(p.origin, newest.encode())
        return passed(cid, f"First contact with log {p.origin}: remembered its checkpoint at size {n.size}."
                      + ("" if p.witnesses.threshold else " Without required witness cosignatures a split view on first contact is not caught."))
    try:
        stored = open_checkpoint(stored_bytes, [p.key], origin=p.origin).checkpoint
    except VerifierError as e:
        return failed(cid, f"The checkpoint stored for {p.origin} in {store.path(p.origin)} does not verify under the policy's log key ({e}); if the log key was rotated on purpose, remove that file.")
    try:
        if stored.size == n.size:
            if stored.root_hash != n.root_hash:
                raise ProofError(f"two different roots for the same tree size {n.size}")
        elif stored.size > n.size:
            if fresh is not None:
                raise ProofError(f"the log now shows a tree of {n.size} leaves, smaller than the {stored.size} it showed before (rollback)")
            return skipped(cid, f"The service's checkpoint (size {n.size}) is older than the one remembered (size {stored.size}); the consistency proof needs the log, which was not fetched.", required=p.fresh_required)
        elif client is None or fresh is None:
            return skipped(cid, f"The log grew from the remembered size {stored.size} to {n.size}; the consistency proof needs the log, which was not fetched.", required=p.fresh_required)
        elif stored.size > 0:
            verify_consistency(stored.size, n.size, client.consistency_proof(stored.size, n.size), stored.root_hash, n.root_hash)
    except ProofError as e:
        return failed(cid, f"Log {p.origin} forked from the checkpoint this client accepted earlier (size {stored.size}, remembered in {store.path(p.origin)}): {e}. Possible split view: the log shows different users different histories.")
    except ServiceUnreachable as e:
        return failed(cid, f"{e}.") if p.fresh_required else skipped(cid, f"{e}.", required=False)
    except VerifierError as e:
        return failed(cid, f"Cannot check log {p.origin} against the checkpoint accepted earlier ({e}).")
    if may_save and n.size > stored.size:
        store.save(p.origin, newest.encode())
    return passed(cid, f"Log {p.origin} at size {n.size} extends the checkpoint accepted earlier (size {stored.size}).")
