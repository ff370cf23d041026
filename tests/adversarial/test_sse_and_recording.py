"""Server-sent events and recordings on hostile bytes: typed errors, bounded work and memory."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from tests.adversarial.bundles import no_log_demo_policy
from verifier.errors import InputError, ProtocolError
from verifier.providers.sse import SseDeltas
from verifier.recording import MAX_RECORDED_BODY, RecordingTransport, load_recording
from verifier.replay import replay


def _event(text: str) -> bytes:
    return b"data: " + json.dumps({"choices": [{"delta": {"content": text}}]}).encode() + b"\n\n"


def test_an_event_fed_a_byte_at_a_time_is_searched_once() -> None:
    """Before, every feed searched the whole buffer again: 1 MiB a byte at a time was quadratic
    (minutes for one event). Now each feed resumes where the last search ended."""
    sse = SseDeltas()
    event = _event("x" * 50_000)
    out: list[str] = []
    for i in range(len(event) - 2):
        out += sse.feed(event[i : i + 1])
        assert sse._searched == len(sse._buffer)  # the next search starts at the end, minus 3
    out += sse.feed(event[-2:])
    assert out == ["x" * 50_000]
    assert sse._searched == 0 and not sse._buffer


def test_an_event_boundary_split_across_feeds_is_found() -> None:
    sse = SseDeltas()
    event = _event("hi").replace(b"\n\n", b"\r\n\r\n")
    assert sse.feed(event[:-3]) == []
    assert sse.feed(event[-3:-1]) == []
    assert sse.feed(event[-1:] + _event("there")) == ["hi", "there"]


@pytest.mark.parametrize("data", [b"data: " + b"[" * 100_000 + b"\n\n", b'data: {"a": "\xff"}\n\n',
                                  b"data: " + b"x" * (1024 * 1024 + 1)],
                         ids=["deep", "invalid-utf8", "no-end"])
def test_hostile_events_are_protocol_errors(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        SseDeltas().feed(data)


def test_an_error_event_is_one_printable_line() -> None:
    doc = {"error": {"message": "\x1b[2J\x1b]0;title\x07line\nnext" + "y" * 5000}}
    with pytest.raises(ProtocolError) as refused:
        SseDeltas().feed(b"data: " + json.dumps(doc).encode() + b"\n\n")
    assert str(refused.value).isprintable() and len(str(refused.value)) < 400
    deep: object = "x"
    for _ in range(900):
        deep = [deep]
    # nesting past the strict loader's depth is refused as not JSON at all (never recursed into)
    with pytest.raises(ProtocolError, match="does not hold JSON"):
        SseDeltas().feed(b"data: " + json.dumps({"error": deep}).encode() + b"\n\n")


# -- recordings ------------------------------------------------------------------------------------

class _Endless(httpx.AsyncBaseTransport, httpx.BaseTransport):
    """A transport whose answer never ends (what a hostile service sends a recording session)."""

    def __init__(self) -> None:
        self.sent = 0

    def _stream(self) -> httpx.AsyncByteStream:
        owner = self

        class Stream(httpx.AsyncByteStream, httpx.SyncByteStream):
            async def __aiter__(self):  # type: ignore[no-untyped-def]
                while True:
                    owner.sent += 65536
                    yield b" " * 65536

            def __iter__(self):  # type: ignore[no-untyped-def]
                while True:
                    owner.sent += 65536
                    yield b" " * 65536

        return Stream()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=self._stream(), request=request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=self._stream(), request=request)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["async", "sync"])
def test_a_recording_session_reads_a_bounded_answer(mode: str) -> None:
    inner = _Endless()
    recorder = RecordingTransport(inner_sync=inner, inner_async=inner)
    if mode == "async":
        async def get() -> None:
            async with httpx.AsyncClient(transport=recorder) as http:
                await http.get("http://127.0.0.1:1/.well-known/attestation")
        with pytest.raises(httpx.RemoteProtocolError, match="larger than"):
            asyncio.run(asyncio.wait_for(get(), 30))
    else:
        with httpx.Client(transport=recorder) as http, pytest.raises(httpx.RemoteProtocolError):
            http.get("http://127.0.0.1:1/.well-known/attestation")
    assert inner.sent <= MAX_RECORDED_BODY + 2 * 65536
    assert recorder.exchanges == []


def _recording(tmp_path: Path, meta: str, manifest: dict[str, object] | str | None = None) -> Path:
    (tmp_path / "responses").mkdir()
    doc = manifest if manifest is not None else {
        "provider": "native", "url": "http://127.0.0.1:1", "nonce_hex": "00" * 32,
        "captured_at": "2025-01-01T00:00:00Z"}
    (tmp_path / "manifest.json").write_text(doc if isinstance(doc, str) else json.dumps(doc))
    (tmp_path / "responses" / "0001_x.json").write_text(meta)
    (tmp_path / "responses" / "0001_x.body").write_bytes(b"{}")
    return tmp_path


URL = "http://127.0.0.1:1/.well-known/attestation?nonce=" + "00" * 32


def _m(template: str) -> str:
    return template.replace("@URL@", URL)


@pytest.mark.parametrize("meta", [
    _m('{"url": "@URL@", "status": Infinity}'),
    _m('{"url": "@URL@", "status": 1e400}'),
    _m('{"url": "@URL@", "status": 99999}'),
    _m('{"url": "@URL@", "status": "200"}'),
    _m('{"url": "@URL@", "status": 200, "headers": [1, 2]}'),
    _m('{"url": "@URL@", "status": 200, "headers": {"x": "a\\r\\nset-cookie: b"}}'),
    _m('{"url": "@URL@", "status": 200, "headers": {"x": "\\u2603"}}'),
    '{"url": "http://127.0.0.1:1/\\t", "status": 200}',
    '{"url": 5, "status": 200}',
    "[" * 100_000,
], ids=["infinity", "1e400", "99999", "string", "headers-list", "crlf", "non-latin", "tab-url", "url-int", "deep"])
def test_a_hostile_recording_is_an_input_error(tmp_path: Path, meta: str) -> None:
    directory = _recording(tmp_path, meta)
    with pytest.raises(InputError):
        load_recording(directory)
    with pytest.raises(InputError):
        asyncio.run(replay(directory, policy=no_log_demo_policy()))


def test_a_deep_manifest_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        load_recording(_recording(tmp_path, _m('{"url": "@URL@", "status": 200}'), "[" * 100_000))
