"""OCSP for NVIDIA device and RIM certificates (RFC 6960), checked at an explicit verification time.

Rules, each from RFC 6960 unless noted, in the order they are checked:

* the answer is ``successful`` (§4.2.1) and holds a SingleResponse whose CertID names the certificate
  (issuer name hash, issuer key hash, serial; §4.1.1) in the hash the answer chose;
* when we sent a nonce (RFC 8954) an answer that carries a different one, or none, is refused (as
  NVIDIA's nvtrust verifier refuses it: an answer we asked for with a nonce and that is not bound to
  it could be a replayed one);
* an answer is used only inside thisUpdate..nextUpdate at the verification time (§4.2.2.1, §3.2 items
  4 and 5); outside it the answer is "not yet valid" or "stale", which the policy treats as absent.
  An answer bound to our nonce gets a small leeway for clock skew on thisUpdate, and needs no
  nextUpdate. The window comes before the signature because a stale answer is never used whoever
  signed it, and "stale" is the reason a user can act on (its responder certificate may since have
  expired too);
* it is signed by the certificate's issuer, or by a responder certificate that the issuer signed, that
  carries id-kp-OCSPSigning and is valid at the verification time (§4.2.2.2); the ResponderID must name
  that signer by name or by key hash (§4.2.1);
* ``good`` passes; ``revoked`` (including certificateHold) and ``unknown`` fail.

Fetching (through the shared :class:`verifier.endorsements.fetch.CollateralFetcher`) uses the POST
form of RFC 6960 Appendix A.1 (``application/ocsp-request``), uncached: each request carries a fresh
nonce, so its answer is for it alone. Answers given as files are read (parsed) once by their exact
bytes (:data:`ANSWERS`), and that a responder certificate is delegated by the issuer (issued and
signed by it, with id-kp-OCSPSigning) is remembered once it held (:data:`DELEGATIONS`); every other
rule above, the responder's validity and the answer's own signature included, is applied on every
appraisal.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import functools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

from verifier.endorsements.fetch import CollateralFetcher
from verifier.endorsements.nvidia_anchors import OCSP_URL
from verifier.endorsements.nvidia_chain import (
    der_children,
    der_element,
    der_of,
    ocsp_url,
    remembered,
    validity,
    verify_link,
)
from verifier.errors import CollateralError
from verifier.memo import BoundedCache, PerObject, VerifiedCache
from verifier.result import iso

NONCE_LEEWAY = dt.timedelta(minutes=5)
"""How far in the future thisUpdate may be on an answer bound to our own nonce (clock skew)."""
MAX_OCSP_BYTES = 64 * 1024


class OcspState(enum.StrEnum):
    GOOD = "good"
    REVOKED = "revoked"
    UNKNOWN = "unknown"
    INVALID = "invalid"
    NOT_YET_VALID = "not-yet-valid"
    STALE = "stale"
    ABSENT = "absent"

    @property
    def refusal(self) -> bool:
        """Whatever the policy, this state refuses the certificate."""
        return self in (OcspState.REVOKED, OcspState.UNKNOWN, OcspState.INVALID)

    @property
    def unusable(self) -> bool:
        """No usable answer: the policy decides (``required`` fails, ``if-available`` skips)."""
        return self in (OcspState.NOT_YET_VALID, OcspState.STALE, OcspState.ABSENT)


_PREFERENCE = (OcspState.REVOKED, OcspState.GOOD, OcspState.UNKNOWN, OcspState.INVALID,
               OcspState.NOT_YET_VALID, OcspState.STALE, OcspState.ABSENT)
_RANK = {state: n for n, state in enumerate(_PREFERENCE)}


@dataclass(frozen=True)
class OcspOutcome:
    """What the answers say about one certificate at the verification time."""

    state: OcspState
    detail: str
    this_update: dt.datetime | None = None
    next_update: dt.datetime | None = None
    revocation_reason: str | None = None


_CERT_ID_HASHES: PerObject[x509.Certificate, dict[str, bytes]] = PerObject(
    "NVIDIA certificates' OCSP CertID hashes", 256, lambda cert: {})
"""A certificate's name and key hashes (:func:`name_hash`, :func:`key_hash`) by the kind and the
hash's name, remembered for the certificate object (comparing them with an answer's CertID or
ResponderID is done every time)."""


def _remembered_hash(cert: x509.Certificate, kind: str, algorithm: hashes.HashAlgorithm,
                     compute: Callable[[x509.Certificate, hashes.HashAlgorithm], bytes]) -> bytes:
    hashes_of = _CERT_ID_HASHES(cert)
    key = f"{kind}-{algorithm.name}"
    value = hashes_of.get(key)
    if value is None:
        value = hashes_of[key] = compute(cert, algorithm)
    return value


def key_hash(cert: x509.Certificate, algorithm: hashes.HashAlgorithm) -> bytes:
    """Hash of the subjectPublicKey BIT STRING value (RFC 6960 §4.1.1 issuerKeyHash, §4.2.1 KeyHash)."""
    return _remembered_hash(cert, "key", algorithm, _key_hash)


def _key_hash(cert: x509.Certificate, algorithm: hashes.HashAlgorithm) -> bytes:
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    _, start, end = der_element(spki, 0)
    children = der_children(spki, start, end)
    tag, s, e = children[1]
    if tag != 0x03 or e <= s:
        raise ValueError("SubjectPublicKeyInfo has no BIT STRING")
    h = hashes.Hash(algorithm)
    h.update(spki[s + 1:e])
    return h.finalize()


def _names(cert: x509.Certificate, issuer: x509.Certificate,
           single: ocsp.OCSPSingleResponse) -> bool:
    """Whether ``single``'s CertID is (issuer, serial) of ``cert`` (RFC 6960 §4.1.1)."""
    if single.serial_number != cert.serial_number:
        return False
    algorithm = single.hash_algorithm
    return (name_hash(issuer, algorithm) == single.issuer_name_hash
            and key_hash(issuer, algorithm) == single.issuer_key_hash)


def name_hash(cert: x509.Certificate, algorithm: hashes.HashAlgorithm) -> bytes:
    """Hash of the DER subject name (RFC 6960 §4.1.1 issuerNameHash)."""
    return _remembered_hash(cert, "name", algorithm, _name_hash)


def _name_hash(cert: x509.Certificate, algorithm: hashes.HashAlgorithm) -> bytes:
    h = hashes.Hash(algorithm)
    h.update(cert.subject.public_bytes())
    return h.finalize()


def build_request(cert: x509.Certificate, issuer: x509.Certificate, nonce: bytes | None) -> bytes:
    """A DER OCSPRequest for one certificate (SHA-384 CertID, as NVIDIA's responder answers), with
    a nonce extension when ``nonce`` is given (RFC 8954: 1 to 32 bytes)."""
    builder = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA384())
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


_OTHER_CERTIFICATES = OcspOutcome(OcspState.ABSENT, "the answer is about other certificates")


@dataclass(frozen=True)
class Answer:
    """An answer as read (:func:`read_answer`): parsed, never judged. Each use, for each certificate,
    :func:`check_answer` judges it anew (CertID, nonce, window, responder, signature, status)."""

    response: ocsp.OCSPResponse
    serials: frozenset[int] | None
    """The serial numbers its SingleResponses name (None when one cannot be read): an answer that
    does not name a certificate's serial is about other certificates, with nothing more to read."""

    @functools.cached_property
    def responders(self) -> tuple[x509.Certificate, ...]:
        """The certificates it carries (read once, each as :func:`remembered`)."""
        return tuple(map(remembered, self.response.certificates))


ANSWERS: BoundedCache[Answer] = BoundedCache("NVIDIA OCSP answers read", 64)
"""Answers given as files (DER or base64), read before, by their exact bytes. An answer without a
nonce may be stapled to every attestation until its nextUpdate; what it says is judged every time."""


def read_answer_file(data: bytes) -> Answer | OcspOutcome:
    """:func:`read_answer` of :func:`decode_answer_file`, remembered in :data:`ANSWERS` when it reads."""
    key = bytes(data)
    hit = ANSWERS.get(key)
    if hit is not None:
        return hit
    read = read_answer(decode_answer_file(data))
    if isinstance(read, Answer):
        ANSWERS.put(key, read)
    return read


def read_answer(der: bytes) -> Answer | OcspOutcome:
    """One answer parsed, or the outcome it gives every certificate: too large, not an OCSP
    response, or not ``successful``. Parsing only: :func:`check_answer` judges it every time."""
    if len(der) > MAX_OCSP_BYTES:
        return OcspOutcome(OcspState.INVALID, f"the answer is {len(der)} bytes, too large")
    try:
        response = ocsp.load_der_ocsp_response(der)
    except ValueError:
        # not about this certificate in any readable way (files are checked for form before this)
        return OcspOutcome(OcspState.ABSENT, "an answer given is not an OCSP response")
    if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        return OcspOutcome(OcspState.ABSENT, f"the responder answered {response.response_status.name}")
    try:
        serials: frozenset[int] | None = frozenset(s.serial_number for s in response.responses)
    except (ValueError, UnsupportedAlgorithm):
        serials = None            # check_answer reads them one by one and says which cannot be read
    return Answer(response, serials)


def check_answer(der: bytes | Answer | OcspOutcome, cert: x509.Certificate, issuer: x509.Certificate,
                 *, at: dt.datetime, nonce: bytes | None = None) -> OcspOutcome:
    """Check one OCSP answer about ``cert`` (issued by ``issuer``) at time ``at``: its bytes, or what
    :func:`read_answer` made of them."""
    read = read_answer(der) if isinstance(der, bytes) else der
    if isinstance(read, OcspOutcome):
        return read
    if read.serials is not None and cert.serial_number not in read.serials:
        return _OTHER_CERTIFICATES
    response = read.response
    try:
        single = next((s for s in response.responses if _names(cert, issuer, s)), None)
    except (ValueError, UnsupportedAlgorithm) as e:
        return OcspOutcome(OcspState.INVALID, f"the answer's CertID cannot be read ({e})")
    if single is None:
        return _OTHER_CERTIFICATES

    bound = False
    if nonce is not None:
        try:
            theirs = response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
        except x509.ExtensionNotFound:
            theirs = None
        except ValueError as e:
            return OcspOutcome(OcspState.INVALID, f"the answer's extensions cannot be read ({e})")
        if theirs is None:
            return OcspOutcome(OcspState.INVALID, "the answer carries no nonce, although one was sent: "
                               "it is not bound to this request")
        if theirs != nonce:
            return OcspOutcome(OcspState.INVALID, "the answer carries a nonce other than the one sent")
        bound = True

    # The window first: an answer outside it is never used, whoever signed it, and "stale" is the
    # reason a user can act on (a responder certificate that expired since is part of being stale).
    this_update, next_update = single.this_update_utc, single.next_update_utc
    window = f"{iso(this_update)}..{iso(next_update) if next_update else 'open'}"
    leeway = NONCE_LEEWAY if bound else dt.timedelta(0)
    if at + leeway < this_update:
        return OcspOutcome(OcspState.NOT_YET_VALID, f"the answer is not yet valid at {iso(at)} "
                           f"(valid {window})", this_update, next_update)
    if next_update is None and not bound:
        return OcspOutcome(OcspState.STALE, "the answer has no nextUpdate and no nonce, so its "
                           "freshness cannot be judged", this_update, next_update)
    if next_update is not None and at > next_update:
        return OcspOutcome(OcspState.STALE, f"the answer is stale at {iso(at)} (valid {window})",
                           this_update, next_update)

    problem = _authorize_and_verify(read, issuer, at)
    if problem is not None:
        return OcspOutcome(OcspState.INVALID, problem, this_update, next_update)

    status = single.certificate_status
    if status == ocsp.OCSPCertStatus.GOOD:
        return OcspOutcome(OcspState.GOOD, f"good (valid {window})", this_update, next_update)
    if status == ocsp.OCSPCertStatus.REVOKED:
        reason = single.revocation_reason.name if single.revocation_reason else "unspecified"
        when = single.revocation_time_utc
        return OcspOutcome(OcspState.REVOKED, f"revoked ({reason}) since {iso(when) if when else '?'}",
                           this_update, next_update, reason)
    return OcspOutcome(OcspState.UNKNOWN, "the responder does not know the certificate",
                       this_update, next_update)


def _authorize_and_verify(answer: Answer, issuer: x509.Certificate, at: dt.datetime) -> str | None:
    """RFC 6960 §4.2.2.2: find the signer the ResponderID names, authorize it, check the signature."""
    response = answer.response
    try:
        by_key = response.responder_key_hash
        by_name = response.responder_name
        candidates = [issuer, *answer.responders]
        signer = None
        for c in candidates:
            if by_key is not None and key_hash(c, hashes.SHA1()) == by_key:
                signer = c
                break
            if by_name is not None and c.subject == by_name:
                signer = c
                break
        if signer is None:
            return "the answer is signed by a responder it does not include"
        if signer is not issuer and signer.public_key() != issuer.public_key():
            problem = _delegation_problem(signer, issuer)
            if problem is not None:
                return problem
            not_before, not_after = validity(signer)
            if not not_before <= at <= not_after:
                return (f"the responder certificate {_cn(signer)} is not valid at {iso(at)} "
                        f"(valid {iso(not_before)}..{iso(not_after)})")
        _verify(signer, response.signature, response.tbs_response_bytes, response.signature_hash_algorithm)
    except InvalidSignature:
        return "the answer's signature does not verify"
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        return f"the answer cannot be checked ({e})"
    return None


DELEGATIONS = VerifiedCache("NVIDIA OCSP responder delegations", 128)
"""Responder certificates that :func:`_delegation_problem` found delegated by an issuer, by the exact
DER of both (what the certificates themselves say; the responder's validity at the verification
time, and every answer's own signature, are checked every time)."""


def _delegation_problem(signer: x509.Certificate, issuer: x509.Certificate) -> str | None:
    """Why ``signer`` is not a responder ``issuer`` delegated to (RFC 6960 §4.2.2.2: issued and
    signed by it, with id-kp-OCSPSigning); None when it is (remembered in :data:`DELEGATIONS`)."""
    key = (der_of(signer), der_of(issuer))
    if DELEGATIONS.hit(key):
        return None
    if signer.issuer != issuer.subject:
        return f"the responder {_cn(signer)} is not issued by the certificate's issuer {_cn(issuer)}"
    try:
        verify_link(signer, issuer)
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):
        return f"the responder {_cn(signer)} is not signed by {_cn(issuer)}"
    try:
        eku = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        eku = None
    if eku is None or ExtendedKeyUsageOID.OCSP_SIGNING not in eku:
        return f"the responder {_cn(signer)} is not authorized for OCSP signing (no id-kp-OCSPSigning)"
    DELEGATIONS.add(key)
    return None


def _verify(signer: x509.Certificate, signature: bytes, data: bytes,
            algorithm: hashes.HashAlgorithm | None) -> None:
    key = signer.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey) and algorithm is not None:
        key.verify(signature, data, ec.ECDSA(algorithm))
    elif isinstance(key, rsa.RSAPublicKey) and algorithm is not None:
        key.verify(signature, data, padding.PKCS1v15(), algorithm)
    elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        key.verify(signature, data)
    else:
        raise UnsupportedAlgorithm(f"unsupported responder key {type(key).__name__}")


def select(answers: Sequence[bytes | Answer | OcspOutcome], cert: x509.Certificate,
           issuer: x509.Certificate, *, at: dt.datetime, nonce: bytes | None = None) -> OcspOutcome:
    """The most telling outcome among ``answers`` (bytes, or :func:`read_answer`'s) for ``cert``:
    revoked beats good beats the rest."""
    serial = cert.serial_number
    best: OcspOutcome | None = None
    for a in answers:
        if isinstance(a, Answer) and a.serials is not None and serial not in a.serials:
            outcome = _OTHER_CERTIFICATES
        else:
            outcome = check_answer(a, cert, issuer, at=at, nonce=nonce)
        if best is None or _RANK[outcome.state] < _RANK[best.state]:
            best = outcome        # the first of the most telling
    return best if best is not None else OcspOutcome(OcspState.ABSENT, "no OCSP answer")


def fetch_answer(fetcher: CollateralFetcher, cert: x509.Certificate, issuer: x509.Certificate, *,
                 at: dt.datetime, nonce_source: Callable[[], bytes] = lambda: os.urandom(32)
                 ) -> OcspOutcome:
    """Ask the responder the certificate names (RFC 6960 Appendix A.1, POST) with a fresh nonce.

    POST, because the nonce makes every request unique: a GET URL would never be asked twice, and
    the answer is for this request alone, so it is not cached."""
    nonce = nonce_source()
    request = build_request(cert, issuer, nonce)
    url = ocsp_url(cert) or OCSP_URL
    try:
        fetched = fetcher.post(url, request, "application/ocsp-request")
    except CollateralError as e:
        return OcspOutcome(OcspState.ABSENT, f"no answer: {e}")
    return check_answer(fetched.body, cert, issuer, at=at, nonce=nonce)


def decode_answer_file(data: bytes) -> bytes:
    """An OCSP answer file: DER, or its base64 (NVIDIA's and go-nvattest-tools' saved form)."""
    if data[:1] == b"\x30":
        return data
    try:
        return base64.b64decode(b"".join(data.split()), validate=True)
    except ValueError:
        return data


def _cn(cert: x509.Certificate) -> str:
    try:
        cn = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        return repr(str(cn[0].value)) if cn else repr(cert.subject.rfc4514_string())
    except ValueError:
        return "<unreadable name>"


