"""Acceptance: each real recording with one change is refused, and for the right reason (the first
failing check names the change). The recordings are copied to a temporary directory first."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.tinfoil.conftest import CLOUD, DIRECT
from verifier.appraisal.policy import Policy
from verifier.replay import replay
from verifier.result import AttestationResult, Status

pytestmark = pytest.mark.vectors

Copy = Callable[[str], Path]


def one(directory: Path, pattern: str) -> Path:
    found = sorted((directory / "responses").glob(pattern))
    assert len(found) == 1, (pattern, found)
    return found[0]


def attestation(directory: Path) -> Path:
    return one(directory, "*tinfoil-attestation.body")


def replace_once(path: Path, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    assert data.count(old) == 1, (path.name, old[:40])
    path.write_bytes(data.replace(old, new))


def other_b64_char(c: str) -> str:
    return "B" if c == "A" else "A"


def failures(result: AttestationResult) -> list[str]:
    return [c.id for c in result.checks if c.status is Status.FAIL]


async def refused(directory: Path, policy: Policy) -> AttestationResult:
    result = await replay(directory, policy=policy, provider="tinfoil")
    assert not result.verified
    return result


async def test_a_byte_of_the_gpu_evidence(recording_copy: Copy, tinfoil_policy: Policy) -> None:
    d = recording_copy(DIRECT)
    body = attestation(d)
    raw = body.read_bytes().decode()
    start = raw.index('"evidence":"', raw.index('"gpu":')) + len('"evidence":"') + 200
    body.write_text(raw[:start] + other_b64_char(raw[start]) + raw[start + 1:])
    result = await refused(d, tinfoil_policy)
    bad = failures(result)
    assert bad[0] == "tinfoil.gpu_hash"
    assert "gpu.0.signature" in bad  # our GPU verifier refuses the altered SPDM report too
    assert "tinfoil.signature" in bad and "tdx.report_data" in bad


@pytest.mark.parametrize("name, binding", [(CLOUD, "snp.report_data"), (DIRECT, "tdx.report_data")])
async def test_the_served_nonce(recording_copy: Copy, tinfoil_policy: Policy, name: str, binding: str) -> None:
    d = recording_copy(name)
    body = attestation(d)
    served = json.loads(body.read_bytes())["report_data"]["nonce"]
    data = body.read_bytes()  # the first "nonce" is report_data's; the GPU's own follows
    body.write_bytes(data.replace(f'"nonce":"{served}"'.encode(), f'"nonce":"{"00" * 32}"'.encode(), 1))
    result = await refused(d, tinfoil_policy)
    assert failures(result)[0] == "tinfoil.nonce"
    assert result.check(binding) is not None and result.check(binding).status is Status.PASS  # type: ignore[union-attr]


async def test_the_clients_nonce(recording_copy: Copy, tinfoil_policy: Policy) -> None:
    """The recording replayed as if the client had chosen another nonce: the evidence is stale."""
    d = recording_copy(CLOUD)
    manifest = json.loads((d / "manifest.json").read_text())
    old, new = manifest["nonce_hex"], "11" * 32
    manifest["nonce_hex"] = new
    (d / "manifest.json").write_text(json.dumps(manifest))
    replace_once(attestation(d).with_suffix(".json"), old.encode(), new.encode())
    result = await refused(d, tinfoil_policy)
    bad = failures(result)
    assert bad[0] == "tinfoil.nonce" and "snp.report_data" in bad


@pytest.mark.parametrize("name, binding", [(CLOUD, "snp.report_data"), (DIRECT, "tdx.report_data")])
async def test_the_hpke_key(recording_copy: Copy, tinfoil_policy: Policy, name: str, binding: str) -> None:
    d = recording_copy(name)
    body = attestation(d)
    served = json.loads(body.read_bytes())["report_data"]["hpke_key"]
    attacker = "9" + served[1:] if served[0] != "9" else "8" + served[1:]
    replace_once(body, f'"hpke_key":"{served}"'.encode(), f'"hpke_key":"{attacker}"'.encode())
    result = await refused(d, tinfoil_policy)
    bad = failures(result)
    assert bad[0] == binding  # the hardware bound another key
    assert "tinfoil.signature" in bad


@pytest.mark.parametrize("name", [CLOUD, DIRECT])
async def test_the_envelope_signature(recording_copy: Copy, tinfoil_policy: Policy, name: str) -> None:
    d = recording_copy(name)
    body = attestation(d)
    signature = json.loads(body.read_bytes())["signature"]
    der = bytearray(base64.b64decode(signature))
    der[-1] ^= 0x01  # the last byte of s: still DER, no longer the signature
    replace_once(body, signature.encode(), base64.b64encode(bytes(der)))
    result = await refused(d, tinfoil_policy)
    assert failures(result) == ["tinfoil.signature"]
    assert not result.authentic


@pytest.mark.parametrize("name, hash_file, bundle_file", [
    (CLOUD, "*confidential-model-router_releases_download*", "*confidential-model-router_attestations*"),
    (DIRECT, "*confidential-gemma4-31b_releases_download*", "*confidential-gemma4-31b_attestations*"),
])
async def test_the_release_digest(recording_copy: Copy, tinfoil_policy: Policy, name: str,
                                  hash_file: str, bundle_file: str) -> None:
    d = recording_copy(name)
    digest_body = one(d, hash_file + ".body")
    old = digest_body.read_text().strip()
    new = "0" * 64
    digest_body.write_text(new + "\n")
    meta_path = one(d, bundle_file + ".json")  # the bundle is asked for by digest
    meta = json.loads(meta_path.read_text())
    meta["url"] = meta["url"].replace(old, new)
    meta_path.write_text(json.dumps(meta))
    result = await refused(d, tinfoil_policy)
    assert failures(result) == ["sigstore.digest"]
    assert result.check("tinfoil.release.measurement").status is Status.SKIP  # type: ignore[union-attr]


async def test_the_release_digest_when_the_recording_lacks_its_bundle(recording_copy: Copy,
                                                                      tinfoil_policy: Policy) -> None:
    d = recording_copy(CLOUD)
    one(d, "*releases_download*.body").write_text("1" * 64 + "\n")
    result = await refused(d, tinfoil_policy)
    assert failures(result) == []
    first = result.first_failure
    assert first is not None and first.id == "tinfoil.release.attestation" and first.status is Status.SKIP


@pytest.mark.parametrize("name, bundle_file", [
    (CLOUD, "*confidential-model-router_attestations*"),
    (DIRECT, "*hardware-measurements_attestations*"),
])
async def test_the_sigstore_bundle(recording_copy: Copy, tinfoil_policy: Policy, name: str, bundle_file: str) -> None:
    d = recording_copy(name)
    path = one(d, bundle_file + ".body")
    doc = json.loads(path.read_bytes())
    envelope = doc["attestations"][0]["bundle"]["dsseEnvelope"]
    payload = base64.b64decode(envelope["payload"])
    statement = json.loads(payload)
    # The attacker's measurements in the signed statement: the signature no longer holds.
    text = json.dumps(statement)
    swapped = re.sub(r'"(mrtd|snp_measurement)": "[0-9a-f]{2}', lambda m: f'"{m.group(1)}": "ff', text, count=1)
    assert swapped != text
    envelope["payload"] = base64.b64encode(swapped.encode()).decode()
    path.write_text(json.dumps(doc))
    prefix = "" if name == CLOUD else "tinfoil.hardware."
    result = await refused(d, tinfoil_policy)
    bad = failures(result)
    assert bad[0] == prefix + "sigstore.signature"
    measurement = "tinfoil.release.measurement" if name == CLOUD else "tinfoil.hardware.measurement"
    assert result.check(measurement).status is Status.SKIP  # type: ignore[union-attr]


async def test_the_tls_peer(recording_copy: Copy, tinfoil_policy: Policy) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    d = recording_copy(CLOUD)
    meta_path = attestation(d).with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    mitm = ec.generate_private_key(ec.SECP384R1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    meta["peer_spki_der_base64"] = base64.b64encode(mitm).decode()
    meta_path.write_text(json.dumps(meta))
    result = await refused(d, tinfoil_policy)
    assert failures(result) == ["tinfoil.tls_key"]
    assert result.authentic  # the document is genuine; the connection was not to the enclave


async def test_a_document_without_the_recorded_peer_key_is_not_verified(recording_copy: Copy,
                                                                         tinfoil_policy: Policy) -> None:
    d = recording_copy(CLOUD)
    meta_path = attestation(d).with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    del meta["peer_spki_der_base64"]
    meta_path.write_text(json.dumps(meta))
    result = await refused(d, tinfoil_policy)
    first = result.first_failure
    assert first is not None and first.id == "tinfoil.tls_key" and first.status is Status.SKIP


async def test_a_legacy_body_in_a_v3_document_is_refused(recording_copy: Copy, tinfoil_policy: Policy) -> None:
    d = recording_copy(CLOUD)
    body = attestation(d)
    replace_once(body, b'{"format":', b'{"body":"H4sI","format":')
    result = await refused(d, tinfoil_policy)
    assert failures(result) == ["tinfoil.parse"] and "body" in result.checks[-1].detail
