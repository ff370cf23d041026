"""Recordings: the real Tinfoil captures load, a written recording reads back the same, and a
replay answers only what was recorded."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest

from verifier.errors import InputError
from verifier.recording import (
    Exchange,
    Manifest,
    ReplayTransport,
    load_recording,
    write_recording,
)


def test_real_tinfoil_capture_loads(vectors: Path) -> None:
    directory = next((vectors / "tinfoil/teep").glob("tinfoil_v3_cloud_*"))
    recording = load_recording(directory)
    assert recording.manifest.provider == "tinfoil"
    assert recording.manifest.nonce.hex() == "229471a8453a3521eac3d6ada9f1d52e42c97a527c3a50d565e999401dfd3e9b"
    assert recording.manifest.url == "https://inference.tinfoil.sh"
    assert len(recording.exchanges) == len(list((directory / "responses").glob("*.json")))
    first = recording.exchanges[0]
    assert "tinfoil-attestation" in first.url and first.status == 200
    assert first.peer_spki_der is not None and first.peer_spki_der[:2] == b"\x30\x76"


def test_written_recording_reads_back(tmp_path: Path) -> None:
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    exchanges = [Exchange("GET", "http://127.0.0.1:1/.well-known/attestation?nonce=00", 200,
                          (("content-type", "application/json"),), b'{"a": 1}'),
                 Exchange("GET", "http://127.0.0.1:1/.well-known/ohttp-gateway", 200, (), b"\x00\x01",
                          b"spki")]
    write_recording(tmp_path, Manifest("native", "http://127.0.0.1:1", b"\x07" * 32, when), exchanges)
    back = load_recording(tmp_path)
    assert back.manifest.nonce == b"\x07" * 32 and back.manifest.captured_at == when
    assert back.exchanges == tuple(exchanges)


def test_replay_serves_each_exchange_once_and_nothing_else() -> None:
    url = "http://127.0.0.1:1/x"
    transport = ReplayTransport([Exchange("GET", url, 200, (), b"one")])
    with httpx.Client(transport=transport) as http:
        assert http.get(url).content == b"one"
        with pytest.raises(httpx.ConnectError, match="not in the recording"):
            http.get(url)
        with pytest.raises(httpx.ConnectError):
            http.get("http://127.0.0.1:1/elsewhere")


def test_a_directory_without_a_manifest_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"manifest\.json"):
        load_recording(tmp_path)
