"""Intel PCS collateral for TDX: TCB info, QE identity, PCK CRL, root CA CRL.

Formats follow the *Intel PCS API v4* documentation ("TDX TCB Info V3", "Enclave Identity V2",
"PCK Cert CRL") and the *Intel SGX PCK Certificate and CRL Profile*. Each PCS JSON answer is
``{"tcbInfo" | "enclaveIdentity": {...}, "signature": "<hex r||s>"}``; the signature (ECDSA P-256,
SHA-256) is over the exact bytes of the inner object as PCS sent them, so the inner object is cut
out of the body byte for byte (:func:`split_signed_body`), never re-serialised. The signer's
certificate ("Intel SGX TCB Signing") comes in an HTTP header (URL-encoded PEM) together with the
root; it is checked like any certificate: names, signatures, the root's pin, and its own validity
at the verification time. Intel renewed that certificate in 2025 with the *same key*, so a
verifier that only checks the key would pass collateral signed under the expired certificate.

A CRL is accepted at time T only if it verifies with its issuer's key, names that issuer, and
``thisUpdate <= T <= nextUpdate``: a CRL issued after the verification time says nothing about
that time and is refused.
"""

from __future__ import annotations

import binascii
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from verifier.endorsements.intel_anchors import ROOT_CA_CN, TCB_SIGNING_CN
from verifier.endorsements.intel_pck import (
    CERT_DECODE_ERRORS,
    ChainError,
    load_pem_chain,
    root_pinned,
    verify_path,
)
from verifier.errors import ParseError
from verifier.strict_json import member_spans

MAX_COLLATERAL_JSON = 1024 * 1024
MAX_CRL_BYTES = 4 * 1024 * 1024


class CollateralInvalid(Exception):
    """Collateral is present but not acceptable; the message is one sentence for a check's detail.

    ``reason`` (structured, for a check's ``reason``): ``expired`` (past its nextUpdate),
    ``not_yet_valid`` (issued after the verification time), ``signature``, ``chain`` (the signer's
    issuer chain does not hold or ends in an unpinned root), ``issuer`` (a CRL names another
    issuer) or ``format``."""

    def __init__(self, message: str, *, reason: str = "format") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class TdxCollateral:
    """Collateral as PCS answers it, unverified: bodies and their issuer chains (decoded PEM).

    Any piece may be absent (``None``); the appraisal then skips the checks that need it.
    ``source`` says where the pieces came from (a directory, the PCS URL), for messages only.
    """

    tcb_info: bytes | None = None
    tcb_info_chain: bytes | None = None
    qe_identity: bytes | None = None
    qe_identity_chain: bytes | None = None
    pck_crl: bytes | None = None
    pck_crl_chain: bytes | None = None
    root_crl: bytes | None = None
    source: str = ""


# -- exact inner bytes ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SignedBody:
    """A PCS JSON answer split into the signed inner object (exact bytes), its value and signature."""

    key: str
    inner_raw: bytes
    inner: dict[str, Any]
    signature: bytes


def split_signed_body(body: bytes, key: str) -> SignedBody:
    """Cut ``{"<key>": {...}, "signature": "..."}`` into the exact bytes of ``{...}`` and the signature.

    The top-level object must hold exactly these two members; duplicate keys anywhere are refused
    (two parsers could otherwise read different values from the same signed bytes).
    """
    if len(body) > MAX_COLLATERAL_JSON:
        raise ParseError(f"is larger than {MAX_COLLATERAL_JSON} bytes", field=key)
    try:  # UTF-8, no duplicate names anywhere, bounded depth; the exact bytes of each member
        whole, spans = member_spans(body, key)
    except ParseError as e:
        reason = str(e.args[0]) if e.args else str(e)
        raise ParseError(reason if reason.startswith("is not a JSON object") else f"is not valid JSON: {reason}",
                         field=key) from None
    if set(spans) != {key, "signature"}:
        raise ParseError(f"must hold exactly {key!r} and 'signature', holds {sorted(spans)}", field=key)
    start, end = spans[key]
    inner_text = body[start:end].decode("utf-8")
    inner = whole[key] if isinstance(whole, dict) else None
    if not isinstance(inner, dict):
        raise ParseError("is not an object", field=key)
    sig_value = whole["signature"]
    if not isinstance(sig_value, str) or len(sig_value) != 128:
        raise ParseError("must be 128 hex digits (r || s)", field=f"{key}.signature")
    try:
        signature = bytes.fromhex(sig_value)
    except ValueError:
        raise ParseError("is not hex", field=f"{key}.signature") from None
    return SignedBody(key, inner_text.encode("utf-8"), inner, signature)


def raw_ecdsa_verify(key: ec.EllipticCurvePublicKey, signature: bytes, data: bytes) -> bool:
    """ECDSA P-256/SHA-256 over ``data`` with a raw 64-byte r || s signature (big-endian halves)."""
    if len(signature) != 64:
        return False
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    try:
        key.verify(der, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def verify_signed_body(signed: SignedBody, chain_pem: bytes, pins: Sequence[str],
                       at: dt.datetime) -> x509.Certificate:
    """Check the issuer chain (TCB Signing <- pinned root, both valid at ``at``) and the signature
    over the exact inner bytes; return the signer certificate or raise :class:`CollateralInvalid`."""
    try:
        certs = load_pem_chain(chain_pem, f"{signed.key} issuer chain")
    except ParseError as e:
        raise CollateralInvalid(str(e), reason="chain") from None
    try:
        verify_path(certs, ["TCB signing", "root CA"], [(TCB_SIGNING_CN,), (ROOT_CA_CN,)], at)
    except ChainError as e:
        raise CollateralInvalid(f"its issuer chain does not hold: {e}", reason="chain") from None
    if not root_pinned(certs[-1], pins):
        raise CollateralInvalid("its issuer chain ends in a root whose key is not pinned", reason="chain")
    key = certs[0].public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)  # verify_path checked P-256
    if not raw_ecdsa_verify(key, signed.signature, signed.inner_raw):
        raise CollateralInvalid("its signature does not verify over the signed bytes", reason="signature")
    return certs[0]


# -- JSON field readers --------------------------------------------------------------------------
def _get(obj: dict[str, Any], key: str, kind: type, field: str) -> Any:
    if key not in obj:
        raise ParseError(f"lacks {key!r}", field=field)
    value = obj[key]
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ParseError(f"{key} must be an integer", field=field)
    if not isinstance(value, kind):
        raise ParseError(f"{key} must be a {kind.__name__}", field=field)
    return value


def _uint(obj: dict[str, Any], key: str, limit: int, field: str) -> int:
    value: int = _get(obj, key, int, field)
    if not 0 <= value <= limit:
        raise ParseError(f"{key} = {value} is out of range 0..{limit}", field=field)
    return value


def _hex(obj: dict[str, Any], key: str, size: int, field: str) -> bytes:
    value: str = _get(obj, key, str, field)
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise ParseError(f"{key} is not hex", field=field) from None
    if len(raw) != size:
        raise ParseError(f"{key} must be {size} bytes, is {len(raw)}", field=field)
    return raw


def parse_time(value: object, field: str) -> dt.datetime:
    """PCS times: ISO-8601 in UTC, e.g. ``2026-01-12T15:46:45Z``."""
    if not isinstance(value, str) or not value.endswith("Z") or len(value) > 40:
        raise ParseError("must be an ISO-8601 UTC time ending in Z", field=field)
    try:
        t = dt.datetime.fromisoformat(value[:-1] + "+00:00")
    except ValueError:
        raise ParseError(f"{value!r} is not an ISO-8601 time", field=field) from None
    return t.astimezone(dt.UTC)


def _advisories(obj: dict[str, Any], field: str) -> tuple[str, ...]:
    value = obj.get("advisoryIDs", [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ParseError("advisoryIDs must be a list of strings", field=field)
    return tuple(value)


def _window(obj: dict[str, Any], field: str) -> tuple[dt.datetime, dt.datetime]:
    issue = parse_time(obj.get("issueDate"), f"{field}.issueDate")
    nxt = parse_time(obj.get("nextUpdate"), f"{field}.nextUpdate")
    return issue, nxt


# -- TDX TCB info (PCS API v4, "TDX TCB Info V3") -----------------------------------------------
@dataclass(frozen=True)
class TcbLevel:
    sgx_components: tuple[int, ...]
    pcesvn: int
    tdx_components: tuple[int, ...]
    tcb_date: dt.datetime
    status: str
    advisory_ids: tuple[str, ...]


@dataclass(frozen=True)
class ModuleTcbLevel:
    isvsvn: int
    tcb_date: dt.datetime
    status: str
    advisory_ids: tuple[str, ...]


@dataclass(frozen=True)
class TdxModuleIdentity:
    """``tdxModule`` (id ``""``) or one of ``tdxModuleIdentities`` (``TDX_01``, ``TDX_03``...)."""

    id: str
    mrsigner: bytes
    attributes: bytes
    attributes_mask: bytes
    tcb_levels: tuple[ModuleTcbLevel, ...]


@dataclass(frozen=True)
class TcbInfo:
    id: str
    version: int
    issue_date: dt.datetime
    next_update: dt.datetime
    fmspc: bytes
    pce_id: bytes
    tcb_type: int
    tcb_evaluation_data_number: int
    tdx_module: TdxModuleIdentity | None
    tdx_module_identities: tuple[TdxModuleIdentity, ...]
    tcb_levels: tuple[TcbLevel, ...]


TCB_LEVEL_STATUSES = ("UpToDate", "SWHardeningNeeded", "ConfigurationNeeded",
                      "ConfigurationAndSWHardeningNeeded", "OutOfDate", "OutOfDateConfigurationNeeded",
                      "Revoked")
MODULE_STATUSES = ("UpToDate", "OutOfDate", "Revoked")
QE_STATUSES = ("UpToDate", "OutOfDate", "Revoked")
MAX_LEVELS = 256


def _components(tcb: dict[str, Any], key: str, field: str) -> tuple[int, ...]:
    comps = _get(tcb, key, list, field)
    if len(comps) != 16:
        raise ParseError(f"{key} must list 16 components, lists {len(comps)}", field=field)
    out = []
    for i, comp in enumerate(comps):
        if not isinstance(comp, dict):
            raise ParseError(f"{key}[{i}] must be an object", field=field)
        out.append(_uint(comp, "svn", 255, f"{field}.{key}[{i}]"))
    return tuple(out)


def _status(obj: dict[str, Any], allowed: tuple[str, ...], field: str) -> str:
    status: str = _get(obj, "tcbStatus", str, field)
    if status not in allowed:
        raise ParseError(f"tcbStatus {status!r} is not one of {', '.join(allowed)}", field=field)
    return status


def _module_identity(obj: object, field: str, *, with_levels: bool) -> TdxModuleIdentity:
    if not isinstance(obj, dict):
        raise ParseError("must be an object", field=field)
    levels: list[ModuleTcbLevel] = []
    if with_levels:
        raw_levels = _get(obj, "tcbLevels", list, field)
        if len(raw_levels) > MAX_LEVELS:
            raise ParseError("too many tcbLevels", field=field)
        for i, lvl in enumerate(raw_levels):
            lf = f"{field}.tcbLevels[{i}]"
            if not isinstance(lvl, dict):
                raise ParseError("must be an object", field=lf)
            tcb = _get(lvl, "tcb", dict, lf)
            levels.append(ModuleTcbLevel(_uint(tcb, "isvsvn", 255, lf),
                                         parse_time(lvl.get("tcbDate"), f"{lf}.tcbDate"),
                                         _status(lvl, MODULE_STATUSES, lf), _advisories(lvl, lf)))
    ident = obj.get("id", "") if with_levels else ""
    if not isinstance(ident, str):
        raise ParseError("id must be a string", field=field)
    return TdxModuleIdentity(ident, _hex(obj, "mrsigner", 48, field), _hex(obj, "attributes", 8, field),
                             _hex(obj, "attributesMask", 8, field), tuple(levels))


def parse_tcb_info(inner: dict[str, Any]) -> TcbInfo:
    """The inner ``tcbInfo`` object of a TDX TCB info answer (id ``TDX``, version 3)."""
    f = "tcbInfo"
    ident = _get(inner, "id", str, f)
    version = _get(inner, "version", int, f)
    if ident != "TDX" or version != 3:
        raise ParseError(f"is {ident!r} version {version}, not TDX TCB info version 3", field=f,
                         reason="id" if ident != "TDX" else "version")
    issue, nxt = _window(inner, f)
    module = _module_identity(inner["tdxModule"], f"{f}.tdxModule", with_levels=False) \
        if "tdxModule" in inner else None
    raw_ids = inner.get("tdxModuleIdentities", [])
    if not isinstance(raw_ids, list) or len(raw_ids) > MAX_LEVELS:
        raise ParseError("tdxModuleIdentities must be a list", field=f)
    identities = tuple(_module_identity(m, f"{f}.tdxModuleIdentities[{i}]", with_levels=True)
                       for i, m in enumerate(raw_ids))
    raw_levels = _get(inner, "tcbLevels", list, f)
    if not raw_levels or len(raw_levels) > MAX_LEVELS:
        raise ParseError("tcbLevels must list 1 to 256 levels", field=f)
    levels = []
    for i, lvl in enumerate(raw_levels):
        lf = f"{f}.tcbLevels[{i}]"
        if not isinstance(lvl, dict):
            raise ParseError("must be an object", field=lf)
        tcb = _get(lvl, "tcb", dict, lf)
        levels.append(TcbLevel(
            sgx_components=_components(tcb, "sgxtcbcomponents", lf),
            pcesvn=_uint(tcb, "pcesvn", 0xFFFF, lf),
            tdx_components=_components(tcb, "tdxtcbcomponents", lf),
            tcb_date=parse_time(lvl.get("tcbDate"), f"{lf}.tcbDate"),
            status=_status(lvl, TCB_LEVEL_STATUSES, lf),
            advisory_ids=_advisories(lvl, lf)))
    return TcbInfo(ident, version, issue, nxt, _hex(inner, "fmspc", 6, f), _hex(inner, "pceId", 2, f),
                   _uint(inner, "tcbType", 255, f), _uint(inner, "tcbEvaluationDataNumber", 2**32 - 1, f),
                   module, identities, tuple(levels))


# -- QE identity (PCS API v4, "Enclave Identity V2", id TD_QE) ----------------------------------
@dataclass(frozen=True)
class QeIdentity:
    id: str
    version: int
    issue_date: dt.datetime
    next_update: dt.datetime
    tcb_evaluation_data_number: int
    miscselect: bytes
    miscselect_mask: bytes
    attributes: bytes
    attributes_mask: bytes
    mrsigner: bytes
    isvprodid: int
    tcb_levels: tuple[ModuleTcbLevel, ...]


def parse_qe_identity(inner: dict[str, Any]) -> QeIdentity:
    """The inner ``enclaveIdentity`` object for the TDX Quoting Enclave (id ``TD_QE``, version 2)."""
    f = "enclaveIdentity"
    ident = _get(inner, "id", str, f)
    version = _get(inner, "version", int, f)
    if ident != "TD_QE" or version != 2:
        raise ParseError(f"is {ident!r} version {version}, not the TD_QE identity version 2", field=f,
                         reason="id" if ident != "TD_QE" else "version")
    issue, nxt = _window(inner, f)
    raw_levels = _get(inner, "tcbLevels", list, f)
    if not raw_levels or len(raw_levels) > MAX_LEVELS:
        raise ParseError("tcbLevels must list 1 to 256 levels", field=f)
    levels = []
    for i, lvl in enumerate(raw_levels):
        lf = f"{f}.tcbLevels[{i}]"
        if not isinstance(lvl, dict):
            raise ParseError("must be an object", field=lf)
        tcb = _get(lvl, "tcb", dict, lf)
        levels.append(ModuleTcbLevel(_uint(tcb, "isvsvn", 0xFFFF, lf),
                                     parse_time(lvl.get("tcbDate"), f"{lf}.tcbDate"),
                                     _status(lvl, QE_STATUSES, lf), _advisories(lvl, lf)))
    return QeIdentity(ident, version, issue, nxt, _uint(inner, "tcbEvaluationDataNumber", 2**32 - 1, f),
                      _hex(inner, "miscselect", 4, f), _hex(inner, "miscselectMask", 4, f),
                      _hex(inner, "attributes", 16, f), _hex(inner, "attributesMask", 16, f),
                      _hex(inner, "mrsigner", 32, f), _uint(inner, "isvprodid", 0xFFFF, f), tuple(levels))


def check_window(issue: dt.datetime, next_update: dt.datetime, at: dt.datetime, what: str) -> None:
    """Collateral is usable from its issue date to its next update (PCS API v4)."""
    if at < issue:
        raise CollateralInvalid(f"{what} was issued {issue:%Y-%m-%dT%H:%M:%SZ}, after the verification time",
                                reason="not_yet_valid")
    if at > next_update:
        raise CollateralInvalid(f"{what} expired at its nextUpdate {next_update:%Y-%m-%dT%H:%M:%SZ}",
                                reason="expired")


# -- CRLs ----------------------------------------------------------------------------------------
_HEX_TEXT = re.compile(rb"\A[0-9a-fA-F\s]+\Z")


def load_crl(data: bytes, what: str) -> x509.CertificateRevocationList:
    """A CRL as PCS or a cache writes it: DER, PEM, or hex text of DER (what PCCS serves)."""
    if len(data) > MAX_CRL_BYTES:
        raise ParseError(f"is larger than {MAX_CRL_BYTES} bytes", field=what)
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_crl(data)
        if _HEX_TEXT.match(data):
            return x509.load_der_x509_crl(binascii.unhexlify(b"".join(data.split())))
        return x509.load_der_x509_crl(data)
    except (ValueError, binascii.Error, x509.InvalidVersion) as e:
        raise ParseError(f"does not parse as a CRL: {e}", field=what) from None


def verify_crl(crl: x509.CertificateRevocationList, issuer: x509.Certificate, at: dt.datetime,
               what: str) -> None:
    """Issuer name, signature by the issuer's key, and ``thisUpdate <= at <= nextUpdate``.

    Fields the library decodes lazily and that do not parse make the CRL refused, not an exception.
    """
    try:
        _verify_crl(crl, issuer, at, what)
    except CERT_DECODE_ERRORS as e:
        raise CollateralInvalid(f"the {what} does not parse: {e}") from None


def _verify_crl(crl: x509.CertificateRevocationList, issuer: x509.Certificate, at: dt.datetime,
                what: str) -> None:
    if crl.issuer != issuer.subject:
        raise CollateralInvalid(f"the {what} is issued by {crl.issuer.rfc4514_string()!r}, "
                                f"not by {issuer.subject.rfc4514_string()!r}", reason="issuer")
    key = issuer.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or not crl.is_signature_valid(key):
        raise CollateralInvalid(f"the {what}'s signature does not verify with its issuer's key",
                                reason="signature")
    this_update = crl.last_update_utc
    next_update = crl.next_update_utc
    if at < this_update:
        raise CollateralInvalid(f"the {what} was issued {this_update:%Y-%m-%dT%H:%M:%SZ}, after the "
                                "verification time, so it says nothing about that time", reason="not_yet_valid")
    if next_update is None:
        raise CollateralInvalid(f"the {what} has no nextUpdate")
    if at > next_update:
        raise CollateralInvalid(f"the {what} expired at its nextUpdate {next_update:%Y-%m-%dT%H:%M:%SZ}",
                                reason="expired")


def is_revoked(crl: x509.CertificateRevocationList, cert: x509.Certificate) -> bool:
    """Whether ``cert``'s serial is listed; a list that does not parse counts as revoked (fail closed)."""
    try:
        return crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None
    except CERT_DECODE_ERRORS:
        return True
