"""The Intel PCS v4 client on the shared CollateralFetcher (httpx.MockTransport), and DIR layouts."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.tdx.conftest import TINFOIL_COLLATERAL, read
from verifier.endorsements.fetch import CollateralFetcher
from verifier.endorsements.intel_pck import load_pem_chain
from verifier.endorsements.intel_pcs import (
    ROOT_CA_CRL_URL,
    decode_issuer_chain,
    fetch_collateral,
    load_collateral_dir,
    pck_crl_url,
    qe_identity_url,
    tcb_info_url,
)
from verifier.errors import CollateralError, InputError, OfflineError


def test_url_shapes() -> None:
    assert tcb_info_url("90C06F000000") == \
        "https://api.trustedservices.intel.com/tdx/certification/v4/tcb?fmspc=90c06f000000"
    assert qe_identity_url() == "https://api.trustedservices.intel.com/tdx/certification/v4/qe/identity"
    assert pck_crl_url("processor") == \
        "https://api.trustedservices.intel.com/sgx/certification/v4/pckcrl?ca=processor&encoding=der"
    with pytest.raises(ValueError, match="FMSPC"):
        tcb_info_url("90c06f&x=1")
    with pytest.raises(ValueError, match="PCK CA"):
        pck_crl_url("both")


def test_issuer_chain_headers_are_url_encoded_pem(vectors: Path) -> None:
    header = read(vectors, TINFOIL_COLLATERAL + "/qe_identity_chain.txt").decode().strip()
    assert header.startswith("-----BEGIN%20CERTIFICATE-----%0A")
    chain = decode_issuer_chain(header)
    assert [c.subject.rfc4514_string().rsplit("CN=", 1)[1] for c in load_pem_chain(chain, "x")] == [
        "Intel SGX TCB Signing", "Intel SGX Root CA"]
    assert decode_issuer_chain(chain) == chain  # plain PEM passes unchanged


def _serve(vectors: Path, seen: list[httpx.Request], *, drop_header: str | None = None) -> httpx.MockTransport:
    c = vectors / TINFOIL_COLLATERAL
    answers = {
        tcb_info_url("00a06d080000"): ("tcb_info_00a06d080000.json", "TCB-Info-Issuer-Chain",
                                       "tcb_info_00a06d080000_chain.txt"),
        qe_identity_url(): ("qe_identity.json", "SGX-Enclave-Identity-Issuer-Chain", "qe_identity_chain.txt"),
        pck_crl_url("platform"): ("pck_crl_platform.crl", "SGX-PCK-CRL-Issuer-Chain", "pck_crl_platform_chain.txt"),
        ROOT_CA_CRL_URL: ("root_ca.crl", None, None),
    }

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body, header, chain = answers.get(str(request.url), (None, None, None))
        if body is None:
            return httpx.Response(404)
        headers = {}
        if header is not None and chain is not None and header != drop_header:
            headers[header] = (c / chain).read_text().strip()
        return httpx.Response(200, content=(c / body).read_bytes(), headers=headers)

    return httpx.MockTransport(handler)


def test_fetch_collateral_through_the_shared_fetcher(vectors: Path, tmp_path: Path) -> None:
    seen: list[httpx.Request] = []
    fetcher = CollateralFetcher(tmp_path / "cache", client=httpx.Client(transport=_serve(vectors, seen)))
    coll = fetch_collateral(fetcher, "00a06d080000", "platform")
    c = vectors / TINFOIL_COLLATERAL
    assert coll.tcb_info == (c / "tcb_info_00a06d080000.json").read_bytes()
    assert coll.root_crl == (c / "root_ca.crl").read_bytes()
    assert coll.qe_identity_chain is not None and coll.qe_identity_chain.startswith(b"-----BEGIN CERTIFICATE-----\n")
    assert coll.pck_crl_chain == decode_issuer_chain((c / "pck_crl_platform_chain.txt").read_text().strip())
    assert [str(r.url) for r in seen] == [tcb_info_url("00a06d080000"), qe_identity_url(),
                                          pck_crl_url("platform"), ROOT_CA_CRL_URL]
    # the answers and their issuer-chain headers come back from the disk cache, offline
    again = fetch_collateral(CollateralFetcher(tmp_path / "cache", offline=True), "00a06d080000", "platform")
    assert again.tcb_info_chain == coll.tcb_info_chain and len(seen) == 4


def test_missing_issuer_chain_header_is_a_collateral_error(vectors: Path, tmp_path: Path) -> None:
    seen: list[httpx.Request] = []
    fetcher = CollateralFetcher(tmp_path, client=httpx.Client(
        transport=_serve(vectors, seen, drop_header="TCB-Info-Issuer-Chain")))
    with pytest.raises(CollateralError, match="TCB-Info-Issuer-Chain"):
        fetch_collateral(fetcher, "00a06d080000", "platform")


def test_unknown_platform_is_a_collateral_error(vectors: Path, tmp_path: Path) -> None:
    fetcher = CollateralFetcher(tmp_path, client=httpx.Client(transport=_serve(vectors, [])))
    with pytest.raises(CollateralError, match="404"):
        fetch_collateral(fetcher, "ffffffffffff", "platform")
    with pytest.raises(OfflineError):
        fetch_collateral(CollateralFetcher(tmp_path / "empty", offline=True), "00a06d080000", "platform")


def test_collateral_dir(vectors: Path, tmp_path: Path) -> None:
    coll = load_collateral_dir(vectors / TINFOIL_COLLATERAL, "90C06F000000", "platform")
    assert coll.tcb_info is not None and coll.qe_identity is not None and coll.root_crl is not None
    assert coll.tcb_info_chain is not None and coll.tcb_info_chain.startswith(b"-----BEGIN CERTIFICATE-----")
    # upper-case file names and plain-PEM chains are read too; absent files are None
    (tmp_path / "TCB_INFO_90C06F000000.JSON").write_bytes(coll.tcb_info)
    (tmp_path / "tcb_info_90c06f000000_chain.txt").write_bytes(coll.tcb_info_chain)
    partial = load_collateral_dir(tmp_path, "90c06f000000", "platform")
    assert partial.tcb_info == coll.tcb_info and partial.tcb_info_chain == coll.tcb_info_chain.strip()
    assert partial.qe_identity is None and partial.pck_crl is None
    with pytest.raises(InputError, match="does not exist"):
        load_collateral_dir(tmp_path / "nope", "90c06f000000", "platform")


def test_collateral_dir_bounds_file_sizes(vectors: Path, tmp_path: Path) -> None:
    shutil.copy(vectors / TINFOIL_COLLATERAL / "qe_identity.json", tmp_path / "qe_identity.json")
    (tmp_path / "root_ca.crl").write_bytes(b"\0" * (4 * 1024 * 1024 + 1))
    with pytest.raises(InputError, match="larger"):
        load_collateral_dir(tmp_path, "90c06f000000", "platform")


def test_percent_encoding_round_trip(vectors: Path) -> None:
    pem = decode_issuer_chain(read(vectors, TINFOIL_COLLATERAL + "/pck_crl_platform_chain.txt").strip())
    assert decode_issuer_chain(quote(pem.decode())) == pem
