"""Fixtures for the SEV-SNP tests: RSA-4096 keys made once per session, a look-alike PKI."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.snp.builder import Pki, Platform
from verifier.appraisal.policy import Policy, parse_policy
from verifier.evidence.sev_snp import Product

AT = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def rsa_keys() -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]:
    """Two RSA-4096 keys (an ARK and an ASK); key generation takes seconds, so once per session."""
    return (rsa.generate_private_key(65537, 4096), rsa.generate_private_key(65537, 4096))


@pytest.fixture(scope="session")
def pki(rsa_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]) -> Pki:
    return Pki(rsa_keys[0], rsa_keys[1], Product.GENOA)


@pytest.fixture(scope="session")
def make_pki(rsa_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]) -> Callable[..., Pki]:
    def make(product: Product = Product.GENOA, suffix: str = " (TEST)") -> Pki:
        return Pki(rsa_keys[0], rsa_keys[1], product, suffix)
    return make


@pytest.fixture(scope="session")
def platform(pki: Pki) -> Platform:
    return Platform(pki)


def pinned_policy(pki: Pki, extra: str = "") -> Policy:
    """A policy that pins the test ARK for the PKI's product (the demo-policy path)."""
    revocation = "" if "revocation" in extra else 'revocation = "off"\n'
    text = (f'name = "t"\n[snp]\nroots = {{ {pki.product.value} = "{pki.ark_pin}" }}\n'
            f'{revocation}{extra}')
    return parse_policy(text.encode())


def snp_policy_text(body: str = "") -> Policy:
    return parse_policy(f'name = "t"\n[snp]\n{body}'.encode())
