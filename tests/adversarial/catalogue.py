"""The attack catalogue: every attack this project defends against, where it enters, what must stop
it, and whether a prompt was at stake (then nothing may reach the gateway).

Each row is run by ``tests/adversarial/test_catalogue.py`` with its own runner, which returns what
stopped the attack (the first failing check's id, an error type, or ``"refused"`` for a command-line
refusal) and how many requests reached the gateway. ``docs/security.md`` lists the same rows (a
test ties the two). Runners use real servers on loopback (the reference enclave, hostile starlette
apps) and the real session; nothing here leaves the machine.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from enclave.app import Settings
from enclave.server import BackgroundEnclave
from tests.adversarial.conftest import Proxy, open_request, sealed_stream, serve
from tests.tinfoil.conftest import CLOUD, DIRECT
from tests.vectors import vector
from verifier.appraisal.policy import Policy, parse_policy
from verifier.errors import NotVerified, PolicyError, VerifierError
from verifier.session import Session

PROMPT = [{"role": "user", "content": "my secret prompt"}]
DEADLINE = 5.0
HOSTILE_PIECES = 2000
"""How many 64 KiB pieces an endless hostile answer sends at most (128 MB: past every limit)."""
"""The attestation deadline the slow-drip rows run under (the real default is 180 s)."""


@dataclass
class Env:
    """What runners share: the demo policy, an honest reference enclave, a scratch directory."""

    policy: Policy
    honest: BackgroundEnclave
    tmp: Path


@dataclass(frozen=True)
class Outcome:
    stopped: str
    """The first failing check's id, the error's type name, or what the command line did."""
    posts: int | None
    """Requests that reached a gateway (None: no gateway in this row)."""


Runner = Callable[[Env], Awaitable[Outcome]]


@dataclass(frozen=True)
class Attack:
    name: str
    enters: str
    stops: str
    prompt_at_stake: bool
    run: Runner


async def _chat(session: Session) -> str:
    """Ask for a reply; what stopped it (check id or error type), or ``"sent"``."""
    try:
        async for _ in session.stream_chat(PROMPT):
            pass
    except NotVerified as e:
        first = e.result.first_failure if e.result is not None else None  # type: ignore[attr-defined]
        return first.id if first is not None else "NotVerified"
    except VerifierError as e:
        return type(e).__name__
    return "sent"


# -- the reference enclave's attack modes -------------------------------------------------------------

def enclave_mode(mode: str | None, **settings: Any) -> Runner:
    async def run(env: Env) -> Outcome:
        with BackgroundEnclave(Settings(token_delay=0, attack=mode, **settings)) as server:
            async with Session(server.url, env.policy, state_dir=env.tmp / "state") as session:
                if mode == "replay-nonce":  # the enclave keeps the first bundle and replays it later
                    await session.attest()
                    await session.attest()
                stopped = await _chat(session)
            return Outcome(stopped, server.enclave.gateway_posts)
    return run


def nearai_mode(mode: str) -> Runner:
    """The reference enclave's NEAR AI profile (``serve --provider nearai``) in attack ``mode``, spoken
    to by the ``nearai`` provider; the posts are the requests that reached its plaintext chat API."""
    async def run(env: Env) -> Outcome:
        from enclave import nearai_mode as profile

        settings = Settings(token_delay=0, attack=mode, platform="tdx", gpus=profile.GPUS, profile=profile.PROFILE,
                            transparency=False)
        with BackgroundEnclave(settings) as server:
            async with Session(server.url, env.policy, provider=profile.PROFILE, state_dir=env.tmp / "state") as session:
                if mode == "replay-nonce":  # the enclave keeps the first answer and replays it later
                    await session.attest()
                    await session.attest()
                stopped = await _chat(session)
            assert server.enclave.nearai is not None
            return Outcome(stopped, server.enclave.nearai.requests + server.enclave.gateway_posts)
    return run


# -- an honest enclave behind a proxy that rewrites its evidence ---------------------------------------

def _edit_bundle(edit: Callable[[dict[str, Any]], None]) -> Callable[[bytes], bytes]:
    def rewrite(body: bytes) -> bytes:
        doc = json.loads(body)
        edit(doc)
        return json.dumps(doc).encode()
    return rewrite


def proxied(rewrite: Callable[[bytes], bytes]) -> Runner:
    async def run(env: Env) -> Outcome:
        async def gateway(request: Request) -> Response:
            return Response(b"", status_code=500)

        with Proxy(env.honest, gateway=gateway, rewrite=rewrite) as proxy:
            async with Session(proxy.url, env.policy) as session:
                stopped = await _chat(session)
            return Outcome(stopped, sum(1 for method, *_ in proxy.seen if method == "POST"))
    return run


def _text(old: bytes, new: bytes) -> Callable[[bytes], bytes]:
    def rewrite(body: bytes) -> bytes:
        assert old in body, old
        return body.replace(old, new, 1)
    return rewrite


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for p in parents:
            doc = doc[p]
        doc[last] = value
    return edit


def _append(path: str, text: str) -> Callable[[dict[str, Any]], None]:
    """Append ``text`` to a string the service chose (a header injection attempt, say)."""
    def edit(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for p in parents:
            doc = doc[p]
        doc[last] = doc[last] + text
    return edit


def _flip_b64(path: str, at: int = 40) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = doc
        for p in parents:
            target = target[int(p)] if p.isdigit() else target[p]
        raw = bytearray(base64.b64decode(target[last]))
        raw[at] ^= 1
        target[last] = base64.b64encode(bytes(raw)).decode()
    return edit


# -- hostile services (no enclave: the service itself misbehaves) --------------------------------------

class _Posts:
    def __init__(self) -> None:
        self.count = 0

    async def gateway(self, request: Request) -> Response:
        self.count += 1
        return Response(b"", status_code=500)


def hostile(answer: Callable[[Request], Awaitable[Response]], *, deadline: float = 30.0) -> Runner:
    async def run(env: Env) -> Outcome:
        posts = _Posts()
        routes = [Route("/.well-known/attestation", answer, methods=["GET"]),
                  Route("/.well-known/ohttp-gateway", posts.gateway, methods=["GET", "POST"])]
        with serve(routes) as server:
            async with Session(server.url, env.policy, attest_timeout=deadline) as session:
                stopped = await _chat(session)
        return Outcome(stopped, posts.count)
    return run


async def _endless() -> AsyncIterator[bytes]:
    for _ in range(HOSTILE_PIECES):  # bounded: the server stops by itself
        yield b" " * 65536


async def _never_ending(request: Request) -> Response:
    return StreamingResponse(_endless(), media_type="application/json")


async def _huge(request: Request) -> Response:
    return Response(b"{" + b" " * (3 * 1024 * 1024), media_type="application/json")


async def _drip() -> AsyncIterator[bytes]:
    import asyncio

    for _ in range(10_000):
        yield b" "
        await asyncio.sleep(0.5)  # the hostile server's pace, not the test's: the client's deadline ends it


async def _slow_drip(request: Request) -> Response:
    return StreamingResponse(_drip(), media_type="application/json")


async def _gzip(request: Request) -> Response:
    import gzip

    return Response(gzip.compress(b" " * (8 * 1024 * 1024)), media_type="application/json",
                    headers={"content-encoding": "gzip"})


async def _http_500(request: Request) -> Response:
    return Response(b"\x1b[31mboom\n" * 100, status_code=500, media_type="text/plain")


async def _redirect(request: Request) -> Response:
    return Response(status_code=307, headers={"location": "http://127.0.0.1:9/.well-known/attestation"})


async def _not_json(request: Request) -> Response:
    return Response(b"<html>not evidence</html>", media_type="text/html")


def _raw_server(answer: bytes) -> tuple[str, Callable[[], None], list[int]]:
    """A TCP server on loopback that answers every connection with ``answer`` as it stands (for
    what starlette would not send: a body longer than its Content-Length, two pipelined answers)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    posts = [0]
    stop = threading.Event()

    def loop() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    head = conn.recv(65536)
                except OSError:
                    continue
                if head.startswith(b"POST"):
                    posts[0] += 1
                conn.sendall(answer)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()

    def close() -> None:
        stop.set()
        thread.join(timeout=5)
        sock.close()

    return f"http://127.0.0.1:{sock.getsockname()[1]}", close, posts


def raw_answer(answer: bytes) -> Runner:
    async def run(env: Env) -> Outcome:
        url, close, posts = _raw_server(answer)
        try:
            async with Session(url, env.policy, attest_timeout=DEADLINE) as session:
                stopped = await _chat(session)
        finally:
            close()
        return Outcome(stopped, posts[0])
    return run


# -- after a passing attestation: the gateway's answer -------------------------------------------------

def gateway(answer: Callable[[BackgroundEnclave, Request], Awaitable[Response]]) -> Runner:
    """The enclave's own evidence (the attestation passes), a hostile answer to the sealed request.
    The prompt legitimately goes out (sealed to the attested key): these rows are about the reply."""
    async def run(env: Env) -> Outcome:
        async def post(request: Request) -> Response:
            return await answer(env.honest, request)

        with Proxy(env.honest, gateway=post) as proxy:
            async with Session(proxy.url, env.policy) as session:
                stopped = await _chat(session)
            return Outcome(stopped, None)
    return run


async def _no_content_type(enclave: BackgroundEnclave, request: Request) -> Response:
    encoder = await open_request(enclave, request)
    return StreamingResponse(sealed_stream(encoder, 200, b"text/event-stream", [b"data: {}\n\n"]))


async def _html_error(enclave: BackgroundEnclave, request: Request) -> Response:
    return Response(b"<h1>bad gateway</h1>", status_code=502, media_type="text/[/]html")


async def _garbage_inner(enclave: BackgroundEnclave, request: Request) -> Response:
    encoder = await open_request(enclave, request)

    async def body() -> AsyncIterator[bytes]:
        yield encoder.encode_chunk(b"\xff\xfe not binary http")
        yield encoder.encode_final(b"")
    from verifier.channel import chunked

    return StreamingResponse(body(), media_type=chunked.RESPONSE_MEDIA_TYPE)


async def _cut_short(enclave: BackgroundEnclave, request: Request) -> Response:
    encoder = await open_request(enclave, request)
    from verifier.channel import chunked

    event = b'data: {"choices": [{"delta": {"content": "hi"}}]}\n\n'
    return StreamingResponse(sealed_stream(encoder, 200, b"text/event-stream", [event], final=False),
                             media_type=chunked.RESPONSE_MEDIA_TYPE)


async def _model_error(enclave: BackgroundEnclave, request: Request) -> Response:
    encoder = await open_request(enclave, request)
    from verifier.channel import chunked

    event = b'data: {"error": {"message": "\\u001b[2J\\u001b]0;owned\\u0007"}}\n\n'
    return StreamingResponse(sealed_stream(encoder, 200, b"text/event-stream", [event]),
                             media_type=chunked.RESPONSE_MEDIA_TYPE)


async def _deep_event(enclave: BackgroundEnclave, request: Request) -> Response:
    encoder = await open_request(enclave, request)
    from verifier.channel import chunked

    event = b"data: " + b"[" * 50_000 + b"]" * 50_000 + b"\n\n"
    return StreamingResponse(sealed_stream(encoder, 200, b"text/event-stream", [event]),
                             media_type=chunked.RESPONSE_MEDIA_TYPE)


async def _stale_forever(enclave: BackgroundEnclave, request: Request) -> Response:
    from verifier.channel import ohttp

    return Response(json.dumps({"type": ohttp.KEY_PROBLEM_TYPE}).encode(), status_code=400,
                    media_type="application/problem+json")


# -- the user's side: files, policies, the environment -------------------------------------------------

async def _planted_policy(env: Env) -> Outcome:
    from enclave_chat.paths import policies_dir, resolve_policy

    planted = env.tmp / "cwd"
    planted.mkdir()
    for name in ("default", "demo", "strict", "tinfoil"):
        shutil.copy(policies_dir() / "demo.toml", planted / name)
    here = os.getcwd()
    os.chdir(planted)
    try:
        policy = resolve_policy(None)
        named = resolve_policy("default")
    finally:
        os.chdir(here)
    builtin = resolve_policy(str(policies_dir() / "default.toml"))
    same = policy.ref == builtin.ref and named.ref == builtin.ref
    return Outcome("built-in policy" if same else "planted policy", None)


async def _empty_allow_list(env: Env) -> Outcome:
    from verifier.policy_check import check_policy

    try:
        check_policy(parse_policy(b'name = "t"\n[tdx]\nrtmr3 = []\n', "t"))
    except PolicyError:
        return Outcome("PolicyError", None)
    return Outcome("accepted", None)


async def _symlinked_recording(env: Env) -> Outcome:
    victim = env.tmp / "victim"
    victim.write_bytes(b"precious")
    directory = env.tmp / "rec"
    directory.mkdir()
    os.chmod(directory, 0o777)
    (directory / "manifest.json").symlink_to(victim)
    async with Session(env.honest.url, env.policy, save_evidence=directory) as session:
        await session.attest()
    mode = directory.stat().st_mode & 0o777
    ok = victim.read_bytes() == b"precious" and not (directory / "manifest.json").is_symlink() and mode == 0o700
    return Outcome("replaced, not followed" if ok else "followed", None)


def _unknown_version(version: int) -> Runner:
    async def run(env: Env) -> Outcome:
        from enclave_chat.cli import main

        report = bytearray(vector("snp/go-sev-guest/attestation.bin").read_bytes())
        report[:4] = version.to_bytes(4, "little")
        path = env.tmp / "report.bin"
        path.write_bytes(report)
        out = env.tmp / "out.json"
        import contextlib
        import io

        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(io.StringIO()):
            code = main(["evidence", "verify", "sev-snp", str(path), "--offline", "--json"])
        out.write_text(buffer.getvalue())
        doc = json.loads(buffer.getvalue()) if code == 1 else {"checks": []}
        failing = [c["id"] for c in doc["checks"] if c["status"] == "fail"]
        return Outcome(failing[0] if failing else f"exit {code}", None)
    return run


def _recording(name: str, mutate: Callable[[Path], None]) -> Runner:
    """One change to a real Tinfoil recording (tests/tinfoil/conftest.py names them), replayed."""
    async def run(env: Env) -> Outcome:
        from enclave_chat.paths import resolve_policy
        from verifier.replay import replay

        copy = env.tmp / "recording"
        shutil.copytree(vector(name), copy)
        mutate(copy)
        result = await replay(copy, policy=resolve_policy("tinfoil"), provider="tinfoil")
        first = result.first_failure
        return Outcome(first.id if first is not None and not result.verified else "verified", None)
    return run


def _tinfoil_doc(edit: Callable[[str], str]) -> Callable[[Path], None]:
    def mutate(directory: Path) -> None:
        [body] = sorted((directory / "responses").glob("*tinfoil-attestation.body"))
        body.write_text(edit(body.read_text()))
    return mutate


def _flip_after(marker: str, offset: int = 200, *, after: str = "") -> Callable[[str], str]:
    def edit(text: str) -> str:
        at = text.index(marker, text.index(after) if after else 0) + len(marker) + offset
        return text[:at] + ("B" if text[at] == "A" else "A") + text[at + 1:]
    return edit


def _attestation_meta(directory: Path) -> Path:
    [body] = sorted((directory / "responses").glob("*tinfoil-attestation.body"))
    return body.with_suffix(".json")


def _client_nonce(directory: Path) -> None:
    """Replayed as if the client had chosen another nonce: the evidence answers an old one."""
    manifest = directory / "manifest.json"
    doc = json.loads(manifest.read_text())
    old, doc["nonce_hex"] = doc["nonce_hex"], "11" * 32
    manifest.write_text(json.dumps(doc))
    meta = _attestation_meta(directory)
    meta.write_text(meta.read_text().replace(old, "11" * 32))


def _other_peer(directory: Path) -> None:
    """The document came over a TLS connection to another key (a man in the middle)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    meta_path = _attestation_meta(directory)
    meta = json.loads(meta_path.read_text())
    mitm = ec.generate_private_key(ec.SECP384R1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    meta["peer_spki_der_base64"] = base64.b64encode(mitm).decode()
    meta_path.write_text(json.dumps(meta))


def _bad_url(url: str) -> Runner:
    """A URL the policy must refuse before any request: every request the session's client makes
    is counted (there is no service behind it, so the count is of attempts)."""
    async def run(env: Env) -> Outcome:
        attempts = [0]

        def count(request: httpx.Request) -> httpx.Response:
            attempts[0] += 1
            return httpx.Response(503)

        async with httpx.AsyncClient(transport=httpx.MockTransport(count)) as http, \
                Session(url, env.policy, http=http, fetch_logs=False) as session:
            stopped = await _chat(session)
        return Outcome(stopped, attempts[0])
    return run


# -- the catalogue ---------------------------------------------------------------------------------------

_OVERLONG = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"
             b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}")
_SHORT = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{\"v\": 1"
_SMUGGLE = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n"
            b"transfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")

ATTACKS: tuple[Attack, ...] = (
    # the enclave lies about itself
    Attack("flip-measurement", "CPU report", "release.measurement", True, enclave_mode("flip-measurement")),
    Attack("rogue-vcek", "CPU certificate chain", "snp.chain.vcek", True, enclave_mode("rogue-vcek")),
    Attack("replay-nonce", "evidence bundle", "bundle.nonce", True, enclave_mode("replay-nonce")),
    Attack("swap-key-config", "evidence bundle", "snp.report_data", True, enclave_mode("swap-key-config")),
    Attack("gateway-key-mismatch", "gateway key endpoint", "channel.key_config", True, enclave_mode("gateway-key-mismatch")),
    Attack("malformed-json", "evidence bundle", "bundle.parse", True, enclave_mode("malformed-json")),
    Attack("tamper-gpu", "GPU report", "gpu.0.signature", True, enclave_mode("tamper-gpu")),
    Attack("gpu-binding", "GPU evidence", "snp.report_data", True, enclave_mode("gpu-binding")),
    Attack("foreign-publisher", "release statement", "release.signature", True, enclave_mode("foreign-publisher")),
    Attack("wrong-leaf-proof", "transparency log proof", "release.log.inclusion", True, enclave_mode("wrong-leaf-proof")),
    Attack("unknown-log-key", "transparency log checkpoint", "release.log.checkpoint", True, enclave_mode("unknown-log-key")),
    Attack("old-release", "release statement", "release.version", True, enclave_mode("old-release")),
    Attack("fork-log", "transparency log", "release.log.witness", True, enclave_mode("fork-log")),
    Attack("remote-upstream", "enclave configuration", "config.upstream", True,
           enclave_mode(None, upstream="https://api.example.com/v1")),
    Attack("truncate-stream", "encrypted reply", "TruncatedResponse", False, enclave_mode("truncate-stream")),
    Attack("azure-stale-quote", "vTPM quote (Azure CVM)", "tpm.nonce", True,
           enclave_mode("azure-stale-quote", platform="azure-snp-vtpm")),
    Attack("azure-foreign-ak", "vTPM quote (Azure CVM)", "tpm.quote.signature", True,
           enclave_mode("azure-foreign-ak", platform="azure-snp-vtpm")),
    Attack("azure-pcr-changed", "vTPM PCR values (Azure CVM)", "tpm.pcr_digest", True,
           enclave_mode("azure-pcr-changed", platform="azure-snp-vtpm")),
    Attack("azure-claims-changed", "HCL runtime claims (Azure CVM)", "snp.report_data", True,
           enclave_mode("azure-claims-changed", platform="azure-snp-vtpm")),
    Attack("azure-tdx-stale-quote", "vTPM quote (Azure TDX CVM)", "tpm.nonce", True,
           enclave_mode("azure-stale-quote", platform="azure-tdx-vtpm")),
    # the reference enclave's NEAR AI profile (a simulated dstack TD, 8 GPUs), refused by the nearai provider
    Attack("nearai-wrong-key", "signing key (NEAR AI profile)", "tdx.report_data", True, nearai_mode("nearai-wrong-key")),
    Attack("nearai-event-payload", "dstack event log (NEAR AI profile)", "dstack.event.payload", True,
           nearai_mode("nearai-event-payload")),
    Attack("nearai-compose-changed", "app compose (NEAR AI profile)", "dstack.compose", True,
           nearai_mode("nearai-compose-changed")),
    Attack("nearai-gpu-nonce", "GPU evidence (NEAR AI profile)", "gpu.4.nonce", True, nearai_mode("nearai-gpu-nonce")),
    Attack("nearai-replay-nonce", "attestation report (NEAR AI profile)", "nearai.nonce", True,
           nearai_mode("replay-nonce")),
    # a man in the middle edits honest evidence
    Attack("bundle-duplicate-member", "evidence bundle", "bundle.parse", True,
           proxied(_text(b'"version": 1', b'"version": 1, "version": 1'))),
    Attack("bundle-nan", "evidence bundle", "bundle.parse", True, proxied(_text(b'"version": 1', b'"version": NaN'))),
    Attack("bundle-big-integer", "evidence bundle", "bundle.parse", True,
           proxied(_text(b'"version": 1', b'"version": 100000000000000000000001'))),
    Attack("bundle-deep-nesting", "evidence bundle", "bundle.parse", True,
           proxied(_text(b'"version": 1', b'"version": 1, "x": ' + b"[" * 10_000 + b"]" * 10_000))),
    Attack("bundle-lone-surrogate", "evidence bundle", "bundle.parse", True,
           proxied(_text(b'"version": 1', b'"version": 1, "x": "\\ud800"'))),
    Attack("bundle-not-utf8", "evidence bundle", "bundle.parse", True, proxied(_text(b'"version": 1', b'"version": 1, "x": "\xff"'))),
    Attack("bundle-version-2", "evidence bundle", "bundle.parse", True, proxied(_edit_bundle(_set("version", 2)))),
    Attack("bundle-expired", "evidence bundle", "bundle.expires", True,
           proxied(_edit_bundle(_set("expires", "2020-01-01T00:00:00Z")))),
    Attack("bundle-other-upstream", "evidence bundle (configuration)", "snp.report_data", True,
           proxied(_edit_bundle(_set("config.upstream", "builtin:other")))),
    Attack("bundle-gpu-dropped", "evidence bundle (GPU list)", "snp.report_data", True,
           proxied(_edit_bundle(_set("gpus", [])))),
    Attack("bundle-key-config-edited", "evidence bundle (key configuration)", "snp.report_data", True,
           proxied(_edit_bundle(_flip_b64("key_config", 10)))),
    Attack("log-url-header-injection", "evidence bundle (log URL)", "release.log.fresh_checkpoint", True,
           proxied(_edit_bundle(_append("release.log.url", "\r\nX-Injected: 1")))),
    Attack("bundle-report-bit", "CPU report", "snp.report.signature", True,
           proxied(_edit_bundle(_flip_b64("cpu.report", 0x50)))),
    Attack("bundle-gpu-report-bit", "GPU report", "snp.report_data", True,
           proxied(_edit_bundle(_flip_b64("gpus.0.report", 100)))),
    # the service itself is hostile
    Attack("huge-attestation", "attestation answer", "ProtocolError", True, hostile(_huge)),
    Attack("never-ending-attestation", "attestation answer", "ProtocolError", True, hostile(_never_ending)),
    Attack("slow-drip-attestation", "attestation answer", "ServiceUnreachable", True, hostile(_slow_drip, deadline=1.0)),
    Attack("gzip-bomb-attestation", "attestation answer", "ProtocolError", True, hostile(_gzip)),
    Attack("attestation-http-500", "attestation answer", "bundle.fetch", True, hostile(_http_500)),
    Attack("attestation-redirect", "attestation answer", "bundle.fetch", True, hostile(_redirect)),
    Attack("attestation-not-json", "attestation answer", "bundle.parse", True, hostile(_not_json)),
    Attack("pipelined-second-answer", "HTTP framing", "bundle.parse", True, raw_answer(_OVERLONG)),
    Attack("body-shorter-than-content-length", "HTTP framing", "ProtocolError", True, raw_answer(_SHORT)),
    Attack("content-length-and-chunked", "HTTP framing", "bundle.parse", True, raw_answer(_SMUGGLE)),
    # after a passing attestation: what the gateway answers
    Attack("reply-without-content-type", "gateway answer", "ProtocolError", False, gateway(_no_content_type)),
    Attack("reply-hostile-media-type", "gateway answer", "ProtocolError", False, gateway(_html_error)),
    Attack("reply-garbage-binary-http", "decrypted reply", "ProtocolError", False, gateway(_garbage_inner)),
    Attack("reply-cut-short", "encrypted reply", "TruncatedResponse", False, gateway(_cut_short)),
    Attack("reply-escape-sequences", "model error event", "ProtocolError", False, gateway(_model_error)),
    Attack("reply-deep-json-event", "server-sent event", "ProtocolError", False, gateway(_deep_event)),
    Attack("gateway-always-stale", "gateway answer", "StaleKeyConfig", False, gateway(_stale_forever)),
    # the address the user gave
    Attack("url-with-credentials", "service URL", "service.url", True, _bad_url("http://user:pw@127.0.0.1:9")),
    Attack("url-under-localhost", "service URL", "service.url", True, _bad_url("http://evil.localhost:9")),
    Attack("url-remote-under-demo", "service URL", "service.url", True, _bad_url("https://enclave.example.com")),
    # the user's own files and settings
    Attack("planted-policy-file", "working directory", "built-in policy", False, _planted_policy),
    Attack("empty-allow-list", "policy file", "PolicyError", False, _empty_allow_list),
    Attack("planted-symlink-in-evidence-dir", "--save-evidence directory", "replaced, not followed", False,
           _symlinked_recording),
    Attack("snp-report-future-version", "saved CPU report", "snp.parse", False, _unknown_version(6)),
    Attack("snp-report-flipped-version", "saved CPU report", "snp.parse", False, _unknown_version(0x10002)),
    # a recorded real service, one change each (Tinfoil, TDX + H100)
    Attack("tinfoil-gpu-evidence-byte", "Tinfoil document (GPU)", "tinfoil.gpu_hash", False,
           _recording(DIRECT, _tinfoil_doc(_flip_after('"evidence":"', 200, after='"gpu":')))),
    Attack("tinfoil-client-nonce", "Tinfoil session (nonce)", "tinfoil.nonce", False, _recording(CLOUD, _client_nonce)),
    Attack("tinfoil-tls-peer", "TLS connection", "tinfoil.tls_key", False, _recording(CLOUD, _other_peer)),
)
