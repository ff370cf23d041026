"""trustee's NVIDIA test data (confidential-containers/trustee @78962cd, deps/verifier/test_data/nvidia/),
and the "Compared with the reference" table of docs/nvidia.md.

* ``hopper_coco_report1.txt`` + ``hopper_coco_certs1.txt``: an H100's report from a confidential-containers
  CI run; trustee's test gives it the 48-byte report data :data:`COCO_NONCE`, which trustee cuts to
  SPDM's 32 bytes (``regularize_data``: longer is truncated, shorter zero-padded). The report carries
  the *first* 32 bytes. As given, one byte (0x00) follows the signature.
* ``hopper_cert_chain_case{1..4}.txt``: the cases of trustee's ``cert_chain.rs``. case1 is the PyPI H100
  report's chain, byte for byte; case2 is its root alone; case3 lacks the provisioner ICA; case4 lacks
  the leaf (the report's signer).

Expectations from ../shared/vectors/README.md ("More NVIDIA"). ``test_reference_table`` keeps the
documentation's table naming tests that exist.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from tests.nvidia import nv, pki
from tests.vectors import vector
from verifier.appraisal.nvidia import GpuAppraisal, appraise_gpu
from verifier.appraisal.nvidia.checks import CATALOGUE, doc_form
from verifier.appraisal.policy import Policy, parse_policy
from verifier.endorsements.nvidia_anchors import DEVICE_IDENTITY_CA_SPKI_SHA256
from verifier.endorsements.nvidia_chain import PathError, common_name, load_chain, validate_path
from verifier.evidence.nvidia import REQUEST_SIZE, SIGNATURE_SIZE, parse_report, parse_request
from verifier.result import Status

vectors = pytest.mark.vectors

TRUSTEE = "nvidia/trustee/"
COCO_REPORT = TRUSTEE + "hopper_coco_report1.txt"
COCO_CERTS = TRUSTEE + "hopper_coco_certs1.txt"
COCO_NONCE = bytes.fromhex("87d8e24ab336adafe228d49e83d745f6dba4ae505372b6a5704820856b343fec"
                           "e279b616efefc2aae21da80cf5581250")
"""The report data trustee's ``test_evaluation`` gives with the coco set (48 bytes)."""
T_COCO = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
"""Any time will do: every certificate of the coco chain is valid 2020..9999."""
T_COCO_VBIOS_RIM = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
"""Inside 2023-09-06..2025-09-05, where the PyPI VBIOS RIM 96.00.74.00.1A's L4 signer is valid."""

DEFAULT = parse_policy(b'name = "default-like"\n')
LENIENT = parse_policy(b'name = "t"\n[gpu]\nocsp = "if-available"\nrims = "if-available"\n')
NO_OCSP = parse_policy(b'name = "t"\n[gpu]\nocsp = "off"\n')


def status(a: GpuAppraisal, cid: str) -> Status:
    c = a.check(cid)
    assert c is not None, f"no check {cid}: {[c.id for c in a.checks]}"
    return c.status


def detail(a: GpuAppraisal, cid: str) -> str:
    c = a.check(cid)
    assert c is not None, f"no check {cid}"
    return c.detail


def failing(a: GpuAppraisal) -> list[str]:
    return [c.id for c in a.checks if c.status is Status.FAIL]


def coco_as_given() -> bytes:
    """The coco report as trustee stores it (hex), decoded: 4130 bytes."""
    return nv.report(COCO_REPORT)


def coco_signed() -> bytes:
    """The coco report without the byte after its signature: what trustee reads by the lengths."""
    raw = coco_as_given()
    assert raw[-1:] == b"\x00"
    return raw[:-1]


def coco(report: bytes, *, policy: Policy = DEFAULT, nonce: bytes | None = COCO_NONCE[:32],
         at: dt.datetime = T_COCO, rims: list[bytes] | None = None) -> GpuAppraisal:
    return appraise_gpu(report, nv.read(COCO_CERTS), policy=policy, at=at, expected_nonce=nonce,
                        arch="HOPPER", rims=rims or [])


def _verifies(leaf: x509.Certificate, signed: bytes, signature: bytes) -> bool:
    der = encode_dss_signature(int.from_bytes(signature[:48], "big"), int.from_bytes(signature[48:], "big"))
    public = leaf.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    try:
        public.verify(der, signed, ec.ECDSA(hashes.SHA384()))
    except InvalidSignature:
        return False
    return True


# -- the coco set --------------------------------------------------------------------------------


@vectors
def test_coco_report_carries_the_first_32_bytes_of_the_48_byte_nonce() -> None:
    """trustee truncates its 48-byte report data to SPDM's 32 bytes: the first 32 are in the request."""
    request = parse_request(coco_as_given()[:REQUEST_SIZE])
    assert len(COCO_NONCE) == 48
    assert request.nonce == COCO_NONCE[:32]
    assert request.nonce != COCO_NONCE[-32:]
    assert request.nonce.hex() == "87d8e24ab336adafe228d49e83d745f6dba4ae505372b6a5704820856b343fec"


@vectors
def test_coco_chain_holds_to_the_pinned_device_identity_root() -> None:
    """Another H100 than the PyPI report's (its own leaf and BROM), under the same ICA, identity CA and root."""
    chain = load_chain(nv.read(COCO_CERTS))
    path = validate_path(chain, pin=DEVICE_IDENTITY_CA_SPKI_SHA256, at=T_COCO)
    assert [common_name(c) for c in path.certificates] == [
        "GH100 A01 GSP FMC LF", "GH100 A01 GSP BROM", "NVIDIA GH100 Provisioner ICA 1", "NVIDIA GH100 Identity",
        "NVIDIA Device Identity CA"]
    h100 = load_chain(nv.h100()[1])
    assert chain[:2] != h100[:2] and chain[2:] == h100[2:]


@vectors
def test_coco_report_as_given_is_refused_for_the_byte_after_its_signature() -> None:
    """4130 bytes: the signed report is 4129, then one 0x00 that nothing signs. Our parser refuses
    it (``gpu.0.parse``, as for any trailing byte); the chain still holds to the pinned root."""
    raw = coco_as_given()
    assert len(raw) == 4130
    a = coco(raw)
    assert status(a, "gpu.0.parse") is Status.FAIL and "1 bytes follow the signature" in detail(a, "gpu.0.parse")
    assert status(a, "gpu.0.chain.root_pinned") is Status.PASS and status(a, "gpu.0.chain") is Status.PASS
    assert failing(a) == ["gpu.0.parse"] and not a.authentic and not a.verified
    assert a.check("gpu.0.signature") is None          # nothing after parse runs without a report


@vectors
def test_coco_references_disagree_on_the_byte_after_the_signature() -> None:
    """trustee reads the report by its lengths and signs request || response up to the signature, so
    the trailing byte is ignored; nvtrust verifies the signature over everything but the last 96 bytes,
    which with that byte includes the signature's first byte: it does not verify."""
    raw = coco_as_given()
    leaf = load_chain(nv.read(COCO_CERTS))[0]
    report = parse_report(coco_signed())
    signature = report.response.signature
    assert _verifies(leaf, coco_signed()[:-SIGNATURE_SIZE], signature)        # trustee's bytes
    assert not _verifies(leaf, raw[:-SIGNATURE_SIZE], signature)              # nvtrust's bytes


@vectors
def test_coco_report_without_that_byte_is_authentic_and_not_verified_offline() -> None:
    """Parse, pin, chain, FWID, signature, nonce (the first 32 bytes) and architecture pass. Offline,
    with no OCSP answer and no RIM for driver 580.95.05 / VBIOS 96.00.74.00.1A, the default policy
    leaves it unverified: ``gpu.0.ocsp`` fails (required), the RIM checks and the measurements are
    required skips. With ``ocsp`` and ``rims`` "if-available" it is verified, nothing compared."""
    a = coco(coco_signed())
    for cid in ("gpu.0.parse", "gpu.0.chain.root_pinned", "gpu.0.chain", "gpu.0.fwid", "gpu.0.signature",
                "gpu.0.nonce", "gpu.0.arch"):
        assert status(a, cid) is Status.PASS, cid
    assert a.authentic and not a.verified
    assert failing(a) == ["gpu.0.ocsp"] and "no OCSP answer" in detail(a, "gpu.0.ocsp")
    required_skips = [c.id for c in a.checks if c.status is Status.SKIP and c.required]
    assert required_skips == [f"gpu.0.rim.{k}.{s}" for k in ("driver", "vbios")
                              for s in ("chain", "signature", "version", "device")] + ["gpu.0.measurements"]
    assert "NV_GPU_DRIVER_GH100_580.95.05" in detail(a, "gpu.0.rim.driver.chain")
    assert "NV_GPU_VBIOS_1010_0200_882_960074001A" in detail(a, "gpu.0.rim.vbios.chain")
    lenient = coco(coco_signed(), policy=LENIENT)
    assert lenient.verified and status(lenient, "gpu.0.measurements") is Status.SKIP


@vectors
@pytest.mark.parametrize(("nonce", "outcome"), [
    (COCO_NONCE[:32], Status.PASS),
    (COCO_NONCE, Status.FAIL),            # we compare the whole expected nonce: no truncation
    (COCO_NONCE[-32:], Status.FAIL),
    (None, Status.SKIP),
])
def test_coco_nonce_is_compared_whole(nonce: bytes | None, outcome: Status) -> None:
    a = coco(coco_signed(), policy=NO_OCSP, nonce=nonce)
    assert a.authentic and status(a, "gpu.0.nonce") is outcome


@vectors
def test_coco_report_with_pypis_vbios_rim_for_its_version() -> None:
    """PyPI's VBIOS RIM 1010_0200_882_960074001A is for this report's board and VBIOS: inside its signer's
    window it verifies, is for the version and the chip, and 11 of its 12 active indices equal; index 9
    differs (the report's value is the PyPI H100's, on another VBIOS). nvtrust exempts only index 35."""
    rim = nv.read(nv.PYPI + "1010_0200_882_960074001A_PROD.swidtag")
    a = coco(coco_signed(), policy=LENIENT, at=T_COCO_VBIOS_RIM, rims=[rim])
    for cid in ("gpu.0.rim.vbios.chain", "gpu.0.rim.vbios.signature", "gpu.0.rim.vbios.version",
                "gpu.0.rim.vbios.device"):
        assert status(a, cid) is Status.PASS, cid
    assert failing(a) == ["gpu.0.measurements"] and a.authentic and not a.verified
    measurements = a.claims["measurements"]
    assert isinstance(measurements, dict)
    assert (measurements["active"], measurements["equal"], measurements["differ"]) == (12, 11, [9])


def _cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], report: Path,
         nonce: bytes) -> tuple[int, dict[str, object] | None, str]:
    from enclave_chat.cli import main

    monkeypatch.setenv("ENCLAVE_CHAT_CACHE_DIR", str(tmp_path / "cache"))
    code = main(["evidence", "verify", "nvidia-gpu", str(report), "--cert", str(vector(COCO_CERTS)),
                 "--nonce", nonce.hex(), "--at", "2026-01-01T00:00:00Z", "--offline", "--json"])
    out = capsys.readouterr()
    return code, (json.loads(out.out) if out.out.strip() else None), out.err


@vectors
def test_coco_set_through_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    """As given: exit 1, not authentic, ``gpu.0.parse`` the one failure, the chain holds. Without the
    trailing byte: authentic, the nonce passes, and offline the default policy fails ``gpu.0.ocsp``.
    trustee's 48-byte nonce is a usage error (exit 2): the SPDM nonce is 32 bytes."""
    code, doc, _ = _cli(tmp_path, monkeypatch, capsys, vector(COCO_REPORT), COCO_NONCE[:32])
    assert code == 1 and doc is not None and doc["authentic"] is False
    checks = {c["id"]: c["status"] for c in doc["checks"]}  # type: ignore[attr-defined]
    assert [i for i, s in checks.items() if s == "fail"] == ["gpu.0.parse"]
    assert checks["gpu.0.chain"] == "pass" and checks["gpu.0.chain.root_pinned"] == "pass"

    stripped = tmp_path / "coco-signed.bin"
    stripped.write_bytes(coco_signed())
    code, doc, _ = _cli(tmp_path, monkeypatch, capsys, stripped, COCO_NONCE[:32])
    assert code == 1 and doc is not None and doc["authentic"] is True and doc["verified"] is False
    checks = {c["id"]: c["status"] for c in doc["checks"]}  # type: ignore[attr-defined]
    assert checks["gpu.0.nonce"] == "pass" and [i for i, s in checks.items() if s == "fail"] == ["gpu.0.ocsp"]

    code, doc, err = _cli(tmp_path, monkeypatch, capsys, stripped, COCO_NONCE)
    assert code == 2 and doc is None and "32 bytes" in err


# -- trustee's chain cases -------------------------------------------------------------------------


def _case(n: int) -> bytes:
    return nv.read(TRUSTEE + f"hopper_cert_chain_case{n}.txt")


def _ders(chain: bytes) -> list[bytes]:
    return [c.public_bytes(serialization.Encoding.DER) for c in load_chain(chain)]


@vectors
def test_chain_case1_is_the_pypi_h100_chain() -> None:
    """Byte for byte the PyPI report's chain (so every outcome of that set holds for it)."""
    report, chain = nv.h100()
    assert _case(1) == chain
    a = appraise_gpu(report, _case(1), policy=NO_OCSP, at=nv.T_GPU_OCSP, expected_nonce=nv.H100_NONCE)
    assert a.authentic and status(a, "gpu.0.nonce") is Status.PASS


@vectors
def test_chain_cases_2_to_4_are_case1_with_certificates_left_out() -> None:
    good = _ders(_case(1))
    assert _ders(_case(2)) == good[4:]                  # the root alone
    assert _ders(_case(3)) == good[:2] + good[3:]       # without NVIDIA GH100 Provisioner ICA 1
    assert _ders(_case(4)) == good[1:]                  # without the leaf GH100 A01 GSP FMC LF


def test_a_root_alone_is_no_path(device: pki.DevicePki) -> None:
    """The pinned root with nothing below it (trustee's case2, under test roots): refused for that, not
    for the root's key usage; the pin itself holds, so ``gpu.N.chain.root_pinned`` passes."""
    with pytest.raises(PathError) as e:
        validate_path([device.root.cert], pin=device.pin, at=pki.AT)
    assert e.value.reason == "incomplete" and "alone" in str(e.value)
    report = pki.report(device, nv.H100_NONCE, pki.measurements())
    policy = parse_policy(pki.policy_text(device.pin, device.pin, ocsp="off"))
    root_pem = device.root.cert.public_bytes(serialization.Encoding.PEM)
    a = appraise_gpu(report, root_pem, policy=policy, at=pki.AT, expected_nonce=nv.H100_NONCE)
    assert status(a, "gpu.0.chain.root_pinned") is Status.PASS and status(a, "gpu.0.chain") is Status.FAIL
    assert "alone" in detail(a, "gpu.0.chain") and not a.authentic


CHAIN_CASES = [
    # case, how validate_path refuses it, the checks that fail, what gpu.0.chain says
    (2, "incomplete", ["gpu.0.chain", "gpu.0.fwid", "gpu.0.signature", "gpu.0.arch"],
     "the chain is 'NVIDIA Device Identity CA' alone"),
    (3, "issuer", ["gpu.0.chain"],
     "names issuer 'C=US,O=NVIDIA Corporation,CN=NVIDIA GH100 Provisioner ICA 1', but the next certificate "
     "is 'NVIDIA GH100 Identity'"),
    (4, "usage", ["gpu.0.chain", "gpu.0.fwid", "gpu.0.signature"],
     "the leaf ('GH100 A01 GSP BROM') may not sign"),
]


@vectors
@pytest.mark.parametrize(("case", "reason", "fails", "text"), CHAIN_CASES)
def test_trustee_broken_chain_cases_are_refused(case: int, reason: str, fails: list[str], text: str) -> None:
    """With the PyPI H100 report: the pin passes (each ends at the real root), ``gpu.0.chain`` fails
    for the case's own reason. case3 keeps the genuine leaf, so FWID and signature pass and the chain
    alone refuses; case2 and case4 have no leaf at all, so FWID (trustee's reason for case4) and the
    signature fail too; case2's "leaf" names no device, so does the architecture."""
    with pytest.raises(PathError) as e:
        validate_path(load_chain(_case(case)), pin=DEVICE_IDENTITY_CA_SPKI_SHA256, at=nv.T_GPU_OCSP)
    assert e.value.reason == reason
    a = appraise_gpu(nv.h100()[0], _case(case), policy=DEFAULT, at=nv.T_GPU_OCSP,
                     expected_nonce=nv.H100_NONCE, ocsp=nv.ocsp_answers())
    assert status(a, "gpu.0.chain.root_pinned") is Status.PASS
    assert failing(a)[:len(fails)] == fails and text in detail(a, "gpu.0.chain")
    assert status(a, "gpu.0.ocsp") is Status.SKIP and "the chain does not hold" in detail(a, "gpu.0.ocsp")
    assert not a.authentic and not a.verified


# -- docs/nvidia.md, "Compared with the reference" --------------------------------------------------

TOPICS = ("root", "chain shape", "FWID", "OCSP, device chain", "OCSP nonce", "RIM signature", "RIM revocation",
          "versions", "measurements", "NVDEC0", "PPCIe topology", "nonce", "a byte after the signature (the coco set)",
          "trustee's chain cases")
"""The first cell of each row, in order (a row may add the issue point it settles: "OCSP nonce (#13.9)")."""


def test_reference_table() -> None:
    """Each row of docs/nvidia.md's "Compared with the reference" table names tests of tests/nvidia/
    that exist, and any check id it names is in the catalogue; the rows cover the topics above."""
    doc = (Path(__file__).parents[2] / "docs" / "nvidia.md").read_text()
    section = doc.split("\n## Compared with the reference\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("| ")]
    header, rows = lines[0], lines[1:]
    assert header.split("|")[-2].strip() == "test"
    rows = [r for r in rows if not r.startswith("|---")]
    here = "".join(p.read_text() for p in sorted(Path(__file__).parent.glob("test_*.py")))
    catalogue = {doc_form(t) for t in CATALOGUE}
    topics = []
    for row in rows:
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        assert len(cells) == 5, row
        topics.append(cells[0])
        tests = re.findall(r"`(test_[a-z0-9_]+)`", cells[4])
        assert tests, row
        for test in tests:
            assert f"def {test}(" in here, (test, row)
        for cid in re.findall(r"`(gpu\.[A-Za-z0-9_.]+)`", cells[3]):
            assert cid in catalogue, (cid, row)
    assert [t.split(" (#")[0] for t in topics] == list(TOPICS)
