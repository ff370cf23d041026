"""Appraisal of NVIDIA GPU (and NVSwitch) evidence: one :class:`Check` per step, in a fixed order.

For one device (index N), the checks are, in this order (docs/nvidia.md has one line on each):

==============================  ==============================================================  =====
id                              what passes                                                     auth
==============================  ==============================================================  =====
``gpu.N.parse``                 the report is an SPDM 1.1 GET_MEASUREMENTS request + response   yes
``gpu.N.chain.root_pinned``     the certificate chain ends at the pinned Device Identity CA key  yes
``gpu.N.chain``                 each certificate is signed by the next, valid, CA where it must  yes
``gpu.N.fwid``                  the leaf's TCG DICE FWID equals the report's FWID                yes*
``gpu.N.signature``             ECDSA P-384/SHA-384 by the leaf over request || response        yes
``gpu.N.nonce``                 the request nonce is the expected (client's) nonce
``gpu.N.arch``                  the declared architecture is the chain's (GH100 = HOPPER, ...)
``gpu.N.ocsp``                  OCSP says good for chain certificates 1..n-2 (policy ``ocsp``)
``gpu.N.rim.K.chain``           RIM K's signer chain holds to the pinned CoRIM root at ``at``
``gpu.N.rim.K.signature``       RIM K's XML signature verifies with that signer (signxml)
``gpu.N.rim.K.version``         RIM K's signed version equals the report's (driver / VBIOS)
``gpu.N.rim.K.ocsp``            OCSP says good for RIM K's chain L4..L2 (policy ``rim_ocsp``)
``gpu.N.measurements``          every active RIM index equals one of its alternatives
==============================  ==============================================================  =====

K is ``driver`` then ``vbios`` for GPUs, ``vbios`` alone for NVSwitches. (*) ``gpu.N.fwid`` is an
authenticity check when it runs; reports from drivers that predate the FWID field skip it.
For several devices (:func:`appraise_gpus`) the per-device checks come after ``gpu.count``,
``gpu.distinct`` and before ``gpu.mode``.

Sources: DMTF DSP0274 (SPDM 1.1) for the report and its signature; TCG DICE Attestation
Architecture §6.1.1 for the FWID; RFC 5280 §6.1 for the paths; RFC 6960 for OCSP; TCG RIM
information model / ISO 19770-2 SWID for the RIMs.

Nothing here raises on hostile evidence: anything that does not parse, decode or verify is a failing
check with a sentence. A malformed *policy* raises :class:`verifier.errors.PolicyError`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from verifier.appraisal.policy import Policy, Section
from verifier.endorsements import nvidia_ocsp
from verifier.endorsements.anchors import spki_sha256
from verifier.endorsements.fetch import CollateralFetcher
from verifier.endorsements.nvidia_anchors import RIM_SERVICE_URL, VENDOR_ANCHORS, GpuAnchors
from verifier.endorsements.nvidia_chain import (
    PathError,
    ValidPath,
    common_name,
    leaf_fwids,
    load_chain,
    validate_path,
)
from verifier.errors import CollateralError, ParseError, PolicyError
from verifier.evidence.nvidia import OpaqueField, SpdmReport, parse_report
from verifier.reference.rim import (
    Rim,
    RimDocument,
    RimError,
    driver_rim_id,
    load_rim,
    vbios_rim_id,
    verify_rim_chain,
    verify_rim_signature,
)
from verifier.result import Check, Checked, failed, iso, passed, skipped, utc

OCSP_CHOICES = ("required", "if-available", "off")
RIM_CHOICES = ("required", "if-available")
POLICY_KEYS = ("roots", "count", "ocsp", "rim_ocsp", "rims")
MAX_GPUS = 64

_ARCH_BY_CHIP = (("GH1", "HOPPER"), ("GB1", "BLACKWELL"), ("GB2", "BLACKWELL"), ("LS_10", "LS10"),
                 ("LS10", "LS10"))
_SWITCH_ARCHES = frozenset({"LS10"})
_RIM_ID = re.compile(r"\A[A-Za-z0-9_.\-]{1,128}\Z")
"""What a RIM id derived from report fields may look like before it goes into a URL."""


# -- policy --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GpuPolicy:
    """The ``[gpu]`` table of a policy (docs/nvidia.md)."""

    anchors: GpuAnchors = VENDOR_ANCHORS
    count: int = 0
    ocsp: str = "required"
    rim_ocsp: str = "required"
    rims: str = "required"

    @classmethod
    def from_policy(cls, policy: Policy) -> GpuPolicy:
        section = policy.section("gpu")
        section.only(*POLICY_KEYS)
        count = section.get("count", int, 0)
        if not 0 <= count <= MAX_GPUS:
            raise PolicyError(f"policy [gpu] count must be 0..{MAX_GPUS}, not {count}")
        ocsp = section.choice("ocsp", OCSP_CHOICES, "required")
        return cls(
            anchors=anchors_from_policy(section),
            count=count,
            ocsp=ocsp,
            rim_ocsp=section.choice("rim_ocsp", OCSP_CHOICES, ocsp),
            rims=section.choice("rims", RIM_CHOICES, "required"),
        )


def anchors_from_policy(section: Section) -> GpuAnchors:
    """``roots``: ``"vendor"`` (default) or ``{device = "hex", rim = "hex"}`` (SPKI SHA-256 pins)."""
    value = section.values.get("roots", "vendor")
    if value == "vendor":
        return VENDOR_ANCHORS
    if not isinstance(value, dict):
        raise PolicyError(f'policy [{section.name}] roots must be "vendor" or a table '
                          '{device = "hex", rim = "hex"}')
    table = Section(f"{section.name}.roots", value)
    table.only("device", "rim")
    pins: dict[str, str] = {}
    for key in ("device", "rim"):
        pin = table.get(key, str, "").lower()
        if len(pin) != 64 or any(c not in "0123456789abcdef" for c in pin):
            raise PolicyError(f"policy [{table.name}] {key} must be 64 hex digits (an SPKI SHA-256)")
        pins[key] = pin
    vendor = pins["device"] == VENDOR_ANCHORS.device and pins["rim"] == VENDOR_ANCHORS.rim
    return GpuAnchors(pins["device"], pins["rim"], vendor=vendor)


# -- results -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GpuAppraisal(Checked):
    """Checks (stable ids ``gpu.<index>.*`` and ``gpu.*``) and JSON-able claims."""

    checks: tuple[Check, ...]
    claims: dict[str, object] = field(default_factory=dict)





# -- collateral: RIMs and OCSP answers shared by all devices of one appraisal ---------------------


@dataclass(frozen=True)
class _RimOutcome:
    """One RIM through the three steps; ``stage`` is where it stopped (``ok`` when it did not)."""

    stage: str
    detail: str
    source: str
    doc: RimDocument | None = None
    path: ValidPath | None = None
    rim: Rim | None = None


class _Collateral:
    """RIMs and OCSP answers for one appraisal: verified once each, fetched at most once each."""

    def __init__(self, *, rims: Sequence[bytes], ocsp: Sequence[bytes], at: dt.datetime,
                 anchors: GpuAnchors, fetcher: CollateralFetcher | None,
                 nonce_source: Callable[[], bytes]) -> None:
        self.at = at
        self.anchors = anchors
        self.fetcher = fetcher
        self.ocsp_answers = [nvidia_ocsp.decode_answer_file(a) for a in ocsp]
        self.nonce_source = nonce_source
        self.unreadable: list[str] = []
        self.docs: list[tuple[str, RimDocument]] = []
        self._verified: dict[str, _RimOutcome] = {}
        self._fetched: dict[str, _RimOutcome | None] = {}
        self._ocsp_cache: dict[tuple[int, bytes], nvidia_ocsp.OcspOutcome] = {}
        for n, data in enumerate(rims):
            try:
                self.docs.append(("supplied", load_rim(data)))
            except RimError as e:
                self.unreadable.append(f"RIM #{n + 1}: {e}")

    def _verify(self, source: str, doc: RimDocument) -> _RimOutcome:
        key = hashlib.sha256(doc.data).hexdigest()
        hit = self._verified.get(key)
        if hit is not None:
            return hit
        try:
            path = verify_rim_chain(doc, pin=self.anchors.rim, at=self.at)
        except RimError as e:
            out = _RimOutcome("chain", str(e), source, doc)
        else:
            try:
                rim = verify_rim_signature(doc, path.leaf, at=self.at)
                out = _RimOutcome("ok", "", source, doc, path, rim)
            except RimError as e:
                out = _RimOutcome("signature" if e.reason == "signature" else "content", str(e),
                                  source, doc, path)
        self._verified[key] = out
        return out

    def rim_for(self, kind: str, version: str | None, rim_id: str | None) -> _RimOutcome | None:
        """The supplied RIM of ``kind`` for ``version`` (one that verifies, if several claim it), else
        the only supplied one of that kind, else one fetched by id; None when there is none."""
        of_kind = [(s, d) for s, d in self.docs if d.claimed_kind == kind]
        exact = [(s, d) for s, d in of_kind
                 if version is not None and d.claimed_version.upper() == version.upper()]
        chosen = exact or (of_kind if len(of_kind) == 1 else [])
        outcomes = [self._verify(s, d) for s, d in chosen]
        good = [o for o in outcomes if o.stage == "ok"]
        if good:
            return good[0]
        if outcomes:
            return outcomes[0]
        if rim_id is None or self.fetcher is None or not _RIM_ID.match(rim_id):
            return None
        if rim_id not in self._fetched:
            self._fetched[rim_id] = self._fetch(rim_id)
        return self._fetched[rim_id]

    def _fetch(self, rim_id: str) -> _RimOutcome | None:
        assert self.fetcher is not None
        url = RIM_SERVICE_URL + rim_id
        try:
            body = self.fetcher.get(url).body
        except CollateralError as e:
            return _RimOutcome("absent", f"{rim_id} could not be fetched: {e}", url)
        try:
            doc_json = json.loads(body)
            data = base64.b64decode(doc_json["rim"], validate=True)
        except (ValueError, KeyError, TypeError, binascii.Error, RecursionError):
            return _RimOutcome("format", f"the RIM service's answer for {rim_id} is not JSON with a "
                               "base64 'rim' member", url)
        try:
            doc = load_rim(data)
        except RimError as e:
            return _RimOutcome("format", f"the RIM service's {rim_id} is unreadable: {e}", url)
        return self._verify(url, doc)

    def ocsp_status(self, cert: x509.Certificate, issuer: x509.Certificate
                    ) -> nvidia_ocsp.OcspOutcome:
        key = (cert.serial_number, issuer.fingerprint(hashes.SHA256()))
        hit = self._ocsp_cache.get(key)
        if hit is not None:
            return hit
        outcome = nvidia_ocsp.select(self.ocsp_answers, cert, issuer, at=self.at)
        if outcome.state.unusable and self.fetcher is not None:
            fetched = nvidia_ocsp.fetch_answer(self.fetcher, cert, issuer, at=self.at,
                                               nonce_source=self.nonce_source)
            if fetched.state is not nvidia_ocsp.OcspState.ABSENT or outcome.state is nvidia_ocsp.OcspState.ABSENT:
                outcome = fetched
        self._ocsp_cache[key] = outcome
        return outcome


# -- the per-device appraisal ----------------------------------------------------------------------


def appraise_gpu(report: bytes, certificate_chain: bytes, *, policy: Policy, at: dt.datetime,
                 expected_nonce: bytes | None, fetcher: CollateralFetcher | None = None,
                 rims: Sequence[bytes] = (), ocsp: Sequence[bytes] = (), index: int = 0,
                 arch: str | None = None) -> GpuAppraisal:
    """Appraise one GPU's (or NVSwitch's) report and chain at time ``at`` under ``policy``.

    ``rims`` and ``ocsp`` are collateral at hand (RIM XML; OCSP answers, DER or base64); with a
    ``fetcher`` whatever is missing is asked of NVIDIA's RIM service and OCSP responder. ``arch`` is
    what the bundle declares (``HOPPER``, ``BLACKWELL``, ``LS10``), checked against the chain.
    """
    gpu_policy = GpuPolicy.from_policy(policy)
    at = utc(at)
    collateral = _Collateral(rims=rims, ocsp=ocsp, at=at, anchors=gpu_policy.anchors, fetcher=fetcher,
                             nonce_source=_random_nonce)
    checks, claims, _ = _appraise_one(report, certificate_chain, arch=arch, index=index,
                                      policy=gpu_policy, expected_nonce=expected_nonce,
                                      collateral=collateral)
    return GpuAppraisal(tuple(checks), claims)


def appraise_gpus(gpus: Sequence[tuple[str, bytes, bytes]], *, policy: Policy, at: dt.datetime,
                  expected_nonce: bytes | None, fetcher: CollateralFetcher | None = None,
                  rims: Sequence[bytes] = (), ocsp: Sequence[bytes] = ()) -> GpuAppraisal:
    """Appraise ``(arch, report, certificate_chain)`` for each device, in bundle order.

    Adds ``gpu.count`` (as many devices as the policy's ``count``; 0 requires none), ``gpu.distinct``
    (no two devices share a device key: N reports prove N devices) and ``gpu.mode`` (all devices in
    the same confidential-computing mode).
    """
    gpu_policy = GpuPolicy.from_policy(policy)
    at = utc(at)
    collateral = _Collateral(rims=rims, ocsp=ocsp, at=at, anchors=gpu_policy.anchors, fetcher=fetcher,
                             nonce_source=_random_nonce)
    checks: list[Check] = []
    n = len(gpus)
    if n > MAX_GPUS:
        checks.append(failed("gpu.count", f"{n} devices, more than the {MAX_GPUS} this verifier reads"))
        return GpuAppraisal(tuple(checks), {"count": n})
    if gpu_policy.count == 0:
        checks.append(passed("gpu.count", f"the policy requires no particular number of GPUs; {n} present",
                             required=False))
    elif n == gpu_policy.count:
        checks.append(passed("gpu.count", f"{n} devices, as the policy requires"))
    else:
        checks.append(failed("gpu.count", f"the policy requires {gpu_policy.count} devices, the evidence "
                             f"has {n}"))
    per_device: list[dict[str, object]] = []
    leaf_keys: list[str | None] = []
    modes: list[str | None] = []
    device_checks: list[Check] = []
    for i, (arch, report, chain) in enumerate(gpus):
        c, claims, leaf_key = _appraise_one(report, chain, arch=arch, index=i, policy=gpu_policy,
                                            expected_nonce=expected_nonce, collateral=collateral)
        device_checks.extend(c)
        per_device.append(claims)
        leaf_keys.append(leaf_key)
        mode = claims.get("mode")
        modes.append(mode if isinstance(mode, str) else None)
    known = [k for k in leaf_keys if k is not None]
    if len(set(known)) == len(known):
        checks.append(passed("gpu.distinct", f"{len(known)} distinct device keys"))
    else:
        dupes = sorted({i for i, k in enumerate(leaf_keys) if k is not None and leaf_keys.count(k) > 1})
        checks.append(failed("gpu.distinct", f"devices {dupes} present the same device key: one device "
                             "cannot stand for several"))
    checks.extend(device_checks)
    known_modes = {m for m in modes if m is not None}
    if n <= 1:
        checks.append(passed("gpu.mode", "one device or none: nothing to compare", required=False))
    elif len(known_modes) <= 1 and None not in modes:
        checks.append(passed("gpu.mode", f"all {n} devices are in mode {next(iter(known_modes))}"))
    else:
        checks.append(failed("gpu.mode", f"the devices are not all in one mode: {modes}"))
    return GpuAppraisal(tuple(checks), {"count": n, "gpus": per_device})


def _appraise_one(report_bytes: bytes, chain_bytes: bytes, *, arch: str | None, index: int,
                  policy: GpuPolicy, expected_nonce: bytes | None, collateral: _Collateral
                  ) -> tuple[list[Check], dict[str, object], str | None]:
    p = f"gpu.{index}."
    checks: list[Check] = []
    claims: dict[str, object] = {"index": index}
    at = collateral.at

    # parse
    report: SpdmReport | None
    try:
        report = parse_report(report_bytes)
        checks.append(passed(p + "parse", f"SPDM 1.1 MEASUREMENTS, {len(report.response.blocks)} blocks, "
                             f"{len(report_bytes)} bytes", authenticity=True))
    except ParseError as e:
        report = None
        checks.append(failed(p + "parse", f"the report does not parse: {e}", authenticity=True))

    # chain
    path: ValidPath | None = None
    chain: tuple[x509.Certificate, ...] = ()
    try:
        chain = load_chain(chain_bytes)
        path = validate_path(chain, pin=policy.anchors.device, at=at,
                             anchor_name=f"the pinned {policy.anchors.label} Device Identity CA")
        checks.append(passed(p + "chain.root_pinned", f"the chain ends at the {policy.anchors.label} "
                             f"Device Identity CA key ({policy.anchors.device[:16]}…)", authenticity=True))
        checks.append(passed(p + "chain", f"{len(chain)} certificates, each signed by the next and valid "
                             f"at {iso(at)}", authenticity=True))
    except PathError as e:
        if e.reason in ("pin", "format"):
            checks.append(failed(p + "chain.root_pinned", str(e), authenticity=True))
            checks.append(failed(p + "chain", f"not a path to a pinned root: {e}", authenticity=True))
        else:
            checks.append(passed(p + "chain.root_pinned", f"the chain ends at the {policy.anchors.label} "
                                 "Device Identity CA key", authenticity=True))
            checks.append(failed(p + "chain", str(e), authenticity=True))
    leaf = chain[0] if chain else None
    leaf_key = None
    if leaf is not None:
        claims.update(_device_claims(chain))
        try:
            leaf_key = spki_sha256(leaf)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            leaf_key = None
    if report is None:
        return checks, claims, leaf_key
    claims.update(_report_claims(report))

    # fwid
    report_fwid = report.opaque.fwid
    cert_fwids = leaf_fwids(leaf) if leaf is not None else None
    if report_fwid is None:
        checks.append(skipped(p + "fwid", "the report carries no FWID (drivers before R550 do not report "
                              "it); the signature still binds the report to the device key", required=False))
    elif not cert_fwids:
        checks.append(failed(p + "fwid", "the leaf certificate has no TCG DICE TcbInfo FWID to compare "
                             "with the report's", authenticity=True))
    elif cert_fwids[0] == report_fwid:
        checks.append(passed(p + "fwid", f"the leaf's FWID equals the report's ({report_fwid.hex()[:16]}…)",
                             authenticity=True))
    else:
        checks.append(failed(p + "fwid", f"the leaf's FWID {cert_fwids[0].hex()[:16]}… differs from the "
                             f"report's {report_fwid.hex()[:16]}…", authenticity=True))

    # signature
    if leaf is None:
        checks.append(failed(p + "signature", "no certificate to check the signature with",
                             authenticity=True))
    else:
        problem = _spdm_signature_problem(leaf, report)
        if problem is None:
            checks.append(passed(p + "signature", "ECDSA P-384/SHA-384 over request || response by the "
                                 "leaf key", authenticity=True))
        else:
            checks.append(failed(p + "signature", problem, authenticity=True))

    # nonce
    if expected_nonce is None:
        checks.append(skipped(p + "nonce", f"no expected nonce was given (the report's is "
                              f"{report.nonce.hex()}): authentic perhaps, fresh unknown"))
    elif report.nonce == expected_nonce:
        checks.append(passed(p + "nonce", "the SPDM request nonce is the expected nonce"))
    else:
        checks.append(failed(p + "nonce", f"the SPDM request nonce {report.nonce.hex()[:16]}… is not the "
                             f"expected {expected_nonce.hex()[:16]}…: stale or replayed evidence"))

    # arch
    chain_arch = claims.get("chain_arch")
    declared = arch.upper() if arch else None
    if not isinstance(chain_arch, str):
        checks.append(failed(p + "arch", "the leaf certificate names no known NVIDIA device "
                             "(GH100, GB100, LS_10)"))
    elif declared is None:
        checks.append(passed(p + "arch", f"{chain_arch} (from the chain; none declared)", required=False))
    elif declared == chain_arch:
        checks.append(passed(p + "arch", f"declared {declared}, the chain says {chain_arch}"))
    else:
        checks.append(failed(p + "arch", f"declared {declared}, but the chain is a {chain_arch} device"))
    device_arch = declared or (chain_arch if isinstance(chain_arch, str) else "HOPPER")
    claims["arch"] = device_arch

    # GPU-chain OCSP: certificates 1..n-2 (the leaf is made on the device; the root is pinned)
    ocsp_claims: dict[str, object] = {}
    if path is None:
        checks.append(skipped(p + "ocsp", "not checked: the chain does not hold", required=False))
    else:
        targets = [(chain[i], chain[i + 1]) for i in range(1, len(chain) - 1)]
        gpu_ocsp: dict[str, object] = {}
        checks.append(_ocsp_check(p + "ocsp", "GPU chain", targets, policy.ocsp, collateral, gpu_ocsp))
        ocsp_claims["gpu_chain"] = gpu_ocsp
    claims["ocsp"] = ocsp_claims

    # RIMs
    is_switch = device_arch in _SWITCH_ARCHES
    kinds = ("vbios",) if is_switch else ("driver", "vbios")
    opaque = report.opaque
    versions = {"driver": opaque.driver_version, "vbios": opaque.vbios_version}
    ids = {"driver": driver_rim_id(device_arch, opaque.driver_version,
                                   opaque.text(OpaqueField.CHIP_INFO)) if opaque.driver_version else None,
           "vbios": _vbios_id(report) if not is_switch else None}
    verified: dict[str, Rim] = {}
    rim_claims: dict[str, object] = {}
    for msg in collateral.unreadable:
        checks.append(failed(p + "rim.input", f"a RIM given could not be read: {msg}"))
    for kind in kinds:
        label = "driver" if kind == "driver" else ("switch BIOS" if is_switch else "VBIOS")
        outcome = collateral.rim_for(kind, versions[kind], ids[kind])
        rim_checks, rim_claim, rim, rim_ocsp = _rim_checks(
            f"{p}rim.{kind}.", label, outcome, versions[kind], ids[kind], policy, collateral)
        checks.extend(rim_checks)
        rim_claims[kind] = rim_claim
        if rim is not None:
            verified[kind] = rim
        if rim_ocsp is not None:
            ocsp_claims[f"{kind}_rim"] = rim_ocsp
    claims["rims"] = rim_claims

    # measurements
    checks.append(_measurements_check(p + "measurements", report, verified, kinds, policy.rims == "required",
                                      claims))
    return checks, claims, leaf_key


def _rim_checks(q: str, label: str, outcome: _RimOutcome | None, want: str | None, rim_id: str | None,
                policy: GpuPolicy, collateral: _Collateral
                ) -> tuple[list[Check], dict[str, object], Rim | None, dict[str, object] | None]:
    """``<q>chain``, ``<q>signature``, ``<q>version``, ``<q>ocsp`` for one RIM, its claims, the RIM
    when it is verified and for the report's version, and its chain's OCSP states."""
    required = policy.rims == "required"
    claim: dict[str, object] = {"id": rim_id, "present": False}
    if outcome is None or outcome.stage in ("absent", "format"):
        if outcome is None:
            why = f"no {label} RIM given" + (f" (NVIDIA's id: {rim_id})" if rim_id else "")
            chain_check = skipped(q + "chain", why, required=required)
        elif outcome.stage == "absent":
            chain_check = skipped(q + "chain", outcome.detail, required=required)
        else:
            chain_check = failed(q + "chain", outcome.detail)
        return [chain_check,
                skipped(q + "signature", f"no {label} RIM to check", required=required),
                skipped(q + "version", f"no {label} RIM to read", required=required),
                skipped(q + "ocsp", f"no {label} RIM", required=False)], claim, None, None
    claim.update(present=True, source=outcome.source)
    if outcome.stage == "chain" or outcome.path is None:
        return [failed(q + "chain", f"{label} RIM: {outcome.detail}"),
                skipped(q + "signature", "not checked: the signer's chain does not hold", required=required),
                skipped(q + "version", "not read: the RIM is not verified", required=required),
                skipped(q + "ocsp", "not checked: the signer's chain does not hold", required=False)
                ], claim, None, None
    signer = outcome.path.leaf
    checks = [passed(q + "chain", f"{label} RIM signer {common_name(signer)} chains to the "
                     f"{policy.anchors.label} CoRIM root; valid {iso(signer.not_valid_before_utc)}.."
                     f"{iso(signer.not_valid_after_utc)}")]
    usable: Rim | None = None
    if outcome.rim is None:
        checks.append(failed(q + "signature", f"{label} RIM: {outcome.detail}"))
        checks.append(skipped(q + "version", "not read: the RIM is not verified", required=required))
    else:
        rim = outcome.rim
        checks.append(passed(q + "signature", f"{label} RIM {rim.version}: XML signature (ECDSA "
                             "P-384/SHA-384) verifies with that signer"))
        if want is not None and rim.version.upper() == want.upper():
            checks.append(passed(q + "version", f"the {label} RIM is for {rim.version}, the report's version"))
            usable = rim
        else:
            checks.append(failed(q + "version", f"the {label} RIM is for {rim.version}, the report says {want}"))
        claim.update(version=rim.version, tag_id=rim.tag_id, manufacturer_id=rim.manufacturer_id,
                     signer_not_after=iso(signer.not_valid_after_utc))
    certs = outcome.path.certificates
    ocsp_states: dict[str, object] = {}
    checks.append(_ocsp_check(q + "ocsp", f"{label} RIM chain",
                              [(certs[i], certs[i + 1]) for i in range(len(certs) - 1)],
                              policy.rim_ocsp, collateral, ocsp_states))
    return checks, claim, usable, ocsp_states


def _ocsp_check(id: str, what: str, targets: list[tuple[x509.Certificate, x509.Certificate]],
                mode: str, collateral: _Collateral, claims: dict[str, object]) -> Check:
    if mode == "off":
        return skipped(id, f"{what} OCSP is off by policy", required=False)
    outcomes = [(common_name(c), collateral.ocsp_status(c, i)) for c, i in targets]
    for name, o in outcomes:
        claims[name] = str(o.state)
    summary = "; ".join(f"{name}: {o.detail}" for name, o in outcomes)
    refusals = [(n, o) for n, o in outcomes if o.state.refusal]
    if refusals:
        return failed(id, f"{what} OCSP refuses: " + "; ".join(f"{n}: {o.detail}" for n, o in refusals))
    unusable = [(n, o) for n, o in outcomes if o.state.unusable]
    if not unusable:
        return passed(id, f"{what} OCSP good for {len(outcomes)} certificates ({summary})")
    detail = f"{what} OCSP has no usable answer for " + "; ".join(f"{n}: {o.detail}" for n, o in unusable)
    if mode == "required":
        return failed(id, detail + " (the policy requires OCSP; \"if-available\" would accept its absence)")
    return skipped(id, detail, required=False)


def _measurements_check(id: str, report: SpdmReport, verified: dict[str, Rim], kinds: tuple[str, ...],
                        rim_required: bool, claims: dict[str, object]) -> Check:
    if not verified:
        claims["measurements"] = {"compared": 0}
        return skipped(id, "no verified RIM to compare the measurements with", required=rim_required)
    values = report.measurements()
    owner: dict[int, str] = {}
    conflicts: list[int] = []
    for kind, rim in verified.items():
        for idx in rim.active():
            if idx in owner:
                conflicts.append(idx)
            owner[idx] = kind
    differ: list[int] = []
    missing: list[int] = []
    equal = 0
    for rim in verified.values():
        for idx, ref in sorted(rim.active().items()):
            got = values.get(idx + 1)
            if got is None:
                missing.append(idx)
            elif got in ref.alternatives:
                equal += 1
            else:
                differ.append(idx)
    active = sum(len(r.active()) for r in verified.values())
    claims["measurements"] = {"active": active, "equal": equal, "differ": sorted(differ),
                              "missing": sorted(missing), "conflicts": sorted(set(conflicts)),
                              "rims": sorted(verified)}
    if conflicts:
        return failed(id, f"indices {sorted(set(conflicts))} are active in both RIMs: the reference is "
                      "ambiguous")
    if differ or missing:
        parts = []
        if differ:
            parts.append(f"{_indices(len(differ))} differ from the RIMs: {sorted(differ)}")
        if missing:
            parts.append(f"{_indices(len(missing))} active in a RIM are not in the report: {sorted(missing)}")
        return failed(id, "; ".join(parts) + f" ({equal} of {active} equal)")
    absent = [k for k in kinds if k not in verified]
    if absent:
        return skipped(id, f"{equal} active indices equal the {', '.join(sorted(verified))} RIM, but no "
                       f"verified {', '.join(absent)} RIM covers the rest", required=rim_required)
    return passed(id, f"{equal} active indices equal the signed reference values "
                  f"({', '.join(f'{k} {len(verified[k].active())}' for k in kinds)})")


def _indices(n: int) -> str:
    return "1 index" if n == 1 else f"{n} indices"


def _spdm_signature_problem(leaf: x509.Certificate, report: SpdmReport) -> str | None:
    """DSP0274 §10.11 / §14: ECDSA P-384 with SHA-384 over request || response-without-signature."""
    try:
        key = leaf.public_key()
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        return f"the leaf key cannot be read: {e}"
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp384r1":
        return "the leaf key is not an ECDSA P-384 key"
    sig = report.signature
    r, s = int.from_bytes(sig[:48], "big"), int.from_bytes(sig[48:], "big")
    if not (0 < r and 0 < s):
        return "the signature has a zero component"
    try:
        key.verify(encode_dss_signature(r, s), report.signed, ec.ECDSA(hashes.SHA384()))
    except InvalidSignature:
        return "the signature over request || response does not verify with the leaf key"
    return None


def _device_claims(chain: Sequence[x509.Certificate]) -> dict[str, object]:
    leaf = chain[0]
    out: dict[str, object] = {"device": common_name(leaf), "ueid": str(leaf.serial_number),
                              "chain_not_after": iso(min(c.not_valid_after_utc for c in chain))}
    if len(chain) > 1:
        out["hwmodel"] = common_name(chain[1])
    name = common_name(leaf)
    for prefix, arch in _ARCH_BY_CHIP:
        if name.startswith(prefix):
            out["chain_arch"] = arch
            break
    return out


def _report_claims(report: SpdmReport) -> dict[str, object]:
    o = report.opaque
    ff = o.feature_flag
    pp = o.protected_pcie_status
    if ff is not None:
        mode = {0: "spt", 1: "mpt", 2: "ppcie"}.get(ff, f"feature-flag-{ff}")
    elif pp == 0xAA:
        mode = "ppcie"
    else:
        mode = "legacy"
    return {
        "nonce": report.nonce.hex(),
        "driver_version": o.driver_version,
        "vbios_version": o.vbios_version,
        "project": o.project,
        "project_sku": o.project_sku,
        "chip_sku": o.chip_sku,
        "fwid": o.fwid.hex() if o.fwid is not None else None,
        "mode": mode,
        "measurement_blocks": len(report.response.blocks),
    }


def _vbios_id(report: SpdmReport) -> str | None:
    o = report.opaque
    if None in (o.project, o.project_sku, o.chip_sku, o.vbios_version):
        return None
    return vbios_rim_id(str(o.project), str(o.project_sku), str(o.chip_sku), str(o.vbios_version))


def _random_nonce() -> bytes:
    return os.urandom(32)



