"""`evidence inspect` decodes each real evidence format, and refuses what it cannot decode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from verifier.errors import InputError
from verifier.inspection import inspect_bytes, inspect_file


@pytest.mark.parametrize(("relative", "encoding", "fmt"), [
    ("snp/go-sev-guest/attestation.bin", "binary", "sev-snp report"),
    ("snp/virtee-sev/report_milan.hex", "hex", "sev-snp report"),
    ("snp/openpcc/test_azure_sevsnp_report.bin", "binary", "azure hcl report"),
    ("tdx/go-tdx-guest/quote_v5_sample.dat", "binary", "tdx quote"),
    ("nvidia/pypi_nv_local_gpu_verifier_2.7.3/hopperAttestationReport.txt", "hex", "nvidia spdm"),
])
def test_real_evidence_decodes(vectors: Path, relative: str, encoding: str, fmt: str) -> None:
    doc = inspect_file(vectors / relative)
    assert doc["encoding"] == encoding
    assert doc["format"].startswith(fmt)
    json.dumps(doc)  # every value is plain JSON


def test_snp_fields_are_named(vectors: Path) -> None:
    doc = inspect_file(vectors / "snp/go-sev-guest/attestation.bin")
    assert doc["version"] == 2 and doc["policy"] == 0xB0000 and doc["debug"] is True
    assert len(doc["measurement"]) == 96


@pytest.mark.parametrize("data", [b"", b"   ", b"\x00" * 100, b"{not json", b"zz top"])
def test_undecodable_input_is_a_typed_error(data: bytes) -> None:
    with pytest.raises(InputError):
        inspect_bytes(data)
