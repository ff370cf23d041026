"""Azure confidential VM "HCL report": an SEV-SNP report wrapped by Azure's paravisor (vTPM).

Layout (Azure's HCL/IGVM attestation report, as Azure publishes it in its cvm attestation samples
and the az-snp-vtpm crate; all integers little-endian):

| offset | size   | field |
|--------|--------|-------|
| 0x000  | 4      | signature ``"HCLA"`` |
| 0x004  | 4      | version (1 or 2) |
| 0x008  | 4      | report_size: header + hardware report + runtime data |
| 0x00C  | 4      | request_type |
| 0x010  | 4      | status |
| 0x014  | 12     | reserved |
| 0x020  | 1184   | the SEV-SNP ATTESTATION_REPORT (ABI spec 56860 Table 23) |
| 0x4C0  | 20     | IGVM request data: data_size, version, report_type (2 = SNP), hash_type (1 SHA-256, 2 SHA-384, 3 SHA-512), variable_data_size |
| 0x4D4  | n      | runtime data (JSON: the vTPM's attestation key "HCLAkPub", ...) |

The paravisor, not the guest, chooses REPORT_DATA: it is ``H(runtime data)`` padded with zeros.
So such evidence can be checked for authenticity, but it can never be bound to a verifier's nonce
by REPORT_DATA (freshness would come from a TPM quote over the HCLAkPub, which is not checked here).
The file Azure hands out is zero-padded to a fixed buffer (2600 bytes); padding must be zero.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from verifier.errors import ParseError
from verifier.evidence.sev_snp import REPORT_SIZE, SnpReport, parse_report

MAGIC = b"HCLA"
HEADER_SIZE = 0x20
SNP_OFFSET = 0x20
REQUEST_OFFSET = SNP_OFFSET + REPORT_SIZE
REQUEST_HEADER_SIZE = 20
MAX_HCL_SIZE = 16 * 1024
REPORT_TYPE_SNP = 2
HASH_TYPES = {1: "sha256", 2: "sha384", 3: "sha512"}


@dataclass(frozen=True)
class HclReport:
    """An Azure HCL report: the SNP report, the runtime data and how REPORT_DATA binds it."""

    version: int
    request_type: int
    snp_bytes: bytes
    snp: SnpReport
    hash_type: int
    runtime_data: bytes

    @property
    def hash_name(self) -> str:
        return HASH_TYPES[self.hash_type]

    def runtime_data_digest(self) -> bytes:
        return hashlib.new(self.hash_name, self.runtime_data).digest()

    def report_data_binds_runtime_data(self) -> bool:
        """REPORT_DATA == H(runtime data) || zeros (the paravisor's binding)."""
        digest = self.runtime_data_digest()
        rd = self.snp.report_data
        return rd[:len(digest)] == digest and not any(rd[len(digest):])


def is_hcl_report(data: bytes) -> bool:
    """Binary-detection test: the ``HCLA`` magic and room for the SNP report and request header."""
    return data[:4] == MAGIC and REQUEST_OFFSET + REQUEST_HEADER_SIZE <= len(data) <= MAX_HCL_SIZE


def _u32(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset:offset + 4], "little")


def parse_hcl_report(data: bytes) -> HclReport:
    """Parse an HCL report strictly; the SNP report inside is parsed by :func:`parse_report`."""
    if data[:4] != MAGIC:
        raise ParseError("does not start with 'HCLA'", field="hcl.signature")
    if len(data) > MAX_HCL_SIZE:
        raise ParseError(f"is {len(data)} bytes, more than {MAX_HCL_SIZE}", field="hcl")
    if len(data) < REQUEST_OFFSET + REQUEST_HEADER_SIZE:
        raise ParseError(f"is {len(data)} bytes, too short for an SNP report and its runtime data",
                         field="hcl")
    version = _u32(data, 4)
    if version not in (1, 2):
        raise ParseError(f"version {version} is not 1 or 2", field="hcl.version")
    report_size = _u32(data, 8)
    request_type = _u32(data, 12)
    status = _u32(data, 16)
    if status != 0:
        raise ParseError(f"status {status} is not 0 (success)", field="hcl.status")
    if any(data[0x14:HEADER_SIZE]):
        raise ParseError("reserved header bytes are not zero", field="hcl.reserved")
    if not REQUEST_OFFSET + REQUEST_HEADER_SIZE <= report_size <= len(data):
        raise ParseError(f"report_size {report_size} does not fit the {len(data)}-byte buffer",
                         field="hcl.report_size")
    snp_bytes = data[SNP_OFFSET:SNP_OFFSET + REPORT_SIZE]
    snp = parse_report(snp_bytes)
    data_size, _req_version, report_type, hash_type, var_size = (
        _u32(data, REQUEST_OFFSET + 4 * i) for i in range(5))
    if report_type != REPORT_TYPE_SNP:
        raise ParseError(f"report_type {report_type} is not SEV-SNP (2)", field="hcl.report_type")
    if hash_type not in HASH_TYPES:
        raise ParseError(f"hash type {hash_type} is not 1, 2 or 3", field="hcl.hash_type")
    if data_size != REQUEST_HEADER_SIZE + var_size:
        raise ParseError(f"data_size {data_size} is not 20 + variable_data_size {var_size}",
                         field="hcl.data_size")
    end = REQUEST_OFFSET + REQUEST_HEADER_SIZE + var_size
    if end != report_size:
        raise ParseError(f"runtime data ends at {end}, report_size says {report_size}",
                         field="hcl.report_size")
    if any(data[end:]):
        raise ParseError("the padding after the report is not zero", field="hcl.padding")
    return HclReport(version, request_type, snp_bytes, snp, hash_type,
                     data[REQUEST_OFFSET + REQUEST_HEADER_SIZE:end])


# -- the runtime claims (the "variable data"), read by the azure-snp-vtpm and azure-tdx-vtpm kinds --
MAX_RUNTIME_CLAIMS = 64 * 1024
AK_KID = "HCLAkPub"


@dataclass(frozen=True)
class RsaJwk:
    """An RSA public key as a JWK (RFC 7517/7518): its ``kid``, ``key_ops`` and the integers."""

    kid: str
    key_ops: tuple[str, ...]
    n: int
    e: int


@dataclass(frozen=True)
class RuntimeClaims:
    """The paravisor's runtime claims JSON: its keys by ``kid``, ``vm-configuration``, ``user-data``."""

    doc: dict[str, object]
    keys: dict[str, dict[str, object]]
    vm_configuration: dict[str, object]
    user_data: str | None

    def rsa_key(self, kid: str) -> RsaJwk:
        """The RSA key named ``kid``, strictly (``kty`` RSA, unpadded base64url ``n`` and ``e``)."""
        key = self.keys.get(kid)
        if key is None:
            raise ParseError(f"has no key {kid!r} (keys: {', '.join(self.keys) or 'none'})", field="runtime_claims.keys")
        if key.get("kty") != "RSA":
            raise ParseError(f"{kid} has kty {key.get('kty')!r}, not 'RSA'", field=f"runtime_claims.{kid}.kty")
        ops = key.get("key_ops", [])
        if not isinstance(ops, list) or not all(isinstance(o, str) for o in ops):
            raise ParseError(f"{kid} key_ops is not a list of strings", field=f"runtime_claims.{kid}.key_ops")
        return RsaJwk(kid, tuple(ops), _b64url_uint(key.get("n"), f"{kid}.n"), _b64url_uint(key.get("e"), f"{kid}.e"))


def _b64url_uint(value: object, field: str) -> int:
    """A JWK integer: unpadded base64url (RFC 7518 section 2 "Base64urlUInt"), no leading zero."""
    import base64
    import binascii
    import re

    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_-]+", value) or len(value) % 4 == 1:
        raise ParseError("is not unpadded base64url", field=f"runtime_claims.{field}")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise ParseError("is not unpadded base64url", field=f"runtime_claims.{field}") from None
    if raw[:1] == b"\x00":
        raise ParseError("has a leading zero byte", field=f"runtime_claims.{field}")
    return int.from_bytes(raw, "big")


def parse_runtime_claims(data: bytes) -> RuntimeClaims:
    """Parse the variable data as strict JSON: an object whose ``keys`` is a list of JWK objects,
    each with a distinct ``kid``; ``vm-configuration`` (an object) and ``user-data`` (a string)
    when present."""
    from verifier.strict_json import load_strict_json

    if len(data) > MAX_RUNTIME_CLAIMS:
        raise ParseError(f"is {len(data)} bytes, more than {MAX_RUNTIME_CLAIMS}", field="runtime_claims")
    doc = load_strict_json(data, "runtime_claims", max_depth=8)
    if not isinstance(doc, dict):
        raise ParseError("is not a JSON object", field="runtime_claims")
    keys = doc.get("keys")
    if not isinstance(keys, list):
        raise ParseError("has no \"keys\" list", field="runtime_claims.keys")
    by_kid: dict[str, dict[str, object]] = {}
    for key in keys:
        kid = key.get("kid") if isinstance(key, dict) else None
        if not isinstance(kid, str):
            raise ParseError("holds a key without a string \"kid\"", field="runtime_claims.keys")
        if kid in by_kid:
            raise ParseError(f"names key {kid!r} twice", field="runtime_claims.keys")
        by_kid[kid] = key
    vm = doc.get("vm-configuration", {})
    if not isinstance(vm, dict):
        raise ParseError("vm-configuration is not an object", field="runtime_claims.vm-configuration")
    user_data = doc.get("user-data")
    if user_data is not None and not isinstance(user_data, str):
        raise ParseError("user-data is not a string", field="runtime_claims.user-data")
    return RuntimeClaims(doc, by_kid, vm, user_data)
