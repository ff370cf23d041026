"""A Venice attestation answer appraised, its checks in the catalogue's order (docs/providers.md).

The answer (``GET /api/v1/tee/attestation?model=M&nonce=N``) is a NEAR AI dstack ``info`` form
(``intel_quote``, ``event_log``, ``info.tcb_info.app_compose``) plus ``signing_key`` (an uncompressed
secp256k1 point, ``signing_algo: "ecdsa"``), ``signing_address``, ``request_nonce`` and
``nvidia_payload`` (a JSON string: ``evidence_list`` of ``{arch, certificate, evidence}``, base64).

- REPORT_DATA must be address (20 bytes) || 12 zero bytes || the client's nonce (32 bytes), where
  address = Keccak-256(X || Y of the signing key)[12:] (Ethereum's address; Keccak-256 is not
  SHA3-256: pycryptodome's ``Crypto.Hash.keccak``);
- every GPU's SPDM request nonce must be the client's nonce: the GPUs are bound to this request by
  the nonce only, not to the TD quote (``venice.gpu.binding`` says so);
- the service's own ``server_verification`` verdicts are never read.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
from dataclasses import dataclass
from typing import Any

from verifier.appraisal.policy import Policy
from verifier.errors import ParseError
from verifier.providers.venice import NAME as KIND
from verifier.providers.venice import checks as ids
from verifier.result import AttestationResult, Check, Status, failed, passed, skipped
from verifier.strict_json import load_strict_json

MAX_ANSWER = 4 * 1024 * 1024
ADDRESS_PADDING = bytes(12)


@dataclass(frozen=True)
class VeniceAnswer:
    doc: dict[str, Any]
    signing_key: bytes | None
    gpus: list[tuple[str, bytes, bytes]] | None
    gpu_problem: str | None


def keccak256(data: bytes) -> bytes:
    from Crypto.Hash import keccak

    h = keccak.new(digest_bits=256)
    h.update(data)
    return h.digest()


def signing_address(public_key: bytes) -> bytes:
    """Ethereum's address of an uncompressed secp256k1 point (``04 || X || Y``): Keccak-256(X || Y)[12:]."""
    return keccak256(public_key[1:])[12:]


def expected_report_data(public_key: bytes, nonce: bytes) -> bytes:
    return signing_address(public_key) + ADDRESS_PADDING + nonce


def gpu_list(entries: object, what: str) -> list[tuple[str, bytes, bytes]]:
    """``[{arch, certificate, evidence}]`` (base64) as the NVIDIA appraisal's ``(arch, report, chain)``."""
    if not isinstance(entries, list):
        raise ParseError(f"{what} is not a list")
    out: list[tuple[str, bytes, bytes]] = []
    for n, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("evidence"), str) \
                or not isinstance(entry.get("certificate"), str):
            raise ParseError(f"{what}[{n}] needs base64 evidence and certificate")
        try:
            report = base64.b64decode(entry["evidence"], validate=True)
            chain = base64.b64decode(entry["certificate"], validate=True)
        except (binascii.Error, ValueError):
            raise ParseError(f"{what}[{n}] is not base64") from None
        arch = entry.get("arch")
        out.append((arch if isinstance(arch, str) else "", report, chain))
    return out


def _secp256k1_point(value: object) -> bytes | None:
    from cryptography.hazmat.primitives.asymmetric import ec

    if not isinstance(value, str) or len(value) != 130:
        return None
    try:
        raw = bytes.fromhex(value)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), raw)
    except ValueError:
        return None
    return raw if raw[0] == 4 else None


def parse_answer(body: bytes) -> VeniceAnswer:
    doc = load_strict_json(body, "Venice attestation")
    if not isinstance(doc, dict) or "intel_quote" not in doc:
        raise ParseError("is not a Venice attestation answer (no intel_quote)")
    key = _secp256k1_point(doc.get("signing_key", doc.get("signing_public_key")))
    gpus: list[tuple[str, bytes, bytes]] | None = None
    problem = None
    try:
        payload = doc.get("nvidia_payload")
        if not isinstance(payload, str):
            raise ParseError("nvidia_payload is missing")
        inner = load_strict_json(payload.encode(), "nvidia_payload")
        gpus = gpu_list(inner.get("evidence_list") if isinstance(inner, dict) else None, "nvidia_payload.evidence_list")
    except ParseError as e:
        problem = str(e)
    return VeniceAnswer(doc, key, gpus, problem)


def appraise_answer(body: bytes, *, nonce: bytes, policy: Policy, at: dt.datetime, service_check: Check,
                    peer_spki: bytes | None, host: str, fetcher: Any = None) -> AttestationResult:
    """The answer's checks in catalogue order; never raises on hostile input."""
    from verifier.appraisal.dstack import appraise_dstack
    from verifier.appraisal.nvidia import appraise_gpus
    from verifier.evidence.dstack import find_evidence

    checks: list[Check] = [service_check]
    claims: dict[str, object] = {}

    def result() -> AttestationResult:
        return AttestationResult(KIND, at, nonce, policy.ref, tuple(checks), claims=claims)

    try:
        answer = parse_answer(body)
        evidence = find_evidence(answer.doc)
        if evidence is None:
            raise ParseError("holds no dstack evidence (intel_quote with event_log)")
    except ParseError as e:
        checks.append(failed(ids.PARSE, f"The answer is not a Venice attestation: {e}", authenticity=True))
        return result()
    checks.append(passed(ids.PARSE, "The answer is a Venice attestation: a dstack TD quote, its event log and app compose, a signing key and NVIDIA GPU evidence.", authenticity=True))
    doc = answer.doc
    for k in ("model", "model_name", "upstream_model", "tee_provider", "signing_address"):
        if isinstance(doc.get(k), str):
            claims[k] = doc[k]
    echoed = doc.get("request_nonce", doc.get("nonce"))
    if isinstance(echoed, str) and echoed.lower() == nonce.hex():
        checks.append(passed(ids.NONCE, f"The answer is for this client's nonce {nonce.hex()}."))
    else:
        checks.append(failed(ids.NONCE, f"The answer names the nonce {str(echoed)[:80]!r}, not this client's {nonce.hex()}: it was not made for this request."))
    expected: bytes | None = None
    if answer.signing_key is None:
        checks.append(failed(ids.SIGNING_KEY, "signing_key is not an uncompressed secp256k1 point (130 hex digits, 04 || X || Y): there is no key to bind."))
    else:
        address = signing_address(answer.signing_key)
        declared = str(doc.get("signing_address", "")).lower().removeprefix("0x")
        claims["signing_key"] = answer.signing_key.hex()
        claims["signing_address_computed"] = "0x" + address.hex()
        if declared and not hmac.compare_digest(declared, address.hex()):
            checks.append(failed(ids.SIGNING_KEY, f"The signing key's address is 0x{address.hex()} (Keccak-256 of the key, last 20 bytes), but the answer declares 0x{declared[:40]}."))
        else:
            expected = expected_report_data(answer.signing_key, nonce)
            checks.append(passed(ids.SIGNING_KEY, f"The signing key is a secp256k1 point with address 0x{address.hex()} = Keccak-256(X || Y)[12:]; REPORT_DATA must be that address, 12 zero bytes and the client's nonce (tdx.report_data)."))
    dstack = appraise_dstack(evidence, policy=policy, at=at, expected_report_data=expected, fetcher=fetcher)
    checks.extend(dstack.checks)
    claims["dstack"] = dstack.claims
    if answer.gpus is None:
        checks.append(failed(ids.GPU_EVIDENCE, f"The GPU evidence cannot be read: {answer.gpu_problem}."))
    else:
        checks.append(passed(ids.GPU_EVIDENCE, f"nvidia_payload holds {len(answer.gpus)} device report(s), each appraised here with the client's nonce as the SPDM nonce (NRAS is never asked)."))
        gpus = appraise_gpus(answer.gpus, policy=policy, at=at, expected_nonce=nonce, fetcher=fetcher)
        checks.extend(gpus.checks)
        claims["gpus"] = gpus.claims
        nonce_checks = [c for c in gpus.checks if c.id.endswith(".nonce")]
        if nonce_checks and all(c.status is Status.PASS for c in nonce_checks):
            checks.append(passed(ids.GPU_BINDING, f"Bound by the nonce only: each of the {len(nonce_checks)} GPU reports answers this client's nonce, so it was made for this request; nothing in the TD quote names these GPUs (REPORT_DATA binds the signing key and the nonce), so that the GPUs sit in the same machine as the TD is not proven."))
        else:
            checks.append(failed(ids.GPU_BINDING, "Not every GPU report answers this client's nonce (or there is none): the GPU evidence is not bound to this request."))
    if peer_spki is None:
        checks.append(skipped(ids.TLS_KEY, f"No TLS peer key was recorded for {host} (a recording without it): the TLS connection is not compared. Live, this check fails: the attestation binds no TLS key.", required=False))
    else:
        checks.append(failed(ids.TLS_KEY, f"The attestation binds no TLS key (REPORT_DATA binds the signing address and the nonce only): the TLS connection to {host} is not shown to end inside the attested TD."))
    checks.append(failed(ids.E2EE, "This client does not implement Venice's end-to-end encryption to the signing key (secp256k1 ECDH; its exact construction is not publicly specified), and no TLS key is attested, so nothing would protect a prompt from the front end at " + host + ": no prompt is sent."))
    return result()
