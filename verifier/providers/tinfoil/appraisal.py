"""Appraise a Tinfoil attestation document (v3 in either layout, or the older v2) into one
AttestationResult, sans-IO.

Everything fetched (the document, the TLS peer's key, the repository's release and its Sigstore
bundle) comes in :class:`Fetched`; CPU and GPU collateral is asked of the ``fetcher`` by the CPU and
GPU appraisals themselves. The checks of a v3 document in its June 2026 layout, in this fixed order
(docs/tinfoil.md):

 1. ``service.url``             the policy accepts this service URL
 2. ``tinfoil.parse``           a well-formed v3 document (format, 32-byte hex fields, report, PEM)
 3. ``tinfoil.downgrade``       the host served v3 (remembered: a later v2 answer is refused)
 4. ``tinfoil.nonce``           ``report_data.nonce`` is the nonce this client chose
 5. ``tinfoil.gpu_hash``        SHA-256 of the exact ``gpu`` bytes is ``gpu_evidence_hash``
 6. ``tinfoil.nvswitch_hash``   the same for ``nvswitch`` (when present, or required by the topology)
 7. ``snp.*`` / ``tdx.*``       the CPU evidence; its REPORT_DATA check is the binding:
                                ``SHA-256(tls_key_fp || hpke_key || nonce [|| gpu [|| nvswitch]]) || 0^32``
 8. ``tinfoil.certificate``     the served certificate's key is ``tls_key_fp``
 9. ``tinfoil.signature``       ECDSA by that key over the document with ``signature`` blanked
10. ``tinfoil.tls_key``         the TLS peer that served the document holds ``tls_key_fp``
11. ``tinfoil.hpke_key``        ``hpke_key`` is an X25519 key requests can be sealed to (EHBP)
12. ``gpu.*``                   every GPU's SPDM evidence, by our own GPU verifier, nonce = the client's
13. ``tinfoil.nvswitch``, ``nvswitch.N.*``  NVSwitch evidence (required for 8 Hopper GPUs)
14. ``tinfoil.repository``      which repository's releases this host must run
15. ``tinfoil.release.latest``, ``.digest``, ``.attestation``, ``sigstore.*``, ``tinfoil.release.tag``,
    ``tinfoil.release.predicate``, ``tinfoil.release.measurement``  the code release
16. TDX only: ``tinfoil.hardware.*`` (the same for ``tinfoilsh/hardware-measurements``) and
    ``tinfoil.hardware.measurement`` (MRTD and RTMR0 are a released platform)

With ``[tinfoil] release_source = "demo"`` (INSECURE DEMO policies only) 14-16 are the native
``release.*`` checks of the demo DSSE release statement the reference enclave serves.

A v3 document in Tinfoil's current layout (:mod:`verifier.providers.tinfoil.envelope`) runs
``tinfoil.layout``, ``tinfoil.parse``, ``tinfoil.downgrade``, ``tinfoil.nonce``,
``tinfoil.crypto_material_hash``, ``tinfoil.device_evidence_hash``, ``tinfoil.report_data``, the CPU
checks (with the document's VCEK, CRL and Intel PCS answers, and the REPORT_DATA computed from the
client's nonce and the sections as served), ``tinfoil.tls_key`` and ``tinfoil.hpke_key`` (its
``tls``/``hpke`` crypto material items), the GPU and NVSwitch checks of its device evidence, the code
release from its ``sigstore-code`` collateral (demo: the native release), then
``tinfoil.freshness.code``, ``tinfoil.platform.endorsements``, ``tinfoil.freshness.platform``,
``tinfoil.machine``, ``tinfoil.platform.measurement`` (TDX) and ``tinfoil.freshness.deadline``
(:mod:`verifier.providers.tinfoil.reference`). A v3 document whose layout cannot be told (a mix,
or neither's members) is a failing ``tinfoil.layout`` alone.

A v2 document (no nonce) runs ``tinfoil.parse``, ``tinfoil.downgrade`` (refused once the host was
seen serving v3), ``tinfoil.freshness`` (always fails: nothing in v2 is fresh), the CPU checks,
``tinfoil.tls_key`` (REPORT_DATA[0:32] is the TLS key's SPKI hash), ``tinfoil.hpke_key``
(REPORT_DATA[32:64], and the certificate's ``hpke`` names when there is a certificate),
``tinfoil.attestation_hash`` (the certificate's ``hatt`` names) and the release checks, so it can be
authentic but never verified.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils

from verifier.appraisal import release_checks as release_ids
from verifier.appraisal.policy import Policy
from verifier.channel import ehbp
from verifier.endorsements.fetch import CollateralFetcher
from verifier.errors import ChannelError, ParseError, PolicyError
from verifier.providers.tinfoil import checks as ids
from verifier.providers.tinfoil import document as docs
from verifier.providers.tinfoil import envelope as env
from verifier.providers.tinfoil import reference
from verifier.providers.tinfoil.release import (
    CODE_PREDICATE,
    HARDWARE_PREDICATE,
    ReleaseFetch,
    appraise_release_fetch,
    hardware_measurement_check,
    snp_measurement_check,
    tdx_measurement_check,
)
from verifier.providers.tinfoil.rules import TinfoilPolicy
from verifier.result import AttestationResult, Check, Status, failed, iso, passed, skipped
from verifier.strict_json import load_strict_json

Document = docs.V3Document | docs.V2Document | env.EnvelopeDocument
"""Any parsed Tinfoil document: the June 2026 v3 layout, v2, or the current v3 layout."""

KIND = "tinfoil"
SWITCHED_TOPOLOGY_GPUS = 8
CERTIFICATE_ERRORS = (ParseError, ValueError, TypeError, UnsupportedAlgorithm)
"""What a hostile certificate can raise, lazily, when its key or extensions are read."""
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Repository:
    """Which repository's releases the host must run, and how that was decided."""

    name: str | None
    check: Check


@dataclass(frozen=True)
class Fetched:
    """What the provider fetched for one appraisal (all optional: an offline file has none of it)."""

    peer_spki: bytes | None = None
    """The DER SubjectPublicKeyInfo of the TLS peer that served the document (None: not known)."""
    transport: str = "unknown"
    """``"https"``, ``"http"`` (no TLS at all) or ``"unknown"`` (a saved file)."""
    repository: Repository | None = None
    code_release: ReleaseFetch | None = None
    hardware_release: ReleaseFetch | None = None
    demo_release: Mapping[str, Any] | None = None
    v3_seen: str | None = None
    """When this host was first seen serving v3 (from the state directory), or None."""


@dataclass
class _Run:
    checks: list[Check] = field(default_factory=list)
    claims: dict[str, Any] = field(default_factory=dict)
    evidence: dict[str, str] = field(default_factory=dict)

    def add(self, check: Check) -> Check:
        self.checks.append(check)
        return check


def _result(run: _Run, *, at: dt.datetime, nonce: bytes | None, policy: Policy) -> AttestationResult:
    return AttestationResult(KIND, at, nonce, policy.ref, tuple(run.checks), run.evidence, run.claims)


def appraise_document(raw: bytes, *, nonce: bytes | None, policy: Policy, at: dt.datetime,
                      host: str, fetched: Fetched, fetcher: CollateralFetcher | None,
                      service_check: Check | None = None, certificates: Sequence[bytes] = (),
                      crls: Sequence[bytes] = (), trusted_root: bytes | None = None,
                      log_http: httpx.Client | None = None,
                      state_dir: Path | None = None) -> tuple[AttestationResult, Document | None]:
    """Appraise a served (or saved) document; see the module docstring for the checks.

    ``nonce`` is the client's (None for a saved document checked without one); ``certificates``
    and ``crls`` add AMD certificates and CRLs (``--cert``, ``--crl``); ``trusted_root`` is a
    Sigstore trusted root (None: the sigstore package's production root, offline)."""
    tinfoil = TinfoilPolicy.from_policy(policy)
    run = _Run()
    run.evidence["document"] = hashlib.sha256(raw).hexdigest()
    run.claims.update({"host": host, "transport": "EHBP (HPKE to the attested key); it cannot detect a response cut short"})
    if service_check is not None:
        run.add(service_check)
    try:
        doc: Document = env.parse_any(raw)
    except ParseError as e:
        if e.reason == "layout":
            run.add(failed(ids.LAYOUT, f"The v3 document's layout cannot be told: {e}; nothing in it is used.", authenticity=True))
        else:
            run.add(failed(ids.PARSE, f"The attestation document is malformed: {e}.", authenticity=True))
        return _result(run, at=at, nonce=nonce, policy=policy), None
    try:
        if isinstance(doc, env.EnvelopeDocument):
            _appraise_envelope(run, doc, nonce=nonce, policy=policy, tinfoil=tinfoil, at=at, fetched=fetched,
                               fetcher=fetcher, certificates=certificates, crls=crls, trusted_root=trusted_root,
                               log_http=log_http, state_dir=state_dir)
        elif isinstance(doc, docs.V3Document):
            _appraise_v3(run, doc, nonce=nonce, policy=policy, tinfoil=tinfoil, at=at, fetched=fetched,
                         fetcher=fetcher, certificates=certificates, crls=crls, trusted_root=trusted_root,
                         log_http=log_http, state_dir=state_dir)
        else:
            _appraise_v2(run, doc, host=host, policy=policy, tinfoil=tinfoil, at=at, fetched=fetched,
                         fetcher=fetcher, certificates=certificates, crls=crls, trusted_root=trusted_root)
    except PolicyError:
        raise
    except Exception as e:  # defence in depth: a bug must refuse, never crash the caller
        log.exception("Tinfoil appraisal failed unexpectedly")
        run.add(failed(ids.INTERNAL, f"The verifier failed unexpectedly ({type(e).__name__}: {e}); the evidence is refused.", authenticity=True))
    return _result(run, at=at, nonce=nonce, policy=policy), doc


# -- v3 ---------------------------------------------------------------------------------------------

def _appraise_v3(run: _Run, doc: docs.V3Document, *, nonce: bytes | None, policy: Policy,
                 tinfoil: TinfoilPolicy, at: dt.datetime, fetched: Fetched,
                 fetcher: CollateralFetcher | None, certificates: Sequence[bytes], crls: Sequence[bytes],
                 trusted_root: bytes | None, log_http: httpx.Client | None, state_dir: Path | None) -> None:
    extra = f"; unknown members {', '.join(doc.unknown_members)} (covered by the signature)" if doc.unknown_members else ""
    run.add(passed(ids.PARSE, f"A v3 attestation document: {doc.platform} CPU evidence ({len(doc.report)} bytes), "
                   f"{len(doc.gpus)} GPU(s), {len(doc.nvswitches)} NVSwitch(es){extra}."))
    run.add(passed(ids.DOWNGRADE, "A v3 document, which answers this client's nonce; once remembered for this host, a v2 answer from it is refused as a downgrade."))
    run.claims.update({"format": docs.FORMAT_V3, "platform": doc.platform, "tls_key_fp": doc.tls_key_fp.hex(),
                       "hpke_key": doc.hpke_key.hex()})

    # 4. nonce
    if nonce is None:
        run.add(skipped(ids.NONCE, f"No client nonce was given; the document answers nonce {doc.nonce.hex()[:16]}… (pass --nonce)."))
        bound_nonce = doc.nonce
    elif hmac.compare_digest(doc.nonce, nonce):
        run.add(passed(ids.NONCE, "The document answers the nonce this client chose just now."))
        bound_nonce = nonce
    else:
        run.add(failed(ids.NONCE, f"The document answers nonce {doc.nonce.hex()[:16]}…, not this client's {nonce.hex()[:16]}…: it is replayed or stale."))
        bound_nonce = nonce

    # 5-6. GPU and NVSwitch evidence hashes, over the exact bytes served
    gpu_hash = hashlib.sha256(doc.gpu_raw).digest() if doc.gpu_raw is not None else None
    if doc.gpu_raw is None:
        run.add(passed(ids.GPU_HASH, "The document carries no GPU evidence and binds no GPU hash (a CPU-only enclave).", required=False))
    else:
        assert doc.gpu_evidence_hash is not None and gpu_hash is not None
        run.evidence["gpu"] = gpu_hash.hex()
        if hmac.compare_digest(gpu_hash, doc.gpu_evidence_hash):
            run.add(passed(ids.GPU_HASH, f"SHA-256 of the {len(doc.gpu_raw)} bytes of GPU evidence as served is gpu_evidence_hash {gpu_hash.hex()[:16]}…."))
        else:
            run.add(failed(ids.GPU_HASH, f"SHA-256 of the GPU evidence as served is {gpu_hash.hex()[:16]}…, but the document binds {doc.gpu_evidence_hash.hex()[:16]}…: the GPU evidence was altered."))
    nvs_hash_for_binding = None
    switched = len(doc.gpus) == SWITCHED_TOPOLOGY_GPUS and any(g.arch.upper() == "HOPPER" for g in doc.gpus)
    if doc.nvswitch_raw is not None:
        assert doc.nvswitch_evidence_hash is not None
        computed = hashlib.sha256(doc.nvswitch_raw).digest()
        run.evidence["nvswitch"] = computed.hex()
        # The reported hash is what the hardware bound; using it keeps TLS, HPKE, nonce and GPU
        # bound even when Tinfoil's server re-encodes the NVSwitch JSON (teep tinfoil_nvswitch_json.md).
        nvs_hash_for_binding = doc.nvswitch_evidence_hash
        if hmac.compare_digest(computed, doc.nvswitch_evidence_hash):
            run.add(passed(ids.NVSWITCH_HASH, f"SHA-256 of the NVSwitch evidence as served is nvswitch_evidence_hash {computed.hex()[:16]}…."))
        else:
            run.add(failed(ids.NVSWITCH_HASH, f"SHA-256 of the NVSwitch evidence as served is {computed.hex()[:16]}…, not the bound {doc.nvswitch_evidence_hash.hex()[:16]}… (altered, or re-encoded by the server): the NVSwitch evidence is not bound."))
    elif switched:
        run.add(failed(ids.NVSWITCH_HASH, "Eight Hopper GPUs sit behind NVSwitches, but the document carries no NVSwitch evidence."))

    # 7. the CPU evidence, with the binding as its REPORT_DATA check
    expected = doc.expected_report_data(nonce=bound_nonce, gpu_hash=gpu_hash, nvswitch_hash=nvs_hash_for_binding)
    run.claims["expected_report_data"] = expected.hex()
    measurement = _cpu(run, doc.platform, doc.report, [*certificates, *_extra_certificates(doc.raw)], crls,
                       policy=policy, at=at, expected=expected, fetcher=fetcher)

    # 8-9. the envelope: certificate key == tls_key_fp, then its signature
    key: ec.EllipticCurvePublicKey | None = None
    try:
        cert = docs.load_certificate(doc.certificate_pem, "certificate")
        fp = docs.spki_sha256(cert)
        run.claims["certificate"] = {"subject": cert.subject.rfc4514_string(), "issuer": cert.issuer.rfc4514_string(),
                                     "not_after": cert.not_valid_after_utc.isoformat()}
        if not hmac.compare_digest(fp, doc.tls_key_fp):
            run.add(failed(ids.CERTIFICATE, f"The served certificate's key has SPKI SHA-256 {fp.hex()[:16]}…, not the bound tls_key_fp {doc.tls_key_fp.hex()[:16]}….", authenticity=True))
        else:
            public = cert.public_key()
            if isinstance(public, ec.EllipticCurvePublicKey):
                key = public
                run.add(passed(ids.CERTIFICATE, f"The served certificate ({cert.subject.rfc4514_string()}) holds the bound TLS key ({public.curve.name}).", authenticity=True))
            else:
                run.add(failed(ids.CERTIFICATE, "The served certificate's key is not an ECDSA key: the envelope signature cannot be checked.", authenticity=True))
    except CERTIFICATE_ERRORS as e:
        run.add(failed(ids.CERTIFICATE, f"The served certificate cannot be read ({e}).", authenticity=True))
    if key is None:
        run.add(skipped(ids.SIGNATURE, "Not checked: no usable certificate key.", authenticity=True))
    else:
        try:
            key.verify(doc.signature, hashlib.sha256(doc.signed_payload).digest(), ec.ECDSA(utils.Prehashed(hashes.SHA256())))
            run.add(passed(ids.SIGNATURE, "The document is signed by the bound TLS key (ECDSA over SHA-256 of the body with the signature blanked).", authenticity=True))
        except (InvalidSignature, ValueError):
            run.add(failed(ids.SIGNATURE, "The envelope signature does not verify with the bound TLS key: the document was altered after the enclave signed it.", authenticity=True))

    # 10-11. TLS peer and HPKE key
    run.add(_tls_check(fetched, doc.tls_key_fp, tinfoil, "tls_key_fp"))
    run.add(_hpke_check(doc.hpke_key))

    # 12-13. GPUs and NVSwitches
    _gpus(run, doc, policy=policy, at=at, nonce=bound_nonce, fetcher=fetcher, switched=switched)

    # 14-16. releases
    _releases(run, doc.platform, measurement, policy=policy, tinfoil=tinfoil, at=at, fetched=fetched,
              trusted_root=trusted_root, log_http=log_http, state_dir=state_dir)


def _extra_certificates(raw: bytes) -> list[bytes]:
    """``cpu.certificates`` (v3) or ``certificates`` (v2), base64 DER: an enclave-chat extension the
    reference enclave's demo mode uses to carry its demo VCEK chain, which no KDS serves; Tinfoil
    leaves the VCEK to AMD KDS. Whatever is given is still checked up to the policy's pinned ARK."""
    try:
        doc = load_strict_json(raw, "document")
        cpu = doc.get("cpu", {})
        items = cpu.get("certificates", []) if isinstance(cpu, dict) else []
        items = items or doc.get("certificates", [])
        if not isinstance(items, list):
            return []
        return [base64.b64decode(c, validate=True) for c in items[:8] if isinstance(c, str)]
    except (ParseError, ValueError, TypeError, AttributeError):
        return []


def _cpu(run: _Run, platform: str, report: bytes, certificates: Sequence[bytes], crls: Sequence[bytes], *,
         policy: Policy, at: dt.datetime, expected: bytes | None,
         fetcher: CollateralFetcher | None) -> tuple[str, dict[str, bytes]] | None:
    """The CPU checks; returns the platform and its authentic measurements (None if not authentic)."""
    if platform == "sev-snp":
        from verifier.appraisal.sev_snp import appraise_snp

        snp = appraise_snp(report, certificates, policy=policy, at=at, expected_report_data=expected,
                           fetcher=fetcher, crls=crls)
        for c in snp.checks:
            run.add(c)
        run.claims["cpu"] = dict(snp.claims)
        if snp.report is None or not snp.authentic:
            return None
        return platform, {"measurement": snp.report.measurement, "machine": snp.report.chip_id}
    from verifier.appraisal.tdx import appraise_tdx

    tdx = appraise_tdx(report, policy=policy, at=at, expected_report_data=expected, fetcher=fetcher)
    for c in tdx.checks:
        run.add(c)
    run.claims["cpu"] = dict(tdx.claims)
    if tdx.quote is None or not tdx.authentic:
        return None
    body = tdx.quote.body
    regs = {"mrtd": body.mrtd, "rtmr0": body.rtmr0, "rtmr1": body.rtmr1, "rtmr2": body.rtmr2, "rtmr3": body.rtmr3}
    try:  # the PPID: the machine id Tinfoil's platform endorsements list (from the authentic PCK leaf)
        from verifier.endorsements.intel_pck import load_pck_chain, pck_extensions

        regs["machine"] = pck_extensions(load_pck_chain(tdx.quote.pck_chain_pem).leaf).ppid
    except (ParseError, ValueError):
        pass
    return platform, regs


def _tls_check(fetched: Fetched, want: bytes, tinfoil: TinfoilPolicy, what: str) -> Check:
    """``tinfoil.tls_key``: the TLS peer that served the document holds the bound key."""
    if fetched.transport == "http":
        if tinfoil.tls_binding == "off":
            return skipped(ids.TLS_KEY, "INSECURE DEMO: the service is plain http on loopback, so there is no TLS key to bind; the demo policy turns this check off (tls_binding = \"off\"). Requests are still sealed to the attested HPKE key.", required=False)
        return failed(ids.TLS_KEY, f"The document came over plain http, so no TLS peer can be shown to hold {what}; the policy requires the TLS binding.")
    if fetched.peer_spki is None:
        reason = ("the TLS peer's key is not known (the recording or connection did not keep it)"
                  if fetched.transport != "unknown" else "a saved document carries no live TLS connection")
        return skipped(ids.TLS_KEY, f"Not checked: {reason}.")
    have = hashlib.sha256(fetched.peer_spki).digest()
    if hmac.compare_digest(have, want):
        return passed(ids.TLS_KEY, f"The TLS peer that served the document holds the bound key (SPKI SHA-256 {have.hex()[:16]}…): TLS ends inside the enclave.")
    return failed(ids.TLS_KEY, f"The TLS peer's key (SPKI SHA-256 {have.hex()[:16]}…) is not the bound {what} {want.hex()[:16]}…: the connection ends outside the attested enclave.")


def _hpke_check(key: bytes) -> Check:
    try:
        ehbp.parse_public_key(key)
    except ChannelError as e:
        return failed(ids.HPKE_KEY, f"The bound HPKE key cannot be used: {e}.")
    return passed(ids.HPKE_KEY, f"Requests will be sealed (EHBP, HPKE X25519/HKDF-SHA256/AES-256-GCM) to the bound key {key.hex()[:16]}….")


def _gpus(run: _Run, doc: docs.V3Document, *, policy: Policy, at: dt.datetime, nonce: bytes,
          fetcher: CollateralFetcher | None, switched: bool) -> None:
    from verifier.appraisal.nvidia import appraise_gpu, appraise_gpus

    rims = [r for device in (*doc.gpus, *doc.nvswitches) for r in device.rims]
    gpus = appraise_gpus([(g.arch, g.evidence, g.certificate) for g in doc.gpus], policy=policy, at=at,
                         expected_nonce=nonce, fetcher=fetcher, rims=rims)
    for c in gpus.checks:
        run.add(c)
    run.claims["gpus"] = gpus.claims
    if doc.nvswitch_raw is None and not switched:
        return
    if doc.nvswitch_problem is not None:
        run.add(failed(ids.NVSWITCH, f"The NVSwitch evidence cannot be read: {doc.nvswitch_problem}."))
        return
    if not doc.nvswitches:
        run.add(failed(ids.NVSWITCH, "Eight Hopper GPUs sit behind NVSwitches, but no NVSwitch evidence was served." if switched
                       else "The nvswitch member lists no evidence."))
        return
    run.add(passed(ids.NVSWITCH, f"{len(doc.nvswitches)} NVSwitch evidence(s) served" + (" (required: eight Hopper GPUs)." if switched else ".")))
    for i, s in enumerate(doc.nvswitches):
        one = appraise_gpu(s.evidence, s.certificate, policy=policy, at=at, expected_nonce=nonce,
                           fetcher=fetcher, index=i, arch=s.arch or "LS10", rims=rims)
        prefix = f"gpu.{i}."
        for c in one.checks:
            cid = f"nvswitch.{i}." + c.id.removeprefix(prefix) if c.id.startswith(prefix) else c.id
            run.add(Check(cid, c.status, c.detail, c.required, c.authenticity, c.reason))


def _releases(run: _Run, platform: str, measured: tuple[str, dict[str, bytes]] | None, *, policy: Policy,
              tinfoil: TinfoilPolicy, at: dt.datetime, fetched: Fetched, trusted_root: bytes | None,
              log_http: httpx.Client | None, state_dir: Path | None,
              supplied_bundle: bytes | None = None, supplied_digest: str | None = None) -> None:
    if tinfoil.release_source == "demo":
        _demo_release(run, platform, measured, policy=policy, fetched=fetched, log_http=log_http,
                      state_dir=state_dir, at=at)
        return
    repo = fetched.repository
    if repo is None:
        run.add(failed(ids.REPOSITORY, "No repository was resolved for this host."))
        return
    run.add(repo.check)
    if repo.name is None:
        for i in (ids.RELEASE_LATEST, ids.RELEASE_MEASUREMENT):
            run.add(skipped(i, "No repository, so no release to compare with."))
        return
    run.claims["repository"] = repo.name
    code = fetched.code_release or ReleaseFetch(repo.name, "the evidence", supplied=True)
    outcome = appraise_release_fetch(code, ids=ids.CODE_RELEASE,
                                     predicate_type=CODE_PREDICATE, workflow=tinfoil.workflow_for(repo.name),
                                     supplied_bundle=supplied_bundle, supplied_digest=supplied_digest,
                                     trusted_root=trusted_root)
    for c in outcome.checks:
        run.add(c)
    run.claims["release"] = outcome.claims
    if measured is None:
        run.add(skipped(ids.RELEASE_MEASUREMENT, "No authentic measurement to compare with the release."))
    elif outcome.predicate is None:
        run.add(skipped(ids.RELEASE_MEASUREMENT, "No verified release predicate to compare the measurement with."))
    elif platform == "sev-snp":
        run.add(snp_measurement_check(outcome.predicate, measured[1]["measurement"], outcome.tag))
    else:
        regs = measured[1]
        run.add(tdx_measurement_check(outcome.predicate, regs["rtmr1"], regs["rtmr2"], outcome.tag))
    if platform != "tdx":
        return
    hardware = fetched.hardware_release
    if hardware is None:
        run.add(skipped(ids.HARDWARE_LATEST, "The hardware-measurements release was not fetched (a saved document)."))
        run.add(skipped(ids.HARDWARE_MEASUREMENT, "No hardware-measurements release to compare MRTD and RTMR0 with."))
        return
    hw = appraise_release_fetch(hardware, ids=ids.HARDWARE_RELEASE,
                                predicate_type=HARDWARE_PREDICATE,
                                workflow=tinfoil.workflow_for(hardware.repo), trusted_root=trusted_root)
    for c in hw.checks:
        run.add(c)
    run.claims["hardware_release"] = hw.claims
    if measured is None or hw.predicate is None:
        run.add(skipped(ids.HARDWARE_MEASUREMENT, "No authentic MRTD/RTMR0 or no verified hardware release to compare."))
        return
    check, platform_name = hardware_measurement_check(hw.predicate, measured[1]["mrtd"], measured[1]["rtmr0"], hw.tag)
    run.add(check)
    if platform_name:
        run.claims["hardware_platform"] = platform_name


def _demo_release(run: _Run, platform: str, measured: tuple[str, dict[str, bytes]] | None, *,
                  policy: Policy, fetched: Fetched, log_http: httpx.Client | None,
                  state_dir: Path | None, at: dt.datetime) -> bool:
    """INSECURE DEMO: the native release statement (DSSE, demo publisher) the enclave serves; True
    when every release check held."""
    from verifier.appraisal.release import appraise_release

    run.add(skipped(ids.REPOSITORY, "INSECURE DEMO: no GitHub release; the demo policy checks the reference enclave's DSSE release statement instead.", required=False))
    if measured is None or platform != "sev-snp":
        run.add(skipped(release_ids.MEASUREMENT, "No authentic SEV-SNP measurement to compare with a release."))
        return False
    release = fetched.demo_release
    log = release.get("log") if isinstance(release, Mapping) else None
    log_url = log.get("url") if isinstance(log, Mapping) and isinstance(log.get("url"), str) else None
    outcome = appraise_release(release, platform=platform, measurement=measured[1]["measurement"],
                               policy=policy, log_http=log_http, state_dir=state_dir,
                               bundle_log_url=log_url, at=at)
    for c in outcome.checks:
        run.add(c)
    run.claims["release"] = dict(outcome.claims)
    return all(c.status is not Status.FAIL and not (c.status is Status.SKIP and c.required) for c in outcome.checks)


# -- v3, Tinfoil's current layout (the envelope) ---------------------------------------------------

def _hash_check(cid: str, what: str, computed: bytes, endorsed: bytes, size: int) -> Check:
    if hmac.compare_digest(computed, endorsed):
        return passed(cid, f"SHA-256 of the {size} bytes of the {what} section as served is the endorsed {computed.hex()[:16]}….")
    return failed(cid, f"SHA-256 of the {what} section as served is {computed.hex()[:16]}…, but cpu_evidence.endorsed names {endorsed.hex()[:16]}…: the {what} was altered.")


def _appraise_envelope(run: _Run, doc: env.EnvelopeDocument, *, nonce: bytes | None, policy: Policy,
                       tinfoil: TinfoilPolicy, at: dt.datetime, fetched: Fetched,
                       fetcher: CollateralFetcher | None, certificates: Sequence[bytes], crls: Sequence[bytes],
                       trusted_root: bytes | None, log_http: httpx.Client | None, state_dir: Path | None) -> None:
    """The checks of a current-layout document, in catalogue order (docs/tinfoil.md)."""
    coll = doc.collateral
    run.add(passed(ids.LAYOUT, "Tinfoil's current v3 layout (challenge, cpu_evidence, crypto_material, device_evidence, collateral), told by its members; it has none of the June 2026 layout's.", authenticity=True))
    others = [f"{d.id} ({d.kind or 'no kind'})" for d in doc.devices if d.kind not in (env.KIND_GPU, env.KIND_NVSWITCH)]
    extra = (f"; devices not appraised: {', '.join(others)}" if others else "") + (
        f"; collateral not used: {', '.join(coll.ignored)}" if coll.ignored else "")
    run.add(passed(ids.PARSE, f"A current-layout v3 document: {doc.platform} CPU evidence ({len(doc.cpu.report)} bytes), "
                   f"{len(doc.crypto_material)} crypto material item(s), {len(doc.gpus)} GPU(s), "
                   f"{len(doc.nvswitch_items)} NVSwitch item(s){extra}.", authenticity=True))
    run.add(passed(ids.DOWNGRADE, "A v3 document, which answers this client's nonce; once remembered for this host, a v2 answer from it is refused as a downgrade."))
    run.claims.update({"format": env.FORMAT, "layout": "current", "platform": doc.platform,
                       "crypto_material": [{"id": i.id, "format": i.format} for i in doc.crypto_material]})

    # nonce
    served = doc.challenge.nonce
    if nonce is None:
        run.add(skipped(ids.NONCE, f"No client nonce was given; the document answers nonce {served.hex()[:16]}… (pass --nonce)."))
        bound_nonce = served
    elif hmac.compare_digest(served, nonce):
        run.add(passed(ids.NONCE, "The document's challenge is the nonce this client chose just now."))
        bound_nonce = nonce
    else:
        run.add(failed(ids.NONCE, f"The document answers nonce {served.hex()[:16]}…, not this client's {nonce.hex()[:16]}…: it is replayed or stale."))
        bound_nonce = nonce

    # the endorsed sections, hashed as served, and the REPORT_DATA they make with the client's nonce
    run.evidence["crypto_material"] = doc.crypto_material_hash.hex()
    run.evidence["device_evidence"] = doc.device_evidence_hash.hex()
    run.add(_hash_check(ids.CRYPTO_MATERIAL_HASH, "crypto_material", doc.crypto_material_hash,
                        doc.cpu.crypto_material_hash, len(doc.crypto_material_bytes)))
    run.add(_hash_check(ids.DEVICE_EVIDENCE_HASH, "device_evidence", doc.device_evidence_hash,
                        doc.cpu.device_evidence_hash, len(doc.device_evidence_bytes)))
    expected = doc.expected_report_data(bound_nonce)
    run.claims["expected_report_data"] = expected.hex()
    if hmac.compare_digest(expected, doc.challenge.report_data):
        run.add(passed(ids.REPORT_DATA, "challenge.report_data is SHA-256(report-data/v1 || nonce || crypto_material hash || device_evidence hash) || 0^32, computed here; the CPU evidence must hold it."))
    else:
        run.add(failed(ids.REPORT_DATA, f"challenge.report_data {doc.challenge.report_data.hex()[:16]}… is not the {expected.hex()[:16]}… computed here from the nonce and the sections as served."))

    # the CPU evidence, with the document's own collateral
    blobs = list(certificates)
    if coll.vcek is not None:
        blobs = [coll.vcek.vcek_der, *([coll.vcek.cert_chain_pem] if coll.vcek.cert_chain_pem else []), *blobs]
    cpu_crls = [*([coll.amd_crl] if coll.amd_crl is not None else []), *crls]
    cpu_fetcher = fetcher
    if coll.intel_pcs is not None:
        from verifier.providers.tinfoil.collateral import DocumentCollateral

        cpu_fetcher = DocumentCollateral(coll.intel_pcs, fetcher)
    measured = _cpu(run, doc.platform, doc.cpu.report, blobs, cpu_crls, policy=policy, at=at, expected=expected,
                    fetcher=cpu_fetcher)

    # the transport keys, by id and format URI
    tls = doc.item(env.TLS_ID)
    if tls is None or tls.format != env.KEY_TLS_FINGERPRINT:
        run.add(failed(ids.TLS_KEY, f"The crypto material has no {env.TLS_ID!r} item of format {env.KEY_TLS_FINGERPRINT}"
                       + (f" (it is {tls.format[:80]!r})" if tls is not None else "") + ": no TLS key is endorsed."))
    else:
        run.claims["tls_key_fp"] = tls.data.hex()
        run.add(_tls_check(fetched, tls.data, tinfoil, "TLS key fingerprint"))
    hpke = doc.item(env.HPKE_ID)
    if hpke is None or hpke.format != env.KEY_X25519_HPKE:
        run.add(failed(ids.HPKE_KEY, f"The crypto material has no {env.HPKE_ID!r} item of format {env.KEY_X25519_HPKE}"
                       + (f" (it is {hpke.format[:80]!r})" if hpke is not None else "") + ": requests could not be sealed (EHBP)."))
    else:
        run.claims["hpke_key"] = hpke.data.hex()
        run.add(_hpke_check(hpke.data))

    # the devices
    _envelope_gpus(run, doc, policy=policy, at=at, nonce=bound_nonce, fetcher=fetcher)

    # the reference values: code release, its witness, the platform endorsements, theirs
    demo = tinfoil.release_source == "demo"
    code = _envelope_code_release(run, doc, measured, policy=policy, tinfoil=tinfoil, at=at, fetched=fetched,
                                  trusted_root=trusted_root, log_http=log_http, state_dir=state_dir)
    if demo:
        code_check, code_time = reference.demo_witness(ids.FRESHNESS_CODE, coll.demo_freshness.get(env.CODE_FRESHNESS_ID),
                                                       code, what="code release", policy=policy, at=at, tinfoil=tinfoil)
        platform_check, endorsements = reference.demo_platform(coll.demo_platform, policy=policy)
    else:
        code_check, code_time = reference.sigstore_witness(ids.FRESHNESS_CODE, coll.freshness.get(env.CODE_FRESHNESS_ID),
                                                           code, what="code release", trusted_root=trusted_root,
                                                           at=at, tinfoil=tinfoil)
        platform_check, endorsements = reference.sigstore_platform(coll.sigstore_platform, trusted_root=trusted_root)
    run.add(code_check)
    run.add(platform_check)
    artifact = endorsements.artifact if endorsements is not None else None
    if demo:
        witness, platform_time = reference.demo_witness(ids.FRESHNESS_PLATFORM, coll.demo_freshness.get(env.PLATFORM_FRESHNESS_ID),
                                                        artifact, what="platform endorsements", policy=policy, at=at,
                                                        tinfoil=tinfoil)
    else:
        witness, platform_time = reference.sigstore_witness(ids.FRESHNESS_PLATFORM, coll.freshness.get(env.PLATFORM_FRESHNESS_ID),
                                                            artifact, what="platform endorsements",
                                                            trusted_root=trusted_root, at=at, tinfoil=tinfoil)
    run.add(witness)
    regs = measured[1] if measured is not None else {}
    run.add(reference.machine_check(regs.get("machine"), doc.platform, endorsements, tinfoil))
    if doc.platform == "tdx":
        check, name = reference.platform_measurement_check(endorsements, regs.get("mrtd"), regs.get("rtmr0"))
        run.add(check)
        if name:
            run.claims["hardware_platform"] = name
    deadline_check, deadline = reference.deadline_check([code_time, platform_time], at=at, tinfoil=tinfoil)
    run.add(deadline_check)
    if deadline is not None:
        run.claims["freshness_expires_at"] = iso(deadline)


def _envelope_gpus(run: _Run, doc: env.EnvelopeDocument, *, policy: Policy, at: dt.datetime, nonce: bytes,
                   fetcher: CollateralFetcher | None) -> None:
    """Each GPU item's SPDM evidence by our GPU verifier; NVSwitch items as :func:`_gpus` does."""
    from verifier.appraisal.nvidia import appraise_gpu, appraise_gpus

    gpus = [d.gpu for d in doc.gpus if d.gpu is not None]
    rims = list(doc.collateral.rims)
    result = appraise_gpus([(g.arch, g.evidence, g.certificate) for g in gpus], policy=policy, at=at,
                           expected_nonce=nonce, fetcher=fetcher, rims=rims)
    for c in result.checks:
        run.add(c)
    run.claims["gpus"] = result.claims
    switched = len(gpus) == SWITCHED_TOPOLOGY_GPUS and any(g.arch.upper() == "HOPPER" for g in gpus)
    items = doc.nvswitch_items
    if not items and not switched:
        return
    problems = [f"{i.id}: {i.problem}" for i in items if i.problem is not None]
    switches = [s for i in items for s in i.nvswitches]
    if problems:
        run.add(failed(ids.NVSWITCH, f"The NVSwitch evidence cannot be read: {'; '.join(problems)}."))
        return
    if not switches:
        run.add(failed(ids.NVSWITCH, "Eight Hopper GPUs sit behind NVSwitches, but the device evidence has no NVSwitch evidence." if switched
                       else "The NVSwitch items list no evidence."))
        return
    run.add(passed(ids.NVSWITCH, f"{len(switches)} NVSwitch evidence(s) in the endorsed device evidence" + (" (required: eight Hopper GPUs)." if switched else ".")))
    for i, s in enumerate(switches):
        one = appraise_gpu(s.evidence, s.certificate, policy=policy, at=at, expected_nonce=nonce,
                           fetcher=fetcher, index=i, arch=s.arch or "LS10", rims=rims)
        prefix = f"gpu.{i}."
        for c in one.checks:
            cid = f"nvswitch.{i}." + c.id.removeprefix(prefix) if c.id.startswith(prefix) else c.id
            run.add(Check(cid, c.status, c.detail, c.required, c.authenticity, c.reason))


def _envelope_code_release(run: _Run, doc: env.EnvelopeDocument, measured: tuple[str, dict[str, bytes]] | None, *,
                           policy: Policy, tinfoil: TinfoilPolicy, at: dt.datetime, fetched: Fetched,
                           trusted_root: bytes | None, log_http: httpx.Client | None,
                           state_dir: Path | None) -> reference.Artifact | None:
    """The code release from the document's own collateral; returns what its freshness witness
    must endorse (None unless every release check held)."""
    coll = doc.collateral
    if tinfoil.release_source == "demo":
        release = coll.demo_release
        demo_fetched = Fetched(fetched.peer_spki, fetched.transport, demo_release=release, v3_seen=fetched.v3_seen)
        ok = _demo_release(run, doc.platform, measured, policy=policy, fetched=demo_fetched, log_http=log_http,
                           state_dir=state_dir, at=at)
        if not ok or release is None:
            return None
        try:
            envelope = base64.b64decode(release["envelope"], validate=True)
        except (KeyError, TypeError, ValueError):
            return None
        return reference.Artifact(None, None, None, None, hashlib.sha256(envelope).hexdigest())
    repo = fetched.repository
    if repo is None:
        run.add(failed(ids.REPOSITORY, "No repository was resolved for this host."))
        return None
    run.add(repo.check)
    if repo.name is None:
        for i in (ids.RELEASE_LATEST, ids.RELEASE_MEASUREMENT):
            run.add(skipped(i, "No repository, so no release to compare with."))
        return None
    run.claims["repository"] = repo.name
    ref = coll.sigstore_code
    outcome = appraise_release_fetch(ReleaseFetch(repo.name, "the document's sigstore-code collateral", supplied=True),
                                     ids=ids.CODE_RELEASE, predicate_type=CODE_PREDICATE,
                                     workflow=tinfoil.workflow_for(repo.name),
                                     supplied_bundle=ref.bundle if ref is not None else None,
                                     supplied_digest=ref.digest if ref is not None else None,
                                     supplied_tag=ref.tag if ref is not None else None, trusted_root=trusted_root)
    for c in outcome.checks:
        run.add(c)
    run.claims["release"] = outcome.claims
    if measured is None:
        run.add(skipped(ids.RELEASE_MEASUREMENT, "No authentic measurement to compare with the release."))
        return None
    if outcome.predicate is None:
        run.add(skipped(ids.RELEASE_MEASUREMENT, "No verified release predicate to compare the measurement with."))
        return None
    regs = measured[1]
    check = (snp_measurement_check(outcome.predicate, regs["measurement"], outcome.tag) if doc.platform == "sev-snp"
             else tdx_measurement_check(outcome.predicate, regs["rtmr1"], regs["rtmr2"], outcome.tag))
    run.add(check)
    if check.status is not Status.PASS or outcome.digest is None:
        return None
    return reference.Artifact(repo.name, outcome.tag,
                              reference.bundle_commit(outcome.bundle) if outcome.bundle is not None else None,
                              outcome.subjects[0] if outcome.subjects else None, outcome.digest)


# -- v2 ---------------------------------------------------------------------------------------------

def _appraise_v2(run: _Run, doc: docs.V2Document, *, host: str, policy: Policy, tinfoil: TinfoilPolicy,
                 at: dt.datetime, fetched: Fetched, fetcher: CollateralFetcher | None,
                 certificates: Sequence[bytes], crls: Sequence[bytes], trusted_root: bytes | None) -> None:
    what = "an ATC attestation bundle around a v2 document" if doc.bundle else "a v2 document"
    run.add(passed(ids.PARSE, f"{what[0].upper()}{what[1:]}: {doc.platform} report ({len(doc.report)} bytes)."))
    run.claims.update({"format": doc.format, "platform": doc.platform})
    subject = doc.domain or host
    if doc.domain:
        run.claims["domain"] = doc.domain
    if fetched.v3_seen:
        run.add(failed(ids.DOWNGRADE, f"{subject} served v3 documents (first seen {fetched.v3_seen}); a v2 answer, which carries no nonce, is a downgrade and is refused."))
    else:
        run.add(passed(ids.DOWNGRADE, f"This client has not seen {subject} serve v3, so a v2 document is not a downgrade here.", required=False))
    run.add(failed(ids.FRESHNESS, "A v2 document answers no nonce: it may be old or replayed, so it can be authentic but never verified. Ask the service for v3 (?nonce=)."))

    cert = None
    names = None
    tls_fp = None
    if doc.enclave_cert_pem is not None:
        try:
            cert = docs.load_certificate(doc.enclave_cert_pem, "enclaveCert")
            names = docs.certificate_names(cert)
            tls_fp = docs.spki_sha256(cert)
        except CERTIFICATE_ERRORS as e:
            cert, names = None, None
            run.add(failed(ids.CERTIFICATE, f"The enclave certificate cannot be read ({e}).", authenticity=True))
    blobs = [*([doc.vcek] if doc.vcek else []), *certificates, *_extra_certificates(doc.raw)]
    # No expected REPORT_DATA: v2 binds keys, not a nonce, so the CPU's binding check stays a
    # required skip (freshness unknown); the keys are compared below, part by part.
    measured = _cpu(run, doc.platform, doc.report, blobs, crls, policy=policy, at=at, expected=None, fetcher=fetcher)
    report_data = _report_data(run)
    if report_data is None:
        run.add(skipped(ids.TLS_KEY, "No authentic REPORT_DATA to compare the TLS key with.", authenticity=cert is not None))
        run.add(skipped(ids.HPKE_KEY, "No authentic REPORT_DATA to read the HPKE key from."))
    else:
        if cert is not None:
            assert tls_fp is not None
            if hmac.compare_digest(report_data[:32], tls_fp):
                run.add(passed(ids.TLS_KEY, f"REPORT_DATA[0:32] is the SHA-256 of the enclave certificate's key ({cert.subject.rfc4514_string()}).", authenticity=True))
            else:
                run.add(failed(ids.TLS_KEY, f"REPORT_DATA[0:32] {report_data[:8].hex()}… is not the SHA-256 of the enclave certificate's key {tls_fp[:8].hex()}….", authenticity=True))
        else:
            run.add(_tls_check(fetched, report_data[:32], tinfoil, "REPORT_DATA[0:32]"))
        hpke_bound = report_data[32:]
        run.claims["hpke_key"] = hpke_bound.hex()
        if names is None:
            check = _hpke_check(hpke_bound)
            run.add(check)
        elif names.hpke_key is None:
            run.add(failed(ids.HPKE_KEY, "The enclave certificate names no HPKE key (.hpke. names)" + (f": {'; '.join(names.problems)}" if names.problems else "") + "."))
        elif hmac.compare_digest(names.hpke_key, hpke_bound):
            run.add(passed(ids.HPKE_KEY, f"REPORT_DATA[32:64] is the HPKE key the enclave certificate names ({hpke_bound.hex()[:16]}…)."))
        else:
            run.add(failed(ids.HPKE_KEY, f"The enclave certificate names HPKE key {names.hpke_key.hex()[:16]}…, but REPORT_DATA[32:64] binds {hpke_bound.hex()[:16]}…."))
    if names is not None:
        if names.attestation_hash == doc.attestation_hash:
            run.add(passed(ids.ATTESTATION_HASH, f"The enclave certificate names this document (SHA-256 of format || body {doc.attestation_hash[:16]}…)."))
        else:
            run.add(failed(ids.ATTESTATION_HASH, f"The enclave certificate names attestation {str(names.attestation_hash)[:16]}…, not this document's {doc.attestation_hash[:16]}…."))

    if doc.bundle:
        repo = fetched.repository or Repository(None, skipped(ids.REPOSITORY, "No repository given for the bundle."))
        fetched = Fetched(fetched.peer_spki, fetched.transport, repo, None, None, None, fetched.v3_seen)
    _releases(run, doc.platform, measured, policy=policy, tinfoil=tinfoil, at=at, fetched=fetched,
              trusted_root=trusted_root, log_http=None, state_dir=None,
              supplied_bundle=doc.sigstore_bundle, supplied_digest=doc.digest)


def _report_data(run: _Run) -> bytes | None:
    """REPORT_DATA of the CPU evidence just appraised, when it is authentic."""
    cpu = run.claims.get("cpu")
    authentic = all(c.status is Status.PASS for c in run.checks if c.authenticity and c.id.split(".")[0] in ("snp", "tdx"))
    if not isinstance(cpu, dict) or not authentic:
        return None
    value = cpu.get("report_data")
    if not isinstance(value, str):
        return None
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        return None
    return raw if len(raw) == 64 else None


def host_of(url: str) -> str:
    return (urllib.parse.urlsplit(url).hostname or "").lower()
