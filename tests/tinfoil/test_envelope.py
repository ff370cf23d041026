"""Tinfoil's current v3 layout (the envelope of its Go SDK): the SDK's three known answers
(``tinfoil/go-sdk/attested-keys-vectors.json``) reproduce, the layout is told by its members and
never guessed (June 2026 documents still read as June, a mix is refused), and the parser is strict
as the SDK is (unknown members, lowercase hex, canonical base64, unique ids, key sizes)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.tinfoil.conftest import CLOUD, DIRECT
from tests.vectors import vector
from verifier.errors import ParseError
from verifier.providers.tinfoil import document as june
from verifier.providers.tinfoil import envelope as env

VECTORS = "tinfoil/go-sdk/attested-keys-vectors.json"
NONCE = bytes(range(32))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def section(fmt: str, items: list[Any]) -> bytes:
    return compact({"format": fmt, "items": items})


def document(crypto: bytes | None = None, device: bytes | None = None, *, nonce: bytes = NONCE,
             collateral: list[Any] | None = None, **top: Any) -> dict[str, Any]:
    """A current-layout document around the given sections (its report is not a real one: these
    tests are about the envelope, which authenticates nothing by itself)."""
    crypto = crypto if crypto is not None else section(env.CRYPTO_MATERIAL_FORMAT, [
        {"id": "tls", "format": env.KEY_TLS_FINGERPRINT, "data": "11" * 32},
        {"id": "hpke", "format": env.KEY_X25519_HPKE, "data": "22" * 32}])
    device = device if device is not None else section(env.DEVICE_EVIDENCE_FORMAT, [])
    ch, dh = hashlib.sha256(crypto).digest(), hashlib.sha256(device).digest()
    doc: dict[str, Any] = {
        "format": env.FORMAT,
        "challenge": {"nonce": nonce.hex(), "report_data": env.compute_report_data(nonce, ch, dh).hex(),
                      "report_data_algorithm": env.REPORT_DATA_ALGORITHM},
        "cpu_evidence": {"format": "https://tinfoil.sh/format/sev-snp-report/v1", "report_base64": b64(bytes(1184)),
                         "endorsed": {"crypto_material_hash": ch.hex(), "device_evidence_hash": dh.hex()}},
        "crypto_material": b64(crypto), "device_evidence": b64(device),
        "collateral": collateral if collateral is not None else [],
    }
    doc.update(top)
    return doc


def parse(doc: dict[str, Any]) -> env.EnvelopeDocument:
    parsed = env.parse_any(compact(doc))
    assert isinstance(parsed, env.EnvelopeDocument)
    return parsed


# -- the Go SDK's known answers -------------------------------------------------------------------

def known_answers() -> list[dict[str, Any]]:
    answers = json.loads(vector(VECTORS).read_bytes())
    assert [a["algorithm"] for a in answers] == ["ecdsa-p256", "ed25519", "x25519"]
    return answers  # type: ignore[no-any-return]


@pytest.mark.vectors
@pytest.mark.parametrize("index", [0, 1, 2], ids=["ecdsa-p256", "ed25519", "x25519"])
def test_the_go_sdk_known_answers_reproduce(index: int) -> None:
    """SHA-256 over the exact base64-decoded section bytes, then report-data/v1: all three answers."""
    v = known_answers()[index]
    nonce = bytes.fromhex(v["nonce"])
    crypto, device = base64.b64decode(v["crypto_material"]), base64.b64decode(v["device_evidence"])
    assert hashlib.sha256(crypto).hexdigest() == v["crypto_material_hash"]
    assert hashlib.sha256(device).hexdigest() == v["device_evidence_hash"]
    report_data = env.compute_report_data(nonce, hashlib.sha256(crypto).digest(), hashlib.sha256(device).digest())
    assert report_data.hex() == v["report_data"]
    assert report_data[32:] == bytes(32)
    # the same sections inside a whole document: the parser keeps their bytes and reads the item
    doc = parse(document(crypto, device, nonce=nonce))
    assert doc.crypto_material_bytes == crypto and doc.device_evidence_bytes == device
    assert doc.expected_report_data(nonce).hex() == v["report_data"]
    assert doc.challenge.report_data.hex() == v["report_data"]
    item = v["item"]
    assert doc.crypto_material == (env.CryptoMaterialItem(item["id"], item["format"], bytes.fromhex(item["data"])),)
    assert item["format"] == env.KEY_SPKI and doc.item(env.TLS_ID) is None and doc.devices == ()


@pytest.mark.vectors
@pytest.mark.parametrize("member", ["id", "format", "data"])
def test_a_changed_item_changes_the_bound_hash(member: str) -> None:
    """As the SDK's own test: an item changed in any member no longer has the endorsed hash."""
    for v in known_answers():
        cm = json.loads(base64.b64decode(v["crypto_material"]))
        cm["items"][0][member] += "00" if member == "data" else "-other"
        changed = compact(cm)
        assert hashlib.sha256(changed).hexdigest() != v["crypto_material_hash"]
        doc = document(nonce=bytes.fromhex(v["nonce"]), crypto=base64.b64decode(v["crypto_material"]))
        doc["crypto_material"] = b64(changed)
        assert parse(doc).crypto_material_hash.hex() != doc["cpu_evidence"]["endorsed"]["crypto_material_hash"]


# -- the layout is told by its members ------------------------------------------------------------

@pytest.mark.vectors
@pytest.mark.parametrize("name", [CLOUD, DIRECT])
def test_the_real_june_documents_still_read_as_june(vectors: Path, name: str) -> None:
    body = next((vectors / name / "responses").glob("*tinfoil-attestation.body")).read_bytes()
    assert isinstance(env.parse_any(body), june.V3Document)
    assert isinstance(june.parse_document(body), june.V3Document)


def test_a_current_document_reads_as_current_and_the_june_parser_refuses_it() -> None:
    raw = compact(document())
    assert isinstance(env.parse_any(raw), env.EnvelopeDocument)
    with pytest.raises(ParseError) as e:
        june.parse_document(raw)
    assert e.value.reason == "layout"


@pytest.mark.parametrize("extra", [{"signature": ""}, {"report_data": {}}, {"cpu": {}}, {"certificate": "x"}])
def test_a_mix_of_the_layouts_is_refused_as_a_layout_error(extra: dict[str, Any]) -> None:
    with pytest.raises(ParseError) as e:
        env.parse_any(compact(document(**extra)))
    assert e.value.reason == "layout" and "mixes" in str(e.value)


def test_a_v3_document_of_neither_layout_is_refused_as_a_layout_error() -> None:
    with pytest.raises(ParseError) as e:
        env.parse_any(compact({"format": env.FORMAT}))
    assert e.value.reason == "layout" and "neither" in str(e.value)


# -- strict, as the SDK is ----------------------------------------------------------------------

Edit = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Edit:
    def edit(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = doc
        for p in parents:
            target = target[p]
        target[last] = value
    return edit


def _crypto(items: list[Any]) -> Edit:
    def edit(doc: dict[str, Any]) -> None:
        data = section(env.CRYPTO_MATERIAL_FORMAT, items)
        doc["crypto_material"] = b64(data)
    return edit


def _device(items: list[Any]) -> Edit:
    def edit(doc: dict[str, Any]) -> None:
        doc["device_evidence"] = b64(section(env.DEVICE_EVIDENCE_FORMAT, items))
    return edit


GPU = {"arch": "HOPPER", "certificate": b64(b"c"), "evidence": b64(b"e"), "nonce": "00" * 32}


@pytest.mark.parametrize(("edit", "where"), [
    (_set("extra", 1), "document: has unknown members"),
    (_set("challenge.nonce", "AB" * 32), "challenge.nonce: must be lowercase hex"),
    (_set("challenge.nonce", "ab" * 31), "challenge.nonce: must be 32 bytes"),
    (_set("challenge.report_data_algorithm", "https://tinfoil.sh/report-data/v2"), "challenge.report_data_algorithm"),
    (_set("challenge.extra", ""), "challenge: has unknown members"),
    (_set("cpu_evidence.format", "https://tinfoil.sh/format/nitro/v1"), "cpu_evidence.format"),
    (_set("cpu_evidence.report_base64", "AAB="), "cpu_evidence.report_base64: is not canonical base64"),
    (_set("cpu_evidence.endorsed.crypto_material_hash", "00"), "cpu_evidence.endorsed.crypto_material_hash"),
    (_set("crypto_material", b64(b"[]")), "crypto_material: must be a JSON object"),
    (_set("crypto_material", b64(compact({"format": env.CRYPTO_MATERIAL_FORMAT}))), "crypto_material: lacks"),
    (_set("crypto_material", b64(compact({"format": "x", "items": []}))), "crypto_material: format"),
    (_crypto([{"id": "a", "format": "f", "data": "00"}, {"id": "a", "format": "f", "data": "00"}]), "appears twice"),
    (_crypto([{"id": "tls", "format": env.KEY_TLS_FINGERPRINT, "data": "00" * 31}]), "must be 32 bytes"),
    (_crypto([{"id": "k", "format": "https://example/other", "data": "abc"}]), "even number of lowercase hex"),
    (_crypto([{"id": "k", "format": "https://example/other", "data": ""}]), "even number of lowercase hex"),
    (_crypto([{"id": "", "format": "f", "data": "00"}]), ".id: is empty"),
    (_crypto([{"id": "k", "format": "f", "data": "00", "extra": 1}]), "has unknown members"),
    (_device([{"id": "gpu0", "kind": "gpu", "vendor": "nvidia", "format": "https://example/gpu", "evidence": {}}]),
     "cannot appraise"),
    (_device([{"id": "gpu0", "kind": "gpu", "vendor": "nvidia", "format": env.NVIDIA_GPU_FORMAT,
               "evidence": {**GPU, "rims": []}}]), "has unknown members"),
    (_device([{"id": "d", "evidence": 1}, {"id": "d", "evidence": 2}]), "appears twice"),
    (_set("collateral", [{"id": "x", "role": "owner", "format": "f", "data": {}}]), "role is"),
    (_set("collateral", [{"id": "x", "role": "endorsement", "format": "f", "data": []}]), "is not a JSON object"),
    (_set("collateral", [{"id": "x", "role": "endorsement", "format": "f", "data": {}},
                         {"id": "x", "role": "endorsement", "format": "g", "data": {}}]), "appears twice"),
    (_set("collateral", [{"id": "v", "role": "endorsement", "format": env.AMD_VCEK, "subjects": ["cpu"],
                          "data": {"vcek_der_base64": b64(b"v")}}]), "lacks"),
    (_set("collateral", [{"id": "c", "role": "reference-values", "format": env.SIGSTORE_CODE,
                          "data": {"repo": "r", "tag": "t", "digest": "AB" * 32, "sigstore_bundle": {}}}]),
     "must be lowercase hex"),
])
def test_the_parser_is_strict(edit: Edit, where: str) -> None:
    doc = document()
    edit(doc)
    with pytest.raises(ParseError, match=where.replace("(", r"\(").replace(".", r"\.")):
        env.parse_any(compact(doc))


def test_unknown_formats_are_kept_for_shape_only_and_known_ones_decoded() -> None:
    crypto = section(env.CRYPTO_MATERIAL_FORMAT, [
        {"id": "tls", "format": env.KEY_TLS_FINGERPRINT, "data": "11" * 32},
        {"id": "workload-key", "format": env.KEY_SPKI, "data": "3059"}])
    device = section(env.DEVICE_EVIDENCE_FORMAT, [
        {"id": "gpu0", "kind": "gpu", "vendor": "nvidia", "format": env.NVIDIA_GPU_FORMAT, "evidence": GPU},
        {"id": "clock", "kind": "guest-clock", "vendor": "tinfoil", "format": "https://example/clock", "evidence": {}}])
    collateral = [
        {"id": "vcek", "role": "endorsement", "format": env.AMD_VCEK, "subjects": ["cpu"],
         "data": {"vcek_der_base64": b64(b"vcek"), "cert_chain_pem": "PEM"}},
        {"id": "other-vcek", "role": "endorsement", "format": env.AMD_VCEK, "subjects": ["cpu"],
         "data": {"vcek_der_base64": b64(b"second"), "cert_chain_pem": ""}},
        {"id": "pcs", "role": "endorsement", "format": env.INTEL_PCS, "subjects": ["gpu0"],
         "data": {"responses": []}},
        {"id": "code", "role": "reference-values", "format": env.SIGSTORE_CODE,
         "data": {"repo": "tinfoilsh/x", "tag": "v1", "digest": "ab" * 32, "sigstore_bundle": {"mediaType": "m"}}},
        {"id": "code-freshness", "role": "reference-values", "format": env.SIGSTORE_FRESHNESS,
         "data": {"sigstore_bundle": {"mediaType": "w"}}},
        {"id": "tinfoil-config", "role": "reference-values", "format": "https://tinfoil.sh/collateral/config-endorsement/v1",
         "data": {"anything": [1, 2]}},
    ]
    doc = parse(document(crypto, device, collateral=collateral))
    assert [i.id for i in doc.crypto_material] == ["tls", "workload-key"] and doc.item("hpke") is None
    assert [d.id for d in doc.gpus] == ["gpu0"] and doc.gpus[0].gpu is not None
    assert doc.gpus[0].gpu.arch == "HOPPER" and [d.kind for d in doc.devices] == ["gpu", "guest-clock"]
    c = doc.collateral
    assert c.vcek == env.AmdVcek(b"vcek", b"PEM")  # the first entry serving the CPU
    assert c.intel_pcs is None  # a PCS entry for another subject does not serve the CPU
    assert c.sigstore_code is not None and c.sigstore_code.digest == "ab" * 32 and c.sigstore_code.tag == "v1"
    assert set(c.freshness) == {"code-freshness"}
    assert c.ignored == ("tinfoil-config (https://tinfoil.sh/collateral/config-endorsement/v1)",)


def test_collateral_may_be_null_or_absent_and_a_document_is_bounded() -> None:
    doc = document()
    doc["collateral"] = None  # Go's encoding/json writes a nil slice so
    assert parse(doc).collateral == env.Collateral()
    del doc["collateral"]
    assert parse(doc).collateral.ignored == ()
    with pytest.raises(ParseError, match="larger than"):
        env.parse_any(b" " * (june.MAX_DOCUMENT + 1))
