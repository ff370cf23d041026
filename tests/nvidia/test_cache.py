"""What the GPU appraisal remembers between attestations, and what it never does (docs/nvidia.md,
"Caching"): a warm appraisal is the cold one, check for check; a changed byte is never served from
memory; the report's signature, validity, pins and OCSP are judged every time; every cache is bounded.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ocsp as x509_ocsp

from tests.nvidia import nv, pki
from verifier import memo
from verifier.appraisal.nvidia import GpuAppraisal, appraise_gpu, appraise_gpus
from verifier.appraisal.nvidia.rules import GpuPolicy
from verifier.appraisal.policy import parse_policy
from verifier.endorsements import nvidia_chain, nvidia_ocsp
from verifier.endorsements.nvidia_anchors import VENDOR_ANCHORS
from verifier.endorsements.nvidia_chain import PathError, load_chain, validate_path
from verifier.endorsements.nvidia_ocsp import OcspState, check_answer, read_answer_file, select
from verifier.errors import PolicyError
from verifier.reference.rim import RimError, load_rim, verify_rim_chain, verify_rim_signature
from verifier.result import Status

DAY = dt.timedelta(days=1)
IF_AVAILABLE = parse_policy(b'name = "t"\n[gpu]\nrim_ocsp = "if-available"\n')
DEFAULT = parse_policy(b'name = "t"\n')


def _h100(policy: object = IF_AVAILABLE, *, report: bytes | None = None, chain: bytes | None = None,
          ocsp: list[bytes] | None = None, at: object = nv.T_GPU_OCSP) -> GpuAppraisal:
    real_report, real_chain = nv.h100()
    return appraise_gpu(report or real_report, chain or real_chain, policy=policy, at=at,  # type: ignore[arg-type]
                        expected_nonce=nv.H100_NONCE, rims=nv.google_rims(),
                        ocsp=nv.ocsp_answers() if ocsp is None else ocsp)


def _json(a: GpuAppraisal) -> str:
    return json.dumps({"checks": [c.to_json() for c in a.checks], "claims": a.claims,
                       "authentic": a.authentic, "verified": a.verified}, sort_keys=True)


def _status(a: GpuAppraisal, cid: str) -> Status:
    c = a.check(cid)
    assert c is not None, cid
    return c.status


def _cold_then_warm(appraise: Callable[[], GpuAppraisal]) -> tuple[GpuAppraisal, GpuAppraisal]:
    memo.clear_all()
    cold = appraise()
    assert len(nvidia_chain.PATHS) > 0                 # the cold run filled the caches ...
    warm = appraise()
    return cold, warm


# -- the same outcome, warm or cold ----------------------------------------------------------------


@pytest.mark.vectors
@pytest.mark.parametrize("policy", [IF_AVAILABLE, DEFAULT], ids=["rim_ocsp-if-available", "default"])
def test_a_warm_h100_appraisal_is_the_cold_one(policy: object) -> None:
    cold, warm = _cold_then_warm(lambda: _h100(policy))
    assert warm.checks == cold.checks and _json(warm) == _json(cold)
    # ... and the cold one is what it always was: verified with RIM OCSP optional, refused by the
    # RIM chain's not-yet-valid answers by default
    assert cold.verified is (policy is IF_AVAILABLE) and cold.authentic


@pytest.mark.vectors
def test_a_warm_near_ai_appraisal_is_the_cold_one() -> None:
    gpus, nonce, at = nv.near_ai_gpus()
    policy = parse_policy(b'name = "t"\n[gpu]\nocsp = "off"\nrims = "if-available"\n')
    cold, warm = _cold_then_warm(lambda: appraise_gpus(gpus, policy=policy, at=at, expected_nonce=nonce))
    assert warm.checks == cold.checks and _json(warm) == _json(cold)
    assert cold.authentic and len([c for c in cold.checks if c.id.endswith(".signature")
                                   and c.status is Status.PASS]) == 8


# -- a changed byte is never served from memory ----------------------------------------------------


@pytest.mark.vectors
@pytest.mark.parametrize("where", ["signature", "measurement"])
def test_a_tampered_report_is_refused_on_a_warm_cache(where: str) -> None:
    report, _ = nv.h100()
    assert _h100().verified                            # warm: the genuine report passed
    tampered = bytearray(report)
    # the signature's last byte, or a byte of the first measurement's value (the record's cache key)
    tampered[-1 if where == "signature" else 37 + 8 + 7] ^= 0x01
    for _ in range(2):                                 # and again, once it has been seen
        a = _h100(report=bytes(tampered))
        assert _status(a, "gpu.0.signature") is Status.FAIL and not a.authentic
    assert _h100().verified                            # nothing was poisoned


def _flip_in_signature(cert: x509.Certificate) -> bytes:
    """``cert``'s PEM with one byte of its signature value changed: it still reads, but does not verify."""
    der = bytearray(cert.public_bytes(serialization.Encoding.DER))
    der[-3] ^= 0x01                                    # inside s, the signature's last INTEGER
    pem = base64.encodebytes(bytes(der))
    return b"-----BEGIN CERTIFICATE-----\n" + pem + b"-----END CERTIFICATE-----\n"


@pytest.mark.vectors
@pytest.mark.parametrize("position", [0, 2], ids=["leaf", "provisioner-ica"])
def test_a_chain_one_byte_different_is_not_served_from_the_cache(position: int) -> None:
    _, chain_bytes = nv.h100()
    chain = load_chain(chain_bytes)
    assert _h100().verified                            # warm: every link of the genuine chain is remembered
    forged = b"".join(_flip_in_signature(c) if i == position else c.public_bytes(serialization.Encoding.PEM)
                      for i, c in enumerate(chain))
    assert load_chain(forged)[position] != chain[position]
    for _ in range(2):
        a = _h100(chain=forged)
        c = a.check("gpu.0.chain")
        assert c is not None and c.status is Status.FAIL and "is not signed by" in c.detail, c
        assert _status(a, "gpu.0.chain.root_pinned") is Status.PASS and not a.authentic
    assert _h100().verified


def test_validate_path_remembers_only_paths_that_held(device: pki.DevicePki) -> None:
    certs = [i.cert for i in device.chain]
    assert validate_path(certs, pin=device.pin, at=pki.AT).leaf == certs[0]
    forged = [x509.load_pem_x509_certificate(_flip_in_signature(certs[1])), *certs[2:]]
    forged.insert(0, certs[0])
    for _ in range(2):
        with pytest.raises(PathError) as e:
            validate_path(forged, pin=device.pin, at=pki.AT)
        assert e.value.reason == "signature" and e.value.position == 1
    assert not nvidia_chain.PATHS.hit(tuple(nvidia_chain.der_of(c) for c in forged))
    # validity and the pin are checked on a remembered path too
    with pytest.raises(PathError, match="expired") as late:
        validate_path(certs, pin=device.pin, at=pki.NOT_AFTER.replace(year=2031))
    assert late.value.reason == "validity"
    with pytest.raises(PathError) as other_pin:
        validate_path(certs, pin="00" * 32, at=pki.AT)
    assert other_pin.value.reason == "pin"


@pytest.mark.vectors
def test_a_remembered_rim_is_not_used_once_its_signer_expired() -> None:
    doc = load_rim(nv.google_rims()[0])
    path = verify_rim_chain(doc, pin=VENDOR_ANCHORS.rim, at=nv.T_GPU_OCSP)
    assert verify_rim_signature(doc, path.leaf, at=nv.T_GPU_OCSP).version == "550.90.07"   # remembered
    with pytest.raises(RimError):
        verify_rim_signature(doc, path.leaf, at=nv.T_DRIVER_EXPIRED)
    a = _h100(at=nv.T_DRIVER_EXPIRED)
    c = a.check("gpu.0.rim.driver.chain")
    assert c is not None and c.status is Status.FAIL and "expired" in c.detail


# -- OCSP is judged every time ---------------------------------------------------------------------


def _ocsp_policy(device: pki.DevicePki) -> object:
    return parse_policy(pki.policy_text(device.pin, device.pin, rim_ocsp="off", rims="if-available"))


def _device_appraisal(device: pki.DevicePki, answers: list[bytes]) -> GpuAppraisal:
    nonce = bytes(range(32))
    return appraise_gpu(pki.report(device, nonce, pki.measurements()), device.chain_pem,
                        policy=_ocsp_policy(device), at=pki.AT, expected_nonce=nonce,  # type: ignore[arg-type]
                        ocsp=answers, arch="HOPPER")


def _tamper_signature(der: bytes) -> bytes:
    signature = x509_ocsp.load_der_ocsp_response(der).signature
    at = der.index(signature) + len(signature) - 3     # inside s
    out = bytearray(der)
    out[at] ^= 0x01
    return bytes(out)


def test_ocsp_answers_are_judged_anew_on_a_warm_cache(device: pki.DevicePki) -> None:
    chain = device.chain
    responder = pki.issue(pki.name("GH100 OCSP responder"), chain[2], role="ocsp")

    def answers(first: bytes) -> list[bytes]:
        return [first, *(pki.ocsp_answer(chain[i].cert, chain[i + 1]) for i in (2, 3))]

    good = pki.ocsp_answer(chain[1].cert, chain[2], responder=responder)
    rounds = [
        (good, Status.PASS, "good"),
        (pki.ocsp_answer(chain[1].cert, chain[2], responder=responder, status="revoked"), Status.FAIL, "revoked"),
        (pki.ocsp_answer(chain[1].cert, chain[2], responder=responder, this_update=pki.AT - 10 * DAY,
                         next_update=pki.AT - DAY), Status.FAIL, "stale"),
        (_tamper_signature(good), Status.FAIL, "does not verify"),
        (good, Status.PASS, "good"),
    ]
    for answer, status, word in rounds:
        a = _device_appraisal(device, answers(answer))
        c = a.check("gpu.0.ocsp")
        assert c is not None and c.status is status and word in c.detail, (word, c)
        assert a.authentic                             # the chain and the report hold throughout


def test_a_read_answer_is_judged_for_each_certificate_and_time(device: pki.DevicePki) -> None:
    chain = device.chain
    answer = pki.ocsp_answer(chain[1].cert, chain[2])
    read = read_answer_file(answer)
    assert read_answer_file(answer) is read            # read once ...
    assert check_answer(read, chain[1].cert, chain[2].cert, at=pki.AT).state is OcspState.GOOD
    # ... judged each time: another certificate, another time
    assert select([read], chain[2].cert, chain[3].cert, at=pki.AT).state is OcspState.ABSENT
    later = pki.AT + (pki.NOT_AFTER - pki.AT) / 2
    assert check_answer(read, chain[1].cert, chain[2].cert, at=later).state is OcspState.STALE
    assert read_answer_file(_tamper_signature(answer)) is not read


def test_a_remembered_delegation_still_needs_the_responder_valid_and_delegated(device: pki.DevicePki) -> None:
    """That a responder is delegated (issued and signed by the issuer, with id-kp-OCSPSigning) is
    remembered once it held; its validity at the verification time never is, and a responder that
    is not delegated is refused every time it is met."""
    chain = device.chain
    short = pki.issue(pki.name("GH100 OCSP responder"), chain[2], role="ocsp",
                      not_after=pki.AT + dt.timedelta(hours=2))
    good = pki.ocsp_answer(chain[1].cert, chain[2], responder=short)
    assert check_answer(good, chain[1].cert, chain[2].cert, at=pki.AT).state is OcspState.GOOD
    assert len(nvidia_ocsp.DELEGATIONS) > 0
    later = check_answer(good, chain[1].cert, chain[2].cert, at=pki.AT + dt.timedelta(hours=3))
    assert later.state is OcspState.INVALID and "not valid at" in later.detail, later
    plain = pki.issue(pki.name("GH100 OCSP responder"), chain[2], role="plain")
    unauthorized = pki.ocsp_answer(chain[1].cert, chain[2], responder=plain)
    for _ in range(2):
        outcome = check_answer(unauthorized, chain[1].cert, chain[2].cert, at=pki.AT)
        assert outcome.state is OcspState.INVALID and "id-kp-OCSPSigning" in outcome.detail, outcome


def test_the_gpu_table_is_read_once_per_policy_object() -> None:
    """A parsed policy never changes, so its [gpu] table is read once for it; another policy object,
    even with the same text, is read for itself, and a bad table is refused every time."""
    first = GpuPolicy.from_policy(IF_AVAILABLE)
    assert GpuPolicy.from_policy(IF_AVAILABLE) is first and first.rim_ocsp == "if-available"
    again = parse_policy(b'name = "t"\n[gpu]\nrim_ocsp = "if-available"\n')
    assert GpuPolicy.from_policy(again) == first and GpuPolicy.from_policy(again) is not first
    assert GpuPolicy.from_policy(DEFAULT).rim_ocsp == "required"
    bad = parse_policy(b'name = "t"\n[gpu]\nocsp = "sometimes"\n')
    for _ in range(2):
        with pytest.raises(PolicyError, match="ocsp"):
            GpuPolicy.from_policy(bad)


def test_a_remembered_chain_is_still_judged_at_each_time(device: pki.DevicePki) -> None:
    """A chain's DER and validity windows are read once for the chain object (docs/nvidia.md,
    "Caching"); the verification time is compared with them on every call."""
    chain = load_chain(device.chain_pem)
    assert load_chain(device.chain_pem) is chain
    held = validate_path(chain, pin=device.pin, at=pki.AT)
    assert nvidia_chain.chain_shape(chain) is nvidia_chain.chain_shape(chain)
    assert (held.not_before, held.not_after) == (pki.NOT_BEFORE, pki.NOT_AFTER)
    with pytest.raises(PathError) as e:
        validate_path(chain, pin=device.pin, at=pki.NOT_AFTER + DAY)
    assert e.value.reason == "validity"
    assert validate_path(chain, pin=device.pin, at=pki.AT).certificates == held.certificates


@pytest.mark.vectors
def test_real_ocsp_answers_go_stale_on_a_warm_cache() -> None:
    assert _status(_h100(), "gpu.0.ocsp") is Status.PASS
    a = _h100(at=nv.T_RIM_OCSP)
    assert _status(a, "gpu.0.ocsp") is Status.FAIL and a.authentic
    assert _status(_h100(), "gpu.0.ocsp") is Status.PASS


# -- bounded ---------------------------------------------------------------------------------------


def test_a_bounded_cache_keeps_the_most_recently_used() -> None:
    cache: memo.BoundedCache[int] = memo.BoundedCache("test", 3)
    try:
        for n in range(3):
            cache.put(bytes([n]), n)
        assert cache.get(b"\x00") == 0                 # used: now the most recent
        cache.put(b"\x03", 3)
        assert len(cache) == 3 and cache.get(b"\x01") is None and cache.get(b"\x00") == 0

        def refuse() -> int:
            raise ValueError("does not verify")

        with pytest.raises(ValueError):
            cache.through(b"\x09", refuse)
        assert cache.get(b"\x09") is None              # a failure is not remembered
        assert cache.through(b"\x09", lambda: 9) == 9 and cache.get(b"\x09") == 9
        assert memo.BoundedCache.key(b"ab", b"c") != memo.BoundedCache.key(b"a", b"bc")
    finally:
        memo._ALL.remove(cache)


def test_a_per_object_memo_is_bounded_and_per_object() -> None:
    calls: list[object] = []
    per: memo.PerObject[bytearray, int] = memo.PerObject("test", 2, lambda o: calls.append(o) or len(o))
    try:
        a, b, c = bytearray(1), bytearray(2), bytearray(3)
        assert [per(a), per(a), per(bytearray(1))] == [1, 1, 1]
        assert len(calls) == 2                         # an equal but other object is computed again
        per(b), per(c)
        assert len(per) == 2
    finally:
        memo._ALL.remove(per)


def test_every_cache_is_bounded() -> None:
    assert memo._ALL and all(1 <= c.size <= 1024 for c in memo._ALL)
    whats = {c.what for c in memo._ALL}
    assert {"NVIDIA parsed chains", "NVIDIA certificate signatures", "NVIDIA certificate paths",
            "NVIDIA verified RIMs", "NVIDIA OCSP answers read", "AMD RSA-PSS signatures"} <= whats
