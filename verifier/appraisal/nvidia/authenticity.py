"""Is an NVIDIA device's evidence authentic, and are its reference values? (go-sev-guest's ``verify``.)

The SPDM report parses; the device chain ends at the pinned Device Identity CA and holds; the leaf's
DICE FWID is the report's; the leaf signed the report; OCSP for the chain. For each RIM (driver,
VBIOS): its signer's chain to the pinned CoRIM root, its XML signature, its version, the device it
names (:func:`~verifier.appraisal.nvidia.validate.rim_device_check`), OCSP for its chain.
:class:`Collateral` holds the RIMs and OCSP answers of one appraisal, fetched (RIM service, OCSP
responder) at most once each.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from verifier.appraisal.checks import CheckCollector
from verifier.appraisal.nvidia import checks as ids
from verifier.appraisal.nvidia.checks import gpu_id
from verifier.appraisal.nvidia.rules import GpuPolicy
from verifier.appraisal.nvidia.validate import DeviceModel, rim_device_check, rim_device_problem
from verifier.endorsements import nvidia_ocsp
from verifier.endorsements.nvidia_anchors import RIM_SERVICE_URL, GpuAnchors
from verifier.endorsements.nvidia_chain import (
    PathError,
    ValidPath,
    common_name,
    der_of,
    leaf_fwids,
    load_chain,
    validate_path,
    validity,
)
from verifier.errors import CollateralError, ParseError
from verifier.evidence.nvidia import SpdmReport, parse_report
from verifier.reference.rim import (
    Rim,
    RimDocument,
    RimError,
    document_digest,
    load_rim,
    vbios_rim_id,
    verify_rim_chain,
    verify_rim_signature,
)
from verifier.result import Check, Status, failed, iso, passed, skipped
from verifier.strict_json import load_strict_json

if TYPE_CHECKING:
    from verifier.endorsements.fetch import CollateralFetcher

RIM_ID = re.compile(r"\A[A-Za-z0-9_.\-]{1,128}\Z")
"""What a RIM id derived from report fields may look like before it goes into a URL."""


# -- collateral: RIMs and OCSP answers shared by all devices of one appraisal ---------------------


@dataclass(frozen=True)
class RimOutcome:
    """One RIM through the three steps; ``stage`` is where it stopped (``ok`` when it did not)."""

    stage: str
    detail: str
    source: str
    doc: RimDocument | None = None
    path: ValidPath | None = None
    rim: Rim | None = None


class Collateral:
    """RIMs and OCSP answers for one appraisal: verified once each, fetched at most once each."""

    def __init__(self, *, rims: Sequence[bytes], ocsp: Sequence[bytes], at: dt.datetime,
                 anchors: GpuAnchors, fetcher: CollateralFetcher | None,
                 nonce_source: Callable[[], bytes]) -> None:
        self.at = at
        self.anchors = anchors
        self.fetcher = fetcher
        self.ocsp_answers = [nvidia_ocsp.read_answer_file(a) for a in ocsp]
        """Read (parsed, never judged) once; judged for each certificate, every time."""
        self.nonce_source = nonce_source
        self.unreadable: list[str] = []
        self.docs: list[tuple[str, RimDocument]] = []
        self._verified: dict[bytes, RimOutcome] = {}
        self._fetched: dict[str, RimOutcome | None] = {}
        self._ocsp_cache: dict[tuple[int, bytes], nvidia_ocsp.OcspOutcome] = {}
        for n, data in enumerate(rims):
            try:
                self.docs.append(("supplied", load_rim(data)))
            except RimError as e:
                self.unreadable.append(f"RIM #{n + 1}: {e}")

    def _verify(self, source: str, doc: RimDocument) -> RimOutcome:
        key = document_digest(doc)
        hit = self._verified.get(key)
        if hit is not None:
            return hit
        try:
            path = verify_rim_chain(doc, pin=self.anchors.rim, at=self.at)
        except RimError as e:
            out = RimOutcome("chain", str(e), source, doc)
        else:
            try:
                rim = verify_rim_signature(doc, path.leaf, at=self.at)
                out = RimOutcome("ok", "", source, doc, path, rim)
            except RimError as e:
                out = RimOutcome("signature" if e.reason == "signature" else "content", str(e),
                                  source, doc, path)
        self._verified[key] = out
        return out

    def rim_for(self, kind: str, version: str | None, rim_id: str | None,
                device: DeviceModel | None = None) -> RimOutcome | None:
        """The supplied RIM of ``kind`` for ``version`` (one that verifies, if several claim it; of
        those, one that names ``device``, if any does), else the only supplied one of that kind, else
        one fetched by id; None when there is none."""
        of_kind = [(s, d) for s, d in self.docs if d.claimed_kind == kind]
        exact = [(s, d) for s, d in of_kind
                 if version is not None and d.claimed_version.upper() == version.upper()]
        chosen = exact or (of_kind if len(of_kind) == 1 else [])
        outcomes = [self._verify(s, d) for s, d in chosen]
        good = [o for o in outcomes if o.stage == "ok"]
        fitting = [o for o in good if device is not None and o.rim is not None
                   and rim_device_problem(o.rim, device) is None]
        if fitting or good:
            return (fitting or good)[0]
        if outcomes:
            return outcomes[0]
        if rim_id is None or self.fetcher is None or not RIM_ID.match(rim_id):
            return None
        if rim_id not in self._fetched:
            self._fetched[rim_id] = self._fetch(rim_id)
        return self._fetched[rim_id]

    def _fetch(self, rim_id: str) -> RimOutcome | None:
        assert self.fetcher is not None
        url = RIM_SERVICE_URL + rim_id
        try:
            body = self.fetcher.get(url).body
        except CollateralError as e:
            return RimOutcome("absent", f"{rim_id} could not be fetched: {e}", url)
        try:
            doc_json = load_strict_json(body, "RIM service answer")
            data = base64.b64decode(doc_json["rim"], validate=True)
        except (ParseError, ValueError, KeyError, TypeError, binascii.Error):
            return RimOutcome("format", f"the RIM service's answer for {rim_id} is not JSON with a "
                               "base64 'rim' member", url)
        try:
            doc = load_rim(data)
        except RimError as e:
            return RimOutcome("format", f"the RIM service's {rim_id} is unreadable: {e}", url)
        return self._verify(url, doc)

    def ocsp_status(self, cert: x509.Certificate, issuer: x509.Certificate
                    ) -> nvidia_ocsp.OcspOutcome:
        key = (cert.serial_number, der_of(issuer))
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


def random_nonce() -> bytes:
    return os.urandom(32)


# -- the device's own evidence ---------------------------------------------------------------------


def parse_check(out: CheckCollector, n: int, report_bytes: bytes) -> SpdmReport | None:
    """``gpu.N.parse``: the report, or None when it does not parse."""
    try:
        report = parse_report(report_bytes)
    except ParseError as e:
        out.add(failed(gpu_id(ids.PARSE, n), f"the report does not parse: {e}", authenticity=True))
        return None
    out.add(passed(gpu_id(ids.PARSE, n), f"SPDM 1.1 MEASUREMENTS, {len(report.response.blocks)} blocks, "
                   f"{len(report_bytes)} bytes", authenticity=True))
    return report


def chain_checks(out: CheckCollector, n: int, chain_bytes: bytes, policy: GpuPolicy, at: dt.datetime
                 ) -> tuple[tuple[x509.Certificate, ...], ValidPath | None]:
    """``gpu.N.chain.root_pinned`` and ``gpu.N.chain``: the certificates read, and the path when it holds."""
    pinned, whole = gpu_id(ids.CHAIN_ROOT_PINNED, n), gpu_id(ids.CHAIN, n)
    path: ValidPath | None = None
    chain: tuple[x509.Certificate, ...] = ()
    try:
        chain = load_chain(chain_bytes)
        path = validate_path(chain, pin=policy.anchors.device, at=at,
                             anchor_name=f"the pinned {policy.anchors.label} Device Identity CA")
        out.add(passed(pinned, f"the chain ends at the {policy.anchors.label} "
                       f"Device Identity CA key ({policy.anchors.device[:16]}…)", authenticity=True))
        out.add(passed(whole, f"{len(chain)} certificates, each signed by the next and valid "
                       f"at {iso(at)}", authenticity=True))
    except PathError as e:
        if e.reason in ("pin", "format"):
            out.add(failed(pinned, str(e), authenticity=True))
            out.add(failed(whole, f"not a path to a pinned root: {e}", authenticity=True))
        else:
            out.add(passed(pinned, f"the chain ends at the {policy.anchors.label} "
                           "Device Identity CA key", authenticity=True))
            out.add(failed(whole, str(e), authenticity=True))
    return chain, path


def fwid_check(out: CheckCollector, n: int, report: SpdmReport, leaf: x509.Certificate | None) -> None:
    """``gpu.N.fwid``: the leaf's TCG DICE FWID is the report's (TCG DICE Attestation Architecture §6.1.1)."""
    cid = gpu_id(ids.FWID, n)
    report_fwid = report.opaque.fwid
    cert_fwids = leaf_fwids(leaf) if leaf is not None else None
    if report_fwid is None:
        out.add(skipped(cid, "the report carries no FWID (drivers before R550 do not report "
                        "it); the signature still binds the report to the device key", required=False))
    elif not cert_fwids:
        out.add(failed(cid, "the leaf certificate has no TCG DICE TcbInfo FWID to compare "
                       "with the report's", authenticity=True))
    elif cert_fwids[0] == report_fwid:
        out.add(passed(cid, f"the leaf's FWID equals the report's ({report_fwid.hex()[:16]}…)",
                       authenticity=True))
    else:
        out.add(failed(cid, f"the leaf's FWID {cert_fwids[0].hex()[:16]}… differs from the "
                       f"report's {report_fwid.hex()[:16]}…", authenticity=True))


def signature_check(out: CheckCollector, n: int, report: SpdmReport, leaf: x509.Certificate | None) -> None:
    """``gpu.N.signature``: the leaf key signed request || response."""
    cid = gpu_id(ids.SIGNATURE, n)
    if leaf is None:
        out.add(failed(cid, "no certificate to check the signature with", authenticity=True))
        return
    problem = _spdm_signature_problem(leaf, report)
    if problem is None:
        out.add(passed(cid, "ECDSA P-384/SHA-384 over request || response by the leaf key",
                       authenticity=True))
    else:
        out.add(failed(cid, problem, authenticity=True))


def device_ocsp_check(out: CheckCollector, n: int, chain: Sequence[x509.Certificate], path: ValidPath | None,
                      policy: GpuPolicy, collateral: Collateral) -> dict[str, object]:
    """``gpu.N.ocsp`` for certificates 1..n-2 (the leaf is made on the device; the root is pinned)."""
    ocsp_claims: dict[str, object] = {}
    if path is None:
        out.add(skipped(gpu_id(ids.OCSP, n), "not checked: the chain does not hold", required=False))
    else:
        targets = [(chain[i], chain[i + 1]) for i in range(1, len(chain) - 1)]
        gpu_ocsp: dict[str, object] = {}
        out.add(ocsp_check(gpu_id(ids.OCSP, n), "GPU chain", targets, policy.ocsp, collateral, gpu_ocsp))
        ocsp_claims["gpu_chain"] = gpu_ocsp
    return ocsp_claims


# -- the reference values (RIMs) -------------------------------------------------------------------


def rim_input_check(out: CheckCollector, n: int, collateral: Collateral) -> None:
    """``gpu.N.rim.input``, only when a RIM given could not be read at all (one check for them all)."""
    msgs = collateral.unreadable
    if len(msgs) == 1:
        out.add(failed(gpu_id(ids.RIM_INPUT, n), f"a RIM given could not be read: {msgs[0]}"))
    elif msgs:
        out.add(failed(gpu_id(ids.RIM_INPUT, n), f"{len(msgs)} RIMs given could not be read: {'; '.join(msgs)}"))


def rim_checks(out: CheckCollector, n: int, kind: str, label: str, outcome: RimOutcome | None,
               want: str | None, rim_id: str | None, policy: GpuPolicy, collateral: Collateral,
               device: DeviceModel) -> tuple[dict[str, object], Rim | None, dict[str, object] | None]:
    """``gpu.N.rim.K.chain``, ``.signature``, ``.version``, ``.device``, ``.ocsp`` for one RIM; its
    claims, the RIM when it is verified, for the report's version and for this device, and its
    chain's OCSP states."""
    chain_id, sig_id = gpu_id(ids.RIM_CHAIN, n, kind), gpu_id(ids.RIM_SIGNATURE, n, kind)
    version_id, ocsp_id = gpu_id(ids.RIM_VERSION, n, kind), gpu_id(ids.RIM_OCSP, n, kind)
    device_id = gpu_id(ids.RIM_DEVICE, n, kind)
    required = policy.rims == "required"
    claim: dict[str, object] = {"id": rim_id, "present": False}
    if outcome is None or outcome.stage in ("absent", "format"):
        out.extend(_no_rim_checks(n, kind, label, rim_id, required, outcome.stage if outcome else None,
                                  outcome.detail if outcome else ""))
        return claim, None, None
    claim.update(present=True, source=outcome.source)
    if outcome.stage == "chain" or outcome.path is None:
        out.add(failed(chain_id, f"{label} RIM: {outcome.detail}"))
        out.add(skipped(sig_id, "not checked: the signer's chain does not hold", required=required))
        out.add(skipped(version_id, "not read: the RIM is not verified", required=required))
        out.add(skipped(device_id, "not read: the RIM is not verified", required=required))
        out.add(skipped(ocsp_id, "not checked: the signer's chain does not hold", required=False))
        return claim, None, None
    signer = outcome.path.leaf
    out.add(passed(chain_id, f"{label} RIM signer {common_name(signer)} chains to the "
                   f"{policy.anchors.label} CoRIM root; valid {iso(validity(signer)[0])}.."
                   f"{iso(validity(signer)[1])}"))
    usable: Rim | None = None
    if outcome.rim is None:
        out.add(failed(sig_id, f"{label} RIM: {outcome.detail}"))
        out.add(skipped(version_id, "not read: the RIM is not verified", required=required))
        out.add(skipped(device_id, "not read: the RIM is not verified", required=required))
    else:
        rim = outcome.rim
        out.add(passed(sig_id, f"{label} RIM {rim.version}: XML signature (ECDSA "
                       "P-384/SHA-384) verifies with that signer"))
        version_ok = want is not None and rim.version.upper() == want.upper()
        if version_ok:
            out.add(passed(version_id, f"the {label} RIM is for {rim.version}, the report's version"))
        else:
            out.add(failed(version_id, f"the {label} RIM is for {rim.version}, the report says {want}"))
        fetched_as = rim_id if outcome.source.startswith(RIM_SERVICE_URL) else None
        device_check = out.add(rim_device_check(device_id, label, rim, device, fetched_as=fetched_as,
                                                required=required))
        if version_ok and device_check.status is Status.PASS:
            usable = rim
        claim.update(version=rim.version, tag_id=rim.tag_id, manufacturer_id=rim.manufacturer_id,
                     product=rim.product, platform_model=rim.platform_model,
                     signer_not_after=iso(validity(signer)[1]))
    certs = outcome.path.certificates
    ocsp_states: dict[str, object] = {}
    out.add(ocsp_check(ocsp_id, f"{label} RIM chain",
                       [(certs[i], certs[i + 1]) for i in range(len(certs) - 1)],
                       policy.rim_ocsp, collateral, ocsp_states))
    return claim, usable, ocsp_states


@functools.lru_cache(maxsize=512)
def _no_rim_checks(n: int, kind: str, label: str, rim_id: str | None, required: bool, stage: str | None,
                   detail: str) -> tuple[Check, ...]:
    """The checks of a RIM not given (``stage`` None), not found (``absent``) or unreadable
    (``format``); the same every time for the same device and RIM (checks never change once made)."""
    chain_id = gpu_id(ids.RIM_CHAIN, n, kind)
    if stage is None:
        why = f"no {label} RIM given" + (f" (NVIDIA's id: {rim_id})" if rim_id else "")
        first = skipped(chain_id, why, required=required)
    elif stage == "absent":
        first = skipped(chain_id, detail, required=required)
    else:
        first = failed(chain_id, detail)
    return (first,
            skipped(gpu_id(ids.RIM_SIGNATURE, n, kind), f"no {label} RIM to check", required=required),
            skipped(gpu_id(ids.RIM_VERSION, n, kind), f"no {label} RIM to read", required=required),
            skipped(gpu_id(ids.RIM_DEVICE, n, kind), f"no {label} RIM to match with the device",
                    required=required),
            skipped(gpu_id(ids.RIM_OCSP, n, kind), f"no {label} RIM", required=False))


def ocsp_check(id: str, what: str, targets: list[tuple[x509.Certificate, x509.Certificate]],
                mode: str, collateral: Collateral, claims: dict[str, object]) -> Check:
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


def vbios_id(report: SpdmReport) -> str | None:
    o = report.opaque
    project, project_sku, chip_sku, version = o.project, o.project_sku, o.chip_sku, o.vbios_version
    if project is None or project_sku is None or chip_sku is None or version is None:
        return None
    return vbios_rim_id(project, project_sku, chip_sku, version)
