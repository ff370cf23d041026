"""PCK chains: the pin, names, validity, and the SGX extension."""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.tdx.conftest import ALL_QUOTES, AUTHENTIC_AT, read
from tests.tdx.forge import FakeIntel, _cert, intel_name, pem, sgx_extension
from verifier.endorsements.anchors import spki_sha256
from verifier.endorsements.intel_anchors import INTEL_SGX_ROOT_CA_SPKI_SHA256
from verifier.endorsements.intel_pck import (
    ChainError,
    PckChain,
    common_name,
    load_pck_chain,
    load_pem_chain,
    parse_sgx_extension,
    pck_extensions,
    root_pinned,
    verify_pck_chain,
)
from verifier.errors import ParseError
from verifier.evidence.tdx import parse_quote


def test_pin_is_the_intel_sgx_root_ca(vectors: Path) -> None:
    root = x509.load_pem_x509_certificate(read(vectors, "tdx/go-tdx-guest/trusted_root.pem"))
    assert spki_sha256(root) == INTEL_SGX_ROOT_CA_SPKI_SHA256
    same = x509.load_pem_x509_certificate(read(vectors, "tinfoil/verifier/attestation/sgx_root_ca.pem"))
    assert spki_sha256(same) == INTEL_SGX_ROOT_CA_SPKI_SHA256


@pytest.mark.parametrize("name", ALL_QUOTES)
def test_real_chains_hold_and_are_pinned(vectors: Path, name: str) -> None:
    chain = load_pck_chain(parse_quote(read(vectors, name)).pck_chain_pem)
    verify_pck_chain(chain, AUTHENTIC_AT)
    assert root_pinned(chain.root, [INTEL_SGX_ROOT_CA_SPKI_SHA256])
    assert chain.ca == "platform"


# (quote, FMSPC, PCESVN, first two CPUSVN components): the platforms the vectors README names
EXTENSIONS = [
    ("tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat", "50806f000000", 11, (3, 3)),
    ("tdx/go-tdx-guest/quote_v5_sample.dat", "90c06f000000", 13, (4, 4)),
    ("tdx/trustee/tdx_quote_6.dat", "00a06d080000", 11, (2, 2)),
    ("tdx/go-tdx-guest/cos-113-tdx-quote.dat", "00806f050000", 11, (7, 7)),
]


@pytest.mark.parametrize(("name", "fmspc", "pcesvn", "first"), EXTENSIONS)
def test_sgx_extension(vectors: Path, name: str, fmspc: str, pcesvn: int, first: tuple[int, int]) -> None:
    ext = pck_extensions(load_pck_chain(parse_quote(read(vectors, name)).pck_chain_pem).leaf)
    assert (ext.fmspc.hex(), ext.pcesvn, ext.cpusvn_components[:2]) == (fmspc, pcesvn, first)
    assert ext.pce_id == b"\x00\x00"
    assert len(ext.cpusvn_components) == 16 and ext.cpusvn == bytes(ext.cpusvn_components)
    assert ext.platform_instance_id is not None and ext.dynamic_platform is not None


def test_look_alike_chain_holds_but_is_not_pinned(fake_intel: FakeIntel) -> None:
    chain = load_pck_chain(fake_intel.pck_chain)
    verify_pck_chain(chain, AUTHENTIC_AT)  # internally consistent, Intel's names throughout
    assert [common_name(c.subject) for c in (chain.leaf, chain.intermediate, chain.root)] == [
        "Intel SGX PCK Certificate", "Intel SGX PCK Platform CA", "Intel SGX Root CA"]
    assert not root_pinned(chain.root, [INTEL_SGX_ROOT_CA_SPKI_SHA256])
    assert root_pinned(chain.root, [fake_intel.pin])


def test_leaf_under_real_root_is_refused(vectors: Path, fake_intel: FakeIntel) -> None:
    """The look-alike leaf and CA presented with Intel's real root: the CA's signature fails."""
    real_root = x509.load_pem_x509_certificate(read(vectors, "tdx/go-tdx-guest/trusted_root.pem"))
    with pytest.raises(ChainError, match="signature"):
        verify_pck_chain(PckChain(fake_intel.pck, fake_intel.ca, real_root), AUTHENTIC_AT)


def test_expired_and_not_yet_valid(fake_intel: FakeIntel) -> None:
    chain = load_pck_chain(fake_intel.pck_chain)
    with pytest.raises(ChainError, match="expired"):
        verify_pck_chain(chain, dt.datetime(2041, 1, 1, tzinfo=dt.UTC))
    with pytest.raises(ChainError, match="not valid before"):
        verify_pck_chain(chain, dt.datetime(2019, 1, 1, tzinfo=dt.UTC))


def test_names_are_checked(fake_intel: FakeIntel) -> None:
    odd = _cert(intel_name("Intel SGX PCK Something"), fake_intel.ca.subject, fake_intel.pck_key,
                fake_intel.ca_key, ca=False)
    with pytest.raises(ChainError, match="PCK leaf certificate is 'Intel SGX PCK Something'"):
        verify_pck_chain(PckChain(odd, fake_intel.ca, fake_intel.root), AUTHENTIC_AT)


def test_ca_flag_is_checked(fake_intel: FakeIntel) -> None:
    not_ca = _cert(intel_name("Intel SGX PCK Platform CA"), fake_intel.root.subject, fake_intel.ca_key,
                   fake_intel.root_key, ca=False)
    with pytest.raises(ChainError, match="not a CA"):
        verify_pck_chain(PckChain(fake_intel.pck, not_ca, fake_intel.root), AUTHENTIC_AT)


def test_chain_text_is_strict(fake_intel: FakeIntel) -> None:
    assert len(load_pem_chain(fake_intel.pck_chain + b"\x00", "x")) == 3  # quotes end with a NUL
    with pytest.raises(ParseError, match="not PEM"):
        load_pem_chain(fake_intel.pck_chain + b"junk", "x")
    with pytest.raises(ParseError, match="3"):
        load_pck_chain(pem(fake_intel.pck, fake_intel.root))
    with pytest.raises(ParseError, match="no certificate"):
        load_pem_chain(b"\n", "x")


def test_sgx_extension_round_trip() -> None:
    ext = parse_sgx_extension(sgx_extension(fmspc=bytes.fromhex("010203040506"), pcesvn=300,
                                            comps=tuple(range(16)), sgx_type=1))
    assert ext.fmspc.hex() == "010203040506"
    assert (ext.pcesvn, ext.cpusvn_components, ext.sgx_type) == (300, tuple(range(16)), 1)
    assert (ext.dynamic_platform, ext.cached_keys, ext.smt_enabled) == (False, True, True)


@pytest.mark.parametrize("cut", [1, 5, 40, 200])
def test_truncated_sgx_extension_is_a_parse_error(cut: int) -> None:
    der = sgx_extension()
    with pytest.raises(ParseError):
        parse_sgx_extension(der[:-cut])


def test_sgx_extension_without_fmspc_is_refused() -> None:
    der = sgx_extension()
    fmspc_oid = bytes.fromhex("060a2a864886f84d010d0104")
    start = der.index(fmspc_oid) - 2  # the enclosing SEQUENCE header
    item_len = der[start + 1] + 2
    body = der[4:start] + der[start + item_len:] if der[1] & 0x80 else b""
    assert body, "the forged extension uses a long-form length"
    shorter = bytes([0x30, 0x82]) + len(body).to_bytes(2, "big") + body
    with pytest.raises(ParseError, match=r"lacks 1\.2\.840\.113741\.1\.13\.1\.4"):
        parse_sgx_extension(shorter)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_certificates_raise_only_typed_errors(fake_intel: FakeIntel, data: st.DataObject) -> None:
    """cryptography decodes some certificate fields lazily; hostile bytes must end as our errors."""
    der = bytearray(fake_intel.pck.public_bytes(serialization.Encoding.DER))
    for _ in range(data.draw(st.integers(1, 3))):
        der[data.draw(st.integers(0, len(der) - 1))] = data.draw(st.integers(0, 255))
    try:
        leaf = x509.load_der_x509_certificate(bytes(der))
    except (ValueError, x509.InvalidVersion):
        return
    chain = PckChain(leaf, fake_intel.ca, fake_intel.root)
    with contextlib.suppress(ChainError):
        verify_pck_chain(chain, AUTHENTIC_AT)
    with contextlib.suppress(ParseError):
        pck_extensions(leaf)
    assert root_pinned(chain.root, [fake_intel.pin])
