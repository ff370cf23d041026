"""What replays and recordings need for Tinfoil: the TLS peer's key read from a live connection and
kept in a recording; the attested host found by the recorded nonce; KDS URLs that differ only in
zero padding served from a recording."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from enclave.server import listening_socket
from tests.tinfoil.conftest import DIRECT
from verifier.bounded_http import peer_spki_der
from verifier.recording import (
    Exchange,
    Manifest,
    RecordingTransport,
    ReplayTransport,
    load_recording,
    write_recording,
)


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, bytes, Path]]:
    """A loopback https server with a fresh self-signed P-256 certificate."""
    directory = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))
    app = Starlette(routes=[Route("/x", lambda r: PlainTextResponse("hello"))])
    sock = listening_socket("127.0.0.1", 0)
    config = uvicorn.Config(app, log_level="warning", lifespan="off", ssl_certfile=str(directory / "cert.pem"),
                            ssl_keyfile=str(directory / "key.pem"))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline
        time.sleep(0.01)
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    yield f"https://127.0.0.1:{sock.getsockname()[1]}", spki, directory / "cert.pem"
    server.should_exit = True
    thread.join(timeout=5)
    sock.close()


async def test_the_peer_key_of_a_live_tls_connection(tls_server: tuple[str, bytes, Path]) -> None:
    url, spki, cert = tls_server
    context = ssl.create_default_context(cafile=str(cert))
    async with httpx.AsyncClient(verify=context) as http, http.stream("GET", f"{url}/x") as response:
        assert peer_spki_der(response) == spki
        await response.aread()


async def test_a_recording_keeps_the_peer_key(tls_server: tuple[str, bytes, Path], tmp_path: Path) -> None:
    url, spki, cert = tls_server
    context = ssl.create_default_context(cafile=str(cert))
    recorder = RecordingTransport(inner_async=httpx.AsyncHTTPTransport(verify=context))
    async with httpx.AsyncClient(transport=recorder) as http:
        response = await http.get(f"{url}/x")
    assert response.text == "hello" and peer_spki_der(response) == spki
    assert recorder.exchanges[0].peer_spki_der == spki
    write_recording(tmp_path, Manifest("tinfoil", url, b"\x01" * 32, dt.datetime.now(dt.UTC)), recorder.exchanges)
    assert load_recording(tmp_path).exchanges[0].peer_spki_der == spki


def test_plain_http_has_no_peer_key() -> None:
    response = httpx.Response(200, request=httpx.Request("GET", "http://127.0.0.1/"))
    assert peer_spki_der(response) is None


@pytest.mark.vectors
def test_a_capture_that_asked_a_router_first_replays_the_attested_host(vectors: Path) -> None:
    recording = load_recording(vectors / DIRECT)
    assert "tinfoil-proxy" in recording.exchanges[0].url  # the discovery came first
    assert recording.manifest.url == "https://gemma4-31b-1.inf10.tinfoil.sh"


def test_zero_padded_query_values_match_a_recorded_request() -> None:
    recorded = "https://kdsintf.amd.com/vcek/v1/Genoa/ab?blSPL=10&teeSPL=0&snpSPL=23&ucodeSPL=84"
    transport = ReplayTransport([Exchange("GET", recorded, 200, (), b"vcek")])
    with httpx.Client(transport=transport) as http:
        with pytest.raises(httpx.ConnectError):
            http.get("https://kdsintf.amd.com/vcek/v1/Genoa/ab?blSPL=10&teeSPL=1&snpSPL=23&ucodeSPL=84")
        asked = "https://kdsintf.amd.com/vcek/v1/Genoa/ab?blSPL=10&teeSPL=00&snpSPL=23&ucodeSPL=84"
        assert http.get(asked).content == b"vcek"
