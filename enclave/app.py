"""The reference enclave's HTTP surface (docs/protocol.md), as a starlette app. INSECURE DEMO.

- ``GET  /.well-known/attestation?nonce=<64 hex>``  the evidence bundle for that nonce
- ``GET  /.well-known/ohttp-gateway``               the key configuration (application/ohttp-keys)
- ``POST /.well-known/ohttp-gateway``               message/ohttp-req or message/ohttp-chunked-req
- ``GET  /``                                        a plain page saying what this is

Behind the gateway, the decrypted Binary HTTP request goes to :mod:`enclave.inner`.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from enclave import INSECURE_DEMO_BANNER, attacks, azure, demo_roots, inner, model, tdx
from enclave.azure import SimulatedAzureSnp, SimulatedAzureTdx, SimulatedCvm
from enclave.bodies import drain, read_bounded
from enclave.gpu import SimulatedGpu, Tamper
from enclave.release import demo_release
from enclave.tee import SimulatedSnp, image_digest, launch_measurement
from verifier.appraisal.cpu import VtpmEvidence
from verifier.channel import bhttp, chunked, ohttp
from verifier.channel.keyconfig import KeyPair, encode_ohttp_keys
from verifier.errors import ChannelError, ParseError
from verifier.providers.native.bundle import encode_bundle, report_data_binding

MAX_GATEWAY_BODY = 1024 * 1024
PROFILES = ("native", "nearai")
"""``Settings.profile``: which second wire profile is mounted beside the native routes."""


@dataclass
class Settings:
    upstream: str | None = None
    token_delay: float = 0.02
    attack: str | None = None
    evidence_lifetime: dt.timedelta = dt.timedelta(minutes=10)
    max_tokens: int | None = None
    transparency: bool = True
    """Start a log and a witness beside the enclave and publish its release there (``serve --no-log``: False)."""
    transparency_dir: Path | None = None
    """Where the log and the witness keep their state (None: a temporary directory)."""
    gpus: int = 1
    """How many simulated H100s the enclave attests (the demo policy requires one)."""
    platform: str = "sev-snp"
    """The simulated CPU platform: ``sev-snp``, ``azure-snp-vtpm`` (an Azure SEV-SNP CVM: the
    paravisor's HCL report, a vTPM quote; :mod:`enclave.azure`), ``tdx`` (a TD quote under a demo
    Intel root, with its collateral; :mod:`enclave.tdx`) or ``azure-tdx-vtpm`` (an Azure TDX CVM:
    the HCL report around a TDREPORT, the TD quote, a vTPM quote). INSECURE DEMO every one."""
    tinfoil_layout: str = "current"
    """The Tinfoil-compatible routes' attestation document: Tinfoil's ``current`` v3 envelope, or the
    ``june`` 2026 v3 layout (:data:`enclave.tinfoil_mode.LAYOUTS`; ``serve --tinfoil-layout``)."""
    profile: str = "native"
    """The second wire profile mounted beside the native routes: ``native`` (Tinfoil's, whose
    ``/v1/...`` is behind EHBP) or ``nearai`` (NEAR AI's report and plaintext ``/v1/...``, which
    needs ``platform="tdx"``; :mod:`enclave.nearai_mode`; ``serve --provider nearai``). Their
    ``/v1`` paths overlap, so only one is mounted. INSECURE DEMO either way."""


@dataclass
class Enclave:
    """The state of one reference enclave: its simulated chip, its keys, and what it has served."""

    settings: Settings = field(default_factory=Settings)
    gateway_posts: int = 0
    attestations: int = 0

    def __post_init__(self) -> None:
        attacks.check_mode(self.settings.attack, transparency=self.settings.transparency,
                           platform=self.settings.platform, profile=self.settings.profile)
        if self.settings.profile not in PROFILES:
            raise ValueError(f"profile must be one of {', '.join(PROFILES)}, not {self.settings.profile!r}")
        if self.settings.profile == "nearai" and self.settings.platform != tdx.PLATFORM:
            raise ValueError("the NEAR AI profile needs the simulated TDX machine (platform 'tdx')")
        self.backend = inner.Backend(self.settings.upstream, self.settings.token_delay,
                                     self.settings.max_tokens)
        self.config: dict[str, Any] = {
            "service": "enclave-chat reference enclave (INSECURE DEMO)",
            "upstream": self.backend.describe(),
            "model": model.MODEL_ID if self.settings.upstream is None else "upstream",
        }
        self.image = image_digest()
        launch = launch_measurement(self.image, self.config)
        self.snp = SimulatedSnp(launch)
        platform = self.settings.platform
        self.tdx = tdx.SimulatedTdx(tdx.td_state(launch)) if platform in tdx.PLATFORMS else None
        self.measurement = self.tdx.measurement if self.tdx is not None else launch
        """What the release lists: the SEV-SNP MEASUREMENT, or on TDX MRTD || RTMR0 || RTMR1 || RTMR2."""
        self.cvm: SimulatedCvm | None = None
        if platform == azure.PLATFORM:
            self.cvm = SimulatedAzureSnp(self.snp)
        elif platform == tdx.AZURE_PLATFORM and self.tdx is not None:
            self.cvm = SimulatedAzureTdx(self.tdx)
        self.gpus = [SimulatedGpu(index=i) for i in range(self.settings.gpus)]
        self.keys = KeyPair.generate(key_id=secrets.randbelow(256))
        # The statement alone; the server replaces it with the logged release (enclave.release.ReleaseLog).
        self.release: dict[str, Any] = demo_release(self.image, [self.measurement],
                                                    platform=self.settings.platform)
        self._replayed: bytes | None = None

    # -- keys --------------------------------------------------------------------------------------
    @property
    def key_config(self) -> bytes:
        return encode_ohttp_keys([self.keys.config])

    def rotate_key(self) -> None:
        """Start using a new gateway key; requests sealed to the old one get the key problem."""
        old = self.keys.key_id
        self.keys = KeyPair.generate(key_id=(old + 1) % 256)

    # -- evidence ----------------------------------------------------------------------------------
    def bundle(self, nonce: bytes) -> bytes:
        attack = self.settings.attack
        if attack == "replay-nonce" and self._replayed is not None:
            return self._replayed
        key_config = self.key_config
        bound_key_config = key_config
        if attack == "swap-key-config":
            key_config = encode_ohttp_keys([KeyPair.generate(key_id=self.keys.key_id).config])
        gpus = [gpu.evidence(nonce) for gpu in self.gpus]
        bound_gpus = gpus
        if attack == "tamper-gpu" and gpus:
            gpus = bound_gpus = [self.gpus[0].evidence(nonce, tamper=Tamper.MEASUREMENT), *gpus[1:]]
        elif attack == "gpu-binding" and gpus:
            gpus = [self.gpus[0].evidence(nonce), *gpus[1:]]  # valid, but not the evidence bound
        gpus = [replace(g, rims=tuple(gpu.rims())) for g, gpu in zip(gpus, self.gpus, strict=True)]
        report_data = report_data_binding(nonce, bound_key_config, bound_gpus, self.config)
        certificates = self.snp.certificates()
        snp: dict[str, Any] = {}
        if attack == "flip-measurement":
            flipped = bytearray(self.measurement)
            flipped[0] ^= 0x01
            snp["measurement"] = bytes(flipped)
        elif attack == "rogue-vcek":
            rogue_ask = _rogue_ask_key()
            rogue_vcek_key = ec.generate_private_key(ec.SECP384R1())
            rogue_vcek = demo_roots.issue_vcek(rogue_vcek_key.public_key(), self.snp.chip_id,
                                               self.snp.tcb, signer=rogue_ask)
            certificates[0] = demo_roots.der_bytes(rogue_vcek)
            snp["key"] = rogue_vcek_key
        collateral: dict[str, Any] = {}
        if self.tdx is not None:
            # A TD quote carries its PCK chain; Intel's collateral for it travels beside it.
            certificates = []
            collateral["tdx"] = tdx.collateral_member(self.tdx.collateral())
            snp = {"state": tdx.flipped(self.tdx.state)} if attack == "flip-measurement" else {}
        vtpm = None
        if self.cvm is not None:
            # The binding value goes where an Azure guest can put it: the runtime claims'
            # user-data (the paravisor hashes the claims into REPORT_DATA) and the quote.
            stale = report_data_binding(secrets.token_bytes(32), bound_key_config, bound_gpus, self.config)
            cvm = self.cvm.evidence(report_data, attack=attack, stale=stale, **snp)
            report, vtpm = cvm.hcl_report, VtpmEvidence(cvm.quote, cvm.td_quote)
        elif self.tdx is not None:
            report = self.tdx.quote(report_data, **snp)
        else:
            report = self.snp.report(report_data, **snp)
        data = encode_bundle(
            nonce=nonce, key_config=key_config, platform=self.settings.platform, report=report,
            certificates=certificates, gpus=gpus, release=self.release, config=self.config,
            expires=dt.datetime.now(dt.UTC) + self.settings.evidence_lifetime, collateral=collateral,
            vtpm=vtpm,
        )
        if attack == "replay-nonce":
            self._replayed = data
        return data

    # -- HTTP --------------------------------------------------------------------------------------
    async def attestation(self, request: Request) -> Response:
        self.attestations += 1
        nonce_hex = request.query_params.get("nonce", "")
        try:
            nonce = bytes.fromhex(nonce_hex)
        except ValueError:
            nonce = b""
        if len(nonce) != 32:
            return JSONResponse({"error": "nonce must be 64 hex digits"}, status_code=400)
        if self.settings.attack == "malformed-json":
            return Response(b'{"version": 1, "nonce": ', media_type="application/json")
        return Response(self.bundle(nonce), media_type="application/json",
                        headers={"cache-control": "no-store"})

    async def gateway_keys(self, request: Request) -> Response:
        body = self.key_config
        if self.settings.attack == "gateway-key-mismatch":
            body = encode_ohttp_keys([KeyPair.generate(key_id=self.keys.key_id).config])
        return Response(body, media_type=ohttp.KEYS_MEDIA_TYPE, headers={"cache-control": "no-store"})

    async def gateway(self, request: Request) -> Response:
        """Every refusal is a problem document (RFC 9457); a request that opens but is not one the
        backend can serve is answered inside the channel, so only its sender can read why."""
        self.gateway_posts += 1
        body = await read_bounded(request, MAX_GATEWAY_BODY)
        if body is None:
            return _problem(413, "the request is larger than 1 MiB")
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            if media == ohttp.REQUEST_MEDIA_TYPE:
                plaintext, context = ohttp.decapsulate_request(self.keys, body)
                answer = await self._dispatch(plaintext)
                try:
                    content = answer.body + await drain(answer)
                except Exception:  # the backend failed mid-answer: say so, inside the channel
                    answer, content = _inner_error(), _inner_error().body
                whole = bhttp.encode_response(bhttp.Response(answer.status, answer.headers, content))
                return Response(context.encapsulate_response(whole), media_type=ohttp.RESPONSE_MEDIA_TYPE)
            if media == chunked.REQUEST_MEDIA_TYPE:
                decoder = chunked.ChunkedRequestDecoder(self.keys)
                plaintext = b"".join(decoder.feed(body)) + decoder.close()
                server = decoder.response_encoder()
                answer = await self._dispatch(plaintext)
                return StreamingResponse(self._chunked_answer(server, answer),
                                         media_type=chunked.RESPONSE_MEDIA_TYPE)
        except ohttp.UnknownKeyConfig:
            return _problem(400, "the key configuration is not current; fetch it again",
                            ohttp.KEY_PROBLEM_TYPE)
        except (ChannelError, ParseError, ValueError):
            return _problem(400, "the encapsulated request could not be opened")
        return _problem(415, f"unsupported media type {media[:64]!r}; send {ohttp.REQUEST_MEDIA_TYPE} or {chunked.REQUEST_MEDIA_TYPE}")

    async def _dispatch(self, plaintext: bytes) -> inner.InnerResponse:
        """The decrypted request to the backend. ParseError: it is not Binary HTTP (the caller
        answers 400); a backend that fails on it gets an inner 500, never an uncaught exception."""
        request = bhttp.decode_request(plaintext)
        try:
            method, path = request.method.decode("ascii"), request.path.decode("ascii")
        except UnicodeDecodeError:
            return inner.InnerResponse(400, ((b"content-type", b"application/json"),),
                                       b'{"error": {"message": "method and path must be ASCII"}}')
        try:
            return await inner.handle(self.backend, method, path, request.body)
        except RecursionError:
            return inner.InnerResponse(400, ((b"content-type", b"application/json"),),
                                       b'{"error": {"message": "the body nests too deeply"}}')
        except Exception:
            return _inner_error()

    async def _chunked_answer(self, server: chunked.ChunkedResponseEncoder,
                              answer: inner.InnerResponse) -> AsyncIterator[bytes]:
        """One OHTTP chunk per piece of the inner response, sent as soon as it exists."""
        yield server.encode_chunk(bhttp.encode_response_head(answer.status, answer.headers))
        if answer.body:
            yield server.encode_chunk(bhttp.encode_content_chunk(answer.body))
        if answer.stream is not None:
            sent = 0
            try:
                async for piece in answer.stream:
                    if self.settings.attack == "truncate-stream" and sent >= 3:
                        return
                    yield server.encode_chunk(bhttp.encode_content_chunk(piece))
                    sent += 1
            except Exception:
                # The backend failed mid-answer: end without the final chunk, so that the client
                # shows what arrived as incomplete (TruncatedResponse), which it is.
                return
        yield server.encode_final(bhttp.encode_response_end())

    async def index(self, request: Request) -> Response:
        return PlainTextResponse(
            f"enclave-chat reference enclave\n{INSECURE_DEMO_BANNER}\nplatform {self.settings.platform} (simulated)\n"
            f"image {self.image}\nmeasurement {self.measurement.hex()}\n"
            f"upstream {self.backend.describe()}\n")

    def app(self) -> Starlette:
        """The native routes and, beside them, the Tinfoil-compatible ones (``--provider tinfoil``)
        or, with ``Settings(profile="nearai")``, the NEAR AI-compatible ones (``--provider nearai``)."""
        from enclave import nearai_mode, tinfoil_mode

        self.tinfoil = tinfoil_mode.TinfoilMode(self, layout=self.settings.tinfoil_layout)
        self.nearai: nearai_mode.NearAiMode | None = None
        second = tinfoil_mode.routes(self.tinfoil)
        if self.settings.profile == nearai_mode.PROFILE:
            self.nearai = nearai_mode.NearAiMode(self)
            second = nearai_mode.routes(self.nearai)
        app = Starlette(routes=[
            Route("/", self.index),
            Route("/.well-known/attestation", self.attestation, methods=["GET"]),
            Route("/.well-known/ohttp-gateway", self.gateway_keys, methods=["GET"]),
            Route("/.well-known/ohttp-gateway", self.gateway, methods=["POST"]),
            *second,
        ])
        app.state.enclave = self
        return app


def _problem(status: int, title: str, type_: str = "about:blank") -> Response:
    """An RFC 9457 problem document: ``type`` (RFC 9458 §5.3 names the key problem), ``title``."""
    return JSONResponse({"type": type_, "title": title, "status": status}, status_code=status,
                        media_type="application/problem+json")


def _inner_error() -> inner.InnerResponse:
    return inner.InnerResponse(500, ((b"content-type", b"application/json"),),
                               b'{"error": {"message": "the backend could not handle this request"}}')


_ROGUE: list[Any] = []


def _rogue_ask_key() -> Any:
    """An RSA key that is not the demo ASK (made once: RSA-4096 generation is slow)."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    if not _ROGUE:
        _ROGUE.append(rsa.generate_private_key(65537, 3072))
    return _ROGUE[0]


