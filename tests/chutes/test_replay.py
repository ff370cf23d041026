"""The Chutes and Phala (phalacloud) recordings replayed offline through the session
(verifier.replay) under policies/chutes.toml and policies/phala.toml.

Chutes: authentic, every instance's REPORT_DATA binds the nonce, the ML-KEM key and the instance
certificate, all 32 GPUs' SPDM nonce is REPORT_DATA[0:32]; not verified (no E2EE: no prompt is
sent). Phala: refused for the nonce (it answers a server nonce). One-byte changes are each refused
by their own check."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import glob
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from enclave_chat.paths import resolve_policy
from tests.vectors import vectors_dir
from verifier.recording import Recording, load_recording
from verifier.replay import replay
from verifier.result import AttestationResult, Status


def _dir(prefix: str) -> Path:
    found = glob.glob(str(vectors_dir() / "providers" / "teep" / f"{prefix}_*"))
    assert found, f"no {prefix} recording in the vectors"
    return Path(found[0])


def _run(prefix: str, policy: str, recording: Recording | None = None) -> AttestationResult:
    return asyncio.run(replay(_dir(prefix), policy=resolve_policy(policy), provider=policy, recording=recording))


def _status(result: AttestationResult, check_id: str) -> Status:
    check = result.check(check_id)
    assert check is not None, check_id
    return check.status


def _edit(index: int, edit: Callable[[dict[str, Any]], None]) -> Recording:
    rec = load_recording(_dir("chutes"))
    ex = list(rec.exchanges)
    doc = json.loads(ex[index].body)
    edit(doc)
    ex[index] = dataclasses.replace(ex[index], body=json.dumps(doc).encode())
    return dataclasses.replace(rec, exchanges=tuple(ex))


def _flip_b64(text: str, at: int) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[at] ^= 1
    return base64.b64encode(bytes(raw)).decode()


def test_chutes_is_authentic_with_every_gpu_bound_to_report_data() -> None:
    result = _run("chutes", "chutes")
    assert result.authentic and not result.verified
    assert result.provider == "chutes"
    assert _status(result, "chutes.nonce") is Status.PASS
    for n in range(4):
        for cid in ("key", "nonce_binding", "certificate_binding", "gpu_binding"):
            assert _status(result, f"chutes.instance.{n}.{cid}") is Status.PASS, (n, cid)
        for cid in ("tdx.quote.signature", "tdx.report_data", "tdx.td.mrtd", "tdx.td.rtmr1"):
            assert _status(result, f"instance.{n}.{cid}") is Status.PASS, (n, cid)
        for g in range(8):
            assert _status(result, f"instance.{n}.gpu.{g}.nonce") is Status.PASS
            assert _status(result, f"instance.{n}.gpu.{g}.signature") is Status.PASS
    assert _status(result, "instance.0.gpu.0.measurements") is Status.SKIP  # no RIM recorded
    # Intel's collateral is recorded for one platform (FMSPC 90c06f000000: instances 0 and 3) only,
    # teep having evaluated one candidate; instances 1 and 2 (another FMSPC) have their TCB a
    # required skip on replay
    assert all(_status(result, f"instance.{n}.tdx.tcb.status") is Status.PASS for n in (0, 3))
    assert all(_status(result, f"instance.{n}.tdx.tcb.status") is Status.SKIP for n in (1, 2))
    assert _status(result, "chutes.tls_key") is Status.SKIP
    assert result.first_failure is not None and result.first_failure.id == "chutes.e2ee"


def _quote_byte(doc: dict[str, Any]) -> None:
    doc["evidence"][2]["quote"] = _flip_b64(doc["evidence"][2]["quote"], 48 + 150)


def _gpu_byte(doc: dict[str, Any]) -> None:
    gpu = doc["evidence"][1]["gpu_evidence"][5]
    raw = bytearray(base64.b64decode(gpu["evidence"]))
    raw[-10] ^= 1
    gpu["evidence"] = base64.b64encode(bytes(raw)).decode()


def _certificate_byte(doc: dict[str, Any]) -> None:
    doc["evidence"][3]["certificate"] = _flip_b64(doc["evidence"][3]["certificate"], 300)


def _e2e_key(doc: dict[str, Any]) -> None:
    inst = next(i for i in doc["instances"] if i["instance_id"] == "9034c7a4-1d18-4628-8ccf-2ce3fd289768")
    inst["e2e_pubkey"] = _flip_b64(inst["e2e_pubkey"], 100)


@pytest.mark.parametrize(("index", "edit", "refused_by"), [
    (1, _quote_byte, "instance.2.tdx.quote.signature"),
    (1, _gpu_byte, "instance.1.gpu.5.signature"),
    (1, _certificate_byte, "chutes.instance.3.certificate_binding"),
    (0, _e2e_key, "chutes.instance.0.nonce_binding"),
])
def test_a_one_byte_change_is_refused_by_its_check(index: int, edit: Callable[[dict[str, Any]], None],
                                                  refused_by: str) -> None:
    result = _run("chutes", "chutes", _edit(index, edit))
    assert _status(result, refused_by) is Status.FAIL
    assert not result.verified


def test_another_nonce_is_refused_by_every_binding() -> None:
    rec = load_recording(_dir("chutes"))
    nonce = bytes([rec.manifest.nonce[0] ^ 1]) + rec.manifest.nonce[1:]
    ex = tuple(dataclasses.replace(e, url=e.url.replace(rec.manifest.nonce.hex(), nonce.hex())) for e in rec.exchanges)
    rec = dataclasses.replace(rec, manifest=dataclasses.replace(rec.manifest, nonce=nonce), exchanges=ex)
    result = _run("chutes", "chutes", rec)
    for n in range(4):
        assert _status(result, f"chutes.instance.{n}.nonce_binding") is Status.FAIL
        assert _status(result, f"chutes.instance.{n}.gpu_binding") is Status.FAIL
        assert _status(result, f"instance.{n}.gpu.0.nonce") is Status.FAIL


def test_phala_is_refused_for_the_server_nonce() -> None:
    result = _run("phalacloud", "phala")
    assert result.provider == "phala"
    assert result.authentic and not result.verified
    assert result.first_failure is not None and result.first_failure.id == "chutes.nonce"
    assert "aa8aa7" in result.first_failure.detail
    for n in range(5):
        assert _status(result, f"chutes.instance.{n}.nonce_binding") is Status.FAIL
        assert _status(result, f"chutes.instance.{n}.certificate_binding") is Status.FAIL  # no certificate
        assert _status(result, f"instance.{n}.tdx.quote.signature") is Status.PASS


def test_a_typed_answer_of_another_format_is_refused() -> None:
    rec = load_recording(_dir("phalacloud"))
    doc = json.loads(rec.exchanges[0].body)
    doc["attestation_type"] = "dstack"
    first = dataclasses.replace(rec.exchanges[0], body=json.dumps(doc).encode())
    result = _run("phalacloud", "phala", dataclasses.replace(rec, exchanges=(first, *rec.exchanges[1:])))
    assert _status(result, "chutes.parse") is Status.FAIL and not result.authentic
