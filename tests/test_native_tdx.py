"""A native bundle may carry a TDX quote: it is appraised by the TDX verifier, bound through
REPORTDATA, and matched to a release by MRTD || RTMR0 || RTMR1 || RTMR2."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verifier.appraisal.policy import parse_policy
from verifier.evidence.encoding import b64encode
from verifier.evidence.tdx import parse_quote
from verifier.providers.native.appraisal import appraise_native
from verifier.providers.native.bundle import encode_bundle
from verifier.reference.dsse import format_ed25519_public, sign_envelope
from verifier.reference.release import PAYLOAD_TYPE, ReleaseStatement

AT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
NONCE = bytes(range(32))


def _bundle(quote: bytes, registers: dict[str, str], key: Ed25519PrivateKey) -> bytes:
    statement = ReleaseStatement("sha256:" + "ab" * 32, "1.0.0", {"tdx": (registers,)})
    envelope = sign_envelope(PAYLOAD_TYPE, statement.encode(), key)
    return encode_bundle(nonce=NONCE, key_config=b"\x00", platform="tdx", report=quote,
                         certificates=[], gpus=[], release={"envelope": b64encode(envelope)},
                         config={"upstream": "builtin:demo-model"},
                         expires=AT + dt.timedelta(minutes=5))


def test_tdx_quote_in_a_native_bundle(vectors: Path) -> None:
    quote = (vectors / "tdx/go-tdx-guest/quote_v5_sample.dat").read_bytes()
    body = parse_quote(quote).body
    key = Ed25519PrivateKey.generate()
    policy = parse_policy(f'name = "t"\n[release]\npublisher_keys = ["{format_ed25519_public(key.public_key())}"]\n'.encode())
    registers = {"mrtd": body.mrtd.hex(), "rtmr0": body.rtmr0.hex(), "rtmr1": body.rtmr1.hex(),
                 "rtmr2": body.rtmr2.hex()}
    result, bundle = appraise_native(_bundle(quote, registers, key), nonce=NONCE, policy=policy,
                                     at=AT, service_url="https://tdx.example")
    assert bundle is not None
    ids = {c.id: c.status for c in result.checks}
    assert ids["tdx.quote.signature"] == "pass" and ids["tdx.pck.root_pinned"] == "pass"
    assert ids["release.measurement"] == "pass"
    assert ids["tdx.report_data"] == "fail"  # the sample was not made for this session
    assert result.authentic and not result.verified

    registers["rtmr2"] = "00" * 48
    result, _ = appraise_native(_bundle(quote, registers, key), nonce=NONCE, policy=policy, at=AT,
                                service_url="https://tdx.example")
    assert result.check("release.measurement").status == "fail"  # type: ignore[union-attr]
