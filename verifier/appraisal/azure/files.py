"""``enclave-chat evidence verify azure-snp-vtpm|azure-tdx-vtpm FILE... --nonce HEX``: saved Azure
CVM evidence, appraised offline.

Forms (detected by content, never by file name):

- trustee's evidence JSON: v0 ``{"report", "quote": {"message", "signature", "pcrs"}, "vcek"}``
  with byte arrays (``vcek`` PEM); v1/v2 ``{"version", "hcl_report", "tpm_quote", "vcek"}`` (SNP)
  or ``{"version", "hcl_report", "td_quote", "tpm_quote"}`` (TDX), the reports and the VCEK
  (DER) in base64 (either alphabet, padding optional), the quote's fields in hex;
- loose files, in any order: the HCL report (binary, hex or base64), the TPM quote (a JSON
  ``{"message", "signature", "pcrs"}`` as above, or az-cvm-vtpm's serialized quote) and, for
  TDX, the TD quote (binary, hex or base64).

``--nonce HEX`` is compared with the quote's ``extraData`` exactly (never padded).

``--maa-token F`` (a Microsoft Azure Attestation token, the compact JWT or MAA's ``{"token": ...}``
answer) adds the ``maa.*`` checks after the evidence's own and its claims under ``maa``, checked
under the policy's ``[azure.maa]`` (:mod:`verifier.appraisal.azure.maa`); they never decide
``authentic``, and the evidence is appraised exactly as without the token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from verifier.appraisal.azure import (
    AzureAppraisal,
    TpmQuote,
    appraise_azure_snp,
    appraise_azure_tdx,
)
from verifier.appraisal.offline import OfflineOptions, read_file
from verifier.errors import InputError, ParseError
from verifier.evidence import azure_hcl, tpm
from verifier.evidence.encoding import decode_evidence, is_text
from verifier.evidence.tdx import has_quote_header
from verifier.result import AttestationResult
from verifier.strict_json import load_strict_json

if TYPE_CHECKING:
    from verifier.appraisal.azure.maa_rules import MaaPolicy

MAX_NONCE = 64
_HEX = re.compile(r"\A(?:[0-9a-fA-F]{2})*\Z")
_B64 = re.compile(r"\A[A-Za-z0-9+/_-]*={0,2}\Z")


@dataclass
class Pieces:
    hcl: bytes | None = None
    td_quote: bytes | None = None
    quote: TpmQuote | None = None
    certs: list[bytes] = field(default_factory=list)
    evidence: dict[str, str] = field(default_factory=dict)


def _bytes(value: object, where: str, text: str) -> bytes:
    """A byte field: a JSON array of byte values (v0), or a string in ``text`` (hex or base64)."""
    if isinstance(value, list):
        if not all(isinstance(b, int) and not isinstance(b, bool) and 0 <= b <= 255 for b in value):
            raise InputError(f"{where} is an array, but not of byte values")
        return bytes(value)
    if not isinstance(value, str):
        raise InputError(f"{where} is neither a byte array nor a string")
    if text == "hex":
        if not _HEX.match(value):
            raise InputError(f"{where} is not hex")
        return bytes.fromhex(value)
    if not _B64.match(value) or (("-" in value or "_" in value) and ("+" in value or "/" in value)):
        raise InputError(f"{where} is not base64")
    try:
        padded = value.rstrip("=") + "=" * (-len(value.rstrip("=")) % 4)
        return base64.b64decode(padded, altchars=b"-_" if "-" in value or "_" in value else None, validate=True)
    except (binascii.Error, ValueError):
        raise InputError(f"{where} is not base64") from None


def _quote(doc: object, where: str) -> TpmQuote:
    if not isinstance(doc, dict) or set(doc) != {"message", "signature", "pcrs"}:
        raise InputError(f"{where} must be an object with exactly message, signature and pcrs")
    pcrs = doc["pcrs"]
    if not isinstance(pcrs, list) or len(pcrs) > tpm.PCR_COUNT:
        raise InputError(f"{where}.pcrs must be a list of at most {tpm.PCR_COUNT} PCR values")
    return TpmQuote(_bytes(doc["message"], f"{where}.message", "hex"),
                    _bytes(doc["signature"], f"{where}.signature", "hex"),
                    tuple(_bytes(p, f"{where}.pcrs[{i}]", "hex") for i, p in enumerate(pcrs)))


def _json(doc: object, name: str, p: Pieces, platform: str) -> None:
    if not isinstance(doc, dict):
        raise InputError(f"{name} is JSON but not an object")
    if set(doc) == {"message", "signature", "pcrs"}:
        _set(p, "quote", _quote(doc, name), name)
        return
    snp_v0 = {"report", "quote", "vcek"}
    snp_v1 = {"version", "hcl_report", "tpm_quote", "vcek"}
    tdx_v1 = {"version", "hcl_report", "td_quote", "tpm_quote"}
    keys = set(doc)
    forms = {"snp": (snp_v0, snp_v1), "tdx": (tdx_v1,)}[platform]
    if keys not in forms:
        raise InputError(f"{name} has members {', '.join(sorted(keys))}: not trustee's Azure {platform.upper()} "
                         "vTPM evidence (v0, v1 or v2) nor a TPM quote")
    if "version" in doc and doc["version"] not in (1, 2):
        raise InputError(f"{name}: evidence version {doc['version']!r} is not 1 or 2")
    if keys == snp_v0:
        _set(p, "hcl", _bytes(doc["report"], f"{name}.report", "base64"), name)
        _set(p, "quote", _quote(doc["quote"], f"{name}.quote"), name)
    else:
        _set(p, "hcl", _bytes(doc["hcl_report"], f"{name}.hcl_report", "base64"), name)
        _set(p, "quote", _quote(doc["tpm_quote"], f"{name}.tpm_quote"), name)
    if "td_quote" in doc:
        _set(p, "td_quote", _bytes(doc["td_quote"], f"{name}.td_quote", "base64"), name)
    if "vcek" in doc:
        vcek = doc["vcek"]
        if isinstance(vcek, str) and vcek.lstrip().startswith("-----BEGIN"):
            p.certs.append(vcek.encode())
        else:
            p.certs.append(_bytes(vcek, f"{name}.vcek", "base64"))


def _set(p: Pieces, attr: str, value: object, name: str) -> None:
    if getattr(p, attr) is not None:
        raise InputError(f"{name}: a second {attr.replace('_', ' ')} (give each piece once)")
    setattr(p, attr, value)


def _binary(data: bytes) -> bool:
    return azure_hcl.is_hcl_report(data) or data[:4] == b"HCLA" or has_quote_header(data) \
        or (not is_text(data) and tpm.looks_serialized(data))


def read_pieces(opts: OfflineOptions, platform: str) -> Pieces:
    p = Pieces()
    for path in opts.files:
        data = read_file(path)
        p.evidence[path.name] = hashlib.sha256(data).hexdigest()
        if data.lstrip().startswith(b"{"):
            try:
                doc = load_strict_json(data, str(path), max_depth=8)
            except ParseError as e:
                raise InputError(f"{path} looks like JSON but is not valid JSON ({e})") from None
            _json(doc, path.name, p, platform)
            continue
        raw, _encoding = decode_evidence(data, _binary, str(path))
        if raw[:4] == b"HCLA":
            _set(p, "hcl", raw, path.name)
        elif platform == "tdx" and has_quote_header(raw):
            _set(p, "td_quote", raw, path.name)
        else:
            try:
                q = tpm.parse_serialized_quote(raw)
            except ParseError as e:
                raise InputError(f"{path} is neither an HCL report, a TD quote nor a serialized TPM quote ({e})") from None
            _set(p, "quote", TpmQuote(q.message, q.signature, q.pcrs), path.name)
    missing = [what for what, v in (("the HCL report", p.hcl), ("the TPM quote", p.quote),
                                    *((("the TD quote", p.td_quote),) if platform == "tdx" else ())) if v is None]
    if missing:
        raise InputError(f"azure-{platform}-vtpm evidence needs {' and '.join(missing)}")
    return p


def _nonce(opts: OfflineOptions) -> bytes | None:
    if opts.nonce is not None and not 0 < len(opts.nonce) <= MAX_NONCE:
        raise InputError(f"--nonce must be 1 to {MAX_NONCE} bytes (a TPM2B_DATA), not {len(opts.nonce)}")
    return opts.nonce


MAA_TOKEN_FILE_LIMIT = 256 * 1024


def _maa_input(opts: OfflineOptions, evidence: dict[str, str]) -> tuple[str, MaaPolicy] | None:
    """``--maa-token``: the token's text and the policy's ``[azure.maa]``, read before the evidence is
    appraised (an unusable file or a policy without the table is an input error, exit 2)."""
    if opts.maa_token is None:
        return None
    from verifier.appraisal.azure.maa import read_token_text
    from verifier.appraisal.azure.maa_rules import policy_maa

    maa = policy_maa(opts.policy)
    data = read_file(opts.maa_token, MAA_TOKEN_FILE_LIMIT, "the MAA token")
    evidence[opts.maa_token.name] = hashlib.sha256(data).hexdigest()
    return read_token_text(data, opts.maa_token.name), maa


def _result(kind: str, opts: OfflineOptions, a: AzureAppraisal, evidence: dict[str, str],
            maa: tuple[str, MaaPolicy] | None = None) -> AttestationResult:
    checks, claims = a.checks, a.claims
    if maa is not None:  # after the evidence's own checks, which alone decide authentic
        from verifier.appraisal.azure.maa import appraise_maa_token

        m = appraise_maa_token(maa[0], maa[1], nonce=opts.nonce, at=opts.at, fetcher=opts.fetcher)
        checks, claims = (*checks, *m.checks), {**claims, "maa": m.claims}
    return AttestationResult(kind, opts.at, opts.nonce, opts.policy.ref, checks, evidence, claims)


def appraise_snp_files(opts: OfflineOptions) -> AttestationResult:
    """Kind ``azure-snp-vtpm``: ``--cert`` and ``--crl`` as for ``sev-snp``; the VCEK in the file counts."""
    nonce = _nonce(opts)
    p = read_pieces(opts, "snp")
    maa = _maa_input(opts, p.evidence)
    certs = list(p.certs)
    crls = []
    for c in opts.certs:
        blob = read_file(Path(c))
        p.evidence[Path(c).name] = hashlib.sha256(blob).hexdigest()
        certs.append(blob)
    for c in opts.crls:
        blob = read_file(Path(c))
        p.evidence[Path(c).name] = hashlib.sha256(blob).hexdigest()
        crls.append(blob)
    assert p.hcl is not None and p.quote is not None
    a = appraise_azure_snp(p.hcl, p.quote, certs, policy=opts.policy, at=opts.at, nonce=nonce,
                           fetcher=opts.fetcher, crls=crls)
    return _result("azure-snp-vtpm", opts, a, p.evidence, maa)


def appraise_tdx_files(opts: OfflineOptions) -> AttestationResult:
    """Kind ``azure-tdx-vtpm``: ``--collateral DIR`` as for ``tdx`` (else fetched or cached)."""
    from verifier.endorsements.intel_pck import load_pck_chain, pck_extensions
    from verifier.endorsements.intel_pcs import load_collateral_dir
    from verifier.evidence.tdx import parse_quote

    nonce = _nonce(opts)
    p = read_pieces(opts, "tdx")
    maa = _maa_input(opts, p.evidence)
    assert p.hcl is not None and p.quote is not None and p.td_quote is not None
    coll = None
    if opts.collateral is not None:
        try:
            chain = load_pck_chain(parse_quote(p.td_quote).pck_chain_pem)
            coll = load_collateral_dir(opts.collateral, pck_extensions(chain.leaf).fmspc.hex(), chain.ca)
        except ParseError:
            coll = None  # the appraisal says why the TD quote is unusable
    a = appraise_azure_tdx(p.hcl, p.td_quote, p.quote, policy=opts.policy, at=opts.at, nonce=nonce,
                           collateral=coll, fetcher=None if opts.collateral is not None else opts.fetcher)
    return _result("azure-tdx-vtpm", opts, a, p.evidence, maa)
