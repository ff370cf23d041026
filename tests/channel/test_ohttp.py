"""Oblivious HTTP (RFC 9458 §4): Appendix A byte for byte, round trips, unknown keys, tampering."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.channel import hpke, ohttp
from verifier.channel.keyconfig import KeyConfig, KeyPair, SymmetricSuite
from verifier.channel.ohttp import UnknownKeyConfig, decapsulate_request, encapsulate_request
from verifier.errors import ChannelError


@pytest.mark.vectors
def test_rfc9458_appendix_a(ohttp_vector: dict[str, Any]) -> None:
    v = {
        k: bytes.fromhex(x)
        for k, x in ohttp_vector.items()
        if isinstance(x, str) and k not in ("description",)
    }
    config = KeyConfig.parse(v["key_config"])
    assert hpke.public_key_from_private(config.kem_id, v["skE"]) == v["pkE"]

    # Client: the Encapsulated Request, with the example's ephemeral key.
    enc_request, client = encapsulate_request(config, v["request"], ephemeral_private_key=v["skE"])
    assert ohttp.request_info(client.header) == v["info"]
    assert client.enc == v["pkE"]
    assert enc_request == v["encapsulated_request"]

    # Gateway: open it, answer with the example's response nonce.
    gateway = KeyPair.from_private_key(v["skR"], config.key_id, suites=config.suites)
    request, server = decapsulate_request(gateway, v["encapsulated_request"])
    assert request == v["request"]
    keys = server.response_keys(v["response_nonce"])
    assert keys.exported_secret == v["exported_secret"]
    assert keys.salt == v["salt"]
    assert keys.prk == v["prk"]
    assert keys.aead_key == v["aead_key"]
    assert keys.aead_nonce == v["aead_nonce"]
    assert client.response_keys(v["response_nonce"]) == keys
    enc_response = server.encapsulate_response(v["response"], response_nonce=v["response_nonce"])
    assert enc_response == v["encapsulated_response"]

    # Client: open the example's Encapsulated Response.
    assert client.decapsulate_response(v["encapsulated_response"]) == v["response"]


SUITES = [(kdf, aead) for kdf in (1, 2, 3) for aead in (1, 2, 3)]


@pytest.mark.parametrize(("kdf_id", "aead_id"), SUITES)
def test_round_trip_every_symmetric_suite(kdf_id: int, aead_id: int) -> None:
    gateway = KeyPair.generate(5, suites=[(kdf_id, aead_id)])
    enc_request, client = encapsulate_request(gateway.config, b"request bytes")
    assert enc_request[:7] == bytes([5, 0, 0x20, 0, kdf_id, 0, aead_id])
    request, server = decapsulate_request([KeyPair.generate(4), gateway], enc_request)
    assert request == b"request bytes"
    assert server.header.key_id == 5
    enc_response = server.encapsulate_response(b"response bytes")
    assert len(enc_response) == max(12, 16 if aead_id == 1 else 32) + len(b"response bytes") + 16
    assert client.decapsulate_response(enc_response) == b"response bytes"


def test_fresh_randomness_each_time() -> None:
    gateway = KeyPair.generate()
    a, _ = encapsulate_request(gateway.config, b"same")
    b, _ = encapsulate_request(gateway.config, b"same")
    assert a != b
    _, server = decapsulate_request(gateway, a)
    assert server.encapsulate_response(b"x") != server.encapsulate_response(b"x")


def test_unknown_key_configurations() -> None:
    gateway = KeyPair.generate(1, suites=[(1, 1)])
    stale = KeyPair.generate(2)
    enc_request, _ = encapsulate_request(stale.config, b"r")
    with pytest.raises(UnknownKeyConfig) as info:
        decapsulate_request(gateway, enc_request)
    assert info.value.key_id == 2
    # Right identifier, but a KDF/AEAD pair this key is not offered with.
    rotated = KeyPair(
        KeyConfig(1, 0x20, gateway.config.public_key, (SymmetricSuite(1, 3),)), gateway.private_key
    )
    enc_request, _ = encapsulate_request(rotated.config, b"r")
    with pytest.raises(UnknownKeyConfig, match="not offered"):
        decapsulate_request(gateway, enc_request)
    # Right identifier, wrong KEM.
    wrong_kem = bytearray(encapsulate_request(gateway.config, b"r")[0])
    wrong_kem[1:3] = b"\x00\x10"
    with pytest.raises(UnknownKeyConfig):
        decapsulate_request(gateway, bytes(wrong_kem))
    # Same key identifier, different key: a plain decryption failure, not UnknownKeyConfig.
    impostor = KeyPair.generate(1, suites=[(1, 1)])
    enc_request, _ = encapsulate_request(impostor.config, b"r")
    with pytest.raises(ChannelError) as err:
        decapsulate_request(gateway, enc_request)
    assert not isinstance(err.value, UnknownKeyConfig)
    assert issubclass(UnknownKeyConfig, ChannelError)


def test_client_refuses_a_suite_the_config_does_not_offer() -> None:
    gateway = KeyPair.generate(suites=[(1, 1)])
    with pytest.raises(ChannelError):
        encapsulate_request(gateway.config, b"r", suite=(1, 3))
    enc_request, _ = encapsulate_request(gateway.config, b"r", suite=(1, 1))
    assert enc_request[3:7] == b"\x00\x01\x00\x01"


def _exchange() -> tuple[KeyPair, bytes, ohttp.ClientContext, bytes]:
    gateway = KeyPair.generate(9)
    enc_request, client = encapsulate_request(gateway.config, b"GET / please")
    _, server = decapsulate_request(gateway, enc_request)
    return gateway, enc_request, client, server.encapsulate_response(b"200 OK thanks")


def test_every_flipped_request_byte_is_refused() -> None:
    gateway, enc_request, _, _ = _exchange()
    for i in range(len(enc_request)):
        tampered = bytearray(enc_request)
        tampered[i] ^= 0x01
        with pytest.raises(ChannelError):
            decapsulate_request(gateway, bytes(tampered))
    for cut in range(len(enc_request)):
        with pytest.raises(ChannelError):
            decapsulate_request(gateway, enc_request[:cut])


def test_every_flipped_response_byte_is_refused() -> None:
    _, _, client, enc_response = _exchange()
    assert client.decapsulate_response(enc_response) == b"200 OK thanks"
    for i in range(len(enc_response)):
        tampered = bytearray(enc_response)
        tampered[i] ^= 0x80
        with pytest.raises(ChannelError):
            client.decapsulate_response(bytes(tampered))
    for cut in range(len(enc_response)):
        with pytest.raises(ChannelError):
            client.decapsulate_response(enc_response[:cut])
    with pytest.raises(ChannelError):
        client.decapsulate_response(enc_response + b"\x00")


def test_response_for_another_request_is_refused() -> None:
    _, _, client, _ = _exchange()
    _, _, _, other_response = _exchange()
    with pytest.raises(ChannelError):
        client.decapsulate_response(other_response)


def test_injected_nonce_must_have_the_right_size() -> None:
    gateway, enc_request, _, _ = _exchange()
    _, server = decapsulate_request(gateway, enc_request)
    with pytest.raises(ValueError):
        server.encapsulate_response(b"x", response_nonce=b"\x00" * 12)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=120))
def test_fuzz_decapsulate_request_only_channel_errors(data: bytes) -> None:
    gateway = _FUZZ_GATEWAY
    for candidate in (data, gateway.config.encode()[:1] + b"\x00\x20\x00\x01\x00\x01" + data):
        with pytest.raises(ChannelError):
            decapsulate_request(gateway, candidate)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=80))
def test_fuzz_decapsulate_response_only_channel_errors(data: bytes) -> None:
    with pytest.raises(ChannelError):
        _FUZZ_CLIENT.decapsulate_response(data)


_FUZZ_GATEWAY = KeyPair.generate(0, suites=[(1, 1)])
_FUZZ_CLIENT = encapsulate_request(_FUZZ_GATEWAY.config, b"x")[1]
