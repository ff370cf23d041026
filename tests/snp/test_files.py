"""``evidence verify sev-snp FILE``: appraise_files on real vector files (kind "sev-snp")."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest

from tests.vectors import vector
from verifier import kinds
from verifier.appraisal.offline import OfflineOptions
from verifier.appraisal.policy import parse_policy
from verifier.appraisal.sev_snp.files import appraise_files, expected_report_data
from verifier.endorsements.fetch import CollateralFetcher
from verifier.errors import InputError
from verifier.result import Status

pytestmark = pytest.mark.vectors

AT = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)
POLICY = parse_policy(b'name = "files"\n[snp]\n')


def options(tmp_path: Path, report: str | Path, certs: tuple[str, ...] = (), crls: tuple[str, ...] = (),
            **kw: object) -> OfflineOptions:
    path = report if isinstance(report, Path) else vector(report)
    return OfflineOptions(files=(path,), policy=POLICY, at=AT,
                          fetcher=CollateralFetcher(tmp_path / "cache", offline=True),
                          certs=tuple(vector(c) for c in certs), crls=tuple(vector(c) for c in crls),
                          **kw)  # type: ignore[arg-type]


def test_registry_maps_sev_snp_to_this_module() -> None:
    assert kinds.load(kinds.get_kind("sev-snp").files or "") is appraise_files


def test_go_sev_guest_binary(tmp_path: Path) -> None:
    r = appraise_files(options(tmp_path, "snp/go-sev-guest/attestation.bin",
                               ("snp/go-sev-guest/vcek.testcer", "snp/go-sev-guest/ask_ark_milan.pem"),
                               ("snp/openpcc/test_amd_milan_crl.pem",)))
    assert r.kind == "sev-snp" and r.authentic and not r.verified
    assert r.first_failure is not None and r.first_failure.id == "snp.policy.debug"
    data = vector("snp/go-sev-guest/attestation.bin").read_bytes()
    assert r.evidence["attestation.bin"] == hashlib.sha256(data).hexdigest()
    assert set(r.evidence) == {"attestation.bin", "vcek.testcer", "ask_ark_milan.pem", "test_amd_milan_crl.pem"}
    doc = r.to_json()
    assert doc["authentic"] is True and doc["verified"] is False and doc["kind"] == "sev-snp"


def test_hex_text_report(tmp_path: Path) -> None:
    r = appraise_files(options(tmp_path, "snp/virtee-sev/report_milan.hex",
                               ("snp/virtee-sev/vcek_milan.der", "snp/virtee-sev/cert_chain_milan")))
    assert r.authentic and r.claims["policy"] == "0x30000"


def test_base64_report(tmp_path: Path) -> None:
    import base64

    path = tmp_path / "report.b64"
    path.write_bytes(base64.b64encode(vector("snp/trustee/test-report.bin").read_bytes()))
    r = appraise_files(options(tmp_path, path, ("snp/trustee/test-vcek.der", "snp/trustee/milan_ask_ark_asvk.pem")))
    assert r.authentic


def test_azure_hcl_binary_and_trustee_json(tmp_path: Path) -> None:
    r = appraise_files(options(tmp_path, "snp/openpcc/test_azure_sevsnp_report.bin",
                               ("snp/openpcc/test_vcek.pem", "snp/trustee/genoa_ask_ark_asvk.pem")))
    assert r.authentic and r.claims["azure_hcl"] is True
    assert r.first_failure is not None and r.first_failure.id == "snp.report_data"
    j = appraise_files(options(tmp_path, "snp/trustee/evidence-genoa.json",
                               ("snp/trustee/genoa_ask_ark_asvk.pem",)))
    assert j.authentic and j.claims["azure_hcl"] is True


def test_gce_v4_offline_never_authentic(tmp_path: Path) -> None:
    r = appraise_files(options(tmp_path, "snp/openpcc/test_gce_sevsnp_report.bin"))
    assert not r.authentic and not r.verified
    assert r.first_failure is not None and r.first_failure.id == "snp.chain.certificates"
    assert "VCEK not available" in r.verdict()


def test_nonce_pads_and_report_data_is_exact(tmp_path: Path) -> None:
    certs = ("snp/go-sev-guest/vcek.testcer", "snp/go-sev-guest/ask_ark_milan.pem")
    r = appraise_files(options(tmp_path, "snp/go-sev-guest/attestation.bin", certs, nonce=bytes([1, 2, 3, 4, 5])))
    assert r.check("snp.report_data").status is Status.PASS  # type: ignore[union-attr]
    assert r.nonce == bytes([1, 2, 3, 4, 5])
    full = bytes([1, 2, 3, 4, 5]) + bytes(59)
    assert appraise_files(options(tmp_path, "snp/go-sev-guest/attestation.bin", certs, report_data=full)) \
        .check("snp.report_data").status is Status.PASS  # type: ignore[union-attr]
    wrong = appraise_files(options(tmp_path, "snp/go-sev-guest/attestation.bin", certs, nonce=b"\x01\x02\x03"))
    assert wrong.check("snp.report_data").status is Status.FAIL  # type: ignore[union-attr]


def test_binding_argument_errors() -> None:
    with pytest.raises(InputError, match="64 bytes"):
        expected_report_data(None, bytes(32))
    with pytest.raises(InputError, match="not both"):
        expected_report_data(b"x", bytes(64))
    with pytest.raises(InputError, match="1 to 64"):
        expected_report_data(bytes(65), None)
    assert expected_report_data(None, None) is None


def test_unreadable_and_undecodable_files_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        appraise_files(options(tmp_path, tmp_path / "missing.bin"))
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\xff" * 100)
    with pytest.raises(InputError):
        appraise_files(options(tmp_path, junk))
    bad_json = tmp_path / "e.json"
    bad_json.write_bytes(b'{"report": "nope"}')
    with pytest.raises(InputError, match="report"):
        appraise_files(options(tmp_path, bad_json))


def test_truncated_hex_report_is_a_parse_failure_not_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "short.hex"
    path.write_text(vector("snp/trustee/test-report.bin").read_bytes()[:-16].hex())
    r = appraise_files(options(tmp_path, path))
    assert [c.id for c in r.checks] == ["snp.parse"] and r.checks[0].status is Status.FAIL
    assert "1168" in r.checks[0].detail
