"""Microsoft Azure Attestation tokens (docs/azure.md, "MAA tokens: a weaker input"): tokens signed
by a test key (no real token is in the vectors), each refusal under its own ``maa.*`` check id,
the ``[azure.maa]`` table, and a token beside evidence never deciding ``authentic`` or
``verified``."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from tests.test_check_catalogue import documented_ids
from verifier.appraisal.azure import maa_checks as ids
from verifier.appraisal.azure.maa import (
    DEFAULT_NONCE_CLAIM,
    MAX_TOKEN_BYTES,
    Jwks,
    MaaError,
    MaaVerification,
    appraise_maa_token,
    jwk_thumbprint,
    parse_jwks,
    parse_maa_token,
    read_token_text,
    verify_maa_token,
)
from verifier.appraisal.azure.maa_rules import MaaPolicy
from verifier.appraisal.policy import parse_policy
from verifier.endorsements.fetch import CollateralFetcher, Fetched
from verifier.errors import InputError, PolicyError
from verifier.policy_check import check_policy
from verifier.result import Status, failed, passed

AT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
ISSUER = "https://testmaa.eus.attest.azure.net"
CERTS = f"{ISSUER}/certs"
NONCE = bytes(range(32))


def b64u(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def uint(n: int) -> str:
    return b64u(n.to_bytes((n.bit_length() + 7) // 8, "big"))


@dataclasses.dataclass(frozen=True)
class TestKeys:
    __test__ = False
    signer: rsa.RSAPrivateKey
    other: rsa.RSAPrivateKey
    cert_der: bytes

    def jwk(self, key: rsa.RSAPrivateKey, kid: str, *, x5c: bool = False, numbers: bool = True) -> dict[str, Any]:
        pub = key.public_key().public_numbers()
        out: dict[str, Any] = {"kty": "RSA", "kid": kid}
        if numbers:
            out.update(n=uint(pub.n), e=uint(pub.e))
        if x5c:
            out["x5c"] = [base64.b64encode(self.cert_der).decode()]
        return out

    def jwks_bytes(self) -> bytes:
        """MAA's shape: the signer as an x5c certificate alone; a second key as n/e."""
        return json.dumps({"keys": [self.jwk(self.signer, "signer", x5c=True, numbers=False),
                                    self.jwk(self.other, "other")]}).encode()


@pytest.fixture(scope="session")
def keys() -> TestKeys:
    signer = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(signer.public_key())
            .serial_number(1).not_valid_before(AT - dt.timedelta(days=30))
            .not_valid_after(AT + dt.timedelta(days=30)).sign(signer, hashes.SHA256()))
    return TestKeys(signer, other, cert.public_bytes(serialization.Encoding.DER))


@pytest.fixture(scope="session")
def jwks(keys: TestKeys) -> Jwks:
    return parse_jwks(keys.jwks_bytes(), "test-jwks.json")


def good_claims(**changes: Any) -> dict[str, Any]:
    now = int(AT.timestamp())
    claims: dict[str, Any] = {
        "iss": ISSUER, "iat": now - 100, "nbf": now - 100, "exp": now + 3600, "x-ms-ver": "1.0",
        "x-ms-attestation-type": "azurevm", "x-ms-compliance-status": "azure-compliant-cvm",
        "x-ms-isolation-tee": {"x-ms-attestation-type": "sevsnpvm", "x-ms-compliance-status": "azure-compliant-cvm",
                               "x-ms-sevsnpvm-is-debuggable": False},
        "x-ms-runtime": {"client-payload": {"nonce": base64.b64encode(NONCE).decode()}},
    }
    for key, value in changes.items():
        if value is None:
            claims.pop(key, None)
        else:
            claims[key] = value
    return claims


def good_header(**changes: Any) -> dict[str, Any]:
    header: dict[str, Any] = {"alg": "RS256", "jku": CERTS, "kid": "signer", "typ": "JWT"}
    header.update(changes)
    return {k: v for k, v in header.items() if v is not None}


def token(keys: TestKeys, *, header: dict[str, Any] | bytes | None = None, claims: dict[str, Any] | bytes | None = None,
          key: rsa.RSAPrivateKey | None = None, sign: Callable[[bytes], bytes] | None = None) -> str:
    h = header if isinstance(header, bytes) else json.dumps(header if header is not None else good_header()).encode()
    c = claims if isinstance(claims, bytes) else json.dumps(claims if claims is not None else good_claims()).encode()
    signing_input = f"{b64u(h)}.{b64u(c)}".encode()
    if sign is None:
        signer = key or keys.signer
        signature = signer.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    else:
        signature = sign(signing_input)
    return f"{signing_input.decode()}.{b64u(signature)}"


def verify(tok: str, jwks: Jwks | None, **kw: Any) -> MaaVerification:
    args: dict[str, Any] = {"issuer": ISSUER, "nonce": NONCE, "at": AT, "attestation_types": ("azurevm",)}
    args.update(kw)
    return verify_maa_token(tok, jwks=jwks, **args)


def statuses(v: MaaVerification) -> dict[str, Status]:
    return {c.id: c.status for c in v.checks}


def refused_for(v: MaaVerification, check_id: str, reason: str | None = None) -> None:
    """``check_id`` failed (with ``reason``), every check before it passed, and nothing else failed."""
    bad = [c for c in v.checks if c.status is Status.FAIL]
    assert [c.id for c in bad] == [check_id], [(c.id, c.detail) for c in v.checks]
    if reason is not None:
        assert bad[0].reason == reason, bad[0]
    before = [c.id for c in v.checks][: [c.id for c in v.checks].index(check_id)]
    assert all(statuses(v)[i] is Status.PASS for i in before)
    assert bad[0].detail and "\n" not in bad[0].detail
    assert not v.authentic and not v.verified


# -- a good token ---------------------------------------------------------------------------------
def test_a_good_token_passes_every_check_and_shows_its_claims(keys: TestKeys, jwks: Jwks) -> None:
    v = verify(token(keys), jwks)
    assert [c.id for c in v.checks] == list(ids.CATALOGUE)
    assert all(c.status is Status.PASS for c in v.checks), [(c.id, c.detail) for c in v.checks]
    assert not any(c.required or c.authenticity for c in v.checks)
    assert not v.authentic  # a token alone is never authentic, so never verified
    claims = v.claims
    assert claims["signature_verified"] is True and claims["issuer"] == ISSUER and claims["kid"] == "signer"
    assert claims["key_thumbprint"] == jwk_thumbprint(keys.signer.public_key())
    assert claims["attestation_type"] == "azurevm" and claims["compliance_status"] == "azure-compliant-cvm"
    assert claims["isolation_tee"] == {"attestation_type": "sevsnpvm", "compliance_status": "azure-compliant-cvm"}
    assert claims["exp"] == "2026-06-01T01:00:00Z" and claims["version"] == "1.0"
    assert claims["jwks"]["source"] == "test-jwks.json" and claims["claims"]["x-ms-runtime"]
    assert jwks.keys["signer"].form == "x5c" and jwks.keys["other"].form == "n/e"


def test_the_optional_checks_skip_without_their_input(keys: TestKeys, jwks: Jwks) -> None:
    v = verify(token(keys), jwks, nonce=None, attestation_types=None)
    assert statuses(v)[ids.MAA_NONCE] is Status.SKIP and statuses(v)[ids.MAA_ATTESTATION_TYPE] is Status.SKIP
    assert "'azurevm'" in v.check(ids.MAA_ATTESTATION_TYPE).detail  # type: ignore[union-attr]
    assert not any(c.status is Status.FAIL for c in v.checks)


def test_the_token_file_forms(keys: TestKeys) -> None:
    tok = token(keys)
    assert read_token_text(f"\n {tok}\n".encode(), "t") == tok
    assert read_token_text(json.dumps({"token": tok}).encode(), "t") == tok
    for bad in (b'{"token": 1}', b'{"token": "a", "x": 1}', b'{"token": "a", "token": "b"}', "é".encode()):
        with pytest.raises(InputError):
            read_token_text(bad, "t")


# -- each refusal under its own id ----------------------------------------------------------------
def test_a_flipped_signature_byte(keys: TestKeys, jwks: Jwks) -> None:
    head, body, sig = token(keys).split(".")
    raw = bytearray(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
    raw[7] ^= 1
    v = verify(f"{head}.{body}.{b64u(bytes(raw))}", jwks)
    refused_for(v, ids.MAA_SIGNATURE, "signature")
    assert v.claims["signature_verified"] is False
    assert all(statuses(v)[i] is Status.SKIP for i in ids.CATALOGUE[3:])  # unsigned claims are not compared


def test_a_changed_claim_breaks_the_signature(keys: TestKeys, jwks: Jwks) -> None:
    head, _body, sig = token(keys).split(".")
    forged = b64u(json.dumps(good_claims(**{"x-ms-compliance-status": "whatever"})).encode())
    refused_for(verify(f"{head}.{forged}.{sig}", jwks), ids.MAA_SIGNATURE, "signature")


def test_alg_none(keys: TestKeys, jwks: Jwks) -> None:
    v = verify(token(keys, header=good_header(alg="none"), sign=lambda _m: b""), jwks)
    refused_for(v, ids.MAA_SIGNATURE, "alg")


def test_hs256_keyed_with_the_public_key(keys: TestKeys, jwks: Jwks) -> None:
    """The classic confusion: an HMAC whose secret is the verifier's own public key."""
    pem = keys.signer.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    for secret in (pem, keys.cert_der):
        v = verify(token(keys, header=good_header(alg="HS256"),
                         sign=lambda m, s=secret: hmac.new(s, m, hashlib.sha256).digest()), jwks)
        refused_for(v, ids.MAA_SIGNATURE, "alg")


@pytest.mark.parametrize("alg", ["RS384", "PS256", "ES256", "rs256", "RS256 "])
def test_any_other_alg(keys: TestKeys, jwks: Jwks, alg: str) -> None:
    refused_for(verify(token(keys, header=good_header(alg=alg)), jwks), ids.MAA_SIGNATURE, "alg")


def test_an_unknown_kid(keys: TestKeys, jwks: Jwks) -> None:
    refused_for(verify(token(keys, header=good_header(kid="nobody")), jwks), ids.MAA_KEY, "unknown_kid")
    refused_for(verify(token(keys, header=good_header(kid=None)), jwks), ids.MAA_KEY, "no_kid")


def test_the_kid_of_a_key_that_is_not_pinned(keys: TestKeys, jwks: Jwks) -> None:
    """The JWKS holds the key, but the policy pins only the signer's thumbprint."""
    pinned = frozenset({jwk_thumbprint(keys.signer.public_key())})
    tok = token(keys, header=good_header(kid="other"), key=keys.other)
    refused_for(verify(tok, jwks, pinned=pinned), ids.MAA_KEY, "not_pinned")
    assert statuses(verify(tok, jwks))[ids.MAA_SIGNATURE] is Status.PASS  # the whole JWKS pinned: it is
    assert statuses(verify(token(keys), jwks, pinned=pinned))[ids.MAA_KEY] is Status.PASS


def test_another_keys_signature_under_the_signers_kid(keys: TestKeys, jwks: Jwks) -> None:
    refused_for(verify(token(keys, key=keys.other), jwks), ids.MAA_SIGNATURE, "signature")


def test_a_jku_pointing_elsewhere_is_refused_and_never_fetched(keys: TestKeys, jwks: Jwks, tmp_path: Path) -> None:
    evil = "https://evil.example/certs"
    refused_for(verify(token(keys, header=good_header(jku=evil)), jwks), ids.MAA_KEY, "jku")
    fetched: list[str] = []

    class Recording(CollateralFetcher):
        def get(self, url: str, **_kw: Any) -> Fetched:
            fetched.append(url)
            raise AssertionError(f"fetched {url}")

    maa = policy_maa_table(tmp_path, keys, f'jwks = "{write_jwks(tmp_path, keys)}"\n')
    v = appraise_maa_token(token(keys, header=good_header(jku=evil)), maa, nonce=NONCE, at=AT,
                           fetcher=Recording(tmp_path / "cache", offline=True))
    refused_for(v, ids.MAA_KEY, "jku")
    assert fetched == []
    assert statuses(verify(token(keys, header=good_header(jku=None)), jwks))[ids.MAA_KEY] is Status.PASS


def test_a_wrong_issuer(keys: TestKeys, jwks: Jwks) -> None:
    for iss in ("https://other.eus.attest.azure.net", ISSUER + "/", ISSUER.upper()):
        refused_for(verify(token(keys, claims=good_claims(iss=iss)), jwks), ids.MAA_ISSUER, "mismatch")
    refused_for(verify(token(keys, claims=good_claims(iss=None)), jwks), ids.MAA_ISSUER, "missing")


def test_expired_and_not_yet_valid(keys: TestKeys, jwks: Jwks) -> None:
    now = int(AT.timestamp())
    expired = token(keys, claims=good_claims(iat=now - 7200, nbf=now - 7200, exp=now - 3600))
    refused_for(verify(expired, jwks), ids.MAA_LIFETIME, "expired")
    early = token(keys, claims=good_claims(iat=now + 3600, nbf=now + 3600, exp=now + 7200))
    refused_for(verify(early, jwks), ids.MAA_LIFETIME, "not_yet_valid")
    future_iat = token(keys, claims=good_claims(iat=now + 3600))
    refused_for(verify(future_iat, jwks), ids.MAA_LIFETIME, "issued_in_future")
    inverted = token(keys, claims=good_claims(nbf=now + 10, exp=now - 10))
    refused_for(verify(inverted, jwks), ids.MAA_LIFETIME, "inverted")
    for name in ("exp", "nbf", "iat"):
        refused_for(verify(token(keys, claims=good_claims(**{name: None})), jwks), ids.MAA_LIFETIME, "missing")
        refused_for(verify(token(keys, claims=good_claims(**{name: "soon"})), jwks), ids.MAA_LIFETIME, "missing")
        refused_for(verify(token(keys, claims=good_claims(**{name: True})), jwks), ids.MAA_LIFETIME, "missing")


def test_the_leeway(keys: TestKeys, jwks: Jwks) -> None:
    now = int(AT.timestamp())
    just_expired = token(keys, claims=good_claims(exp=now - 30))
    assert statuses(verify(just_expired, jwks))[ids.MAA_LIFETIME] is Status.PASS  # default 60 s
    refused_for(verify(just_expired, jwks, leeway_seconds=0), ids.MAA_LIFETIME, "expired")
    refused_for(verify(token(keys, claims=good_claims(exp=now)), jwks, leeway_seconds=0), ids.MAA_LIFETIME, "expired")
    with pytest.raises(ValueError, match="leeway"):
        verify(just_expired, jwks, leeway_seconds=301)


def test_a_wrong_nonce_and_a_missing_nonce_claim(keys: TestKeys, jwks: Jwks) -> None:
    tok = token(keys)
    for wrong in (NONCE[:-1], NONCE + b"\x00", bytes([NONCE[0] ^ 1]) + NONCE[1:]):
        refused_for(verify(tok, jwks, nonce=wrong), ids.MAA_NONCE, "mismatch")
    refused_for(verify(token(keys, claims=good_claims(**{"x-ms-runtime": {}})), jwks), ids.MAA_NONCE, "missing")
    refused_for(verify(token(keys, claims=good_claims(**{"x-ms-runtime": None})), jwks), ids.MAA_NONCE, "missing")
    refused_for(verify(tok, jwks, nonce_claim="x-ms-runtime.nonce"), ids.MAA_NONCE, "missing")
    odd = token(keys, claims=good_claims(**{"x-ms-runtime": {"client-payload": {"nonce": 7}}}))
    refused_for(verify(odd, jwks), ids.MAA_NONCE, "format")
    refused_for(verify(tok, jwks, nonce_encoding="hex"), ids.MAA_NONCE, "format")


@pytest.mark.parametrize(("encoding", "text"), [
    ("base64", base64.b64encode(NONCE).decode()), ("base64", b64u(NONCE)),
    ("base64", base64.b64encode(NONCE).decode().rstrip("=")),
    ("hex", NONCE.hex()), ("hex", NONCE.hex().upper()), ("utf-8", "challenge"),
])
def test_the_nonce_encodings(keys: TestKeys, jwks: Jwks, encoding: str, text: str) -> None:
    nonce = b"challenge" if encoding == "utf-8" else NONCE
    tok = token(keys, claims=good_claims(**{"x-ms-runtime": {"client-payload": {"nonce": text}}}))
    assert statuses(verify(tok, jwks, nonce=nonce, nonce_encoding=encoding))[ids.MAA_NONCE] is Status.PASS


@pytest.mark.parametrize("text", ["AAEC+/8_", "AAE=C", "AAECAw===", "not base64!", "AAECAx"])
def test_a_nonce_claim_that_is_not_base64(keys: TestKeys, jwks: Jwks, text: str) -> None:
    tok = token(keys, claims=good_claims(**{"x-ms-runtime": {"client-payload": {"nonce": text}}}))
    refused_for(verify(tok, jwks), ids.MAA_NONCE, "format")


def test_the_nonce_claim_path_is_the_policys(keys: TestKeys, jwks: Jwks) -> None:
    tok = token(keys, claims=good_claims(**{"x-ms-nonce": NONCE.hex(), "x-ms-runtime": None}))
    assert statuses(verify(tok, jwks, nonce_claim="x-ms-nonce", nonce_encoding="hex"))[ids.MAA_NONCE] is Status.PASS
    assert DEFAULT_NONCE_CLAIM == "x-ms-runtime.client-payload.nonce"


def test_an_attestation_type_not_allowed(keys: TestKeys, jwks: Jwks) -> None:
    refused_for(verify(token(keys), jwks, attestation_types=("sevsnpvm", "tdxvm")), ids.MAA_ATTESTATION_TYPE,
                "not_accepted")
    no_type = token(keys, claims=good_claims(**{"x-ms-attestation-type": None}))
    refused_for(verify(no_type, jwks), ids.MAA_ATTESTATION_TYPE, "missing")


@pytest.mark.parametrize("where", ["header", "payload"])
def test_duplicate_json_members(keys: TestKeys, jwks: Jwks, where: str) -> None:
    if where == "header":
        tok = token(keys, header=b'{"alg":"RS256","kid":"signer","kid":"other"}')
    else:
        tok = token(keys, claims=json.dumps(good_claims()).encode()[:-1] + b', "iss": "https://evil.example"}')
    v = verify(tok, jwks)
    refused_for(v, ids.MAA_PARSE, where)
    assert "twice" in v.checks[0].detail and len(v.checks) == 1


def test_an_oversized_token(keys: TestKeys, jwks: Jwks) -> None:
    big = token(keys, claims=good_claims(padding="x" * MAX_TOKEN_BYTES))
    refused_for(verify(big, jwks), ids.MAA_PARSE, "oversized")
    refused_for(verify(big.encode(), jwks), ids.MAA_PARSE, "oversized")


@pytest.mark.parametrize("mangle", [
    lambda t: t.replace(".", "=.", 1),                         # padding
    lambda t: t[:10] + "+" + t[11:],                           # the standard alphabet
    lambda t: t[:10] + " " + t[11:],                           # white space inside
    lambda t: t + "====",                                      # a padded signature
    lambda t: t.split(".")[0] + "." + t.split(".")[1][:-1] + "~." + t.split(".")[2],
    lambda t: "A" + t,                                         # a length no base64url has (4n+1)
])
def test_segments_that_are_not_base64url(keys: TestKeys, jwks: Jwks, mangle: Callable[[str], str]) -> None:
    refused_for(verify(mangle(token(keys)), jwks), ids.MAA_PARSE)


def test_a_non_canonical_base64url_segment(keys: TestKeys, jwks: Jwks) -> None:
    head, body, sig = token(keys).split(".")
    last = sig[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    if len(sig) % 4 in (2, 3):  # a 256-byte signature is 342 characters: 4 bits unused at the end
        sibling = alphabet[alphabet.index(last) ^ 1]
        refused_for(verify(f"{head}.{body}.{sig[:-1]}{sibling}", jwks), ids.MAA_PARSE, "base64url")


def _compact(header: bytes, payload: bytes = b"{}") -> str:
    return b64u(header) + "." + b64u(payload) + "."


@pytest.mark.parametrize(("text", "reason"), [
    ("a.b", "format"), ("a.b.c.d", "format"), (".e30.", "format"), ("e30..", "format"),
    (_compact(b"[1]"), "header"), (_compact(b"{}"), "header"),
    (_compact(b'{"alg":"RS256"}', b"not json"), "payload"),
    (_compact(b'{"alg":"RS256"}', b"[]"), "payload"),
    (_compact(b'{"alg":"RS256","crit":["exp"]}'), "header"),
    (_compact(b'{"alg":"RS256","b64":false}'), "header"),
    (_compact(b'{"alg":"RS256","typ":"JOSE+JSON"}'), "header"),
    (_compact(b'{"alg":"RS256","kid":1}'), "header"),
    (_compact(b'{"alg":"RS256","x":NaN}'), "header"),
    ("\u00e9.e30.", "base64url"),
])
def test_malformed_tokens(jwks: Jwks, text: str, reason: str) -> None:
    v = verify(text, jwks)
    refused_for(v, ids.MAA_PARSE, reason)
    with pytest.raises(MaaError):
        parse_maa_token(text)
    with pytest.raises(MaaError):
        parse_maa_token("é.e30.".encode())


def test_no_jwks(keys: TestKeys) -> None:
    v = verify(token(keys), None, jwks_unavailable="the cache is empty")
    refused_for(v, ids.MAA_KEY, "jwks_unavailable")
    assert "the cache is empty" in v.checks[1].detail


# -- the JWKS ---------------------------------------------------------------------------------------
def _jwks_doc(keys: TestKeys, *jwk: dict[str, Any]) -> bytes:
    return json.dumps({"keys": list(jwk)}).encode()


def test_jwks_forms(keys: TestKeys) -> None:
    both = parse_jwks(_jwks_doc(keys, keys.jwk(keys.signer, "a", x5c=True)), "j")
    assert both.keys["a"].form == "x5c, n/e" and both.keys["a"].bits == 2048
    assert both.sha256 == hashlib.sha256(_jwks_doc(keys, keys.jwk(keys.signer, "a", x5c=True))).hexdigest()


@pytest.mark.parametrize(("make", "problem"), [
    (lambda k: b'{"keys": []}', "1 to"),
    (lambda k: b'{"nokeys": 1}', "keys list"),
    (lambda k: b'[1]', "keys list"),
    (lambda k: b'{"keys": [{"kid": "a"}], "keys": []}', "twice"),
    (lambda k: _jwks_doc(k, k.jwk(k.signer, "a"), k.jwk(k.other, "a")), "twice"),
    (lambda k: _jwks_doc(k, {**k.jwk(k.signer, "a"), "d": "AQAB"}), "private"),
    (lambda k: _jwks_doc(k, {**k.jwk(k.signer, "a"), "kty": "EC"}), "not RSA"),
    (lambda k: _jwks_doc(k, {**k.jwk(k.signer, "a"), "use": "enc"}), "not sig"),
    (lambda k: _jwks_doc(k, {**k.jwk(k.signer, "a"), "alg": "HS256"}), "not RS256"),
    (lambda k: _jwks_doc(k, {"kty": "RSA", "kid": "a"}), "neither"),
    (lambda k: _jwks_doc(k, {"kty": "RSA", "n": "AQAB", "e": "AQAB"}), "no kid"),
    (lambda k: _jwks_doc(k, {**k.jwk(k.signer, "a", numbers=False), "e": "AQAB"}), "without the other"),
    (lambda k: _jwks_doc(k, {**k.jwk(k.other, "a"), "x5c": k.jwk(k.signer, "b", x5c=True)["x5c"]}),
     "not the key of its x5c"),
    (lambda k: _jwks_doc(k, {**k.jwk(k.signer, "a", numbers=False), "x5c": ["not base64"]}), "base64"),
    (lambda k: _jwks_doc(k, {**k.jwk(k.signer, "a", numbers=False), "x5c": ["AAAA"]}), "DER X.509"),
    (lambda k: _jwks_doc(k, {**k.jwk(k.signer, "a", numbers=False), "x5c": []}), "x5c must be"),
    (lambda k: _jwks_doc(k, {**k.jwk(k.signer, "a"), "e": "Ag"}), "not usable|not an RSA public key"),
    (lambda k: _jwks_doc(k, {**k.jwk(k.signer, "a"), "n": uint(2**1023 + 1)}), "not usable"),
    (lambda k: b"{" + b" " * (300 * 1024) + b"}", "larger than"),
])
def test_bad_jwks_are_refused(keys: TestKeys, make: Callable[[TestKeys], bytes], problem: str) -> None:
    with pytest.raises(MaaError, match=problem):
        parse_jwks(make(keys), "j")


# -- the policy -------------------------------------------------------------------------------------
def write_jwks(tmp_path: Path, keys: TestKeys) -> Path:
    path = tmp_path / "maa-jwks.json"
    path.write_bytes(keys.jwks_bytes())
    return path


def policy_text(body: str) -> bytes:
    return f'name = "t"\n[azure.maa]\nissuer = "{ISSUER}"\n{body}'.encode()


def policy_maa_table(tmp_path: Path, keys: TestKeys, body: str) -> MaaPolicy:
    maa = MaaPolicy.from_policy(check_policy(parse_policy(policy_text(body))))
    assert maa is not None
    return maa


def test_a_good_maa_table(tmp_path: Path, keys: TestKeys) -> None:
    path = write_jwks(tmp_path, keys)
    thumb = jwk_thumbprint(keys.signer.public_key())
    maa = policy_maa_table(tmp_path, keys, f'jwks = "{path}"\nkeys = ["{thumb}"]\nnonce_claim = "x-ms-nonce"\n'
                           'nonce_encoding = "hex"\nattestation_types = ["azurevm", "sevsnpvm"]\nleeway_seconds = 0\n')
    assert maa.issuer == ISSUER and maa.certs_url == CERTS and maa.jwks_path == path
    assert maa.jwks is not None and set(maa.jwks.keys) == {"signer", "other"} and maa.keys == {thumb}
    assert (maa.nonce_claim, maa.nonce_encoding, maa.leeway_seconds) == ("x-ms-nonce", "hex", 0)
    assert maa.attestation_types == ("azurevm", "sevsnpvm")
    defaults = policy_maa_table(tmp_path, keys, f'keys = ["{thumb}"]\n')
    assert defaults.jwks is None and defaults.nonce_claim == DEFAULT_NONCE_CLAIM
    assert (defaults.nonce_encoding, defaults.leeway_seconds, defaults.attestation_types) == ("base64", 60, None)
    assert MaaPolicy.from_policy(parse_policy(b'name = "t"\n[azure]\nmin_ak_bits = 2048\n')) is None


def test_a_relative_jwks_path_is_the_policy_files_neighbour(tmp_path: Path, keys: TestKeys) -> None:
    from verifier.appraisal.policy import load_policy

    write_jwks(tmp_path, keys)
    (tmp_path / "p.toml").write_bytes(policy_text('jwks = "maa-jwks.json"\n'))
    maa = MaaPolicy.from_policy(check_policy(load_policy(tmp_path / "p.toml")))
    assert maa is not None and maa.jwks_path == tmp_path / "maa-jwks.json"


@pytest.mark.parametrize(("body", "problem"), [
    ('keys = ["{thumb}"]\nissuers = "x"\n', "unknown keys: issuers"),
    ("", "needs jwks"),
    ('keys = []\n', "empty list"),
    ('keys = ["{thumb}"]\nattestation_types = []\n', "empty list"),
    ('keys = ["{thumb}"]\nattestation_types = [1]\n', "string or a list"),
    ('keys = ["abc"]\n', "thumbprint"),
    ('keys = ["{thumb}="]\n', "thumbprint"),
    ('keys = "{thumb}"\nleeway_seconds = 301\n', "0 to 300"),
    ('keys = "{thumb}"\nleeway_seconds = -1\n', "0 to 300"),
    ('keys = "{thumb}"\nleeway_seconds = "60"\n', "must be a int"),
    ('keys = "{thumb}"\nnonce_encoding = "base32"\n', "must be one of"),
    ('keys = "{thumb}"\nnonce_claim = "x-ms-runtime..nonce"\n', "dotted claim path"),
    ('keys = "{thumb}"\nnonce_claim = ""\n', "dotted claim path"),
    ('jwks = "{tmp}/absent.json"\n', "cannot read"),
    ('jwks = "{tmp}/not-jwks.json"\n', "keys list"),
    ('jwks = "{tmp}/maa-jwks.json"\nkeys = ["{other}"]\n', "none of the pinned thumbprints"),
    ('jwks = ""\n', "must name a file"),
])
def test_bad_maa_tables_are_refused_at_load(tmp_path: Path, keys: TestKeys, body: str, problem: str) -> None:
    write_jwks(tmp_path, keys)
    (tmp_path / "not-jwks.json").write_text('{"x": 1}')
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048) if "other" in body else None
    text = body.format(thumb=jwk_thumbprint(keys.signer.public_key()), tmp=tmp_path,
                       other=jwk_thumbprint(stranger.public_key()) if stranger else "")
    with pytest.raises(PolicyError, match=problem):
        check_policy(parse_policy(policy_text(text)))


@pytest.mark.parametrize("issuer", [
    "http://testmaa.eus.attest.azure.net", ISSUER + "/", ISSUER + "/certs", ISSUER + "?x=1", "testmaa.attest.azure.net",
    "https://user@testmaa.eus.attest.azure.net", "HTTPS://testmaa.eus.attest.azure.net", "",
])
def test_bad_issuers_are_refused(issuer: str) -> None:
    text = f'name = "t"\n[azure.maa]\nissuer = "{issuer}"\nkeys = ["{"A" * 43}"]\n'
    with pytest.raises(PolicyError, match="issuer"):
        check_policy(parse_policy(text.encode()))


def test_the_table_needs_an_issuer_and_must_be_a_table() -> None:
    with pytest.raises(PolicyError, match="needs issuer"):
        check_policy(parse_policy(b'name = "t"\n[azure.maa]\nkeys = ["' + b"A" * 43 + b'"]\n'))
    with pytest.raises(PolicyError, match="must be a dict"):
        check_policy(parse_policy(b'name = "t"\n[azure]\nmaa = 1\n'))


def test_keys_alone_read_the_issuers_certs_through_the_cache(tmp_path: Path, keys: TestKeys) -> None:
    maa = policy_maa_table(tmp_path, keys, f'keys = ["{jwk_thumbprint(keys.signer.public_key())}"]\n')
    offline = CollateralFetcher(tmp_path / "cache", offline=True)
    v = appraise_maa_token(token(keys), maa, nonce=NONCE, at=AT, fetcher=offline)
    refused_for(v, ids.MAA_KEY, "jwks_unavailable")
    assert CERTS in v.checks[1].detail
    offline.store(Fetched(CERTS, keys.jwks_bytes(), {}, False))
    v = appraise_maa_token(token(keys), maa, nonce=NONCE, at=AT, fetcher=offline)
    assert all(c.status is not Status.FAIL for c in v.checks) and v.claims["jwks"]["source"] == CERTS
    other = token(keys, header=good_header(kid="other"), key=keys.other)
    refused_for(appraise_maa_token(other, maa, nonce=NONCE, at=AT, fetcher=offline), ids.MAA_KEY, "not_pinned")
    refused_for(appraise_maa_token(token(keys), maa, nonce=NONCE, at=AT), ids.MAA_KEY, "jwks_unavailable")
    offline.store(Fetched(CERTS, b'{"keys": "x"}', {}, False))
    refused_for(appraise_maa_token(token(keys), maa, nonce=NONCE, at=AT, fetcher=offline), ids.MAA_KEY,
                "jwks_unavailable")


# -- beside evidence: never deciding authentic or verified -------------------------------------------
def _evidence_result(tmp_path: Path, keys: TestKeys, tok: str, *, authentic: bool,
                     policy_body: str = 'attestation_types = ["azurevm"]\n') -> Any:
    """files._result on a stand-in appraisal: what --maa-token adds to an Azure evidence result."""
    from verifier.appraisal.azure import AzureAppraisal
    from verifier.appraisal.azure.files import _maa_input, _result
    from verifier.appraisal.offline import OfflineOptions

    (tmp_path / "token.jwt").write_text(tok)
    policy = check_policy(parse_policy(policy_text(f'jwks = "{write_jwks(tmp_path, keys)}"\n{policy_body}')))
    opts = OfflineOptions(files=(), policy=policy, at=AT, fetcher=CollateralFetcher(tmp_path / "c", offline=True),
                          nonce=NONCE, maa_token=tmp_path / "token.jwt")
    own = (passed("hcl.parse", "ok", authenticity=True),
           passed("tpm.quote.signature", "ok", authenticity=True) if authentic
           else failed("tpm.quote.signature", "bad", authenticity=True))
    evidence: dict[str, str] = {}
    maa = _maa_input(opts, evidence)
    return _result("azure-snp-vtpm", opts, AzureAppraisal(own, {"hcl": {}}), evidence, maa), own


def test_a_valid_token_never_makes_an_unverified_result_verified(tmp_path: Path, keys: TestKeys) -> None:
    r, own = _evidence_result(tmp_path, keys, token(keys), authentic=False)
    assert not r.authentic and not r.verified
    assert r.checks[: len(own)] == own and [c.id for c in r.checks[len(own):]] == list(ids.CATALOGUE)
    assert all(c.status is Status.PASS for c in r.checks[len(own):])
    assert r.first_failure.id == "tpm.quote.signature"
    assert r.claims["maa"]["signature_verified"] is True and r.claims["hcl"] == {}
    assert "token.jwt" in r.evidence


def test_a_good_token_leaves_a_verified_result_verified(tmp_path: Path, keys: TestKeys) -> None:
    r, _own = _evidence_result(tmp_path, keys, token(keys), authentic=True)
    assert r.authentic and r.verified


def test_an_invalid_token_fails_its_own_check_and_only_that(tmp_path: Path, keys: TestKeys) -> None:
    r, _own = _evidence_result(tmp_path, keys, token(keys, claims=good_claims(iss="https://x.attest.azure.net")),
                               authentic=True)
    assert r.authentic and not r.verified  # the user asked for the token: a bad one is not ignored
    assert [c.id for c in r.checks if c.status is Status.FAIL] == [ids.MAA_ISSUER]
    assert r.first_failure.id == ids.MAA_ISSUER


def test_a_token_without_an_maa_table_is_an_input_error(tmp_path: Path) -> None:
    from verifier.appraisal.azure.files import _maa_input
    from verifier.appraisal.offline import OfflineOptions

    (tmp_path / "t.jwt").write_text("a.b.c")
    opts = OfflineOptions(files=(), policy=parse_policy(b'name = "t"\n'), at=AT,
                          fetcher=CollateralFetcher(tmp_path / "c", offline=True), maa_token=tmp_path / "t.jwt")
    with pytest.raises(InputError, match=r"\[azure.maa\]"):
        _maa_input(opts, {})


# -- the catalogue ----------------------------------------------------------------------------------
def test_the_docs_table_is_the_catalogue() -> None:
    documented = documented_ids("azure.md", "### The `maa.*` checks, in order", "maa.")
    assert tuple(documented) == ids.CATALOGUE
    constants = {v for k, v in vars(ids).items() if k.isupper() and isinstance(v, str)}
    assert constants == set(ids.CATALOGUE) and not ids.AUTHENTICITY


# -- a real Azure set, with a token signed by the test key ------------------------------------------
@pytest.mark.vectors
def test_a_real_set_decides_as_without_a_token(tmp_path: Path, keys: TestKeys) -> None:
    from tests.vectors import vector
    from verifier.appraisal.offline import OfflineOptions
    from verifier.saved_evidence import appraise_saved

    default = (Path(__file__).resolve().parents[2] / "policies" / "default.toml").read_bytes()
    jwks_path = write_jwks(tmp_path, keys)
    table = f'\n[azure.maa]\nissuer = "{ISSUER}"\njwks = "{jwks_path}"\nattestation_types = ["azurevm"]\n'
    policy = check_policy(parse_policy(default + table.encode()))
    nonce = b"challenge"

    def run(nonce: bytes, tok: str | None) -> Any:
        path = None
        if tok is not None:
            path = tmp_path / "token.jwt"
            path.write_text(tok)
        return appraise_saved("azure-snp-vtpm", OfflineOptions(
            files=(vector("azure/trustee-az-snp-vtpm/evidence-v1.json"),), policy=policy, at=AT,
            fetcher=CollateralFetcher(tmp_path / "cache", offline=True),
            certs=(vector("snp/trustee/milan_ask_ark_asvk.pem"),), nonce=nonce, maa_token=path))

    def for_nonce(n: bytes, **changes: Any) -> str:
        return token(keys, claims=good_claims(**{"x-ms-runtime": {"client-payload": {
            "nonce": base64.b64encode(n).decode()}}}, **changes))

    plain = run(nonce, None)
    assert plain.verified and "maa" not in plain.claims
    with_token = run(nonce, for_nonce(nonce))
    assert with_token.verified and with_token.authentic
    assert with_token.checks[: len(plain.checks)] == plain.checks
    assert [c.id for c in with_token.checks[len(plain.checks):]] == list(ids.CATALOGUE)
    assert with_token.claims["maa"]["signature_verified"] is True

    stale = nonce + b"\x00"  # the evidence is refused for tpm.nonce; a token for that nonce changes nothing
    unverified = run(stale, for_nonce(stale))
    assert unverified.authentic and not unverified.verified
    assert [c.id for c in unverified.checks if c.status is Status.FAIL] == ["tpm.nonce"]

    now = int(AT.timestamp())
    expired = run(nonce, for_nonce(nonce, exp=now - 3600, nbf=now - 7200, iat=now - 7200))
    assert expired.authentic and not expired.verified
    assert [c.id for c in expired.checks if c.status is Status.FAIL] == [ids.MAA_LIFETIME]


def test_kinds_that_do_not_read_a_token_refuse_it(tmp_path: Path) -> None:
    from verifier.appraisal.offline import OfflineOptions
    from verifier.saved_evidence import appraise_saved

    (tmp_path / "t.jwt").write_text("a.b.c")
    for kind in ("sev-snp", "tdx", "nvidia-gpu"):
        opts = OfflineOptions(files=(tmp_path / "t.jwt",), policy=parse_policy(b'name = "t"\n'), at=AT,
                              fetcher=CollateralFetcher(tmp_path / "c", offline=True), maa_token=tmp_path / "t.jwt")
        with pytest.raises(InputError, match="does not use --maa-token"):
            appraise_saved(kind, opts)


def test_the_command_line_takes_maa_token() -> None:
    from enclave_chat.cli import build_parser

    args = build_parser().parse_args(["evidence", "verify", "azure-snp-vtpm", "e.json", "--maa-token", "t.jwt"])
    assert args.maa_token == Path("t.jwt")
