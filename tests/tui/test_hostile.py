"""Issue 12's Pilot acceptance: for every hostile mode of the reference enclave and of the hostile
proxy, the real app is still running after the refusal and shows one plain sentence.

Three groups, each driving :class:`tui.app.EnclaveChatApp` over a real :class:`SessionService`:

- every attack mode of the reference enclave (``enclave.attacks.ATTACK_MODES``: a new mode is
  covered by being added there), the log modes with the transparency log beside the enclave;
- hostile attestation answers (huge, never ending, dripped, compressed, HTTP 500, redirected,
  markup in the media type or the evidence): refused before anything is sealed, the input stays
  disabled, and the gateway gets no POST;
- hostile gateway answers behind a proxy that forwards an honest enclave's evidence (so the
  attestation passes): the reply, and the model list, end in one plain line, never a crash.

"One plain sentence": the line that says why (the failing check's sentence, the error, the reply's
note) is shown exactly as the service's text made safe (``one_line``): one printable line, no
traceback, no markup applied. Dripping answers run under a 1-2 s attestation deadline.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
from starlette.requests import Request
from starlette.responses import (
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Label, Static
from textual.widgets._toast import Toast

from enclave.app import Settings
from enclave.attacks import ATTACK_MODES, AZURE_ATTACKS, NEARAI_ATTACKS
from enclave.server import BackgroundEnclave
from enclave_chat.paths import resolve_policy
from tests.adversarial.conftest import (
    Handler,
    Proxy,
    never_ending_reply,
    open_request,
    sealed_stream,
    serve,
)
from tests.tui.conftest import settle
from tui.app import EnclaveChatApp
from tui.proof import Phase
from tui.screens.chat import ChatScreen
from tui.service import SessionService, Target
from tui.widgets.prompt import PromptInput
from tui.widgets.proof import RefusalView
from tui.widgets.transcript import AssistantMessage
from verifier.channel import chunked, ohttp
from verifier.text import one_line

pytestmark = pytest.mark.e2e

SIZE = (100, 30)
GUARD = 30.0
"""No test may take longer than this, even when the behaviour under test is broken (it then fails)."""
SECRET = "my secret prompt"

STREAM_ATTACKS = frozenset({"truncate-stream"})
"""Attack modes whose attestation is honest: the reply is what is attacked."""
REPLAY_ATTACKS = frozenset({"replay-nonce"})
"""Attack modes that answer the first attestation honestly and replay it afterwards."""


# -- driving the app ----------------------------------------------------------------------------------

def app_on(url: str, *, attest_timeout: float | None = None, provider: str = "native") -> EnclaveChatApp:
    """The app on ``url`` under the demo policy, over the real Session (no history, no config)."""
    def connect(target: Target) -> SessionService:
        service = SessionService(target)
        if attest_timeout is not None:
            service.session.attest_timeout = attest_timeout
        return service

    return EnclaveChatApp(target=Target(url, resolve_policy("demo"), provider), connect=connect)


def chat(app: App[object]) -> ChatScreen:
    screen = app.screen
    assert isinstance(screen, ChatScreen)
    return screen


def assert_plain_line(text: str) -> None:
    """One printable line, nothing a terminal would act on, no traceback."""
    assert text and text == text.strip(), repr(text)
    assert text.isprintable(), repr(text)  # no newline, escape or other control character
    assert "Traceback" not in text and "Error:" not in text.split(":", 1)[0], text


def assert_toasts_plain(app: App[object]) -> None:
    """Every notification on screen: a title line and one plain line of message."""
    for toast in app.screen.query(Toast):
        for line in str(toast.render()).split("\n"):
            assert_plain_line(line)


def refusal_sentence(screen: ChatScreen) -> str:
    """The one sentence that says why the service was refused (or could not be verified), after
    checking the refusal view's shape: a heading, that sentence, what to do, the keys."""
    view = screen.query_one(RefusalView)
    assert view.display
    lines = str(view.render()).split("\n")
    for line in lines:
        assert line.isprintable() and "Traceback" not in line, repr(line)
    state = screen.state
    if state.phase is Phase.REFUSED:
        assert state.result is not None
        bad = state.result.first_failure
        assert bad is not None, state.result.verdict()
        assert len(lines) == 5, lines
        assert lines[1] == f"Failing check: {bad.id} ({bad.status})"
        sentence, source = lines[2], bad.detail
    else:
        assert state.phase in (Phase.UNREACHABLE, Phase.ERROR), state.phase
        assert len(lines) == (4 if state.phase is Phase.UNREACHABLE else 3), lines
        sentence, source = lines[1], state.message
    assert sentence == one_line(source)  # shown literally: no markup applied, nothing dropped
    assert_plain_line(sentence)
    status = str(screen.query_one("#status-text", Static).render())
    assert_plain_line(status)
    assert status.startswith("✗ ") and status.endswith("nothing was sent"), status
    return sentence


async def try_to_send(pilot: Pilot[object], screen: ChatScreen) -> None:
    """Type a prompt and press Enter, as a user would after a refusal: nothing happens."""
    prompt = screen.query_one(PromptInput)
    assert prompt.disabled
    prompt.insert(SECRET)
    await pilot.press("enter")
    await settle(pilot)
    assert prompt.disabled
    assert not screen.query(AssistantMessage)
    assert screen.messages == []


async def send(pilot: Pilot[object], screen: ChatScreen, text: str = SECRET) -> AssistantMessage:
    prompt = screen.query_one(PromptInput)
    assert not prompt.disabled
    prompt.focus()
    prompt.insert(text)
    await pilot.press("enter")
    await settle(pilot)
    return screen.query(AssistantMessage).last()


def reply_note(reply: AssistantMessage) -> str:
    note = str(reply.query_one(".note", Label).render())
    assert_plain_line(note)
    return note


# -- the reference enclave's attack modes -------------------------------------------------------------

@pytest.mark.parametrize("mode", list(ATTACK_MODES))
async def test_every_attack_mode_of_the_reference_enclave(mode: str) -> None:
    platform = "azure-snp-vtpm" if mode in AZURE_ATTACKS else "sev-snp"  # those need a simulated CVM
    nearai = mode in NEARAI_ATTACKS  # those need the NEAR AI profile (its TD and 8 GPUs)
    settings = (Settings(token_delay=0, attack=mode, platform="tdx", gpus=8, profile="nearai") if nearai else
                Settings(token_delay=0, attack=mode, platform=platform))
    with BackgroundEnclave(settings) as server:
        app = app_on(server.url, provider="nearai" if nearai else "native")
        async with asyncio.timeout(GUARD), app.run_test(size=SIZE, notifications=True) as pilot:
            await settle(pilot)
            screen = chat(app)
            if mode in REPLAY_ATTACKS:  # the first answer is honest; the enclave replays it from now on
                assert screen.state.verified, screen.state.result and screen.state.result.verdict()
                await pilot.press("ctrl+r")
                await settle(pilot)
            if mode in STREAM_ATTACKS:
                assert screen.state.verified, screen.state.result and screen.state.result.verdict()
                reply = await send(pilot, screen)
                assert reply.state == "incomplete"
                assert reply_note(reply).startswith("INCOMPLETE:")
            else:
                assert screen.state.phase is Phase.REFUSED, screen.state
                refusal_sentence(screen)
                await try_to_send(pilot, screen)
            assert_toasts_plain(app)
            assert app.is_running
        if mode not in STREAM_ATTACKS:
            assert server.enclave.gateway_posts == 0
            assert server.enclave.nearai is None or server.enclave.nearai.requests == 0


# -- hostile attestation answers ----------------------------------------------------------------------

class Posts:
    """A gateway that only counts: any POST reaching it is a failure of the test."""

    def __init__(self) -> None:
        self.count = 0

    async def __call__(self, request: Request) -> Response:
        self.count += 1
        return Response(b"", status_code=500)

    def route(self) -> Route:
        return Route("/.well-known/ohttp-gateway", self, methods=["POST"])


def _answer(body: bytes | Callable[[], AsyncIterator[bytes]], media_type: str = "application/json",
            status: int = 200, **headers: str) -> Route:
    async def answer(request: Request) -> Response:
        if isinstance(body, bytes):
            return Response(body, status_code=status, media_type=media_type, headers=headers)
        return StreamingResponse(body(), status_code=status, media_type=media_type, headers=headers)
    return Route("/.well-known/attestation", answer, methods=["GET"])


async def _huge() -> AsyncIterator[bytes]:
    piece = b" " * 65536
    for _ in range(100 * 16):  # 100 MB
        yield piece
        await asyncio.sleep(0)


async def _endless() -> AsyncIterator[bytes]:
    for _ in range(2000):  # bounded (128 MB): a hostile server stops by itself
        yield b"[" * 65536
        await asyncio.sleep(0)


async def _drip() -> AsyncIterator[bytes]:
    yield b'{"version": 1, '
    for _ in range(2000):  # bounded (100 s)
        await asyncio.sleep(0.05)  # the hostile server's own pace, not a wait in the test
        yield b" "


def _forward(honest: BackgroundEnclave) -> Route:
    import httpx

    async def forward(request: Request) -> Response:
        async with httpx.AsyncClient() as client:
            answer = await client.get(f"{honest.url}/.well-known/attestation", params=request.query_params)
        return Response(answer.content, media_type="application/json")
    return Route("/.well-known/attestation", forward, methods=["GET"])


def _dripping_keys() -> Route:
    async def keys(request: Request) -> Response:
        async def drip() -> AsyncIterator[bytes]:
            for _ in range(2000):  # bounded (100 s)
                await asyncio.sleep(0.05)
                yield b"\x00"
        return StreamingResponse(drip(), media_type=ohttp.KEYS_MEDIA_TYPE)
    return Route("/.well-known/ohttp-gateway", keys, methods=["GET"])


def _redirect(honest: BackgroundEnclave) -> list[Route]:
    async def moved(request: Request) -> Response:
        return RedirectResponse(f"{honest.url}{request.url.path}?{request.url.query}", status_code=307)
    return [Route("/.well-known/attestation", moved, methods=["GET"]),
            Route("/.well-known/ohttp-gateway", moved, methods=["GET"])]


MARKUP = "[/] [bold]loud[/bold] [link=https://evil.example]click[/link]"


@dataclass(frozen=True)
class AttestationCase:
    routes: Callable[[BackgroundEnclave], list[Route]]
    phase: Phase
    says: str
    """A fragment the sentence must hold (literally: markup in it stays as it is)."""
    attest_timeout: float | None = None


ATTESTATION_CASES: dict[str, AttestationCase] = {
    "huge-answer": AttestationCase(lambda _e: [_answer(_huge)], Phase.ERROR, "more than 2097152 bytes"),
    "never-ending-answer": AttestationCase(lambda _e: [_answer(_endless)], Phase.ERROR, "more than"),
    "slow-drip-answer": AttestationCase(lambda _e: [_answer(_drip)], Phase.UNREACHABLE,
                                        "did not finish its attestation within 1 seconds", 1.0),
    "slow-drip-key-configuration": AttestationCase(lambda e: [_forward(e), _dripping_keys()],
                                                   Phase.UNREACHABLE, "did not finish its attestation", 1.5),
    "gzip-bomb": AttestationCase(
        lambda _e: [_answer(gzip.compress(b" " * (64 * 1024 * 1024), compresslevel=9),
                            **{"content-encoding": "gzip"})], Phase.ERROR, "content-encoding 'gzip'"),
    "http-500-with-escapes": AttestationCase(
        lambda _e: [_answer(b"\x1b[31mboom\n" * 1000, "text/plain", 500)], Phase.REFUSED, "500"),
    "redirect-to-an-honest-enclave": AttestationCase(_redirect, Phase.REFUSED, "307"),
    "markup-media-type": AttestationCase(
        lambda _e: [_answer(f"<html>{MARKUP}</html>".encode(), "text/[/]html")], Phase.REFUSED, "is not JSON"),
    "markup-in-the-evidence": AttestationCase(
        lambda _e: [_answer(json.dumps({"version": MARKUP, "nonce": MARKUP}).encode())], Phase.REFUSED, MARKUP),
}


@pytest.mark.parametrize("name", list(ATTESTATION_CASES))
async def test_a_hostile_attestation_answer_is_refused_in_one_plain_sentence(
        name: str, enclave: BackgroundEnclave) -> None:
    case = ATTESTATION_CASES[name]
    posts = Posts()
    honest = (enclave.enclave.attestations, enclave.enclave.gateway_posts)
    with serve([*case.routes(enclave), posts.route()]) as server:
        app = app_on(server.url, attest_timeout=case.attest_timeout)
        async with asyncio.timeout(GUARD), app.run_test(size=SIZE, notifications=True) as pilot:
            await settle(pilot)
            screen = chat(app)
            assert screen.state.phase is case.phase, (screen.state.phase, screen.state.message,
                                                      screen.state.result and screen.state.result.verdict())
            assert case.says in refusal_sentence(screen)
            await try_to_send(pilot, screen)
            assert_toasts_plain(app)
            assert app.is_running
    assert posts.count == 0
    if name.startswith("redirect"):  # the client never followed the redirect to the honest enclave
        assert (enclave.enclave.attestations, enclave.enclave.gateway_posts) == honest


# -- hostile gateway answers behind an attested proxy -------------------------------------------------

Gateway = Callable[[BackgroundEnclave], Handler]


def _sealed(content_type: bytes, pieces: list[bytes], status: int = 200, final: bool = True) -> Gateway:
    def make(honest: BackgroundEnclave) -> Handler:
        async def answer(request: Request) -> Response:
            encoder = await open_request(honest, request)
            return StreamingResponse(sealed_stream(encoder, status, content_type, pieces, final),
                                     media_type=chunked.RESPONSE_MEDIA_TYPE)
        return answer
    return make


def _plain_answer(make_response: Callable[[], Response]) -> Gateway:
    def make(_honest: BackgroundEnclave) -> Handler:
        async def answer(request: Request) -> Response:
            return make_response()
        return answer
    return make


def _garbage_bhttp(honest: BackgroundEnclave) -> Handler:
    async def answer(request: Request) -> Response:
        encoder = await open_request(honest, request)
        body = encoder.encode_chunk(b"\x01\xff\xff\xff\xff\xff\xff\xff\xff") + encoder.encode_final(b"\x07")
        return Response(body, media_type=chunked.RESPONSE_MEDIA_TYPE)
    return answer


def _event(payload: bytes) -> list[bytes]:
    return [b"data: " + payload + b"\n\n"]


@dataclass(frozen=True)
class GatewayCase:
    gateway: Gateway
    says: str
    """A fragment of the reply's note (literally), or with ``chat=False`` of the model list's error."""
    state: str = "error"
    chat: bool = True
    """False: only the model list is asked (the case is an answer a reply would not parse)."""


GATEWAY_CASES: dict[str, GatewayCase] = {
    "http-500-with-escapes": GatewayCase(
        _plain_answer(lambda: PlainTextResponse("\x1b]0;owned\x07 internal error", status_code=500)), "HTTP 500"),
    "markup-media-type": GatewayCase(
        _plain_answer(lambda: Response("<html>hello</html>", media_type="text/[/]html")),
        "(text/[/]html) instead of an encrypted response"),
    "garbage-binary-http": GatewayCase(_garbage_bhttp, "Binary HTTP"),
    "always-stale-key": GatewayCase(
        _plain_answer(lambda: JSONResponse({"type": ohttp.KEY_PROBLEM_TYPE, "title": "stale"}, status_code=400,
                                           media_type="application/problem+json")), ""),
    "never-ending-sealed-reply": GatewayCase(never_ending_reply, "larger than 1 MiB"),
    "sse-invalid-utf8": GatewayCase(
        _sealed(b"text/event-stream", _event(b'{"choices": [{"delta": {"content": "\xff\xfe"}}]}')),
        "does not hold JSON"),
    "sse-deep-json": GatewayCase(_sealed(b"text/event-stream", _event(b"[" * 200_000)), "does not hold JSON"),
    "sse-escapes-and-markup-in-error": GatewayCase(
        _sealed(b"text/event-stream",
                _event(b'{"error": {"message": "\\u001b[2J\\u001b[31mpwned\\nsecond line ' + MARKUP.encode() + b'"}}')),
        MARKUP),
    "sse-giant-event": GatewayCase(
        _sealed(b"text/event-stream", _event(b"x" * (2 * 1024 * 1024))), "larger than 1 MiB"),
    "deep-json-answer": GatewayCase(_sealed(b"application/json", [b"[" * 200_000]),
                                    "GET /v1/models did not answer JSON", chat=False),
    "model-error-answer": GatewayCase(
        _sealed(b"text/plain", [b"bad\r\n\x1b[2Jrequest\x9b" * 50], status=400), "HTTP 400"),
    "raw-bytes": GatewayCase(
        _plain_answer(lambda: Response(bytes(range(256)) * 40, media_type=chunked.RESPONSE_MEDIA_TYPE)), ""),
    "cut-short-reply": GatewayCase(
        _sealed(b"text/event-stream", _event(b'{"choices": [{"delta": {"content": "partial"}}]}'), final=False),
        "INCOMPLETE", state="incomplete"),
}


@pytest.mark.parametrize("name", list(GATEWAY_CASES))
async def test_a_hostile_gateway_answer_ends_in_one_plain_line(name: str, enclave: BackgroundEnclave) -> None:
    """The attestation passes (the proxy forwards the honest enclave's evidence); the gateway's
    answer to the prompt, and to the model list (F4, the path of the MarkupError), is hostile."""
    case = GATEWAY_CASES[name]
    with Proxy(enclave, case.gateway(enclave)) as proxy:
        app = app_on(proxy.url)
        async with asyncio.timeout(GUARD), app.run_test(size=SIZE, notifications=True) as pilot:
            await settle(pilot)
            screen = chat(app)
            assert screen.state.verified, screen.state.result and screen.state.result.verdict()
            if case.chat:
                reply = await send(pilot, screen)
                assert reply.state == case.state, (reply.state, reply.note)
                note = reply_note(reply)
                assert case.says in note
                if case.state == "error":
                    assert note == f"error: {one_line(reply.note)}"
            await pilot.press("f4")
            await settle(pilot)
            assert isinstance(app.screen, ChatScreen)  # no model list to pick from
            assert_toasts_plain(app)
            errors = [str(t.render()) for t in app.screen.query(Toast) if "Could not list models" in str(t.render())]
            assert errors, "the model list's error is not shown"
            if not case.chat:
                assert any(case.says in e for e in errors), errors
            assert app.is_running
        assert any(method == "POST" for method, _path, _headers in proxy.seen)
