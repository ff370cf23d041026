"""OHTTP key configurations (RFC 9458 §3): the spec's two example configurations, strictness, KeyPair."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.channel import hpke
from verifier.channel.keyconfig import (
    DEFAULT_SUITES,
    KeyConfig,
    KeyPair,
    SymmetricSuite,
    encode_ohttp_keys,
    parse_ohttp_keys,
)
from verifier.errors import ChannelError, ParseError

S = SymmetricSuite


@pytest.mark.vectors
def test_spec_key_configs_parse_and_re_encode(
    ohttp_vector: dict[str, Any], chunked_vector: dict[str, Any]
) -> None:
    checked = 0
    for vector in (ohttp_vector, chunked_vector):
        raw = bytes.fromhex(vector["key_config"])
        config = KeyConfig.parse(raw)
        assert config.key_id == 1
        assert config.kem_id == hpke.KEM_X25519_SHA256
        assert config.public_key == raw[3:35]
        assert config.suites == ((1, 1), (1, 3))
        assert config.encode() == raw
        # The gateway's private key derives to the same configuration.
        pair = KeyPair.from_private_key(bytes.fromhex(vector["skR"]), 1, suites=config.suites)
        assert pair.config == config
        # As an application/ohttp-keys list of one.
        listed = struct.pack(">H", len(raw)) + raw
        assert parse_ohttp_keys(listed) == (config,)
        assert encode_ohttp_keys([config]) == listed
        checked += 1
    assert checked == 2


def _config() -> bytes:
    return KeyPair.generate(7).config.encode()


def test_every_truncation_is_a_parse_error() -> None:
    raw = _config()
    for cut in range(len(raw)):
        with pytest.raises(ParseError):
            KeyConfig.parse(raw[:cut])


def test_trailing_bytes_refused() -> None:
    with pytest.raises(ParseError) as info:
        KeyConfig.parse(_config() + b"\x00")
    assert info.value.field == "key_config"


def test_unknown_kem_and_bad_algorithm_length() -> None:
    raw = bytearray(_config())
    raw[1:3] = b"\x00\x99"
    with pytest.raises(ParseError) as info:
        KeyConfig.parse(bytes(raw))
    assert info.value.field == "kem_id"
    for length in (0, 3, 6):
        bad = _config()[:35] + struct.pack(">H", length) + bytes(length)
        with pytest.raises(ParseError) as info:
            KeyConfig.parse(bad)
        assert info.value.field == "symmetric_algorithms"


def test_invalid_p256_point_refused() -> None:
    raw = (
        b"\x01"
        + struct.pack(">H", hpke.KEM_P256_SHA256)
        + b"\x04"
        + b"\x01" * 64
        + b"\x00\x04\x00\x01\x00\x01"
    )
    with pytest.raises(ParseError) as info:
        KeyConfig.parse(raw)
    assert info.value.field == "public_key"


def test_ohttp_keys_list_strictness() -> None:
    a, b = KeyPair.generate(1).config, KeyPair.generate(2).config
    body = encode_ohttp_keys([a, b])
    assert parse_ohttp_keys(body) == (a, b)
    for cut in range(1, len(body)):
        if cut == 2 + len(a.encode()):
            assert parse_ohttp_keys(body[:cut]) == (a,)
            continue
        with pytest.raises(ParseError):
            parse_ohttp_keys(body[:cut])
    with pytest.raises(ParseError):
        parse_ohttp_keys(b"")
    with pytest.raises(ParseError):
        parse_ohttp_keys(body + b"\x00")
    # An entry whose length covers more than its configuration.
    padded = a.encode() + b"\x00"
    with pytest.raises(ParseError):
        parse_ohttp_keys(struct.pack(">H", len(padded)) + padded)


def test_ohttp_keys_skip_unknown_kem_entries() -> None:
    known = KeyPair.generate(1).config.encode()
    unknown = b"\x09" + struct.pack(">H", 0x647A) + b"\xaa" * 40 + b"\x00\x04\x00\x01\x00\x01"
    body = struct.pack(">H", len(unknown)) + unknown + struct.pack(">H", len(known)) + known
    assert [c.key_id for c in parse_ohttp_keys(body)] == [1]
    with pytest.raises(ParseError, match="supported KEM"):
        parse_ohttp_keys(struct.pack(">H", len(unknown)) + unknown)


def test_key_pair_generate_and_repr_hides_secret() -> None:
    pair = KeyPair.generate(3)
    assert pair.key_id == 3
    assert pair.config.suites == DEFAULT_SUITES
    assert (
        hpke.public_key_from_private(pair.config.kem_id, pair.private_key) == pair.config.public_key
    )
    assert pair.private_key.hex() not in repr(pair)
    assert KeyPair.generate(3).private_key != pair.private_key
    other = KeyPair.generate(3)
    with pytest.raises(ValueError, match="does not match"):
        KeyPair(pair.config, other.private_key)


def test_suite_selection() -> None:
    config = KeyConfig(1, hpke.KEM_X25519_SHA256, b"\x01" * 32, (S(9, 9), S(1, 3), S(1, 1)))
    assert config.supported_suites() == ((1, 3), (1, 1))
    assert config.select_suite() == SymmetricSuite(1, 3)
    assert config.select_suite([SymmetricSuite(1, 1)]) == (1, 1)
    assert config.select_suite([SymmetricSuite(2, 2)]) == (1, 3)
    export_only = KeyConfig(1, hpke.KEM_X25519_SHA256, b"\x01" * 32, (S(1, 0xFFFF),))
    with pytest.raises(ChannelError):
        export_only.select_suite()


def test_constructor_validates() -> None:
    with pytest.raises(ValueError):
        KeyConfig(256, hpke.KEM_X25519_SHA256, b"\x01" * 32, (S(1, 1),))
    with pytest.raises(ValueError):
        KeyConfig(1, hpke.KEM_X25519_SHA256, b"\x01" * 31, (S(1, 1),))
    with pytest.raises(ValueError):
        KeyConfig(1, hpke.KEM_X25519_SHA256, b"\x01" * 32, ())


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=120))
def test_fuzz_parse_raises_only_parse_error(data: bytes) -> None:
    for parse in (KeyConfig.parse, parse_ohttp_keys):
        try:
            parse(data)
        except ParseError:
            pass


@settings(max_examples=100, deadline=None)
@given(
    st.integers(0, 255),
    st.lists(st.tuples(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF)), min_size=1, max_size=8),
)
def test_round_trip(key_id: int, suites: list[tuple[int, int]]) -> None:
    config = KeyConfig(
        key_id, hpke.KEM_X25519_SHA256, bytes(range(32)), tuple(SymmetricSuite(*s) for s in suites)
    )
    assert KeyConfig.parse(config.encode()) == config
    assert parse_ohttp_keys(encode_ohttp_keys([config, config])) == (config, config)
