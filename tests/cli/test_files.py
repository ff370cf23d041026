"""Hostile and broken input files for every command that reads one (docs/cli.md): the exit code the
contract names, one line on stderr, no traceback, and never a hang or an unbounded read."""

from __future__ import annotations

import base64
import random
from pathlib import Path

import pytest

from tests.cli.conftest import Cli, contract
from tests.vectors import vector

pytestmark = pytest.mark.vectors

SNP = "snp/go-sev-guest/attestation.bin"
TDX = "tdx/go-tdx-guest/quote_v5_sample.dat"
GPU = "nvidia/pypi_nv_local_gpu_verifier_2.7.3/hopperAttestationReport.txt"
GPU_CHAIN = "nvidia/pypi_nv_local_gpu_verifier_2.7.3/hopperCertChain.txt"
TINFOIL = "tinfoil/verifier/tinfoil_real_sev_snp_attestation.json"
BUNDLE = "sigstore/cli-cli/reusable-workflow-attestation.sigstore.json"
MEASUREMENT = "ab" * 48
IMAGE = "sha256:" + "0" * 64


def v(relative: str) -> str:
    return str(vector(relative))


def kind_args(kind: str) -> list[str]:
    """What each kind needs besides the report, so that the report is what gets judged."""
    return ["--cert", v(GPU_CHAIN)] if kind == "nvidia-gpu" else []


@pytest.fixture
def bad_files(tmp_path: Path) -> dict[str, Path]:
    """One of each kind of broken file the contract must survive."""
    rng = random.Random(1185)  # fixed: the same bytes on every run
    contents = {
        "empty": b"",
        "random": b"\x00" + rng.randbytes(2999),
        "json-looking-binary": b"{" + rng.randbytes(2999),
        "truncated": vector(SNP).read_bytes()[:600],
        "odd-hex": b"abc\n",
        "base64-garbage": b"QUJD$$$==\n",
        "base64-bad-padding": b"QUJDR",
        "base64-mixed": b"QUJD-+/_",
        "wrong-size": rng.randbytes(1185),
    }
    files = {"directory": tmp_path, "missing": tmp_path / "absent.bin"}
    for name, data in contents.items():
        files[name] = tmp_path / f"{name}.bin"
        files[name].write_bytes(data)
    big = files["50MB"] = tmp_path / "big.bin"
    with big.open("wb") as f:
        f.truncate(50 * 1024 * 1024)  # sparse: cheap to make, must still be refused unread
    return files


def test_broken_report_files_exit_2_in_one_line(cli: Cli, bad_files: dict[str, Path]) -> None:
    """A file that cannot be read or decoded at all is exit 2, for each kind (in turn) and inspect.
    (A binary file of the wrong size is not "binary" by the detection rule, and not hex or base64
    either: it cannot be decoded at all.)"""
    kinds = ("sev-snp", "tdx", "nvidia-gpu")
    cases = [["evidence", "verify", kind, str(path), *kind_args(kind), "--offline", "--json"]
             for n, path in enumerate(bad_files.values()) for kind in (kinds[n % 3],)]
    cases += [["evidence", "inspect", str(path), "--json"] for path in bad_files.values()]
    for run in cli.many(cases):
        contract(run, 2, json_out=True)
        assert run.lines[0].startswith("error: "), str(run)


def test_decoding_errors_name_the_file(cli: Cli, bad_files: dict[str, Path]) -> None:
    names = ("empty", "random", "json-looking-binary", "odd-hex", "base64-garbage", "base64-bad-padding", "base64-mixed")
    cases = [["evidence", "verify", "sev-snp", str(bad_files[n])] for n in names]
    cases += [["evidence", "inspect", str(bad_files[n])] for n in names]
    for run in cli.many(cases):
        contract(run, 2)
        assert run.args[-1] in run.stderr, str(run)


def test_decoded_evidence_that_does_not_parse_exits_1(cli: Cli, tmp_path: Path) -> None:
    """A size error after detection is an error of that encoding, never a cue to try another:
    hex or base64 of a truncated report is a report that does not parse (check ``snp.parse``)."""
    truncated = vector(SNP).read_bytes()[:600]
    (hex_file := tmp_path / "t.hex").write_text(truncated.hex())
    (b64_file := tmp_path / "t.b64").write_text(base64.b64encode(truncated).decode())
    (tdx_file := tmp_path / "t.dat").write_bytes(vector(TDX).read_bytes()[:2000])
    runs = cli.many([["evidence", "verify", "sev-snp", str(hex_file), "--offline", "--json"],
                     ["evidence", "verify", "sev-snp", str(b64_file), "--offline", "--json"],
                     ["evidence", "verify", "tdx", str(tdx_file), "--offline", "--json"],
                     ["evidence", "verify", "tinfoil", str(hex_file), "--offline", "--json"]])
    for run, check in zip(runs, ("snp.parse", "snp.parse", "tdx.parse", "tinfoil.parse"), strict=True):
        doc = contract(run, 1, json_out=True).json()
        assert doc["verified"] is False
        assert next(c for c in doc["checks"] if c["status"] == "fail")["id"] == check, str(run)


def test_fifos_and_devices_neither_hang_nor_read_without_end(cli: Cli, fifo: Path, tmp_path: Path) -> None:
    """A FIFO nobody writes to, or /dev/zero, wherever a file is read: refused at once. (Before,
    a FIFO blocked for ever, and /dev/zero as a policy or a key was read until memory ran out.)"""
    log_dir = tmp_path / "log"
    log_dir.mkdir()
    (log_dir / "checkpoint").write_text("")
    readers: list[list[str]] = []
    for path in (str(fifo), "/dev/zero"):
        readers += [["evidence", "verify", kind, path, *kind_args(kind), "--offline", "--json"]
                    for kind in ("sev-snp", "tdx", "nvidia-gpu")]
        readers += [["evidence", "inspect", path],
                    ["evidence", "verify", "sev-snp", v(SNP), "--policy", path, "--offline"],
                    ["verify", "http://127.0.0.1:1", "--policy", path],
                    ["release", "publish", "--image", IMAGE, "--version", "1", "--measurement", MEASUREMENT,
                     "--key", path, "--dir", str(log_dir)],
                    ["log", "serve", "--key", path, "--port", "0"],
                    ["log", "witness", "--key", path, "--port", "0"]]
    for run in cli.many(readers, timeout=20):
        contract(run, 2)
    # What the kind then makes of an empty file is its own business: a saved Tinfoil document is
    # JSON, and an empty one does not parse (1); so with a Sigstore bundle; a certificate input
    # that is empty fails the chain check (1). None may hang.
    for run in cli.many([["evidence", "verify", "tinfoil", str(fifo), "--offline", "--json"],
                         ["evidence", "verify", "tinfoil", "/dev/zero", "--offline", "--json"],
                         ["evidence", "verify", "sev-snp", v(SNP), "--cert", str(fifo), "--offline", "--json"],
                         ["evidence", "verify", "sev-snp", v(SNP), "--cert", "/dev/zero", "--offline", "--json"],
                         ["release", "verify", str(fifo), "--repository", "a/b", "--offline", "--json"],
                         ["release", "verify", "/dev/zero", "--repository", "a/b", "--offline", "--json"],
                         ["release", "verify", v(BUNDLE), "--trusted-root", str(fifo), "--repository", "a/b",
                          "--offline", "--json"]],
                        timeout=20):
        contract(run, {1, 2}, json_out=True)


def test_options_a_kind_does_not_use_are_refused(cli: Cli) -> None:
    """An auditor who passes ``--crl`` to a kind that never reads one must not believe it was
    checked; nor may a second report file be ignored without a word."""
    cases = [["evidence", "verify", "nvidia-gpu", v(GPU), "--cert", v(GPU_CHAIN), "--report-data", "00" * 64],
             ["evidence", "verify", "nvidia-gpu", v(GPU), "--cert", v(GPU_CHAIN), "--crl", v(GPU_CHAIN)],
             ["evidence", "verify", "nvidia-gpu", v(GPU), v(GPU), "--cert", v(GPU_CHAIN)],
             ["evidence", "verify", "nvidia-gpu", v(GPU), "--cert", v(GPU_CHAIN), "--nonce", "00" * 31],
             ["evidence", "verify", "sev-snp", v(SNP), "--rim", v(GPU_CHAIN)],
             ["evidence", "verify", "sev-snp", v(SNP), "--collateral", v("tdx")],
             ["evidence", "verify", "tdx", v(TDX), "--cert", v(GPU_CHAIN)],
             ["evidence", "verify", "tdx", v(TDX), "--ocsp", v(GPU_CHAIN)],
             ["evidence", "verify", "tinfoil", v(TINFOIL), "--rim", v(GPU_CHAIN)]]
    for run in cli.many([[*c, "--offline", "--json"] for c in cases]):
        contract(run, 2)
        assert "--" in run.lines[0] or "one report file" in run.lines[0], str(run)


def test_inspect_decodes_an_azure_tdx_hcl_report(cli: Cli) -> None:
    """An Azure HCL report around a TDREPORT has the same magic as the SEV-SNP one; inspect used to
    take it for SEV-SNP and fail."""
    run = contract(cli("evidence", "inspect", v("tdx/openpcc/test_azure_tdx_report.bin"), "--json"), 0,
                   json_out=True)
    doc = run.json()
    assert doc["format"].startswith("Azure HCL report around a TDX TDREPORT")
    assert doc["report_type"] == 4 and len(doc["tdreport"]["mrtd"]) == 96
    # The SEV-SNP form is still decoded as SEV-SNP.
    snp = contract(cli("evidence", "inspect", v("snp/openpcc/test_azure_sevsnp_report.bin"), "--json"), 0,
                   json_out=True).json()
    assert snp["format"].startswith("azure hcl report")


def _negative_serial_pck(quote: bytes) -> bytes:
    """``quote`` with its PCK leaf certificate's serial number made negative (its first content
    byte's top bit set, same length), which ``cryptography`` reads with a deprecation warning."""
    begin, end = b"-----BEGIN CERTIFICATE-----\n", b"-----END CERTIFICATE-----"
    start = quote.index(begin) + len(begin)
    stop = quote.index(end, start)
    der = bytearray(base64.b64decode(quote[start:stop]))
    serial = der.index(b"\xa0\x03\x02\x01\x02") + 5      # after the [0] version: INTEGER tag, length, value
    assert der[serial] == 0x02
    der[serial + 2] |= 0x80
    encoded = base64.b64encode(bytes(der))
    pem_body = b"\n".join(encoded[i:i + 64] for i in range(0, len(encoded), 64)) + b"\n"
    assert len(pem_body) == stop - start                 # the quote's length fields still hold
    return quote[:start] + pem_body + quote[stop:]


def test_a_library_warning_about_hostile_input_stays_off_stderr(cli: Cli, tmp_path: Path) -> None:
    """``cryptography`` warns (with a source line) when it reads a certificate with a negative
    serial; the command's stderr is still its one verdict line (the certificate is then refused by
    the chain's own check)."""
    path = tmp_path / "negative-serial.dat"
    path.write_bytes(_negative_serial_pck(vector(TDX).read_bytes()))
    run = contract(cli("evidence", "verify", "tdx", str(path), "--offline"), 1)
    assert "Warning" not in run.stderr and "tdx.pck.chain" in run.stderr, str(run)
