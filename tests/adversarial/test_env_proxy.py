"""Finding 2 of the second hostile-input round: an environment proxy must not take a loopback-only
session elsewhere. With ``HTTP_PROXY`` / ``ALL_PROXY`` set, the connection to the service never
goes through the proxy (the demo policy's loopback rule looks at the URL, while the proxy would
answer from its own enclave and receive the prompt); only ``--http-proxy URL`` (``Session(...,
http_proxy=URL)``, the chat's ``[service] http_proxy``) sends it through one, and a proxied session
is never loopback: ``service.url`` fails with a sentence that says so, and nothing is sent.

Fetches of signed data (the transparency log's checkpoints and tiles here) may still use the
environment's proxy: the hostile proxy below forwards GETs, so that the demo log stays reachable,
and records every request; it answers POSTs itself (a prompt it received is a prompt lost)."""

from __future__ import annotations

import asyncio
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from enclave.server import BackgroundEnclave
from tests.cli.conftest import Cli, contract
from tui.config import ConfigError, parse_config
from tui.service import SessionService, Target
from verifier.appraisal.policy import Policy, parse_policy
from verifier.session import Session
from verifier.urls import check_service_url

pytestmark = pytest.mark.e2e

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
              "NO_PROXY", "no_proxy")
PROXY_SENTENCE = "goes through a proxy"


class HostileProxy:
    """A forward HTTP proxy on loopback that keeps every request's method and target; it forwards
    GETs to their destination and answers POSTs itself (HTTP 502), keeping their bodies."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        self.bodies: list[bytes] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                proxy.seen.append(("GET", self.path))
                try:
                    with httpx.Client(trust_env=False, timeout=10) as client:
                        answer = client.get(self.path)
                    status, body = answer.status_code, answer.content
                    kind = answer.headers.get("content-type", "application/octet-stream")
                except httpx.HTTPError:
                    status, body, kind = 502, b"", "text/plain"
                self._reply(status, body, kind)

            def do_POST(self) -> None:
                proxy.seen.append(("POST", self.path))
                length = int(self.headers.get("content-length") or 0)
                proxy.bodies.append(self.rfile.read(length) if length else b"")
                self._reply(502, b"the proxy kept it", "text/plain")

            def _reply(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(body)))
                self.send_header("connection", "close")
                self.end_headers()
                self.wfile.write(body)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def to(self, base: str) -> list[tuple[str, str]]:
        """The requests whose target is under ``base`` (a service's URL)."""
        return [(method, target) for method, target in self.seen if target.startswith(base)]

    def __enter__(self) -> HostileProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def proxy() -> Iterator[HostileProxy]:
    with HostileProxy() as server:
        yield server


def _cli(tmp_path: Path, **env: str) -> Cli:
    cli = Cli(tmp_path)
    for name in PROXY_VARS:
        cli.env.pop(name, None)
    cli.env.update(env)
    return cli


@pytest.fixture
def env_proxy(proxy: HostileProxy, monkeypatch: pytest.MonkeyPatch) -> HostileProxy:
    """The hostile proxy named by every proxy variable of this process's environment."""
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, proxy.url)
    return proxy


# -- the environment's proxy is never the service's ---------------------------------------------------

@pytest.mark.parametrize("variable", ["HTTP_PROXY", "ALL_PROXY", "http_proxy"])
def test_verify_ignores_the_environment_proxy(enclave: BackgroundEnclave, tmp_path: Path,
                                             proxy: HostileProxy, variable: str) -> None:
    run = _cli(tmp_path, **{variable: proxy.url})("verify", enclave.url, "--policy", "demo", "--json")
    doc = contract(run, 0, json_out=True).json()
    assert doc["verified"] is True
    assert proxy.to(enclave.url) == []


def test_ask_ignores_the_environment_proxy(enclave: BackgroundEnclave, tmp_path: Path, proxy: HostileProxy) -> None:
    before = enclave.enclave.gateway_posts
    run = _cli(tmp_path, HTTP_PROXY=proxy.url, ALL_PROXY=proxy.url)(
        "ask", enclave.url, "my secret prompt", "--policy", "demo")
    contract(run, 0)
    assert "my secret prompt" in run.stdout
    assert enclave.enclave.gateway_posts == before + 1
    assert proxy.to(enclave.url) == [] and proxy.bodies == []


def test_a_session_ignores_the_environment_proxy(enclave: BackgroundEnclave, demo_policy: Policy,
                                                 env_proxy: HostileProxy) -> None:
    async def go() -> str:
        async with Session(enclave.url, demo_policy) as session:
            result = await session.attest()
            assert result.verified, result.verdict()
            return "".join([d async for d in session.stream_chat([{"role": "user", "content": "hi"}])])

    assert "hi" in asyncio.run(go())
    assert env_proxy.to(enclave.url) == []


def test_the_tui_session_ignores_the_environment_proxy(enclave: BackgroundEnclave, demo_policy: Policy,
                                                       env_proxy: HostileProxy, tmp_path: Path) -> None:
    async def go() -> bool:
        service = SessionService(Target(enclave.url, demo_policy), collateral_dir=tmp_path / "c")
        try:
            return (await service.attest()).verified
        finally:
            await service.aclose()

    assert asyncio.run(go())
    assert env_proxy.to(enclave.url) == []


# -- --http-proxy: the user's proxy, and never loopback -----------------------------------------------

def test_verify_through_a_proxy_is_not_loopback(enclave: BackgroundEnclave, tmp_path: Path,
                                                proxy: HostileProxy) -> None:
    cli = _cli(tmp_path)
    before = enclave.enclave.gateway_posts
    verify, ask = cli.many([("verify", enclave.url, "--policy", "demo", "--http-proxy", proxy.url, "--json"),
                            ("ask", enclave.url, "my secret prompt", "--policy", "demo", "--http-proxy", proxy.url)])
    doc = contract(verify, 1, json_out=True).json()
    first = doc["checks"][0]
    assert first["id"] == "service.url" and first["status"] == "fail"
    assert PROXY_SENTENCE in first["detail"]
    contract(ask, 1)
    assert ask.stdout == "" and "service.url" in ask.stderr and PROXY_SENTENCE in ask.stderr
    assert proxy.seen == [] and enclave.enclave.gateway_posts == before


def test_http_proxy_is_checked_and_belongs_to_live_sessions(tmp_path: Path) -> None:
    cli = _cli(tmp_path)
    for run in cli.many([("verify", "http://127.0.0.1:1", "--http-proxy", "ftp://127.0.0.1:3128"),
                         ("verify", "http://127.0.0.1:1", "--http-proxy", ""),
                         ("verify", "http://127.0.0.1:1", "--http-proxy", "http://"),
                         ("verify", "--replay", str(tmp_path), "--http-proxy", "http://127.0.0.1:3128")]):
        contract(run, 2)
        assert "--http-proxy" in run.stderr, str(run)


def test_a_session_through_a_proxy_is_not_loopback(enclave: BackgroundEnclave, demo_policy: Policy,
                                                   proxy: HostileProxy) -> None:
    async def go() -> Any:
        async with Session(enclave.url, demo_policy, http_proxy=proxy.url) as session:
            return await session.attest()

    result = asyncio.run(go())
    assert not result.verified
    assert result.checks[0].id == "service.url" and PROXY_SENTENCE in result.checks[0].detail
    assert proxy.seen == []


def test_the_tui_session_takes_the_configured_proxy(enclave: BackgroundEnclave, demo_policy: Policy,
                                                    proxy: HostileProxy, tmp_path: Path) -> None:
    config = parse_config(f'[service]\nurl = "{enclave.url}"\npolicy = "demo"\nhttp_proxy = "{proxy.url}"\n')
    assert config.http_proxy == proxy.url
    with pytest.raises(ConfigError, match="http_proxy"):
        parse_config('[service]\nhttp_proxy = "ftp://127.0.0.1:21"\n')
    with pytest.raises(ConfigError, match="http_proxy"):
        parse_config("[service]\nhttp_proxy = 3128\n")

    async def go() -> Any:
        service = SessionService(Target(enclave.url, demo_policy), collateral_dir=tmp_path / "c",
                                 http_proxy=config.http_proxy)
        try:
            return await service.attest()
        finally:
            await service.aclose()

    result = asyncio.run(go())
    assert result.checks[0].id == "service.url" and PROXY_SENTENCE in result.checks[0].detail
    assert proxy.seen == []


def test_the_chat_passes_the_proxy_to_its_sessions(enclave: BackgroundEnclave, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from enclave_chat.tui_entry import build_app
    from tui.config import Config

    for kind in ("config", "data", "cache", "state"):
        monkeypatch.setenv(f"ENCLAVE_CHAT_{kind.upper()}_DIR", str(tmp_path / kind))
    configured = Config(url=enclave.url, policy="demo", http_proxy="http://127.0.0.1:3128")
    for http_proxy, config, expected in ((None, configured, "http://127.0.0.1:3128"),
                                         ("http://127.0.0.1:8080", configured, "http://127.0.0.1:8080"),
                                         (None, Config(url=enclave.url), None)):
        app = build_app(url=None, policy=None, provider=None, no_history=True, config=config,
                        http_proxy=http_proxy)
        service = app.connect(app.target)
        try:
            assert service.session.http_proxy == expected
        finally:
            asyncio.run(service.aclose())


def test_a_chosen_proxy_carries_the_session(enclave: BackgroundEnclave, proxy: HostileProxy) -> None:
    """Under a policy that accepts it (no loopback rule, plain http allowed), the session does go
    through the proxy it was given: the option is not a no-op."""
    text = (Path(__file__).resolve().parents[2] / "policies" / "demo.toml").read_text()
    text = text.replace("loopback_only = true", "loopback_only = false\nallow_plain_http = true")
    policy = parse_policy(text.encode(), "proxied-demo")

    async def go() -> Any:
        async with Session(enclave.url, policy, http_proxy=proxy.url) as session:
            return await session.attest()

    result = asyncio.run(go())
    assert result.checks[0].status == "pass", result.checks[0]
    assert ("GET", f"{enclave.url}/.well-known/attestation") in [(m, t.split("?")[0]) for m, t in proxy.seen]


# -- the rule itself ----------------------------------------------------------------------------------

def test_check_service_url_knows_a_proxied_connection_is_not_loopback(demo_policy: Policy) -> None:
    assert check_service_url("http://127.0.0.1:8700", demo_policy).status == "pass"
    proxied = check_service_url("http://127.0.0.1:8700", demo_policy, proxied=True)
    assert proxied.status == "fail" and PROXY_SENTENCE in proxied.detail
    plain = parse_policy(b'name = "p"\n[service]\n')
    assert check_service_url("http://localhost:8700", plain).status == "pass"
    through = check_service_url("http://localhost:8700", plain, proxied=True)
    assert through.status == "fail" and PROXY_SENTENCE in through.detail  # plain http, not loopback
    assert check_service_url("https://chat.example.com", plain, proxied=True).status == "pass"
