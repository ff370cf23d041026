"""The Chutes answer format appraised (``chutes`` and ``phala``), checks in the catalogue's order.

Two shapes, told apart by their members (Phala's carries ``attestation_type: "chutes"``):

- Chutes: ``GET /e2e/instances/{chute}`` gives ``instances[]`` (``instance_id``, ``e2e_pubkey``:
  an ML-KEM-768 encapsulation key, base64), then ``GET /chutes/{chute}/evidence?nonce=N`` gives
  ``evidence[]`` (``instance_id``, ``quote`` base64, ``gpu_evidence[]``, ``certificate``: the
  instance's DER certificate, base64, CN=attestation-service);
- Phala (RedPill): ``all_attestations[]`` (``instance_id``, ``nonce``, ``e2e_pubkey``,
  ``intel_quote``, ``gpu_evidence[]``), no certificate, and a top-level ``nonce``.

For each instance: the TD quote by the TDX appraisal (no event log is given, so RTMRs are only
what the ``[tdx]`` table pins); REPORT_DATA[0:32] = SHA-256(ASCII(client nonce hex || e2e key
base64)); REPORT_DATA[32:64] = SHA-256(SPKI of the instance certificate); each GPU's SPDM request
nonce = that expected REPORT_DATA[0:32] (computed from the client's nonce, never read from the
answer), so the GPUs are bound to the TD's quote and to this request.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from verifier.appraisal.policy import Policy
from verifier.errors import ParseError
from verifier.providers.chutes import ATTESTATION_TYPE
from verifier.providers.chutes import checks as ids
from verifier.providers.chutes.checks import instance_id
from verifier.result import AttestationResult, Check, Status, failed, passed, skipped
from verifier.strict_json import load_strict_json

MAX_ANSWER = 8 * 1024 * 1024
MAX_INSTANCES = 16
MLKEM768_KEY_BYTES = 1184


@dataclass(frozen=True)
class Instance:
    instance_id: str
    quote: bytes | None
    e2e_key: str | None
    """The ML-KEM-768 key as the answer spells it (base64): REPORT_DATA hashes that text."""
    certificate: bytes | None
    gpus: list[tuple[str, bytes, bytes]] | None
    gpu_problem: str | None = None
    answered_nonce: str | None = None


@dataclass(frozen=True)
class ChutesAnswer:
    shape: str
    instances: tuple[Instance, ...]
    answered_nonce: str | None
    """The nonce the answer says it is for (Phala's shape); None where it echoes none (Chutes')."""


def _b64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise ParseError(f"{what} is missing")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ParseError(f"{what} is not base64") from None


def gpu_list(entries: object, what: str) -> list[tuple[str, bytes, bytes]]:
    """``[{arch, certificate, evidence}]`` (base64) as the NVIDIA appraisal's ``(arch, report, chain)``."""
    if not isinstance(entries, list):
        raise ParseError(f"{what} is not a list")
    out = []
    for n, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ParseError(f"{what}[{n}] is not an object")
        arch = entry.get("arch")
        out.append((arch if isinstance(arch, str) else "", _b64(entry.get("evidence"), f"{what}[{n}].evidence"),
                    _b64(entry.get("certificate"), f"{what}[{n}].certificate")))
    return out


def _instance(entry: object, n: int, quote_key: str, keys: dict[str, str]) -> Instance:
    if not isinstance(entry, dict) or not isinstance(entry.get("instance_id"), str):
        raise ParseError(f"instance {n} is not an object with an instance_id")
    iid = entry["instance_id"]
    key = entry.get("e2e_pubkey", keys.get(iid))
    quote: bytes | None
    try:
        quote = _b64(entry.get(quote_key), f"instance {n} {quote_key}")
    except ParseError:
        quote = None
    cert = entry.get("certificate")
    gpus, problem = None, None
    try:
        gpus = gpu_list(entry.get("gpu_evidence"), f"instance {n} gpu_evidence")
    except ParseError as e:
        problem = str(e)
    try:
        certificate = _b64(cert, f"instance {n} certificate") if cert is not None else None
    except ParseError:
        certificate = b""
    nonce = entry.get("nonce")
    return Instance(iid, quote, key if isinstance(key, str) else None, certificate, gpus, problem,
                    nonce if isinstance(nonce, str) else None)


def parse_chutes(instances_body: bytes, evidence_body: bytes) -> ChutesAnswer:
    listed = load_strict_json(instances_body, "Chutes instances")
    evidence = load_strict_json(evidence_body, "Chutes evidence")
    if not isinstance(listed, dict) or not isinstance(listed.get("instances"), list):
        raise ParseError("the instances answer has no instances[]")
    if not isinstance(evidence, dict) or not isinstance(evidence.get("evidence"), list):
        raise ParseError("the evidence answer has no evidence[]")
    keys = {i["instance_id"]: i["e2e_pubkey"] for i in listed["instances"]
            if isinstance(i, dict) and isinstance(i.get("instance_id"), str) and isinstance(i.get("e2e_pubkey"), str)}
    entries = evidence["evidence"]
    if len(entries) > MAX_INSTANCES:
        raise ParseError(f"the answer holds more than {MAX_INSTANCES} instances")
    return ChutesAnswer("chutes", tuple(_instance(e, n, "quote", keys) for n, e in enumerate(entries)), None)


def parse_typed(body: bytes) -> ChutesAnswer:
    """An answer that says ``attestation_type: "chutes"`` (Phala's): ``all_attestations[]``."""
    doc = load_strict_json(body, "attestation")
    if not isinstance(doc, dict) or doc.get("attestation_type") != ATTESTATION_TYPE:
        raise ParseError(f"the answer's attestation_type is {doc.get('attestation_type') if isinstance(doc, dict) else None!r}, "
                         f"not {ATTESTATION_TYPE!r}: not the format this provider reads")
    entries = doc.get("all_attestations")
    if not isinstance(entries, list):
        raise ParseError("the answer has no all_attestations[]")
    if len(entries) > MAX_INSTANCES:
        raise ParseError(f"the answer holds more than {MAX_INSTANCES} instances")
    nonce = doc.get("nonce")
    return ChutesAnswer("typed", tuple(_instance(e, n, "intel_quote", {}) for n, e in enumerate(entries)),
                        nonce if isinstance(nonce, str) else None)


def expected_nonce_half(nonce: bytes, e2e_key: str) -> bytes:
    """REPORT_DATA[0:32]: SHA-256 of the ASCII text client-nonce-hex || e2e-key-base64."""
    return hashlib.sha256((nonce.hex() + e2e_key).encode("ascii", errors="replace")).digest()


def _spki(der: bytes) -> tuple[bytes, str] | None:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    try:
        cert = x509.load_der_x509_certificate(der)
        return (cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo),
                cert.subject.rfc4514_string())
    except (ValueError, TypeError):
        return None


def _renamed(checks: tuple[Check, ...], n: int) -> list[Check]:
    prefix = ids.INSTANCE_PREFIX.format(n=n)
    return [dataclasses.replace(c, id=prefix + c.id) for c in checks]


def appraise_answer(answer: ChutesAnswer | str, *, kind: str, nonce: bytes, policy: Policy, at: dt.datetime,
                    service_check: Check, peer_spki: bytes | None, host: str, fetcher: Any = None) -> AttestationResult:
    """``answer``: as parsed, or the sentence saying why it did not parse. Never raises on hostile input."""
    from verifier.appraisal.nvidia import appraise_gpus
    from verifier.appraisal.tdx import appraise_tdx

    checks: list[Check] = [service_check]
    claims: dict[str, object] = {}

    def result() -> AttestationResult:
        return AttestationResult(kind, at, nonce, policy.ref, tuple(checks), claims=claims)

    if isinstance(answer, str):
        checks.append(failed(ids.PARSE, f"The answer is not in the Chutes format: {answer}", authenticity=True))
        return result()
    checks.append(passed(ids.PARSE, f"The answer is in the Chutes format ({answer.shape}): {len(answer.instances)} instance(s).", authenticity=True))
    ours = nonce.hex()
    answered = {n.lower() for n in (answer.answered_nonce, *(i.answered_nonce for i in answer.instances)) if n is not None}
    if answered - {ours}:
        other = sorted(answered - {ours})[0]
        checks.append(failed(ids.NONCE, f"The answer is for the nonce {other[:64]!r}, not this client's {ours}: the service answered a nonce of its own (a server nonce), so nothing shows the evidence was made for this request."))
    elif answered:
        checks.append(passed(ids.NONCE, f"The answer names this client's nonce {ours}."))
    else:
        checks.append(passed(ids.NONCE, f"The answer echoes no nonce; the client's nonce {ours} must be bound by each instance's REPORT_DATA[0:32] (chutes.instance.N.nonce_binding)."))
    if not answer.instances:
        checks.append(failed(ids.INSTANCES, "The answer holds no instance: there is nothing to attest.", authenticity=True))
        return result()
    checks.append(passed(ids.INSTANCES, f"{len(answer.instances)} instance(s), each appraised: " + ", ".join(i.instance_id[:40] for i in answer.instances), authenticity=True))
    claims["instances"] = [i.instance_id for i in answer.instances]
    for n, inst in enumerate(answer.instances):
        _instance_checks(checks, claims, n, inst, nonce=nonce, policy=policy, at=at, fetcher=fetcher,
                         appraise_tdx=appraise_tdx, appraise_gpus=appraise_gpus)
    if peer_spki is None:
        checks.append(skipped(ids.TLS_KEY, f"No TLS peer key was recorded for {host} (a recording without it): the TLS connection is not compared. Live, this check fails: {host} is a front end, and the instance certificates bound in REPORT_DATA are not its TLS key.", required=False))
    else:
        checks.append(failed(ids.TLS_KEY, f"The TLS peer of {host} is a front end: no instance's attested certificate is its key, so TLS does not end inside an attested TD."))
    checks.append(failed(ids.E2EE, f"This client does not implement Chutes' ML-KEM-768 end-to-end encryption to the instances' attested keys, and TLS to {host} does not end in an attested TD: nothing would protect a prompt, so no prompt is sent."))
    return result()


def _instance_checks(checks: list[Check], claims: dict[str, object], n: int, inst: Instance, *, nonce: bytes,
                     policy: Policy, at: dt.datetime, fetcher: Any, appraise_tdx: Any, appraise_gpus: Any) -> None:
    key_ok = False
    if inst.e2e_key is None:
        checks.append(failed(instance_id(ids.INSTANCE_KEY, n), f"Instance {inst.instance_id} has no e2e_pubkey: REPORT_DATA cannot be checked."))
    else:
        try:
            raw = base64.b64decode(inst.e2e_key, validate=True)
            key_ok = len(raw) == MLKEM768_KEY_BYTES
        except (binascii.Error, ValueError):
            raw = b""
        checks.append((passed if key_ok else failed)(instance_id(ids.INSTANCE_KEY, n), f"Instance {inst.instance_id}'s e2e key is {len(raw)} bytes" + (" (an ML-KEM-768 encapsulation key)." if key_ok else f", not the {MLKEM768_KEY_BYTES} of an ML-KEM-768 encapsulation key.")))
    want_low = expected_nonce_half(nonce, inst.e2e_key) if inst.e2e_key is not None else None
    spki = _spki(inst.certificate) if inst.certificate else None
    want_high = hashlib.sha256(spki[0]).digest() if spki is not None else None
    expected = want_low + want_high if want_low is not None and want_high is not None else None
    if inst.quote is None:
        checks.append(failed(ids.INSTANCE_PREFIX.format(n=n) + "tdx.parse", f"Instance {inst.instance_id} carries no base64 TD quote.", authenticity=True))
        report_data = None
    else:
        tdx = appraise_tdx(inst.quote, policy=policy, at=at, expected_report_data=expected, fetcher=fetcher)
        checks.extend(_renamed(tdx.checks, n))
        claims[f"instance.{n}.tdx"] = tdx.claims
        report_data = tdx.quote.body.report_data if tdx.quote is not None else None
    nb = instance_id(ids.INSTANCE_NONCE_BINDING, n)
    if report_data is None or want_low is None:
        checks.append(failed(nb, "There is no quote or no e2e key: the client's nonce is not shown to be bound."))
    elif hmac.compare_digest(report_data[:32], want_low):
        checks.append(passed(nb, f"REPORT_DATA[0:32] = SHA-256(client nonce hex || e2e key base64): the quote was made for this request and names instance {inst.instance_id}'s ML-KEM key."))
    else:
        checks.append(failed(nb, f"REPORT_DATA[0:32] is {report_data[:32].hex()}, not SHA-256(client nonce hex || e2e key base64) = {want_low.hex()}: the quote is not bound to this request and this key."))
    cb = instance_id(ids.INSTANCE_CERTIFICATE_BINDING, n)
    if inst.certificate is None:
        checks.append(failed(cb, f"Instance {inst.instance_id} carries no certificate: REPORT_DATA[32:64] binds a key this client cannot see."))
    elif spki is None:
        checks.append(failed(cb, f"Instance {inst.instance_id}'s certificate is not a DER X.509 certificate."))
    elif report_data is not None and want_high is not None and hmac.compare_digest(report_data[32:], want_high):
        claims[f"instance.{n}.certificate"] = {"subject": spki[1], "spki_sha256": want_high.hex()}
        checks.append(passed(cb, f"REPORT_DATA[32:64] = SHA-256 of the SPKI of the instance certificate ({spki[1]})."))
    else:
        checks.append(failed(cb, "REPORT_DATA[32:64] is not SHA-256 of the instance certificate's SPKI: the certificate is not the attested one."))
    gb = instance_id(ids.INSTANCE_GPU_BINDING, n)
    if inst.gpus is None:
        checks.append(failed(gb, f"Instance {inst.instance_id}'s GPU evidence cannot be read: {inst.gpu_problem}."))
        return
    gpus = appraise_gpus(inst.gpus, policy=policy, at=at, expected_nonce=want_low, fetcher=fetcher)
    checks.extend(_renamed(gpus.checks, n))
    claims[f"instance.{n}.gpus"] = gpus.claims
    nonce_checks = [c for c in gpus.checks if c.id.endswith(".nonce")]
    if want_low is not None and nonce_checks and all(c.status is Status.PASS for c in nonce_checks):
        checks.append(passed(gb, f"Bound to the TD quote, not only to the nonce: each of the {len(nonce_checks)} GPU reports' SPDM nonce is SHA-256(client nonce hex || e2e key base64), the REPORT_DATA[0:32] this client expects and the TD quote carries; so the GPU evidence was made for this request and this instance's key. It does not prove the GPUs sit in the same machine as the TD."))
    else:
        checks.append(failed(gb, "Not every GPU report's SPDM nonce is the expected REPORT_DATA[0:32] (or there is no GPU): the GPU evidence is not bound to this instance's quote and this request."))
