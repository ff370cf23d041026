"""A look-alike Intel PKI made in the test session: Intel's names, other keys.

It signs quotes, TCB info, QE identities and CRLs exactly as Intel's services would, so tests can
reach every branch (each TCB status, debug TDs, CRLs issued after the verification time) and show
that a chain carrying Intel's names but not Intel's root key is refused by the pin. Keys are made
once per test session (see ``conftest.py``); nothing here is used outside the tests.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import struct
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from enclave import der
from enclave.tdx import (
    certificate,
    crl,
    intel_style_name,
    iso_time,
    pem,
    raw_public,
    raw_signature,
    signed_json,
)
from verifier.endorsements.anchors import spki_sha256
from verifier.endorsements.intel_anchors import SGX_EXTENSION_OID
from verifier.endorsements.intel_collateral import TdxCollateral
from verifier.evidence.tdx import INTEL_QE_VENDOR_ID, TD_ATTR_SEPT_VE_DISABLE

T0 = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
T1 = dt.datetime(2040, 1, 1, tzinfo=dt.UTC)
QE_MRSIGNER = bytes.fromhex("dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5")
QE_ATTRIBUTES = bytes.fromhex("11000000000000000000000000000000")
FMSPC = bytes.fromhex("aabbcc000000")


def intel_name(cn: str) -> x509.Name:
    """Intel's own subject layout and organisation (the reference enclave's builder)."""
    return intel_style_name(cn, "Intel Corporation")


# -- the SGX extension (its DER by the reference enclave's encoder, enclave/der.py) ----------------
def _pair(oid: str, value: bytes) -> bytes:
    return der.sequence(der.oid(oid), value)


def sgx_extension(*, fmspc: bytes = FMSPC, pcesvn: int = 13, comps: tuple[int, ...] = (4,) * 16,
                  pce_id: bytes = b"\x00\x00", sgx_type: int = 0) -> bytes:
    """DER of the SGX extension (PCK Certificate Profile §1.3.5)."""
    base = SGX_EXTENSION_OID
    tcb = b"".join(_pair(f"{base}.2.{i + 1}", der.integer(c)) for i, c in enumerate(comps))
    tcb += _pair(f"{base}.2.17", der.integer(pcesvn)) + _pair(f"{base}.2.18", der.octet_string(bytes(comps)))
    config = (_pair(f"{base}.7.1", der.boolean(False)) + _pair(f"{base}.7.2", der.boolean(True))
              + _pair(f"{base}.7.3", der.boolean(True)))
    return der.sequence(
        _pair(f"{base}.1", der.octet_string(bytes(16))), _pair(f"{base}.2", der.sequence(tcb)),
        _pair(f"{base}.3", der.octet_string(pce_id)), _pair(f"{base}.4", der.octet_string(fmspc)),
        _pair(f"{base}.5", der.enumerated(sgx_type)), _pair(f"{base}.6", der.octet_string(bytes(16))),
        _pair(f"{base}.7", der.sequence(config)))


# -- the PKI ----------------------------------------------------------------------------------------
def _cert(subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey,
          signer: ec.EllipticCurvePrivateKey, *, ca: bool, not_before: dt.datetime = T0,
          not_after: dt.datetime = T1, serial: int = 1000,
          extra: x509.ExtensionType | None = None) -> x509.Certificate:
    """The reference enclave's Intel-shaped certificate (enclave/tdx.py), with the forge's fields:
    path length 1 for every CA, leaves without nonRepudiation, valid T0..T1 unless told otherwise."""
    return certificate(subject, issuer, key, signer, ca=ca, serial=serial, extension=extra,
                       path_length=1 if ca else None, content_commitment=False,
                       not_before=not_before, not_after=not_after)


@dataclass(frozen=True)
class FakeIntel:
    root_key: ec.EllipticCurvePrivateKey
    root: x509.Certificate
    ca_key: ec.EllipticCurvePrivateKey
    ca: x509.Certificate
    pck_key: ec.EllipticCurvePrivateKey
    pck: x509.Certificate
    tcb_key: ec.EllipticCurvePrivateKey
    tcb_signer: x509.Certificate
    att_key: ec.EllipticCurvePrivateKey

    @property
    def pin(self) -> str:
        return spki_sha256(self.root)

    @property
    def pck_chain(self) -> bytes:
        return pem(self.pck, self.ca, self.root)

    @property
    def tcb_chain(self) -> bytes:
        return pem(self.tcb_signer, self.root)

    def with_pck(self, ext: bytes, *, serial: int = 7) -> FakeIntel:
        """The same PKI with a PCK certificate carrying another SGX extension."""
        pck = _cert(intel_name("Intel SGX PCK Certificate"), self.ca.subject, self.pck_key, self.ca_key,
                    ca=False, serial=serial,
                    extra=x509.UnrecognizedExtension(x509.ObjectIdentifier(SGX_EXTENSION_OID), ext))
        return FakeIntel(self.root_key, self.root, self.ca_key, self.ca, self.pck_key, pck, self.tcb_key,
                         self.tcb_signer, self.att_key)

    def with_tcb_signer(self, not_before: dt.datetime, not_after: dt.datetime) -> FakeIntel:
        signer = _cert(intel_name("Intel SGX TCB Signing"), self.root.subject, self.tcb_key, self.root_key,
                       ca=False, not_before=not_before, not_after=not_after, serial=3)
        return FakeIntel(self.root_key, self.root, self.ca_key, self.ca, self.pck_key, self.pck, self.tcb_key,
                         signer, self.att_key)


def make_pki() -> FakeIntel:
    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(5)]
    root_key, ca_key, pck_key, tcb_key, att_key = keys
    root_name = intel_name("Intel SGX Root CA")
    root = _cert(root_name, root_name, root_key, root_key, ca=True, serial=1)
    ca = _cert(intel_name("Intel SGX PCK Platform CA"), root_name, ca_key, root_key, ca=True, serial=2)
    tcb = _cert(intel_name("Intel SGX TCB Signing"), root_name, tcb_key, root_key, ca=False, serial=3)
    pki = FakeIntel(root_key, root, ca_key, ca, pck_key, ca, tcb_key, tcb, att_key)
    return pki.with_pck(sgx_extension())


# -- quotes -----------------------------------------------------------------------------------------
raw_sig = raw_signature  # r || s, as a quote carries it (enclave/tdx.py)
raw_pub = raw_public


def td_body(*, tee_tcb_svn: bytes = bytes([3, 1, 2]) + bytes(13),
            td_attributes: int = TD_ATTR_SEPT_VE_DISABLE, xfam: bytes = bytes.fromhex("e702060000000000"),
            mrseam: bytes = b"\x5e" * 48, mrsignerseam: bytes = bytes(48), seam_attributes: bytes = bytes(8),
            mrtd: bytes = b"\x11" * 48, rtmrs: tuple[bytes, ...] = (b"\x21" * 48, b"\x22" * 48, b"\x23" * 48, bytes(48)),
            report_data: bytes = bytes(64), tee_tcb_svn2: bytes | None = None,
            mrservicetd: bytes | None = None) -> bytes:
    body = (tee_tcb_svn + mrseam + mrsignerseam + seam_attributes + td_attributes.to_bytes(8, "little") + xfam
            + mrtd + bytes(48) * 3 + b"".join(rtmrs) + report_data)
    if tee_tcb_svn2 is not None or mrservicetd is not None:
        body += (tee_tcb_svn2 if tee_tcb_svn2 is not None else tee_tcb_svn) + (mrservicetd or bytes(48))
    return body


def qe_report(report_data: bytes, *, isvsvn: int = 4, mrsigner: bytes = QE_MRSIGNER, isvprodid: int = 2,
              attributes: bytes = QE_ATTRIBUTES, miscselect: bytes = bytes(4)) -> bytes:
    return (bytes(16) + miscselect + bytes(28) + attributes + b"\x77" * 32 + bytes(32) + mrsigner + bytes(96)
            + struct.pack("<HH", isvprodid, isvsvn) + bytes(60) + report_data)


def make_quote(pki: FakeIntel, body: bytes | None = None, *, version: int = 4, trailing: bytes = b"",
               qe_kwargs: dict[str, Any] | None = None, chain: bytes | None = None) -> bytes:
    """A quote of ``version`` 4 or 5 signed by ``pki`` (v5 body type from the body's size)."""
    body = body if body is not None else td_body()
    header = struct.pack("<HHI", version, 2, 0x81) + bytes(4) + INTEL_QE_VENDOR_ID + bytes(20)
    if version == 5:
        signed = header + struct.pack("<HI", 3 if len(body) == 648 else 2, len(body)) + body
    else:
        signed = header + body
    att = raw_pub(pki.att_key)
    auth = bytes(range(32))
    qe = qe_report(hashlib.sha256(att + auth).digest() + bytes(32), **(qe_kwargs or {}))
    chain_pem = chain if chain is not None else pki.pck_chain
    inner = qe + raw_sig(pki.pck_key, qe) + struct.pack("<H", len(auth)) + auth \
        + struct.pack("<HI", 5, len(chain_pem)) + chain_pem
    sig_data = raw_sig(pki.att_key, signed) + att + struct.pack("<HI", 6, len(inner)) + inner
    return signed + struct.pack("<I", len(sig_data)) + sig_data + trailing


# -- collateral -------------------------------------------------------------------------------------
iso = iso_time


def tcb_level(sgx: int, pcesvn: int, tdx: tuple[int, ...], status: str, date: str = "2024-01-01T00:00:00Z",
              advisories: tuple[str, ...] = ()) -> dict[str, Any]:
    level: dict[str, Any] = {
        "tcb": {"sgxtcbcomponents": [{"svn": sgx}] * 16, "pcesvn": pcesvn,
                "tdxtcbcomponents": [{"svn": v} for v in tdx]},
        "tcbDate": date, "tcbStatus": status}
    if advisories:
        level["advisoryIDs"] = list(advisories)
    return level


def tdx_svn(first: int, second: int, third: int) -> tuple[int, ...]:
    return (first, second, third) + (0,) * 13


def tcb_info_inner(issue: dt.datetime, next_update: dt.datetime, *, levels: list[dict[str, Any]] | None = None,
                   module_levels: list[dict[str, Any]] | None = None, fmspc: bytes = FMSPC,
                   eval_number: int = 18) -> dict[str, Any]:
    zeros = "00" * 48
    module = {"mrsigner": zeros, "attributes": "0000000000000000", "attributesMask": "FFFFFFFFFFFFFFFF"}
    return {
        "id": "TDX", "version": 3, "issueDate": iso(issue), "nextUpdate": iso(next_update),
        "fmspc": fmspc.hex(), "pceId": "0000", "tcbType": 0, "tcbEvaluationDataNumber": eval_number,
        "tdxModule": module,
        "tdxModuleIdentities": [dict(module, id="TDX_01", tcbLevels=module_levels or [
            {"tcb": {"isvsvn": 3}, "tcbDate": "2024-01-01T00:00:00Z", "tcbStatus": "UpToDate"},
            {"tcb": {"isvsvn": 2}, "tcbDate": "2023-01-01T00:00:00Z", "tcbStatus": "OutOfDate",
             "advisoryIDs": ["INTEL-SA-99999"]}])],
        "tcbLevels": levels or [
            tcb_level(4, 13, tdx_svn(0, 0, 2), "UpToDate"),
            tcb_level(3, 11, tdx_svn(0, 0, 1), "OutOfDate", "2023-01-01T00:00:00Z", ("INTEL-SA-00001",))],
    }


def qe_identity_inner(issue: dt.datetime, next_update: dt.datetime, *,
                      levels: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "id": "TD_QE", "version": 2, "issueDate": iso(issue), "nextUpdate": iso(next_update),
        "tcbEvaluationDataNumber": 18, "miscselect": "00000000", "miscselectMask": "FFFFFFFF",
        "attributes": QE_ATTRIBUTES.hex().upper(), "attributesMask": "FBFFFFFFFFFFFFFF0000000000000000",
        "mrsigner": QE_MRSIGNER.hex().upper(), "isvprodid": 2,
        "tcbLevels": levels or [{"tcb": {"isvsvn": 4}, "tcbDate": "2024-01-01T00:00:00Z",
                                 "tcbStatus": "UpToDate"}],
    }


def signed_body(key_name: str, inner: dict[str, Any], signer: ec.EllipticCurvePrivateKey) -> bytes:
    """``{"<key_name>":<inner>,"signature":"<hex>"}`` with PCS's compact form, signed by ``signer``."""
    return signed_json(key_name, inner, signer)


make_crl = crl
"""A CRL of an issuer, revoking the serials given (enclave/tdx.py :func:`~enclave.tdx.crl`)."""


def make_collateral(pki: FakeIntel, at: dt.datetime, *, tcb_inner: dict[str, Any] | None = None,
                    qe_inner: dict[str, Any] | None = None, pck_revoked: tuple[int, ...] = (),
                    crl_this_update: dt.datetime | None = None) -> TdxCollateral:
    """Collateral current at ``at`` (issued a day before, valid thirty days) unless told otherwise."""
    issue, nxt = at - dt.timedelta(days=1), at + dt.timedelta(days=30)
    this_update = crl_this_update or issue
    return TdxCollateral(
        tcb_info=signed_body("tcbInfo", tcb_inner or tcb_info_inner(issue, nxt), pki.tcb_key),
        tcb_info_chain=pki.tcb_chain,
        qe_identity=signed_body("enclaveIdentity", qe_inner or qe_identity_inner(issue, nxt), pki.tcb_key),
        qe_identity_chain=pki.tcb_chain,
        pck_crl=make_crl(pki.ca, pki.ca_key, this_update, nxt, pck_revoked),
        pck_crl_chain=pem(pki.ca, pki.root),
        root_crl=make_crl(pki.root, pki.root_key, issue, nxt),
        source="forged")
