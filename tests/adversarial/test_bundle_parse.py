"""Hostile evidence bundles: each is a failing check (``bundle.parse`` where the JSON itself is
hostile), never an uncaught exception, and the strict parser agrees with no other reading."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.adversarial.bundles import SERVICE, base
from verifier.errors import ParseError
from verifier.providers.native.appraisal import appraise_native
from verifier.providers.native.bundle import parse_bundle
from verifier.result import AttestationResult
from verifier.strict_json import load_strict_json


def appraise(data: bytes) -> AttestationResult:
    b = base()
    result, _ = appraise_native(data, nonce=b.nonce, policy=b.policy, at=b.at, service_url=SERVICE)
    json.dumps(result.to_json())  # what `verify --json` prints must print
    return result


def edited(change: Callable[[dict[str, Any]], None]) -> bytes:
    doc = json.loads(base().bundle)
    change(doc)
    return json.dumps(doc).encode()


def test_the_unmodified_bundle_verifies() -> None:
    assert appraise(base().bundle).verified


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for p in parents:
            doc = doc[p]
        doc[last] = value
    return change


HOSTILE: dict[str, bytes] = {
    "duplicate key_config": base().bundle.replace(b'"key_config":', b'"key_config": "AAAA", "key_config":', 1),
    "duplicate config member": base().bundle.replace(b'"config": {', b'"config": {"upstream": "https://evil.example", ', 1),
    "NaN in config": base().bundle.replace(b'"config": {', b'"config": {"x": NaN, ', 1),
    "Infinity in config": base().bundle.replace(b'"config": {', b'"config": {"x": -Infinity, ', 1),
    "1e999 in config": base().bundle.replace(b'"config": {', b'"config": {"x": 1e999, ', 1),
    "2^60 in config": base().bundle.replace(b'"config": {', b'"config": {"x": 1152921504606846976, ', 1),
    "5000-digit integer": base().bundle.replace(b'"config": {', b'"config": {"x": ' + b"9" * 5000 + b", ", 1),
    "lone surrogate": base().bundle.replace(b'"config": {', b'"config": {"x": "\\ud800", ', 1),
    "lone surrogate key": base().bundle.replace(b'"config": {', b'"config": {"\\udfff": 1, ', 1),
    "nested 100000 deep": b"[" * 100_000,
    "nested 900 deep in config": edited(_set("config.x", json.loads("[" * 900 + "]" * 900))),
    "nested 900 deep in collateral": edited(_set("cpu.collateral", {"x": json.loads("[" * 900 + "]" * 900)})),
    "expires before year 1 in UTC": edited(_set("expires", "0001-01-01T00:00:00+05:00")),
    "expires after year 9999 in UTC": edited(_set("expires", "9999-12-31T23:59:59-05:00")),
    "nonce in uppercase": edited(lambda d: d.__setitem__("nonce", d["nonce"].upper())),
    "version 1.0": edited(_set("version", 1.0)),
    "version true": edited(_set("version", True)),
    "UTF-16": base().bundle.decode().encode("utf-16"),
    "UTF-8 byte order mark": b"\xef\xbb\xbf" + base().bundle,
    "latin-1 byte": base().bundle.replace(b'"config": {', b'"config": {"x": "\xff", ', 1),
    "not an object": b"[1, 2, 3]",
    "empty": b"",
    "2 MiB of spaces": b" " * (2 * 1024 * 1024 + 1),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_json_is_a_parse_failure(name: str) -> None:
    result = appraise(HOSTILE[name])
    assert not result.verified
    first = result.first_failure
    assert first is not None and first.id == "bundle.parse", result.verdict()
    assert first.detail.isprintable()


def test_a_deep_release_envelope_is_a_release_failure() -> None:
    """The DSSE envelope is JSON inside base64, parsed by the release appraisal: deep nesting
    there is a failing ``release.envelope``, not a RecursionError."""
    deep = base64.b64encode(b"[" * 100_000).decode()
    result = appraise(edited(lambda d: d["release"].__setitem__("envelope", deep)))
    first = result.first_failure
    assert first is not None and first.id == "release.envelope", result.verdict()


def test_an_unbound_far_expiry_still_parses_in_utc() -> None:
    bundle = parse_bundle(edited(_set("expires", "2999-12-31T23:59:59+14:00")))
    assert bundle.expires.utcoffset() is not None and bundle.expires.utcoffset().total_seconds() == 0
    assert bundle.expires.isoformat() == "2999-12-31T09:59:59+00:00"


@pytest.mark.parametrize("text", [b'{"a": 1, "a": 1}', b'{"a": NaN}', b'{"a": 9007199254740992}',
                                  b'{"a": "\\ud800"}', b"[" * 33 + b"]" * 33, b"\xff"])
def test_the_strict_loader_refuses(text: bytes) -> None:
    with pytest.raises(ParseError):
        load_strict_json(text, "doc")


def test_the_strict_loader_accepts_plain_json() -> None:
    assert load_strict_json(b'{"a": [1, -2.5, "\\u00e9", 9007199254740991, null, true]}', "doc") == {
        "a": [1, -2.5, "é", 9007199254740991, None, True]}
    assert load_strict_json(b"[" * 32 + b"]" * 32, "doc") is not None
