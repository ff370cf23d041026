"""The current v3 layout's reference values besides the code release: the platform endorsements
(which machines may serve, and the TDX firmware they run), the freshness witnesses, and the two
policy checks on them: the machine allow-list and the freshness deadline. Sans-IO.

Facts from Tinfoil's Go SDK (``verifier/provenance/provenance.go``, ``freshness.go``,
``verifier/policy/artifact.go``, ``verifier/quote/quote.go``, ``verifier/client/verify.go``):

- the platform-endorsements artifact (predicate ``https://tinfoil.sh/predicate/platform-endorsements/v1``:
  ``{format, measurements: {name: {mrtd, rtmr0, shape?}}, machines: {id: policy}, policies:
  {name: {platform, sev_snp | tdx}}}``) is signed in Sigstore by a tag-triggered ``build.yml`` run of
  ``tinfoilsh/platform-endorsements``; ``machines`` keys are the SEV-SNP CHIP_ID (64 bytes) or the
  TDX PPID (16 bytes, from the PCK certificate) in lowercase hex, and a machine it does not list is
  not endorsed;
- a freshness witness (predicate ``https://tinfoil.sh/predicate/freshness-witness/v1``:
  ``{format, endorses: {repo, tag, commit, subject: {name, digest: "sha256:..."}}}``, whose
  statement's one subject is the endorsed artifact) is signed by a ``freshness.yml`` run of
  ``tinfoilsh/freshness-witness`` on ``refs/heads/main``; its time is the log's (Rekor's) timestamp,
  at most 5 minutes in the future and at most the maximum age (7 days by default) old;
- the deadline is the earlier of the code and platform witness times plus the maximum age; a client
  must not authorise new requests at or after it.

The platform endorsements' per-machine policy blocks (SEV-SNP and TDX minimums) are not applied:
this client's ``[snp]`` and ``[tdx]`` tables decide those rules. The SDK also requires a GitHub-hosted
runner (a Fulcio extension) for every bundle; this client does not read that extension.

INSECURE DEMO (``[tinfoil] release_source = "demo"``): the reference enclave signs the same two kinds
of artifact as DSSE envelopes with its demo publisher key (``[release] publisher_keys``), a witness
carrying its own ``witnessed_at`` (self-asserted: there is no demo Rekor).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from verifier.appraisal.policy import Policy
from verifier.errors import ParseError
from verifier.providers.tinfoil import checks as ids
from verifier.providers.tinfoil.envelope import SignedDemo, SigstoreRef
from verifier.providers.tinfoil.rules import TinfoilPolicy
from verifier.reference.dsse import load_ed25519_public, parse_envelope, verify_envelope
from verifier.reference.sigstore_bundle import BundleAppraisal, appraise_bundle
from verifier.result import Check, Status, failed, passed, skipped, utc
from verifier.strict_json import load_strict_json

PLATFORM_PREDICATE = "https://tinfoil.sh/predicate/platform-endorsements/v1"
FRESHNESS_PREDICATE = "https://tinfoil.sh/predicate/freshness-witness/v1"
PLATFORM_REPO = "tinfoilsh/platform-endorsements"
PLATFORM_WORKFLOW = r"https://github\.com/tinfoilsh/platform-endorsements/\.github/workflows/build\.yml@refs/tags/v[0-9][^@]*"
WITNESS_REPO = "tinfoilsh/freshness-witness"
WITNESS_WORKFLOW = r"https://github\.com/tinfoilsh/freshness-witness/\.github/workflows/freshness\.yml@refs/heads/main"
MAX_FUTURE_SKEW = dt.timedelta(minutes=5)
DEMO_PLATFORM_PAYLOAD = "application/vnd.enclave-chat.platform-endorsements+json"
DEMO_FRESHNESS_PAYLOAD = "application/vnd.enclave-chat.freshness-witness+json"
OID_SOURCE_REPOSITORY_DIGEST = "1.3.6.1.4.1.57264.1.13"
"""Fulcio: the commit the signing workflow ran at (a DER UTF8String)."""
PLATFORMS = ("sev-snp", "tdx")
_ID_LENGTH = {"sev-snp": 128, "tdx": 32}
_HEX96 = re.compile(r"\A[0-9a-fA-F]{96}\Z")
_LOWER_HEX = re.compile(r"\A[0-9a-f]+\Z")
MAX_ENTRIES = 4096


@dataclass(frozen=True)
class Artifact:
    """What a freshness witness must endorse: a release's repository, tag, commit, statement
    subject name (None where not known) and digest (hex, no prefix)."""

    repo: str | None
    tag: str | None
    commit: str | None
    subject_name: str | None
    digest: str


@dataclass(frozen=True)
class PlatformEndorsements:
    """A verified platform-endorsements artifact: machine id -> policy name, policy name ->
    platform, and the TDX platform measurements by name (MRTD, RTMR0)."""

    machines: Mapping[str, str]
    platforms: Mapping[str, str]
    measurements: Mapping[str, tuple[bytes, bytes]]
    artifact: Artifact


# -- the platform-endorsements artifact ---------------------------------------------------------------

def parse_platform_endorsements(doc: object) -> tuple[dict[str, str], dict[str, str], dict[str, tuple[bytes, bytes]]]:
    """Validate the artifact as the SDK does (fail closed: a dangling policy, a malformed machine
    id, a platform block that does not match); returns machines, platforms and measurements."""
    if not isinstance(doc, dict):
        raise ParseError("must be a JSON object", field="platform endorsements")
    unknown = sorted(set(doc) - {"format", "measurements", "machines", "policies"})
    if unknown:
        raise ParseError(f"has unknown members {unknown[:8]}", field="platform endorsements")
    if doc.get("format") != PLATFORM_PREDICATE:
        raise ParseError(f"format is {str(doc.get('format'))[:80]!r}, not {PLATFORM_PREDICATE}", field="platform endorsements")
    tables = {k: doc.get(k) or {} for k in ("measurements", "machines", "policies")}
    for name, table in tables.items():
        if not isinstance(table, dict) or len(table) > MAX_ENTRIES:
            raise ParseError(f"must be an object of at most {MAX_ENTRIES} entries", field=f"platform endorsements.{name}")
    platforms: dict[str, str] = {}
    for name, block in tables["policies"].items():
        platform = block.get("platform") if isinstance(block, dict) else None
        if platform not in PLATFORMS:
            raise ParseError(f"policy {str(name)[:40]!r} names no supported platform", field="platform endorsements.policies")
        assert isinstance(block, dict) and isinstance(platform, str)
        own, other = ("sev_snp", "tdx") if platform == "sev-snp" else ("tdx", "sev_snp")
        if not isinstance(block.get(own), dict) or other in block:
            raise ParseError(f"policy {str(name)[:40]!r}: platform {platform} requires exactly the {own} block",
                             field="platform endorsements.policies")
        platforms[str(name)] = platform
    measurements: dict[str, tuple[bytes, bytes]] = {}
    for name, entry in tables["measurements"].items():
        regs = entry if isinstance(entry, dict) else {}
        if not all(isinstance(regs.get(k), str) and _HEX96.match(regs[k]) for k in ("mrtd", "rtmr0")):
            raise ParseError(f"measurement {str(name)[:40]!r} lacks mrtd/rtmr0 as 48 bytes of hex",
                             field="platform endorsements.measurements")
        measurements[str(name)] = (bytes.fromhex(regs["mrtd"]), bytes.fromhex(regs["rtmr0"]))
    machines: dict[str, str] = {}
    for identifier, policy_name in tables["machines"].items():
        platform = platforms.get(policy_name) if isinstance(policy_name, str) else None
        if platform is None:
            raise ParseError(f"machine {identifier[:16]}…: unknown policy {str(policy_name)[:40]!r}", field="platform endorsements.machines")
        if not _LOWER_HEX.match(identifier) or len(identifier) != _ID_LENGTH[platform]:
            raise ParseError(f"machine {identifier[:16]}…: a {platform} identifier is {_ID_LENGTH[platform]} lowercase hex digits",
                             field="platform endorsements.machines")
        machines[identifier] = str(policy_name)
    return machines, platforms, measurements


def _sigstore_problem(appraisal: BundleAppraisal) -> str | None:
    """The first Sigstore check that did not hold (a failure, or a required skip), or None."""
    for c in appraisal.checks:
        if c.status is Status.FAIL or (c.status is Status.SKIP and c.required):
            return f"{c.id}: {c.detail}"
    return None


def bundle_commit(bundle: bytes) -> str | None:
    """The commit (Fulcio's Source Repository Digest) of a verified bundle's signing certificate."""
    try:
        doc = load_strict_json(bundle, "bundle", max_depth=64)
        material = doc["verificationMaterial"]
        cert = material.get("certificate") or {}
        raw = cert.get("rawBytes") or (material.get("x509CertificateChain") or {}).get("certificates", [{}])[0].get("rawBytes")
        ext = x509.load_der_x509_certificate(base64.b64decode(raw)).extensions.get_extension_for_oid(
            x509.ObjectIdentifier(OID_SOURCE_REPOSITORY_DIGEST)).value
        value = ext.value if isinstance(ext, x509.UnrecognizedExtension) else b""
        text = value[2:].decode() if len(value) > 2 and value[0] == 0x0C else value.decode()
    except (ParseError, KeyError, TypeError, IndexError, AttributeError, ValueError, binascii.Error,
            x509.ExtensionNotFound, UnicodeDecodeError):
        return None
    return text if re.fullmatch(r"[0-9a-f]{40}", text) else None


def sigstore_platform(ref: SigstoreRef | None, *, trusted_root: bytes | None) -> tuple[Check, PlatformEndorsements | None]:
    """``tinfoil.platform.endorsements`` from the ``sigstore-platform`` collateral."""
    cid = ids.PLATFORM_ENDORSEMENTS
    if ref is None:
        return failed(cid, "The document carries no platform endorsements (sigstore-platform collateral): which machines may serve is unknown."), None
    if ref.repo != PLATFORM_REPO:
        return failed(cid, f"The platform endorsements name repository {ref.repo[:80]!r}, not {PLATFORM_REPO}."), None
    appraisal = appraise_bundle(ref.bundle, trusted_root=trusted_root, repository=PLATFORM_REPO,
                                digest=f"sha256:{ref.digest}", workflow_ref=PLATFORM_WORKFLOW, offline=True,
                                predicate_types=(PLATFORM_PREDICATE,), first_subject_only=True)
    problem = _sigstore_problem(appraisal)
    if problem:
        return failed(cid, f"The platform endorsements' Sigstore bundle does not verify ({problem})."), None
    build = str(appraisal.claims.get("build_config_uri") or "")
    if ref.tag and build.rpartition("@")[2] != f"refs/tags/{ref.tag}":
        return failed(cid, f"The platform endorsements were signed for {build.rpartition('@')[2] or 'an unknown ref'}, not tag {ref.tag}."), None
    try:
        machines, platforms, measurements = parse_platform_endorsements(appraisal.predicate)
    except ParseError as e:
        return failed(cid, f"The signed platform endorsements are malformed: {e}."), None
    subject = appraisal.subjects[0].name if appraisal.subjects else None
    artifact = Artifact(PLATFORM_REPO, ref.tag or build.rpartition("@refs/tags/")[2] or None,
                        bundle_commit(ref.bundle), subject, ref.digest)
    return (passed(cid, f"Platform endorsements {ref.tag or '?'} of {PLATFORM_REPO} (sha256:{ref.digest[:16]}…), signed in Sigstore by its build workflow: {len(machines)} machine(s), {len(measurements)} TDX platform measurement(s)."),
            PlatformEndorsements(machines, platforms, measurements, artifact))


def sigstore_witness(cid: str, bundle: bytes | None, artifact: Artifact | None, *, what: str,
                     trusted_root: bytes | None, at: dt.datetime, tinfoil: TinfoilPolicy) -> tuple[Check, dt.datetime | None]:
    """``tinfoil.freshness.code`` / ``.platform``: the witness is Tinfoil's and endorses ``artifact``."""
    if artifact is None:
        return skipped(cid, f"No verified {what} for a freshness witness to endorse."), None
    if bundle is None:
        return failed(cid, f"The document carries no freshness witness for the {what}: how recently it was endorsed is unknown."), None
    appraisal = appraise_bundle(bundle, trusted_root=trusted_root, repository=WITNESS_REPO,
                                digest=f"sha256:{artifact.digest}", workflow_ref=WITNESS_WORKFLOW, offline=True,
                                predicate_types=(FRESHNESS_PREDICATE,), first_subject_only=True)
    problem = _sigstore_problem(appraisal)
    if problem:
        return failed(cid, f"The {what}'s freshness witness does not verify ({problem})."), None
    if len(appraisal.subjects) != 1 or (artifact.subject_name is not None and appraisal.subjects[0].name != artifact.subject_name):
        return failed(cid, f"The {what}'s freshness witness is not about that one artifact."), None
    mismatch = _endorses(appraisal.predicate, artifact)
    if mismatch:
        return failed(cid, f"The {what}'s freshness witness endorses another artifact ({mismatch})."), None
    logged = appraisal.claims.get("rekor_integrated_time")
    if not isinstance(logged, int):
        return failed(cid, f"The {what}'s freshness witness has no log timestamp."), None
    return _witness_time(cid, dt.datetime.fromtimestamp(logged, dt.UTC), what=what, at=at, tinfoil=tinfoil,
                         source="Rekor's timestamp of a tinfoilsh/freshness-witness run")


def _endorses(predicate: Any, artifact: Artifact) -> str | None:
    """Why the witness predicate does not endorse ``artifact`` (None: it does)."""
    if not isinstance(predicate, dict) or predicate.get("format") != FRESHNESS_PREDICATE:
        return "not a freshness-witness/v1 predicate"
    endorses = predicate.get("endorses")
    subject = endorses.get("subject") if isinstance(endorses, dict) else None
    if not isinstance(endorses, dict) or not isinstance(subject, dict):
        return "no endorses.subject"
    if subject.get("digest") != f"sha256:{artifact.digest}":
        return f"digest {str(subject.get('digest'))[:80]}"
    for key, want in (("repo", artifact.repo), ("tag", artifact.tag), ("commit", artifact.commit)):
        if want is not None and endorses.get(key) != want:
            return f"{key} {str(endorses.get(key))[:80]!r}, not {want!r}"
    if artifact.subject_name is not None and subject.get("name") != artifact.subject_name:
        return f"subject {str(subject.get('name'))[:80]!r}"
    return None


def _witness_time(cid: str, when: dt.datetime, *, what: str, at: dt.datetime, tinfoil: TinfoilPolicy,
                  source: str) -> tuple[Check, dt.datetime | None]:
    at = utc(at)
    if when > at + MAX_FUTURE_SKEW:
        return failed(cid, f"The {what}'s freshness witness is dated {when.isoformat()}, in the future."), None
    return passed(cid, f"A freshness witness endorsed the {what} again at {when.isoformat()} ({source})."), when


# -- INSECURE DEMO: DSSE by the demo publisher --------------------------------------------------------

def _publisher_keys(policy: Policy) -> list[Ed25519PublicKey]:
    return [load_ed25519_public(k) for k in policy.section("release").str_list("publisher_keys")]


def _demo_payload(signed: SignedDemo, payload_type: str, policy: Policy) -> Any:
    envelope = parse_envelope(signed.envelope)
    if envelope.payload_type != payload_type:
        raise ParseError(f"payload type is {envelope.payload_type!r}, not {payload_type}", field=signed.id)
    if verify_envelope(envelope, _publisher_keys(policy)) is None:
        raise ParseError("is not signed by a publisher key of the policy ([release] publisher_keys)", field=signed.id)
    return load_strict_json(envelope.payload, signed.id)


def demo_platform(signed: SignedDemo | None, *, policy: Policy) -> tuple[Check, PlatformEndorsements | None]:
    cid = ids.PLATFORM_ENDORSEMENTS
    if signed is None:
        return failed(cid, "The document carries no platform endorsements (INSECURE DEMO: demo-platform collateral): which machines may serve is unknown."), None
    try:
        machines, platforms, measurements = parse_platform_endorsements(_demo_payload(signed, DEMO_PLATFORM_PAYLOAD, policy))
    except ParseError as e:
        return failed(cid, f"The demo platform endorsements are refused: {e}."), None
    digest = hashlib.sha256(signed.envelope).hexdigest()
    return (passed(cid, f"INSECURE DEMO: platform endorsements signed by the demo publisher (sha256:{digest[:16]}…): {len(machines)} machine(s)."),
            PlatformEndorsements(machines, platforms, measurements, Artifact(None, None, None, None, digest)))


def demo_witness(cid: str, signed: SignedDemo | None, artifact: Artifact | None, *, what: str, policy: Policy,
                 at: dt.datetime, tinfoil: TinfoilPolicy) -> tuple[Check, dt.datetime | None]:
    if artifact is None:
        return skipped(cid, f"No verified {what} for a freshness witness to endorse."), None
    if signed is None:
        return failed(cid, f"The document carries no freshness witness for the {what}: how recently it was endorsed is unknown."), None
    try:
        payload = _demo_payload(signed, DEMO_FRESHNESS_PAYLOAD, policy)
        mismatch = _endorses(payload, artifact) if isinstance(payload, dict) else "not an object"
        witnessed = payload.get("witnessed_at") if isinstance(payload, dict) else None
        when = dt.datetime.fromisoformat(witnessed) if isinstance(witnessed, str) else None
    except (ParseError, ValueError) as e:
        return failed(cid, f"The {what}'s demo freshness witness is refused: {e}."), None
    if mismatch:
        return failed(cid, f"The {what}'s freshness witness endorses another artifact ({mismatch})."), None
    if when is None or when.tzinfo is None:
        return failed(cid, f"The {what}'s demo freshness witness names no witnessed_at time with a zone."), None
    return _witness_time(cid, when, what=what, at=at, tinfoil=tinfoil,
                         source="INSECURE DEMO: the demo publisher's own word, no log")


# -- the policy checks --------------------------------------------------------------------------------

def machine_check(machine: bytes | None, platform: str, endorsements: PlatformEndorsements | None,
                  tinfoil: TinfoilPolicy) -> Check:
    """``tinfoil.machine``: the CPU's machine id is one the platform endorsements (and the policy's
    ``[tinfoil] machines``, when given) allow."""
    cid = ids.MACHINE
    name = "CHIP_ID" if platform == "sev-snp" else "PPID"
    if not tinfoil.require_endorsed_machine and not tinfoil.machines:
        return skipped(cid, "The policy asks for no machine allow-list (require_endorsed_machine = false, no machines).", required=False)
    if machine is None:
        return skipped(cid, f"No authentic {name} to look up.")
    hex_id = machine.hex()
    if tinfoil.machines and hex_id not in tinfoil.machines:
        return failed(cid, f"The {name} {hex_id[:16]}… is not one of the {len(tinfoil.machines)} machine(s) the policy allows ([tinfoil] machines).")
    if tinfoil.require_endorsed_machine:
        if endorsements is None:
            return skipped(cid, f"No verified platform endorsements to look the {name} {hex_id[:16]}… up in.")
        policy_name = endorsements.machines.get(hex_id)
        if policy_name is None:
            return failed(cid, f"The {name} {hex_id[:16]}… is not among the {len(endorsements.machines)} machines the platform endorsements list: the machine is not endorsed.")
        if endorsements.platforms.get(policy_name) != platform:
            return failed(cid, f"The platform endorsements list the {name} {hex_id[:16]}… under policy {policy_name!r}, which is not for {platform}.")
        return passed(cid, f"The {name} {hex_id[:16]}… is an endorsed machine (policy {policy_name!r})"
                      + (" and one the policy allows." if tinfoil.machines else "."))
    return passed(cid, f"The {name} {hex_id[:16]}… is one the policy allows ([tinfoil] machines).")


def platform_measurement_check(endorsements: PlatformEndorsements | None, mrtd: bytes | None,
                               rtmr0: bytes | None) -> tuple[Check, str | None]:
    """``tinfoil.platform.measurement`` (TDX): (MRTD, RTMR0) is a measurement the endorsements list."""
    cid = ids.PLATFORM_MEASUREMENT
    if endorsements is None or mrtd is None or rtmr0 is None:
        return skipped(cid, "No verified platform endorsements or no authentic MRTD/RTMR0 to compare."), None
    for name, (want_mrtd, want_rtmr0) in endorsements.measurements.items():
        if want_mrtd == mrtd and want_rtmr0 == rtmr0:
            return passed(cid, f"MRTD and RTMR0 are those of platform {name!r} in the platform endorsements."), name
    return failed(cid, f"MRTD {mrtd.hex()[:16]}… with RTMR0 {rtmr0.hex()[:16]}… is none of the {len(endorsements.measurements)} platform measurements endorsed: unknown firmware or virtual hardware."), None


def deadline_check(times: Sequence[dt.datetime | None], *, at: dt.datetime, tinfoil: TinfoilPolicy) -> tuple[Check, dt.datetime | None]:
    """``tinfoil.freshness.deadline``: the earliest witness time plus ``freshness_max_age_seconds``
    is after ``at``; returns the deadline (None when a witness is missing)."""
    cid = ids.FRESHNESS_DEADLINE
    if not times or any(t is None for t in times):
        return skipped(cid, "Not every reference value has a verified freshness witness, so there is no deadline."), None
    earliest = min(t for t in times if t is not None)
    deadline = earliest + dt.timedelta(seconds=tinfoil.freshness_max_age)
    at = utc(at)
    days = tinfoil.freshness_max_age / 86400
    if at >= deadline:
        return failed(cid, f"The reference values were last endorsed at {earliest.isoformat()}; with the policy's maximum age of {days:g} day(s) they expired at {deadline.isoformat()}, before {at.isoformat()}: stale."), deadline
    return passed(cid, f"Fresh until {deadline.isoformat()} (earliest witness {earliest.isoformat()} + {days:g} day(s)); no request is authorised after it."), deadline
