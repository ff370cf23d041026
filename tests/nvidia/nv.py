"""Paths and loaders for the real NVIDIA vectors (never copied into the repository)."""

from __future__ import annotations

import base64
import datetime as dt
import glob
import json
from pathlib import Path

from tests.vectors import vector
from verifier.evidence.encoding import decode_evidence
from verifier.evidence.nvidia import looks_binary

PYPI = "nvidia/pypi_nv_local_gpu_verifier_2.7.3/"
GOOGLE = "nvidia/google_go-nvattest-tools/"
RESIGNED = "nvidia/nvidia-rim-service-resigned/"
SDK = "nvidia/nvidia_attestation-sdk/"
SAMPLES = SDK + "sample_attestation_data/"

H100_NONCE = bytes.fromhex("931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb")
T_GPU_OCSP = dt.datetime(2025, 8, 21, 12, tzinfo=dt.UTC)
T_RIM_OCSP = dt.datetime(2025, 10, 24, 12, tzinfo=dt.UTC)
T_RESIGNED = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
T_DRIVER_EXPIRED = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)
T_SAMPLE_RIMS = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)
"""Inside 2025-05-24..2025-12-12, where the *_measurement_mismatch RIM signers are valid."""


def read(relative: str) -> bytes:
    return vector(relative).read_bytes()


def report(relative: str) -> bytes:
    raw, _ = decode_evidence(read(relative), looks_binary)
    return raw


def h100() -> tuple[bytes, bytes]:
    """The matching set's report (decoded) and certificate chain."""
    return report(PYPI + "hopperAttestationReport.txt"), read(PYPI + "hopperCertChain.txt")


def google_rims() -> list[bytes]:
    return [read(GOOGLE + "rim/NV_GPU_DRIVER_GH100_550.90.07.xml"),
            read(GOOGLE + "rim/NV_GPU_VBIOS_1010_0200_882_96009F0001.xml")]


def ocsp_answers() -> list[bytes]:
    folder = vector(GOOGLE + "ocsp")
    return [Path(p).read_bytes() for p in sorted(glob.glob(str(folder / "*.dat")))]


def json_devices(relative: str) -> list[tuple[str, bytes, bytes, str]]:
    """NRAS-shaped evidence: (arch, report, chain, claimed nonce hex) per device."""
    doc = json.loads(read(relative))
    return [(e["arch"], base64.b64decode(e["evidence"]), base64.b64decode(e["certificate"]), e["nonce"])
            for e in doc]


PPCIE = GOOGLE + "test_ppcie_data.json"
T_PPCIE = dt.datetime(2025, 8, 21, tzinfo=dt.UTC)


def ppcie_devices() -> list[tuple[str, bytes, bytes]]:
    """go-nvattest-tools' protected-PCIe set (a jsonpickle of nvtrust's handlers): 8 H100s, then 4
    NVSwitches, each ``(arch, report, chain)``; the nonce is the fixture 1234…."""
    doc = json.loads(read(PPCIE))

    def pem(certs: list[dict[str, str]]) -> bytes:
        return b"".join(base64.b64decode(c["pem"]) for c in certs)

    gpus = [("HOPPER", base64.b64decode(g["AttestationReport"]["py/b64"]),
             pem(g["CertificateChains"]["GpuAttestationCertificateChain"])) for g in doc["gpus"]]
    switches = [("LS10", base64.b64decode(s["attestation_report"]["py/b64"]), pem(s["attestation_cert_chain"]))
                for s in doc["nvswitches"]]
    return gpus + switches


NEAR_AI = "providers/teep/neardirect_qwen_qwen3.5-122b-a10b_20260610_015359/"
"""teep's recording of NEAR AI's direct endpoint (Qwen3.5-122B, 2026-06-10): 8 H100s in PPCIe mode,
driver 570.172.08, no NVSwitch evidence, no RIMs and no OCSP answers."""


def near_ai_gpus() -> tuple[list[tuple[str, bytes, bytes]], bytes, dt.datetime]:
    """The recording's GPUs, ``(arch, report, chain)`` each, from its attestation report's
    ``nvidia_payload`` (NRAS-shaped); the nonce the client sent; the time it was captured."""
    manifest = json.loads(read(NEAR_AI + "manifest.json"))
    body = read(NEAR_AI + "responses/0001_qwen35-122b.completions.near.ai_v1_attestation_report.body")
    payload = json.loads(json.loads(body)["nvidia_payload"])
    gpus = [(e["arch"], base64.b64decode(e["evidence"]), base64.b64decode(e["certificate"]))
            for e in payload["evidence_list"]]
    return gpus, bytes.fromhex(manifest["nonce_hex"]), dt.datetime.fromisoformat(manifest["captured_at"])
