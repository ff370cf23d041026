"""``evidence verify nvidia-gpu``: files in, one AttestationResult out (kind, digests, checks, claims)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.nvidia import nv
from tests.vectors import vector
from verifier.appraisal.nvidia.files import appraise_files
from verifier.appraisal.offline import OfflineOptions
from verifier.appraisal.policy import parse_policy
from verifier.endorsements.fetch import CollateralFetcher
from verifier.errors import InputError

pytestmark = pytest.mark.vectors

POLICY = parse_policy(b'name = "t"\n[gpu]\nrim_ocsp = "if-available"\n')


def _opts(tmp_path: Path, files: list[Path], **kw: object) -> OfflineOptions:
    return OfflineOptions(files=tuple(files), policy=POLICY, at=nv.T_GPU_OCSP,
                          fetcher=CollateralFetcher(tmp_path / "cache", offline=True), **kw)  # type: ignore[arg-type]


def test_matching_set_from_files_is_verified(tmp_path: Path) -> None:
    report = vector(nv.PYPI + "hopperAttestationReport.txt")
    rims = tuple(vector(nv.GOOGLE + "rim/" + n) for n in ("NV_GPU_DRIVER_GH100_550.90.07.xml",
                                                         "NV_GPU_VBIOS_1010_0200_882_96009F0001.xml"))
    ocsp = tuple(sorted(vector(nv.GOOGLE + "ocsp").glob("*.dat")))
    result = appraise_files(_opts(tmp_path, [report], certs=(vector(nv.PYPI + "hopperCertChain.txt"),),
                                           rims=rims, ocsp=ocsp, nonce=nv.H100_NONCE))
    assert result.verified and result.kind == "nvidia-gpu"
    doc = result.to_json()
    assert doc["evidence"]["report"] == hashlib.sha256(nv.h100()[0]).hexdigest()
    assert doc["evidence"]["certificate_chain"] == hashlib.sha256(nv.h100()[1]).hexdigest()
    assert "rim:NV_GPU_DRIVER_GH100_550.90.07.xml" in doc["evidence"] and len(doc["evidence"]) == 2 + 2 + 7
    assert doc["nonce"] == nv.H100_NONCE.hex() and doc["claims"]["driver_version"] == "550.90.07"
    assert [c["id"] for c in doc["checks"]][:3] == ["gpu.0.parse", "gpu.0.chain.root_pinned", "gpu.0.chain"]


def test_binary_and_base64_reports_read_the_same(tmp_path: Path) -> None:
    import base64

    raw = nv.h100()[0]
    binary, b64 = tmp_path / "r.bin", tmp_path / "r.b64"
    binary.write_bytes(raw)
    b64.write_bytes(base64.b64encode(raw))
    chain = (vector(nv.PYPI + "hopperCertChain.txt"),)
    results = [appraise_files(_opts(tmp_path, [p], certs=chain)) for p in (binary, b64)]
    assert all(r.authentic for r in results)
    assert results[0].evidence["report"] == results[1].evidence["report"] == hashlib.sha256(raw).hexdigest()


def test_offline_without_collateral_is_authentic_not_verified(tmp_path: Path) -> None:
    result = appraise_files(_opts(tmp_path, [vector(nv.PYPI + "hopperAttestationReport.txt")],
                                           certs=(vector(nv.PYPI + "hopperCertChain.txt"),), nonce=nv.H100_NONCE))
    assert result.authentic and not result.verified
    first = result.first_failure
    assert first is not None and first.id == "gpu.0.ocsp"


def test_nras_shaped_json_is_several_devices(tmp_path: Path) -> None:
    result = appraise_files(_opts(tmp_path, [vector(nv.SDK + "serialized_test_evidence/multi_gpu_hopper.json")]))
    assert result.authentic
    assert {"gpu.count", "gpu.distinct", "gpu.mode", "gpu.3.signature"} <= {c.id for c in result.checks}
    assert "gpu.3.report" in result.evidence


def test_unparseable_report_is_a_failing_parse_check(tmp_path: Path) -> None:
    bad = tmp_path / "bad.hex"
    bad.write_text("11e001ff00")
    result = appraise_files(_opts(tmp_path, [bad], certs=(vector(nv.PYPI + "hopperCertChain.txt"),)))
    assert not result.verified and result.first_failure is not None
    assert result.first_failure.id == "gpu.0.parse"


def test_missing_chain_and_unreadable_files_are_usage_errors(tmp_path: Path) -> None:
    report = vector(nv.PYPI + "hopperAttestationReport.txt")
    with pytest.raises(InputError, match="--cert"):
        appraise_files(_opts(tmp_path, [report]))
    with pytest.raises(InputError):
        appraise_files(_opts(tmp_path, [tmp_path / "absent"]))
    junk = tmp_path / "junk.ocsp"
    junk.write_bytes(b"not an answer")
    with pytest.raises(InputError, match="OCSP"):
        appraise_files(_opts(tmp_path, [report], certs=(vector(nv.PYPI + "hopperCertChain.txt"),),
                                      ocsp=(junk,)))
    odd = tmp_path / "odd.hex"
    odd.write_text("abc")
    with pytest.raises(InputError, match="odd"):
        appraise_files(_opts(tmp_path, [odd], certs=(vector(nv.PYPI + "hopperCertChain.txt"),)))
