"""The Venice recording replayed offline through the session (verifier.replay) under
policies/venice.toml: authentic, REPORT_DATA = Keccak-256 address || 12 zero bytes || nonce, all 8
GPUs with the client's nonce; not verified (no E2EE, no attested TLS key: no prompt is sent); and
one-byte changes each refused by their own check."""

from __future__ import annotations

import asyncio
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


def _dir() -> Path:
    found = glob.glob(str(vectors_dir() / "providers" / "teep" / "venice_*"))
    assert found, "no venice recording in the vectors"
    return Path(found[0])


def _run(recording: Recording | None = None) -> AttestationResult:
    return asyncio.run(replay(_dir(), policy=resolve_policy("venice"), provider="venice", recording=recording))


def _status(result: AttestationResult, check_id: str) -> Status:
    check = result.check(check_id)
    assert check is not None, check_id
    return check.status


def _edit_answer(edit: Callable[[dict[str, Any]], None]) -> Recording:
    rec = load_recording(_dir())
    first = rec.exchanges[0]
    doc = json.loads(first.body)
    edit(doc)
    return dataclasses.replace(rec, exchanges=(dataclasses.replace(first, body=json.dumps(doc).encode()), *rec.exchanges[1:]))


def _flip_hex(text: str, at: int) -> str:
    digit = "0" if text[at] != "0" else "1"
    return text[:at] + digit + text[at + 1:]


def test_the_recording_is_authentic_and_bound_but_sends_no_prompt() -> None:
    result = _run()
    assert result.authentic and not result.verified
    assert result.provider == "venice"
    for cid in ("venice.nonce", "venice.signing_key", "tdx.report_data", "tdx.quote.signature",
                "dstack.rtmr3", "dstack.compose.allowed", "dstack.os_image", "venice.gpu.binding"):
        assert _status(result, cid) is Status.PASS, cid
    assert all(_status(result, f"gpu.{n}.nonce") is Status.PASS for n in range(8))
    assert all(_status(result, f"gpu.{n}.signature") is Status.PASS for n in range(8))
    # no RIM or OCSP answer is recorded: the measurement comparison is an optional skip
    assert _status(result, "gpu.0.measurements") is Status.SKIP
    assert _status(result, "venice.tls_key") is Status.SKIP  # no peer key recorded
    assert result.first_failure is not None and result.first_failure.id == "venice.e2ee"


def _quote_byte(doc: dict[str, Any]) -> None:
    doc["intel_quote"] = _flip_hex(doc["intel_quote"], 2 * (48 + 150))


def _gpu_byte(doc: dict[str, Any]) -> None:
    payload = json.loads(doc["nvidia_payload"])
    import base64

    raw = bytearray(base64.b64decode(payload["evidence_list"][3]["evidence"]))
    raw[-10] ^= 1
    payload["evidence_list"][3]["evidence"] = base64.b64encode(bytes(raw)).decode()
    doc["nvidia_payload"] = json.dumps(payload)


def _signing_key(doc: dict[str, Any]) -> None:
    doc["signing_key"] = _flip_hex(doc["signing_key"], 40)


@pytest.mark.parametrize(("edit", "refused_by"), [
    (_quote_byte, "tdx.quote.signature"),
    (_gpu_byte, "gpu.3.signature"),
    (_signing_key, "venice.signing_key"),
])
def test_a_one_byte_change_is_refused_by_its_check(edit: Callable[[dict[str, Any]], None], refused_by: str) -> None:
    result = _run(_edit_answer(edit))
    assert _status(result, refused_by) is Status.FAIL
    assert not result.verified


def test_another_nonce_is_refused() -> None:
    rec = load_recording(_dir())
    nonce = bytes([rec.manifest.nonce[0] ^ 1]) + rec.manifest.nonce[1:]
    first = rec.exchanges[0]
    moved = dataclasses.replace(first, url=first.url.replace(rec.manifest.nonce.hex(), nonce.hex()))
    rec = dataclasses.replace(rec, manifest=dataclasses.replace(rec.manifest, nonce=nonce),
                              exchanges=(moved, *rec.exchanges[1:]))
    result = _run(rec)
    assert _status(result, "venice.nonce") is Status.FAIL
    assert _status(result, "tdx.report_data") is Status.FAIL
    assert _status(result, "gpu.0.nonce") is Status.FAIL
    assert _status(result, "venice.gpu.binding") is Status.FAIL


def test_the_cli_replays_it(capsys: pytest.CaptureFixture[str]) -> None:
    from enclave_chat.cli import main

    code = main(["verify", "--replay", str(_dir()), "--provider", "venice", "--policy", "venice", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code != 0
    assert out["authentic"] is True and out["verified"] is False
