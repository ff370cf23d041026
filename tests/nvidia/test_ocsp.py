"""OCSP (RFC 6960): real NVIDIA answers at their times, and each rule on synthetic answers."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.x509 import ocsp as x509_ocsp

from tests.nvidia import nv, pki
from verifier.endorsements.fetch import CollateralFetcher
from verifier.endorsements.nvidia_chain import load_chain
from verifier.endorsements.nvidia_ocsp import (
    OcspState,
    build_request,
    check_answer,
    decode_answer_file,
    fetch_answer,
    select,
)

pytestmark = pytest.mark.vectors


def _answers() -> list[bytes]:
    return [decode_answer_file(a) for a in nv.ocsp_answers()]


def test_real_gpu_chain_answers_are_good_inside_their_window() -> None:
    chain = load_chain(nv.read(nv.PYPI + "hopperCertChain.txt"))
    states = [select(_answers(), chain[i], chain[i + 1], at=nv.T_GPU_OCSP).state for i in (1, 2, 3)]
    assert states == [OcspState.GOOD] * 3


def test_real_gpu_chain_answers_are_stale_two_months_later() -> None:
    chain = load_chain(nv.read(nv.PYPI + "hopperCertChain.txt"))
    outcomes = [select(_answers(), chain[i], chain[i + 1], at=nv.T_RIM_OCSP) for i in (1, 2, 3)]
    assert [o.state for o in outcomes] == [OcspState.STALE] * 3
    assert "2025-08-22T06:47" in outcomes[0].detail


def test_real_answers_about_other_certificates_do_not_count() -> None:
    chain = load_chain(nv.read(nv.PYPI + "hopperCertChain.txt"))
    # the leaf has no answer of its own; answers about its issuers are not about it
    assert select(_answers(), chain[0], chain[1], at=nv.T_GPU_OCSP).state is OcspState.ABSENT


def test_answer_file_forms() -> None:
    b64 = nv.ocsp_answers()[0]
    der = decode_answer_file(b64)
    assert der[:1] == b"\x30" and decode_answer_file(der) == der
    assert base64.b64encode(der) == b"".join(b64.split())


@pytest.fixture(scope="module")
def ca() -> tuple[pki.Issued, pki.Issued]:
    issuer = pki.issue(pki.name("Test CA"), None, role="ca")
    subject = pki.issue(pki.name("Test subject"), issuer, role="ca")
    return issuer, subject


def test_good_answer_signed_by_the_issuer(ca: tuple[pki.Issued, pki.Issued]) -> None:
    issuer, subject = ca
    out = check_answer(pki.ocsp_answer(subject.cert, issuer), subject.cert, issuer.cert, at=pki.AT)
    assert out.state is OcspState.GOOD


def test_delegated_responder_with_ocsp_signing_is_accepted(ca: tuple[pki.Issued, pki.Issued]) -> None:
    issuer, subject = ca
    responder = pki.issue(pki.name("Responder"), issuer, role="ocsp")
    der = pki.ocsp_answer(subject.cert, issuer, responder=responder)
    assert check_answer(der, subject.cert, issuer.cert, at=pki.AT).state is OcspState.GOOD


def test_responder_without_ocsp_signing_is_refused(ca: tuple[pki.Issued, pki.Issued]) -> None:
    issuer, subject = ca
    responder = pki.issue(pki.name("Responder"), issuer, role="plain")
    out = check_answer(pki.ocsp_answer(subject.cert, issuer, responder=responder),
                       subject.cert, issuer.cert, at=pki.AT)
    assert out.state is OcspState.INVALID and "OCSPSigning" in out.detail


def test_responder_from_another_ca_is_refused(ca: tuple[pki.Issued, pki.Issued]) -> None:
    issuer, subject = ca
    other = pki.issue(pki.name("Test CA"), None, role="ca")       # same name, other key
    responder = pki.issue(pki.name("Responder"), other, role="ocsp")
    out = check_answer(pki.ocsp_answer(subject.cert, issuer, responder=responder),
                       subject.cert, issuer.cert, at=pki.AT)
    assert out.state is OcspState.INVALID and "not signed by" in out.detail


def test_answer_signed_by_an_unnamed_key_is_refused(ca: tuple[pki.Issued, pki.Issued]) -> None:
    issuer, subject = ca
    responder = pki.issue(pki.name("Responder"), issuer, role="ocsp")
    der = pki.ocsp_answer(subject.cert, issuer, responder=responder, include_responder=False)
    out = check_answer(der, subject.cert, issuer.cert, at=pki.AT)
    assert out.state is OcspState.INVALID and "does not include" in out.detail


def test_tampered_answer_signature_fails(ca: tuple[pki.Issued, pki.Issued]) -> None:
    issuer, subject = ca
    der = bytearray(pki.ocsp_answer(subject.cert, issuer))
    der[-5] ^= 0x01                                                  # inside the signature value
    out = check_answer(bytes(der), subject.cert, issuer.cert, at=pki.AT)
    assert out.state is OcspState.INVALID


@pytest.mark.parametrize(("status", "state"), [("revoked", OcspState.REVOKED), ("unknown", OcspState.UNKNOWN)])
def test_revoked_and_unknown_refuse(ca: tuple[pki.Issued, pki.Issued], status: str, state: OcspState) -> None:
    issuer, subject = ca
    out = check_answer(pki.ocsp_answer(subject.cert, issuer, status=status), subject.cert, issuer.cert,
                       at=pki.AT)
    assert out.state is state and out.state.refusal


def test_revoked_beats_good_in_a_pool(ca: tuple[pki.Issued, pki.Issued]) -> None:
    issuer, subject = ca
    pool = [pki.ocsp_answer(subject.cert, issuer), pki.ocsp_answer(subject.cert, issuer, status="revoked")]
    assert select(pool, subject.cert, issuer.cert, at=pki.AT).state is OcspState.REVOKED


def test_window_is_enforced_without_a_nonce(ca: tuple[pki.Issued, pki.Issued]) -> None:
    issuer, subject = ca
    der = pki.ocsp_answer(subject.cert, issuer)
    early = pki.AT - dt.timedelta(hours=2)
    late = pki.AT + dt.timedelta(days=2)
    assert check_answer(der, subject.cert, issuer.cert, at=early).state is OcspState.NOT_YET_VALID
    assert check_answer(der, subject.cert, issuer.cert, at=late).state is OcspState.STALE
    open_ended = pki.ocsp_answer(subject.cert, issuer, next_update=None)
    assert check_answer(open_ended, subject.cert, issuer.cert, at=pki.AT).state is OcspState.STALE


def test_nonce_rules(ca: tuple[pki.Issued, pki.Issued]) -> None:
    issuer, subject = ca
    ours = b"n" * 32
    matched = pki.ocsp_answer(subject.cert, issuer, nonce=ours, next_update=None)
    assert check_answer(matched, subject.cert, issuer.cert, at=pki.AT, nonce=ours).state is OcspState.GOOD
    other = pki.ocsp_answer(subject.cert, issuer, nonce=b"x" * 32)
    out = check_answer(other, subject.cert, issuer.cert, at=pki.AT, nonce=ours)
    assert out.state is OcspState.INVALID and "nonce" in out.detail
    # a nonce-less answer to a request that carried a nonce is refused (nvtrust refuses it too, issue 13
    # point 9); the same answer given as a file (no nonce sent) is fine inside its window
    plain = pki.ocsp_answer(subject.cert, issuer)
    out = check_answer(plain, subject.cert, issuer.cert, at=pki.AT, nonce=ours)
    assert out.state is OcspState.INVALID and "no nonce" in out.detail
    assert check_answer(plain, subject.cert, issuer.cert, at=pki.AT).state is OcspState.GOOD
    skew = pki.ocsp_answer(subject.cert, issuer, nonce=ours, this_update=pki.AT + dt.timedelta(minutes=2))
    assert check_answer(skew, subject.cert, issuer.cert, at=pki.AT, nonce=ours).state is OcspState.GOOD
    assert check_answer(skew, subject.cert, issuer.cert, at=pki.AT).state is OcspState.NOT_YET_VALID


def test_request_carries_the_nonce(ca: tuple[pki.Issued, pki.Issued]) -> None:
    issuer, subject = ca
    req = x509_ocsp.load_der_ocsp_request(build_request(subject.cert, issuer.cert, b"q" * 32))
    assert req.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == b"q" * 32
    assert req.serial_number == subject.cert.serial_number


def _responder(issuer: pki.Issued, *, echo: bool) -> httpx.MockTransport:
    """An RFC 6960 Appendix A.1 POST responder that answers good, echoing (or not) the request nonce."""
    def handle(request: httpx.Request) -> httpx.Response:
        assert request.method == "POST"
        assert request.headers["content-type"] == "application/ocsp-request"
        req = x509_ocsp.load_der_ocsp_request(request.content)
        nonce = req.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
        subject = _ISSUED[req.serial_number]
        der = pki.ocsp_answer(subject, issuer, nonce=nonce if echo else b"z" * 32, next_update=None)
        return httpx.Response(200, content=der)
    return httpx.MockTransport(handle)


def _nonceless_responder(issuer: pki.Issued) -> httpx.MockTransport:
    """A responder that answers good inside a valid window but ignores the request's nonce."""
    def handle(request: httpx.Request) -> httpx.Response:
        req = x509_ocsp.load_der_ocsp_request(request.content)
        return httpx.Response(200, content=pki.ocsp_answer(_ISSUED[req.serial_number], issuer))
    return httpx.MockTransport(handle)


def test_a_fetched_answer_without_the_nonce_sent_is_refused(ca: tuple[pki.Issued, pki.Issued],
                                                             tmp_path: Path) -> None:
    """Issue 13, point 9: nvtrust reads the nonce extension of every answer it asked for with a
    nonce and refuses one without it (``get_extension_for_class(OCSPNonce)`` raises); so do we."""
    issuer, subject = ca
    _ISSUED[subject.cert.serial_number] = subject.cert
    fetcher = CollateralFetcher(tmp_path, client=httpx.Client(transport=_nonceless_responder(issuer)))
    out = fetch_answer(fetcher, subject.cert, issuer.cert, at=pki.AT)
    assert out.state is OcspState.INVALID and out.state.refusal and "no nonce" in out.detail


_ISSUED: dict[int, x509.Certificate] = {}


@pytest.mark.parametrize(("echo", "state"), [(True, OcspState.GOOD), (False, OcspState.INVALID)])
def test_fetch_sends_a_nonce_and_checks_it(ca: tuple[pki.Issued, pki.Issued], tmp_path: Path, echo: bool,
                                           state: OcspState) -> None:
    issuer, subject = ca
    _ISSUED[subject.cert.serial_number] = subject.cert
    fetcher = CollateralFetcher(tmp_path, client=httpx.Client(transport=_responder(issuer, echo=echo)))
    out = fetch_answer(fetcher, subject.cert, issuer.cert, at=pki.AT)
    assert out.state is state


def test_offline_fetch_is_absent(ca: tuple[pki.Issued, pki.Issued], tmp_path: Path) -> None:
    issuer, subject = ca
    out = fetch_answer(CollateralFetcher(tmp_path, offline=True), subject.cert, issuer.cert, at=pki.AT)
    assert out.state is OcspState.ABSENT and "offline" in out.detail
