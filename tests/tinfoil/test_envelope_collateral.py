"""The current v3 layout carries its collateral, used offline: a real VCEK with its chain and AMD's
CRL go to the SEV-SNP appraisal, and real Intel PCS answers (URLs, issuer-chain headers, bodies) to
the TDX appraisal, which fetches nothing. No real document of this layout is in the vectors: these
documents wrap real CPU evidence and collateral in the layout, so the endorsed-section binding is not
what is tested here (the report binds other data and ``*.report_data`` fails), the collateral is."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.tinfoil.test_envelope import document
from verifier.appraisal.policy import Policy
from verifier.endorsements.fetch import CollateralFetcher
from verifier.providers.tinfoil import checks as ids
from verifier.providers.tinfoil import envelope as env
from verifier.providers.tinfoil.appraisal import Fetched, Repository, appraise_document
from verifier.providers.tinfoil.collateral import DocumentCollateral, url_key
from verifier.result import AttestationResult, Status, passed

pytestmark = pytest.mark.vectors

PCS = "tinfoil/verifier/attestation/collateral"
PCS_BASE = "https://api.trustedservices.intel.com"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def appraise(doc: dict[str, Any], policy: Policy, at: dt.datetime, tmp_path: Path) -> AttestationResult:
    offline = CollateralFetcher(tmp_path / "empty-cache", offline=True)  # nothing but the document
    nonce = bytes.fromhex(doc["challenge"]["nonce"])
    repo = Repository("tinfoilsh/confidential-model-router", passed(ids.REPOSITORY, "pinned by the test"))
    result, _ = appraise_document(json.dumps(doc).encode(), nonce=nonce, policy=policy, at=at,
                                  host="inference.tinfoil.sh", fetched=Fetched(transport="unknown", repository=repo),
                                  fetcher=offline)
    return result


def status(result: AttestationResult, cid: str) -> Status | None:
    check = result.check(cid)
    return check.status if check is not None else None


def test_a_real_vcek_chain_and_amd_crl_in_the_collateral_are_used_offline(vectors: Path, tmp_path: Path,
                                                                          tinfoil_policy: Policy) -> None:
    report = (vectors / "snp/trustee/e2e-report-rebuilt.bin").read_bytes()
    crl = x509.load_pem_x509_crl((vectors / "snp/openpcc/test_amd_genoa_crl.pem").read_bytes())
    doc = document(collateral=[
        {"id": "vcek", "role": "endorsement", "format": env.AMD_VCEK, "subjects": ["cpu"],
         "data": {"vcek_der_base64": b64((vectors / "snp/trustee/e2e-vcek.der").read_bytes()),
                  "cert_chain_pem": (vectors / "snp/trustee/genoa_ask_ark_asvk.pem").read_text()}},
        {"id": "crl", "role": "endorsement", "format": env.AMD_CRL, "subjects": ["cpu"],
         "data": {"crl_der_base64": b64(crl.public_bytes(serialization.Encoding.DER))}}])
    doc["cpu_evidence"]["report_base64"] = b64(report)
    result = appraise(doc, tinfoil_policy, dt.datetime(2025, 6, 1, tzinfo=dt.UTC), tmp_path)
    for cid in ("snp.chain.ark_pinned", "snp.chain.ask", "snp.chain.vcek", "snp.vcek.extensions",
                "snp.report.signature", "snp.revocation"):
        assert status(result, cid) is Status.PASS, (cid, result.check(cid))
    assert status(result, "snp.report_data") is Status.FAIL  # the report binds its own data, not this document
    # without the collateral, offline, there is no VCEK: the same report is not authentic
    doc["collateral"] = []
    bare = appraise(doc, tinfoil_policy, dt.datetime(2025, 6, 1, tzinfo=dt.UTC), tmp_path)
    assert status(bare, "snp.report.signature") is not Status.PASS and not bare.authentic


def _pcs_responses(vectors: Path, fmspc: str) -> list[dict[str, Any]]:
    """The PCS answers as Tinfoil's document captures them: URL, headers (Go's canonical names),
    body. The issuer chains in the vectors are the URL-encoded header values themselves."""
    d = vectors / PCS

    def answer(url: str, body: str, header: str | None = None, chain: str | None = None) -> dict[str, Any]:
        headers = {header: [(d / chain).read_text().strip()]} if header and chain else {}
        return {"url": url, "headers": headers, "body_base64": b64((d / body).read_bytes())}

    return [
        answer(f"{PCS_BASE}/tdx/certification/v4/tcb?fmspc={fmspc.upper()}", f"tcb_info_{fmspc}.json",
               "Tcb-Info-Issuer-Chain", f"tcb_info_{fmspc}_chain.txt"),
        answer(f"{PCS_BASE}/tdx/certification/v4/qe/identity", "qe_identity.json",
               "Sgx-Enclave-Identity-Issuer-Chain", "qe_identity_chain.txt"),
        *(answer(f"{PCS_BASE}/sgx/certification/v4/pckcrl?encoding=der&ca={ca}", f"pck_crl_{ca}.crl",
                 "Sgx-Pck-Crl-Issuer-Chain", f"pck_crl_{ca}_chain.txt") for ca in ("platform", "processor")),
        answer("https://certificates.trustedservices.intel.com/IntelSGXRootCA.der", "root_ca.crl"),
    ]


def test_real_intel_pcs_answers_in_the_collateral_are_used_offline(vectors: Path, tmp_path: Path,
                                                                   tinfoil_policy: Policy) -> None:
    """go-tdx-guest's v5 quote (FMSPC 90c06f000000) with Tinfoil's January 2026 PCS answers: at
    2026-02-01 its TCB is UpToDate (the vectors README), from the document's answers alone."""
    quote_bytes = (vectors / "tdx/go-tdx-guest/quote_v5_sample.dat").read_bytes()
    doc = document(collateral=[{"id": "pcs", "role": "endorsement", "format": env.INTEL_PCS, "subjects": ["cpu"],
                                "data": {"responses": _pcs_responses(vectors, "90c06f000000")}}])
    doc["cpu_evidence"].update(format="https://tinfoil.sh/format/tdx-quote/v1", report_base64=b64(quote_bytes))
    result = appraise(doc, tinfoil_policy, dt.datetime(2026, 2, 1, tzinfo=dt.UTC), tmp_path)
    for cid in ("tdx.quote.signature", "tdx.pck.chain", "tdx.collateral.root_crl", "tdx.collateral.pck_crl",
                "tdx.pck.revocation", "tdx.collateral.tcb_info", "tdx.collateral.qe_identity", "tdx.qe.identity",
                "tdx.tcb.status"):
        assert status(result, cid) is Status.PASS, (cid, result.check(cid))
    assert result.claims["cpu"]["tcb_status"] == "UpToDate"  # type: ignore[index]
    # without them, offline: the collateral checks cannot run
    doc["collateral"] = []
    bare = appraise(doc, tinfoil_policy, dt.datetime(2026, 2, 1, tzinfo=dt.UTC), tmp_path)
    assert status(bare, "tdx.collateral.tcb_info") is not Status.PASS


def test_the_document_collateral_answers_its_own_urls_only(tmp_path: Path) -> None:
    pcs = env.PcsResponse("https://API.trustedservices.intel.com/sgx/certification/v4/pckcrl?encoding=der&ca=Platform",
                          {"sgx-pck-crl-issuer-chain": ("chain",), "other": ("x",)}, b"crl")
    fetcher = DocumentCollateral([pcs], None)
    got = fetcher.get(f"{PCS_BASE}/sgx/certification/v4/pckcrl?ca=platform&encoding=der",
                      keep_headers=("SGX-PCK-CRL-Issuer-Chain",))
    assert got.body == b"crl" and dict(got.headers) == {"sgx-pck-crl-issuer-chain": "chain"}
    assert url_key("https://a/b?x=1&y=2") == url_key("https://A/b?y=2&x=1") != url_key("https://a/c?x=1&y=2")
    from verifier.errors import OfflineError

    with pytest.raises(OfflineError):
        fetcher.get("https://kdsintf.amd.com/vcek/v1/Genoa/cert_chain")
    with pytest.raises(OfflineError):
        fetcher.post("https://ocsp.ndis.nvidia.com/", b"", "application/ocsp-request")
    assert fetcher.cached("https://kdsintf.amd.com/x") is None


def test_a_sigstore_code_release_in_the_collateral_is_checked_as_a_supplied_release(
        vectors: Path, tmp_path: Path, tinfoil_policy: Policy) -> None:
    """The real router release bundle (confidential-model-router v0.0.38) as sigstore-code
    collateral: its Sigstore checks run on it, offline; a wrong tag in the collateral is refused."""
    bundle = json.loads((vectors / "tinfoil/conformance/sigstore-001/bundle.json").read_bytes())
    payload = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    digest = payload["subject"][0]["digest"]["sha256"]
    root = (vectors / "tinfoil/conformance/sigstore-001/trust_root.json").read_bytes()

    def run(tag: str) -> AttestationResult:
        doc = document(collateral=[{"id": "code", "role": "reference-values", "format": env.SIGSTORE_CODE,
                                    "data": {"repo": "tinfoilsh/confidential-model-router", "tag": tag,
                                             "digest": digest, "sigstore_bundle": bundle}}])
        nonce = bytes.fromhex(doc["challenge"]["nonce"])
        repo = Repository("tinfoilsh/confidential-model-router", passed(ids.REPOSITORY, "pinned by the test"))
        result, _ = appraise_document(json.dumps(doc).encode(), nonce=nonce, policy=tinfoil_policy,
                                      at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC), host="inference.tinfoil.sh",
                                      fetched=Fetched(transport="unknown", repository=repo),
                                      fetcher=CollateralFetcher(tmp_path / "c", offline=True), trusted_root=root)
        return result

    good = run("v0.0.38")
    assert status(good, ids.RELEASE_LATEST) is Status.SKIP and status(good, ids.RELEASE_DIGEST) is Status.PASS
    for cid in ("sigstore.signature", "sigstore.identity.repository", "sigstore.identity.workflow",
                "sigstore.digest", ids.RELEASE_TAG, ids.RELEASE_PREDICATE):
        assert status(good, cid) is Status.PASS, (cid, good.check(cid))
    assert status(run("v0.0.37"), ids.RELEASE_TAG) is Status.FAIL
    # the document names no platform endorsements nor witnesses: refused for that, not crashed
    assert status(good, ids.PLATFORM_ENDORSEMENTS) is Status.FAIL
    assert status(good, ids.FRESHNESS_DEADLINE) is Status.SKIP and not good.verified
