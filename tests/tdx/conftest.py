from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.tdx.forge import FakeIntel, make_pki
from verifier.appraisal.policy import Policy, parse_policy
from verifier.endorsements.intel_collateral import TdxCollateral
from verifier.endorsements.intel_pcs import load_collateral_dir

AUTHENTIC_AT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
JAN_2026_AT = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
GO_TDX_AT = dt.datetime(2023, 7, 1, tzinfo=dt.UTC)
TINFOIL_COLLATERAL = "tinfoil/verifier/attestation/collateral"

ALL_QUOTES = (
    "tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat",
    "tdx/go-tdx-guest/quote_v5_sample.dat",
    "tdx/go-tdx-guest/cos-113-tdx-quote.dat",
    "tdx/trustee/tdx_quote_4.dat",
    "tdx/trustee/tdx_quote_5.dat",
    "tdx/trustee/tdx_quote_6.dat",
    "tdx/trustee/td-quote.bin",
    "tdx/openpcc/test_azure_tdx_quote.bin",
    "tdx/openpcc/test_gce_tdx_report.bin",
)


def policy(text: str = "") -> Policy:
    return parse_policy(f'name = "test"\n[tdx]\n{text}\n'.encode())


@pytest.fixture(scope="session")
def fake_intel() -> FakeIntel:
    """Intel's names, other keys: made once per test session."""
    return make_pki()


@pytest.fixture(scope="session")
def fake_policy(fake_intel: FakeIntel) -> Policy:
    return policy(f'roots = {{ spki_sha256 = ["{fake_intel.pin}"] }}')


def read(vectors: Path, relative: str) -> bytes:
    path = vectors / relative
    assert path.is_file(), f"vector {relative} is missing"
    return path.read_bytes()


def tinfoil_collateral(vectors: Path, fmspc: str) -> TdxCollateral:
    return load_collateral_dir(vectors / TINFOIL_COLLATERAL, fmspc, "platform")


def go_tdx_collateral(vectors: Path) -> TdxCollateral:
    g = "tdx/go-tdx-guest/"
    return TdxCollateral(
        tcb_info=read(vectors, g + "sample_tcbInfo_response"),
        tcb_info_chain=read(vectors, g + "tcbInfoIssuerChain.pem"),
        qe_identity=read(vectors, g + "sample_qeIdentity_response"),
        qe_identity_chain=read(vectors, g + "qeIdentityIssuerChain.pem"),
        pck_crl=read(vectors, g + "pckcrl"),
        pck_crl_chain=read(vectors, g + "pckCrlIssuerChain.pem"),
        root_crl=read(vectors, g + "rootcrl.der"),
        source="go-tdx-guest testdata")
