"""Azure CVM evidence (HCL report + vTPM quote): the real sets of docs/azure.md, and one changed
byte in each piece refused by its own check id."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest

from tests.vectors import vector
from verifier.appraisal.azure import TpmQuote, appraise_azure_snp, appraise_azure_tdx
from verifier.appraisal.azure import checks as ids
from verifier.appraisal.offline import OfflineOptions
from verifier.appraisal.policy import load_policy, parse_policy
from verifier.endorsements.fetch import CollateralFetcher
from verifier.errors import PolicyError
from verifier.evidence.tpm import parse_quote_info, parse_serialized_quote
from verifier.result import AttestationResult, Status
from verifier.saved_evidence import appraise_saved

AT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
DEFAULT = load_policy(Path(__file__).resolve().parents[2] / "policies" / "default.toml")
CHALLENGE = b"challenge"
SNP_SETS = [
    ("azure/trustee-az-snp-vtpm/evidence-v0.json", "milan", CHALLENGE,
     "e15c44796beabf46abcec7c57e590942041e47497e4ec27571c8b7664f48dced"),
    ("azure/trustee-az-snp-vtpm/evidence-v1.json", "milan", CHALLENGE,
     "e15c44796beabf46abcec7c57e590942041e47497e4ec27571c8b7664f48dced"),
    ("azure/trustee-az-snp-vtpm/evidence-v2.json", "milan", bytes.fromhex(
        "982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef"),
     "84275b2f4312cd4fc6cbe6b152ad3c3683e513d9f1e23c34fca160c8cca7a6a7"),
    ("snp/trustee/evidence-genoa.json", "genoa", bytes.fromhex(
        "0218488bae25d2509232bf676f1a66a30d7372add909109b36016ef136f2938ca05475f8b46094de6b64270ea35d950f"),
     "afd689d0bb1c5f36f023fbaf574135f555a28a10c1f6b938d2a25e70c7783338"),
]
TDX_SET = "azure/trustee-az-tdx-vtpm/evidence-v1.json"
TDX_PCR0 = "782b20b10f55cc46e2142cc2145d548698073e5beb82752c8d7f9279f0d8a273"


def opts(tmp_path: Path, files: list[Path], **kw: object) -> OfflineOptions:
    return OfflineOptions(files=tuple(files), policy=kw.pop("policy", DEFAULT), at=AT,  # type: ignore[arg-type]
                          fetcher=CollateralFetcher(tmp_path / "cache", offline=True), **kw)  # type: ignore[arg-type]


def hcl_tpm_ids(r: AttestationResult) -> dict[str, Status]:
    return {c.id: c.status for c in r.checks if c.id.startswith(("hcl.", "tpm."))}


@pytest.mark.parametrize(("name", "product", "nonce", "pcr0"), SNP_SETS)
def test_snp_sets_are_verified_under_the_default_policy(tmp_path: Path, name: str, product: str,
                                                         nonce: bytes, pcr0: str) -> None:
    ask_ark = vector(f"snp/trustee/{product}_ask_ark_asvk.pem")
    r = appraise_saved("azure-snp-vtpm", opts(tmp_path, [vector(name)], certs=(ask_ark,), nonce=nonce))
    assert r.authentic and r.verified, r.first_failure()
    got = hcl_tpm_ids(r)
    assert got == {i: Status.PASS for i in ids.CATALOGUE if i not in
                   (ids.HCL_TD_REPORT, ids.HCL_RUNTIME_CLAIMS, ids.TPM_PCRS)} | {
        ids.HCL_RUNTIME_CLAIMS: Status.PASS, ids.HCL_USER_DATA: Status.SKIP, ids.TPM_PCRS: Status.SKIP}
    assert not r.check(ids.HCL_USER_DATA).required  # type: ignore[union-attr]  # saved evidence: no binding value
    tpm = r.claims["tpm"]
    assert isinstance(tpm, dict) and tpm["pcrs"]["0"] == pcr0
    order = [c.id for c in r.checks]
    assert order[0] == ids.HCL_PARSE and order[1] == "snp.parse"
    positions = [ids.CATALOGUE.index(i) for i in order if i in ids.CATALOGUE]
    assert positions == sorted(positions)


@pytest.mark.parametrize(("name", "product", "nonce", "pcr0"), SNP_SETS)
def test_the_wrong_nonce_is_refused_for_tpm_nonce(tmp_path: Path, name: str, product: str, nonce: bytes,
                                                  pcr0: str) -> None:
    ask_ark = vector(f"snp/trustee/{product}_ask_ark_asvk.pem")
    for wrong in (nonce + b"\x00", nonce[:-1], bytes([nonce[0] ^ 1]) + nonce[1:]):
        r = appraise_saved("azure-snp-vtpm", opts(tmp_path, [vector(name)], certs=(ask_ark,), nonce=wrong))
        assert r.authentic and not r.verified
        assert [c.id for c in r.checks if c.status is Status.FAIL] == [ids.TPM_NONCE]


def test_a_pcr0_allow_list_is_applied(tmp_path: Path) -> None:
    name, product, nonce, pcr0 = SNP_SETS[0]
    ask_ark = vector(f"snp/trustee/{product}_ask_ark_asvk.pem")
    for value, status in ((pcr0, Status.PASS), ("00" * 32, Status.FAIL)):
        pol = parse_policy(f'name = "t"\n[azure]\npcr0 = ["{value}"]\n'.encode())
        r = appraise_saved("azure-snp-vtpm", opts(tmp_path, [vector(name)], certs=(ask_ark,), nonce=nonce, policy=pol))
        check = r.check(ids.TPM_PCRS)
        assert check is not None and check.status is status


def test_the_tdx_set_is_authentic_and_refused_for_sept_ve_disable(tmp_path: Path) -> None:
    r = appraise_saved("azure-tdx-vtpm", opts(tmp_path, [vector(TDX_SET)], nonce=CHALLENGE))
    assert r.authentic and not r.verified
    assert [c.id for c in r.checks if c.status is Status.FAIL] == ["tdx.td.sept_ve_disable"]
    got = hcl_tpm_ids(r)
    assert all(got[i] is Status.PASS for i in ids.CATALOGUE if i not in (ids.HCL_USER_DATA, ids.TPM_PCRS)), got
    tpm = r.claims["tpm"]
    assert isinstance(tpm, dict) and tpm["pcrs"]["0"] == TDX_PCR0
    pol = parse_policy(b'name = "t"\n[tdx]\nrequire_sept_ve_disable = false\ncollateral = "if-available"\n')
    r = appraise_saved("azure-tdx-vtpm", opts(tmp_path, [vector(TDX_SET)], nonce=CHALLENGE, policy=pol))
    assert not [c for c in r.checks if c.status is Status.FAIL]


def test_loose_pieces_parse() -> None:
    q = parse_serialized_quote(vector("azure/trustee-az-snp-vtpm/quote.bin").read_bytes())
    assert len(q.pcrs) == 24 and len(q.signature) == 256
    info = parse_quote_info(vector("azure/trustee-az-snp-vtpm/tpm-quote.msg").read_bytes())
    assert info.extra_data == CHALLENGE
    parse_serialized_quote(vector("azure/azure-cvm-tooling/quote.bin").read_bytes())


# -- one changed byte, refused by its own id ------------------------------------------------------
def _snp_pieces() -> tuple[bytes, TpmQuote, list[bytes], bytes]:
    doc = json.loads(vector(SNP_SETS[1][0]).read_bytes())
    h = doc["hcl_report"]
    hcl = base64.urlsafe_b64decode(h + "=" * (-len(h) % 4))
    q = doc["tpm_quote"]
    quote = TpmQuote(bytes.fromhex(q["message"]), bytes.fromhex(q["signature"]),
                     tuple(bytes.fromhex(p) for p in q["pcrs"]))
    v = doc["vcek"]
    certs = [base64.urlsafe_b64decode(v + "=" * (-len(v) % 4)), vector("snp/trustee/milan_ask_ark_asvk.pem").read_bytes()]
    return hcl, quote, certs, CHALLENGE


VAR_START = 0x4D4


def _var_size(hcl: bytes) -> int:
    return int.from_bytes(hcl[0x4C0 + 16:0x4C0 + 20], "little")


@pytest.mark.parametrize("position", [0, 1, 17, 300, 700, -2, -1])
def test_a_changed_variable_data_byte_is_refused_by_hcl_binding(position: int) -> None:
    hcl, quote, certs, nonce = _snp_pieces()
    n = _var_size(hcl)
    at = VAR_START + (position % n)
    changed = hcl[:at] + bytes([hcl[at] ^ 0x01]) + hcl[at + 1:]
    a = appraise_azure_snp(changed, quote, certs, policy=DEFAULT, at=AT, nonce=nonce)
    check = a.check(ids.HCL_BINDING)
    assert check is not None and check.status is Status.FAIL and not a.verified


@pytest.mark.parametrize("position", [0, 4, 6, 10, 40, 45, 60, 90, 100, 121])
def test_a_changed_quote_message_byte_is_refused_by_tpm_quote_signature(position: int) -> None:
    hcl, quote, certs, nonce = _snp_pieces()
    m = quote.message
    changed = dataclasses.replace(quote, message=m[:position] + bytes([m[position] ^ 0x01]) + m[position + 1:])
    a = appraise_azure_snp(hcl, changed, certs, policy=DEFAULT, at=AT, nonce=nonce)
    ok = [c.status for c in a.checks if c.id in (ids.TPM_QUOTE_PARSE, ids.TPM_QUOTE_SIGNATURE)]
    assert Status.FAIL in ok and not a.authentic


@pytest.mark.parametrize("position", [0, 1, 128, 254, 255])
def test_a_changed_signature_byte_is_refused_by_tpm_quote_signature(position: int) -> None:
    hcl, quote, certs, nonce = _snp_pieces()
    s = quote.signature
    changed = dataclasses.replace(quote, signature=s[:position] + bytes([s[position] ^ 0x80]) + s[position + 1:])
    a = appraise_azure_snp(hcl, changed, certs, policy=DEFAULT, at=AT, nonce=nonce)
    check = a.check(ids.TPM_QUOTE_SIGNATURE)
    assert check is not None and check.status is Status.FAIL and not a.authentic


@pytest.mark.parametrize("pcr", range(24))
def test_a_changed_pcr_value_is_refused_by_tpm_pcr_digest(pcr: int) -> None:
    hcl, quote, certs, nonce = _snp_pieces()
    pcrs = list(quote.pcrs)
    pcrs[pcr] = bytes([pcrs[pcr][0] ^ 0x01]) + pcrs[pcr][1:]
    a = appraise_azure_snp(hcl, dataclasses.replace(quote, pcrs=tuple(pcrs)), certs, policy=DEFAULT, at=AT, nonce=nonce)
    check = a.check(ids.TPM_PCR_DIGEST)
    assert check is not None and check.status is Status.FAIL and not a.authentic


def test_tdx_changed_pieces_are_refused() -> None:
    doc = json.loads(vector(TDX_SET).read_bytes())

    def b64(s: str) -> bytes:
        return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

    hcl, td = b64(doc["hcl_report"]), b64(doc["td_quote"])
    q = doc["tpm_quote"]
    quote = TpmQuote(bytes.fromhex(q["message"]), bytes.fromhex(q["signature"]),
                     tuple(bytes.fromhex(p) for p in q["pcrs"]))
    at = 0x20 + 1184 + 20 + 50
    a = appraise_azure_tdx(hcl[:at] + bytes([hcl[at] ^ 1]) + hcl[at + 1:], td, quote, policy=DEFAULT, at=AT,
                           nonce=CHALLENGE)
    assert a.check(ids.HCL_BINDING).status is Status.FAIL  # type: ignore[union-attr]
    pcrs = list(quote.pcrs)
    pcrs[7] = bytes(32)
    a = appraise_azure_tdx(hcl, td, dataclasses.replace(quote, pcrs=tuple(pcrs)), policy=DEFAULT, at=AT,
                           nonce=CHALLENGE)
    assert a.check(ids.TPM_PCR_DIGEST).status is Status.FAIL  # type: ignore[union-attr]


def test_empty_allow_lists_are_policy_errors() -> None:
    from verifier.appraisal.azure import AzurePolicy

    for text in ("pcr0 = []", "hcl_versions = []", "runtime_claims = { \"vm-configuration.secure-boot\" = [] }",
                 "hcl_versions = [3]", "pcr1 = [\"00\"]", "unknown = 1"):
        with pytest.raises(PolicyError):
            AzurePolicy.from_policy(parse_policy(f'name = "t"\n[azure]\n{text}\n'.encode()))
