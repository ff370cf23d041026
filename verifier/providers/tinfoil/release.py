"""Tinfoil's releases: the latest GitHub release of a repository, its digest, its Sigstore bundle,
and the measurements its signed predicate publishes.

Flow (``tinfoil/teep/tinfoil_support.md`` "Supply Chain Verification (Sigstore)", "Hardware
Measurement Verification"), each request to GitHub's own API and downloads by default, or to the
policy's proxy (``[tinfoil] release_source = "proxy"``), whose answers are checked the same way:

1. ``GET {api}/repos/{repo}/releases/latest`` -> ``tag_name``;
2. ``GET {downloads}/{repo}/releases/download/{tag}/tinfoil.hash`` -> 64 hex digits (the digest of
   the release's deployment file, the in-toto subject);
3. ``GET {api}/repos/{repo}/attestations/sha256:{digest}`` -> ``attestations[].bundle``, a Sigstore
   bundle (GitHub artifact attestation) verified by :func:`verifier.reference.sigstore_bundle.appraise_bundle`
   against the sigstore package's production trusted root (offline copy): identity (issuer GitHub
   Actions, the repository, a workflow run for a tag), Rekor inclusion and checkpoint, the digest;
4. the predicate: ``https://tinfoil.sh/predicate/snp-tdx-multiplatform/v1`` (``snp_measurement``,
   ``tdx_measurement.rtmr1``/``rtmr2``) for code, ``https://tinfoil.sh/predicate/hardware-measurements/v1``
   (platform name -> ``{mrtd, rtmr0}``) for ``tinfoilsh/hardware-measurements``.

Fetching (:func:`fetch_release`) is the only I/O here; :func:`appraise_release_fetch` turns what was
fetched into checks, sans-IO. A request that could not be made at all (no network, or a replay that
did not record it) makes its check and those after it ``skip``: the input is absent, not wrong.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from verifier import bounded_http
from verifier.errors import ParseError, VerifierError
from verifier.providers.tinfoil.checks import HARDWARE_MEASUREMENT, RELEASE_MEASUREMENT, ReleaseIds
from verifier.providers.tinfoil.rules import TinfoilPolicy
from verifier.reference.sigstore_bundle import appraise_bundle
from verifier.result import Check, Status, failed, passed, skipped
from verifier.strict_json import load_strict_json

CODE_PREDICATE = "https://tinfoil.sh/predicate/snp-tdx-multiplatform/v1"
HARDWARE_PREDICATE = "https://tinfoil.sh/predicate/hardware-measurements/v1"
MAX_RELEASE_JSON = 1024 * 1024
MAX_HASH_FILE = 1024
MAX_ATTESTATIONS_JSON = 4 * 1024 * 1024
MAX_ATTESTATIONS = 8
_TAG = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._+-]{0,127}\Z")
_HEX64 = re.compile(r"\A[0-9a-fA-F]{64}\Z")
_HEX96 = re.compile(r"\A[0-9a-fA-F]{96}\Z")


@dataclass(frozen=True)
class Answer:
    """One HTTP answer, or why there was none (``status`` None: could not be reached)."""

    url: str
    status: int | None
    body: bytes = b""
    error: str | None = None

    @property
    def unreachable(self) -> bool:
        return self.status is None


async def http_get(http: httpx.AsyncClient, url: str, limit: int, *, follow: bool = False,
                   headers: Mapping[str, str] | None = None) -> Answer:
    """GET ``url`` through the one bounded GET (:func:`verifier.bounded_http.aget`: identity
    coding, at most ``limit`` bytes, a total deadline); never raises for network trouble: an answer
    that could not be had has no status and says why."""
    try:
        got = await bounded_http.aget(http, url, limit=limit, headers=headers, follow=follow)
    except VerifierError as e:
        return Answer(url, None, b"", str(e))
    return Answer(url, got.status, got.body)


# -- fetching ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReleaseFetch:
    """What was fetched for one repository, in order; later members are None once a step failed."""

    repo: str
    source: str
    latest: Answer | None = None
    digest_file: Answer | None = None
    attestations: Answer | None = None
    supplied: bool = False
    """True for a release that came with the evidence (a saved ATC bundle): nothing was fetched."""


def read_tag(answer: Answer) -> tuple[str | None, str]:
    """``tag_name`` of a ``releases/latest`` answer, or None and why."""
    if answer.status != 200:
        return None, f"{answer.url} answered HTTP {answer.status}" + (f" ({answer.error})" if answer.error else "")
    try:
        doc = load_strict_json(answer.body, "release")
        tag = doc["tag_name"]
    except (ParseError, KeyError, TypeError):
        return None, f"{answer.url} did not answer a release with a tag_name"
    if not isinstance(tag, str) or not _TAG.match(tag):
        return None, f"{answer.url} names a malformed tag {str(tag)[:40]!r}"
    return tag, ""


def read_digest(answer: Answer) -> tuple[str | None, str]:
    """The 64 hex digits of a ``tinfoil.hash`` answer (lowercased), or None and why."""
    if answer.status != 200:
        return None, f"{answer.url} answered HTTP {answer.status}" + (f" ({answer.error})" if answer.error else "")
    text = answer.body.decode("ascii", errors="replace").strip()
    if not _HEX64.match(text):
        return None, f"{answer.url} is not 64 hex digits ({len(answer.body)} bytes)"
    return text.lower(), ""


def read_bundles(answer: Answer) -> tuple[list[bytes], str]:
    """The Sigstore bundles of a GitHub ``attestations`` answer (at most 8), or [] and why."""
    if answer.status != 200:
        return [], f"{answer.url} answered HTTP {answer.status}" + (f" ({answer.error})" if answer.error else "")
    try:
        doc = load_strict_json(answer.body, "attestations", max_depth=64)
        items = doc["attestations"]
        if not isinstance(items, list):
            raise TypeError
        bundles = [json.dumps(a["bundle"]).encode() for a in items[:MAX_ATTESTATIONS]
                   if isinstance(a, dict) and isinstance(a.get("bundle"), dict)]
    except (ParseError, KeyError, TypeError):
        return [], f"{answer.url} is not GitHub's attestations document"
    if not bundles:
        return [], f"{answer.url} lists no attestation bundle"
    return bundles, ""


async def fetch_release(http: httpx.AsyncClient, policy: TinfoilPolicy, repo: str) -> ReleaseFetch:
    """Steps 1-3 of the module docstring, stopping at the first that gives nothing usable."""
    source = f"the policy's proxy {policy.release_proxy}" if policy.release_proxy else "GitHub"
    api = {"accept": "application/vnd.github+json", "x-github-api-version": "2022-11-28"}
    latest = await http_get(http, f"{policy.api_base}/repos/{repo}/releases/latest", MAX_RELEASE_JSON, headers=api)
    tag, _ = read_tag(latest)
    if tag is None:
        return ReleaseFetch(repo, source, latest)
    digest_file = await http_get(http, f"{policy.download_base}/{repo}/releases/download/{tag}/tinfoil.hash",
                                 MAX_HASH_FILE, follow=policy.release_proxy is None)
    digest, _ = read_digest(digest_file)
    if digest is None:
        return ReleaseFetch(repo, source, latest, digest_file)
    attestations = await http_get(http, f"{policy.api_base}/repos/{repo}/attestations/sha256:{digest}",
                                  MAX_ATTESTATIONS_JSON, headers=api)
    return ReleaseFetch(repo, source, latest, digest_file, attestations)


# -- appraising -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReleaseOutcome:
    """The checks of one release, and (when the bundle verified) its predicate."""

    checks: tuple[Check, ...]
    predicate: Mapping[str, Any] | None = None
    tag: str | None = None
    digest: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)
    bundle: bytes | None = None
    """The Sigstore bundle whose checks these are (None when none was reached)."""
    subjects: tuple[str, ...] = ()
    """The names of the signed statement's subjects, in order."""

    @property
    def trusted(self) -> bool:
        """The bundle verified and nothing before the predicate failed or was skipped."""
        return self.predicate is not None


def _not_reached(answer: Answer, what: str) -> str:
    return f"{what} could not be fetched ({answer.url}: {answer.error}); without it the release cannot be checked."


def appraise_release_fetch(fetch: ReleaseFetch, *, ids: ReleaseIds,
                           predicate_type: str, workflow: str,
                           supplied_bundle: bytes | None = None, supplied_digest: str | None = None,
                           trusted_root: bytes | None = None,
                           supplied_tag: str | None = None) -> ReleaseOutcome:
    """Checks ``ids.latest``, ``ids.digest``, ``ids.attestation``, the Sigstore checks
    (``ids.sigstore``), ``ids.tag`` and ``ids.predicate`` (:mod:`verifier.providers.tinfoil.checks`).

    ``supplied_bundle``/``supplied_digest``: a release that came with the evidence (an ATC bundle,
    or the current v3 layout's ``sigstore-code`` collateral) instead of one fetched; then "latest"
    cannot be known and is an optional skip, and "tag" is checked against ``supplied_tag`` (an
    optional skip without one)."""
    checks: list[Check] = []
    claims: dict[str, Any] = {"repository": fetch.repo, "source": fetch.source}
    later = (ids.digest, ids.attestation, *ids.sigstore, ids.tag, ids.predicate)

    def stop(first: Check, reason: str, done: int = 0) -> ReleaseOutcome:
        checks.append(first)
        checks.extend(skipped(i, reason) for i in later[done:])
        return ReleaseOutcome(tuple(checks), claims=claims)

    tag: str | None = None
    if fetch.supplied:
        checks.append(skipped(ids.latest, "The evidence brings its own release, so whether it is the repository's latest is not checked.", required=False))
        tag = supplied_tag or None
        if tag is not None:
            claims["tag"] = tag
        digest = supplied_digest
        bundles = [supplied_bundle] if supplied_bundle is not None else []
        if digest is None or not bundles:
            return stop(failed(ids.digest, "The evidence names no release digest and Sigstore bundle."), "No release to check.", 1)
        checks.append(passed(ids.digest, f"The evidence names release digest sha256:{digest}."))
        checks.append(passed(ids.attestation, "The evidence carries the release's Sigstore bundle."))
    else:
        if fetch.latest is None or fetch.latest.unreachable:
            assert fetch.latest is not None
            return stop(skipped(ids.latest, _not_reached(fetch.latest, f"The latest release of {fetch.repo}")),
                        "The latest release was not fetched.")
        tag, why = read_tag(fetch.latest)
        if tag is None:
            return stop(failed(ids.latest, f"The latest release of {fetch.repo} cannot be read: {why}."), "No release to check.")
        claims["tag"] = tag
        checks.append(passed(ids.latest, f"The latest release of {fetch.repo} is {tag} (asked of {fetch.source})."))
        if fetch.digest_file is None or fetch.digest_file.unreachable:
            assert fetch.digest_file is not None
            return stop(skipped(ids.digest, _not_reached(fetch.digest_file, f"The digest of {tag}")),
                        "The release digest was not fetched.", 1)
        digest, why = read_digest(fetch.digest_file)
        if digest is None:
            return stop(failed(ids.digest, f"Release {tag} publishes no usable digest: {why}."), "No digest to check.", 1)
        checks.append(passed(ids.digest, f"Release {tag} publishes digest sha256:{digest}."))
        if fetch.attestations is None or fetch.attestations.unreachable:
            assert fetch.attestations is not None
            return stop(skipped(ids.attestation, _not_reached(fetch.attestations, f"The Sigstore bundle of sha256:{digest}")),
                        "The release's Sigstore bundle was not fetched.", 2)
        bundles, why = read_bundles(fetch.attestations)
        if not bundles:
            return stop(failed(ids.attestation, f"No Sigstore bundle for sha256:{digest}: {why}."), "No bundle to check.", 2)
        checks.append(passed(ids.attestation, f"GitHub lists {len(bundles)} attestation bundle(s) for sha256:{digest}."))
    claims["digest"] = f"sha256:{digest}"

    # Sigstore: the first bundle whose checks all hold and whose predicate is the expected one.
    chosen = None
    chosen_bundle = None
    for bundle in bundles:
        appraisal = appraise_bundle(bundle, trusted_root=trusted_root, repository=fetch.repo,
                                    digest=f"sha256:{digest}", workflow_ref=workflow, offline=True)
        if chosen is None:
            chosen, chosen_bundle = appraisal, bundle
        if (all(c.status is not Status.FAIL for c in appraisal.checks)
                and appraisal.predicate_type == predicate_type):
            chosen, chosen_bundle = appraisal, bundle
            break
    assert chosen is not None
    names = tuple(s.name for s in chosen.subjects)
    checks.extend(Check(ids.sigstore_id(c.id), c.status, c.detail, c.required, c.authenticity, c.reason)
                  for c in chosen.checks)
    claims.update({k: v for k, v in chosen.claims.items() if k in ("rekor_log_index", "build_config_uri", "predicate_type")})
    sigstore_ok = all(c.status is not Status.FAIL and not (c.status is Status.SKIP and c.required)
                      for c in chosen.checks)

    build = str(chosen.claims.get("build_config_uri") or "")
    ref = build.rpartition("@")[2]
    which = "the release the evidence names" if fetch.supplied else "the latest release"
    if tag is None:
        checks.append(skipped(ids.tag, f"The evidence names no release tag; the bundle was signed by {build or 'an unknown workflow'}.", required=False))
    elif ref == f"refs/tags/{tag}":
        checks.append(passed(ids.tag, f"The bundle was signed by a workflow run for tag {tag}, {which}."))
    else:
        checks.append(failed(ids.tag, f"The bundle was signed by a workflow run for {ref or 'an unknown ref'}, not for {which}'s tag {tag}."))

    def outcome(predicate: Mapping[str, Any] | None) -> ReleaseOutcome:
        return ReleaseOutcome(tuple(checks), predicate, tag, digest, claims, chosen_bundle, names)

    if not sigstore_ok:
        checks.append(skipped(ids.predicate, "The Sigstore bundle did not verify, so its measurements are not used."))
        return outcome(None)
    if chosen.predicate_type != predicate_type or not isinstance(chosen.predicate, dict):
        checks.append(failed(ids.predicate, f"The signed predicate is {chosen.predicate_type!r}, not {predicate_type}."))
        return outcome(None)
    problem = (code_predicate_problem(chosen.predicate) if predicate_type == CODE_PREDICATE
               else hardware_predicate_problem(chosen.predicate))
    if problem:
        checks.append(failed(ids.predicate, f"The signed {predicate_type} predicate is malformed: {problem}."))
        return outcome(None)
    checks.append(passed(ids.predicate, f"A signed {predicate_type} predicate."))
    return outcome(chosen.predicate)


# -- predicates -------------------------------------------------------------------------------------

def code_predicate_problem(predicate: Mapping[str, Any]) -> str | None:
    """``snp_measurement`` (96 hex) and ``tdx_measurement.rtmr1``/``rtmr2`` (96 hex each)."""
    snp = predicate.get("snp_measurement")
    tdx = predicate.get("tdx_measurement")
    if not isinstance(snp, str) or not _HEX96.match(snp):
        return "snp_measurement is not 48 bytes of hex"
    if not isinstance(tdx, dict) or not all(isinstance(tdx.get(k), str) and _HEX96.match(tdx[k]) for k in ("rtmr1", "rtmr2")):
        return "tdx_measurement lacks rtmr1/rtmr2 as 48 bytes of hex"
    return None


def hardware_predicate_problem(predicate: Mapping[str, Any]) -> str | None:
    """A map of platform name -> ``{mrtd, rtmr0}`` (96 hex each)."""
    if not predicate:
        return "it lists no platform"
    for name, entry in predicate.items():
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) and _HEX96.match(entry[k]) for k in ("mrtd", "rtmr0")):
            return f"platform {str(name)[:40]!r} lacks mrtd/rtmr0 as 48 bytes of hex"
    return None


def _eq(a: bytes, hex_text: str) -> bool:
    return hmac.compare_digest(a, bytes.fromhex(hex_text))


def snp_measurement_check(predicate: Mapping[str, Any], measurement: bytes, tag: str | None) -> Check:
    """``tinfoil.release.measurement`` for SEV-SNP: MEASUREMENT == ``snp_measurement``."""
    release = f"release {tag}" if tag else "the release"
    if _eq(measurement, str(predicate["snp_measurement"])):
        return passed(RELEASE_MEASUREMENT, f"The attested SEV-SNP measurement {measurement.hex()[:16]}… is the one {release} publishes.")
    return failed(RELEASE_MEASUREMENT, f"The attested SEV-SNP measurement {measurement.hex()[:16]}… is not {release}'s {str(predicate['snp_measurement'])[:16]}…: the enclave runs code that was not released.")


def tdx_measurement_check(predicate: Mapping[str, Any], rtmr1: bytes, rtmr2: bytes, tag: str | None) -> Check:
    """``tinfoil.release.measurement`` for TDX: RTMR1 and RTMR2 equal the predicate's."""
    release = f"release {tag}" if tag else "the release"
    tdx = predicate["tdx_measurement"]
    wrong = [name for name, have in (("RTMR1", rtmr1), ("RTMR2", rtmr2)) if not _eq(have, str(tdx[name.lower()]))]
    if not wrong:
        return passed(RELEASE_MEASUREMENT, f"The attested RTMR1 {rtmr1.hex()[:16]}… and RTMR2 {rtmr2.hex()[:16]}… are the ones {release} publishes.")
    return failed(RELEASE_MEASUREMENT, f"The attested {' and '.join(wrong)} differ from {release}'s: the enclave runs a kernel or configuration that was not released.")


def hardware_measurement_check(predicate: Mapping[str, Any], mrtd: bytes, rtmr0: bytes, tag: str | None) -> tuple[Check, str | None]:
    """``tinfoil.hardware.measurement``: (MRTD, RTMR0) is one platform of the hardware release."""
    for name, entry in predicate.items():
        if _eq(mrtd, str(entry["mrtd"])) and _eq(rtmr0, str(entry["rtmr0"])):
            return passed(HARDWARE_MEASUREMENT, f"MRTD and RTMR0 are those of platform {name!r} in hardware release {tag or '?'}."), str(name)
    return failed(HARDWARE_MEASUREMENT, f"MRTD {mrtd.hex()[:16]}… with RTMR0 {rtmr0.hex()[:16]}… is none of the {len(predicate)} platforms of hardware release {tag or '?'}: unknown firmware or virtual hardware."), None
