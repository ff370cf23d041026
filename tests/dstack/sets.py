"""The real dstack sets: dstack's own verifier fixtures and teep's recordings of NEAR AI (direct and
cloud) and Venice, with the Intel PCS answers teep fetched, replayed through the PCS client."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.vectors import vector
from verifier.appraisal.policy import Policy, parse_policy
from verifier.endorsements.fetch import CollateralFetcher
from verifier.evidence.dstack import DstackEvidence, find_evidence
from verifier.result import parse_time

DSTACK = "providers/dstack/"
TEEP = "providers/teep/"
FIXTURE_AT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
"""dstack's fixtures carry no capture time; their PCK chains are valid then (the tdx vectors' time)."""


@dataclass(frozen=True)
class Recording:
    name: str
    folder: str
    document: str
    """The file (under responses/) holding the attestation."""
    report_data: str
    """How REPORT_DATA binds the service's keys and the client's nonce (docs/dstack.md)."""
    tcb_status: str


RECORDINGS = (
    Recording("neardirect 04-24", "neardirect_qwen_qwen3.5-122b-a10b_20260424_021037",
              "0001_qwen35-122b.completions.near.ai_v1_attestation_report.body", "near", "UpToDate"),
    Recording("neardirect 06-10", "neardirect_qwen_qwen3.5-122b-a10b_20260610_015359",
              "0001_qwen35-122b.completions.near.ai_v1_attestation_report.body", "near", "UpToDate"),
    Recording("venice 04-24", "venice_e2ee-qwen3-5-122b-a10b_20260424_015841",
              "0001_api.venice.ai_api_v1_tee_attestation.body", "venice", "UpToDate"),
    Recording("nearcloud gateway 04-24", "nearcloud_qwen_qwen3.5-122b-a10b_20260424_020614",
              "0001_cloud-api.near.ai_v1_attestation_report.body", "near", "OutOfDate"),
    Recording("nearcloud gateway 06-10", "nearcloud_qwen_qwen3.5-122b-a10b_20260610_014855",
              "0001_cloud-api.near.ai_v1_attestation_report.body", "near", "OutOfDate"),
)
BY_NAME = {r.name: r for r in RECORDINGS}


def policy(text: str = "") -> Policy:
    return parse_policy(f'name = "test"\n{text}\n'.encode())


def recording_path(rec: Recording) -> Path:
    return vector(f"{TEEP}{rec.folder}/responses/{rec.document}")


def recording_doc(rec: Recording) -> dict[str, object]:
    doc = json.loads(recording_path(rec).read_bytes())
    assert isinstance(doc, dict)
    return doc


def recording_evidence(rec: Recording) -> DstackEvidence:
    found = find_evidence(recording_doc(rec))
    assert found is not None
    return found


def captured_at(rec: Recording) -> dt.datetime:
    manifest = json.loads(vector(f"{TEEP}{rec.folder}/manifest.json").read_bytes())
    return parse_time(manifest["captured_at"])


def nonce(rec: Recording) -> bytes:
    manifest = json.loads(vector(f"{TEEP}{rec.folder}/manifest.json").read_bytes())
    return bytes.fromhex(manifest["nonce_hex"])


def expected_report_data(rec: Recording) -> bytes:
    """NEAR AI: SHA-256(signing address bytes || TLS certificate fingerprint) || nonce; Venice: the
    20-byte signing address || 12 zero bytes || nonce (the README's facts)."""
    doc = recording_doc(rec)
    att = doc["gateway_attestation"] if "gateway_attestation" in doc else doc
    assert isinstance(att, dict)
    address = bytes.fromhex(str(att["signing_address"]).removeprefix("0x"))
    if rec.report_data == "venice":
        return address + bytes(32 - len(address)) + nonce(rec)
    fingerprint = bytes.fromhex(str(att.get("tls_cert_fingerprint") or doc["tls_cert_fingerprint"]))
    return hashlib.sha256(address + fingerprint).digest() + nonce(rec)


def recorded_answers(rec: Recording) -> dict[str, tuple[bytes, dict[str, list[str]]]]:
    """URL -> (body, headers) of every Intel answer teep recorded."""
    out = {}
    for meta_path in sorted(vector(f"{TEEP}{rec.folder}/responses").glob("*trustedservices.intel.com*.json")):
        meta = json.loads(meta_path.read_bytes())
        out[meta["url"]] = (meta_path.with_suffix(".body").read_bytes(), meta["headers"])
    return out


def recorded_fetcher(rec: Recording, cache: Path, seen: list[str] | None = None) -> CollateralFetcher:
    """A collateral fetcher answering from the recording (404 for anything it did not record)."""
    answers = recorded_answers(rec)

    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(str(request.url))
        body, headers = answers.get(str(request.url), (None, {}))
        if body is None:
            return httpx.Response(404)
        return httpx.Response(200, content=body, headers=[(k, v) for k, vs in headers.items() for v in vs])

    return CollateralFetcher(cache, client=httpx.Client(transport=httpx.MockTransport(handler)))


def collateral_dir(rec: Recording, directory: Path) -> Path:
    """The recorded PCS answers laid out as ``--collateral DIR`` reads them (docs/tdx.md)."""
    directory.mkdir(parents=True, exist_ok=True)
    for url, (body, headers) in recorded_answers(rec).items():
        chains = {k.lower(): v[0] for k, v in headers.items() if k.lower().endswith("issuer-chain")}
        if "/tcb?fmspc=" in url:
            fmspc = url.rsplit("=", 1)[1]
            (directory / f"tcb_info_{fmspc}.json").write_bytes(body)
            (directory / f"tcb_info_{fmspc}_chain.txt").write_text(chains["tcb-info-issuer-chain"])
        elif url.endswith("/qe/identity"):
            (directory / "qe_identity.json").write_bytes(body)
            (directory / "qe_identity_chain.txt").write_text(chains["sgx-enclave-identity-issuer-chain"])
        elif "/pckcrl?ca=" in url:
            ca = url.split("ca=", 1)[1].split("&", 1)[0]
            (directory / f"pck_crl_{ca}.crl").write_bytes(body)
            (directory / f"pck_crl_{ca}_chain.txt").write_text(chains["sgx-pck-crl-issuer-chain"])
        elif url.endswith("IntelSGXRootCA.der"):
            (directory / "root_ca.crl").write_bytes(body)
    return directory


def fixture_doc(name: str) -> dict[str, object]:
    doc = json.loads(vector(DSTACK + name).read_bytes())
    assert isinstance(doc, dict)
    return doc
