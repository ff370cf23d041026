"""Tinfoil's documents parse strictly: byte spans of the hashed and signed members, refusals that
name the field, the v2 certificate's encoded names."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from pathlib import Path

import pytest

from tests.tinfoil.conftest import CLOUD, DIRECT, V2_BUNDLE
from verifier.errors import ParseError
from verifier.providers.tinfoil import document as docs


def attestation_body(vectors: Path, name: str) -> bytes:
    return next((vectors / name / "responses").glob("*tinfoil-attestation.body")).read_bytes()


@pytest.mark.vectors
def test_the_gpu_value_is_hashed_as_served(vectors: Path) -> None:
    raw = attestation_body(vectors, DIRECT)
    doc = docs.parse_document(raw)
    assert isinstance(doc, docs.V3Document) and doc.gpu_raw is not None
    assert doc.gpu_raw.startswith(b'{"evidences":[') and doc.gpu_raw in raw
    assert hashlib.sha256(doc.gpu_raw).digest() == doc.gpu_evidence_hash
    assert doc.gpus[0].arch == "HOPPER" and doc.gpus[0].certificate.startswith(b"-----BEGIN CERTIFICATE-----")


@pytest.mark.vectors
def test_the_signed_payload_blanks_the_signature_and_drops_the_newline(vectors: Path) -> None:
    raw = attestation_body(vectors, CLOUD)
    doc = docs.parse_document(raw)
    assert isinstance(doc, docs.V3Document)
    assert raw.endswith(b"}\n") and doc.signed_payload.endswith(b'"signature":""}')
    assert len(raw) - len(doc.signed_payload) == len(base64.b64encode(doc.signature)) + 1
    assert doc.gpu_raw is None and doc.gpu_evidence_hash is None
    preimage = doc.report_data_preimage(nonce=doc.nonce, gpu_hash=None, nvswitch_hash=None)
    assert preimage == doc.tls_key_fp + doc.hpke_key + doc.nonce


def test_member_spans_with_whitespace_and_non_ascii_text() -> None:
    raw = '{ "a" : "é" ,\n "gpu":  {"x": [1, 2]} , "signature" : "c2ln" }\n'.encode()
    doc, spans = docs.member_spans(raw)
    assert raw[slice(*spans["gpu"])] == b'{"x": [1, 2]}'
    assert raw[slice(*spans["signature"])] == b'"c2ln"'
    assert doc["a"] == "é"


@pytest.mark.parametrize(("raw", "field"), [
    (b'{"format": 1, "format": 2}', "document"),  # duplicate members
    (b'{"a": NaN}', "document"),
    (b"[1]", "document"),
    (b"\xff", "document"),
    (b'{"format": "https://tinfoil.sh/predicate/attestation/v4"}', "format"),
    (b'{"format": "https://tinfoil.sh/predicate/attestation/v3", "report_data": []}', "report_data"),
])
def test_malformed_documents_name_the_field(raw: bytes, field: str) -> None:
    with pytest.raises(ParseError) as e:
        docs.parse_document(raw)
    assert e.value.field == field


@pytest.mark.vectors
@pytest.mark.parametrize(("path", "value", "field"), [
    (("report_data", "nonce"), "00", "report_data.nonce"),
    (("report_data", "extra"), "00" * 32, "report_data"),
    (("cpu", "platform"), "nitro", "cpu.platform"),
    (("cpu", "report"), "!!", "cpu.report"),
    (("gpu", "evidences"), {}, "gpu.evidences"),
    (("report_data", "gpu_evidence_hash"), None, "gpu"),  # gpu evidence without its hash
    (("certificate",), "not pem", "certificate"),
])
def test_each_v3_field_is_checked(vectors: Path, path: tuple[str, ...], value: object, field: str) -> None:
    doc = json.loads(attestation_body(vectors, DIRECT))
    target = doc
    for key in path[:-1]:
        target = target[key]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    with pytest.raises(ParseError) as e:
        docs.parse_document(json.dumps(doc).encode())
    assert e.value.field == field


def test_a_gzip_bomb_in_a_v2_body_is_bounded() -> None:
    bomb = gzip.compress(bytes(docs.MAX_REPORT + 1))
    raw = json.dumps({"format": "https://tinfoil.sh/predicate/sev-snp-guest/v2",
                      "body": base64.b64encode(bomb).decode()}).encode()
    with pytest.raises(ParseError, match="more than"):
        docs.parse_document(raw)


@pytest.mark.vectors
def test_the_v2_certificate_names_decode(vectors: Path) -> None:
    doc = docs.parse_document((vectors / V2_BUNDLE).read_bytes())
    assert isinstance(doc, docs.V2Document) and doc.bundle and doc.enclave_cert_pem is not None
    names = docs.certificate_names(docs.load_certificate(doc.enclave_cert_pem, "enclaveCert"))
    assert names.problems == ()
    assert names.hpke_key == doc.report[0x70:0x90]  # REPORT_DATA[32:64]
    assert names.attestation_hash == doc.attestation_hash
    assert docs.spki_sha256(docs.load_certificate(doc.enclave_cert_pem, "enclaveCert")) == doc.report[0x50:0x70]
