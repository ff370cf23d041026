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

from enclave import tdx as enclave_tdx
from enclave.tdx import (
    certificate,
    crl,
    intel_style_name,
    iso_time,
    pem,
    platform_tcb,
    qe_identity,
    raw_public,
    raw_signature,
    sgx_item,
    signed_json,
    tcb_info,
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
TCB_DATE = "2024-01-01T00:00:00Z"


def intel_name(cn: str) -> x509.Name:
    """Intel's own subject layout and organisation (the reference enclave's builder)."""
    return intel_style_name(cn, "Intel Corporation")


# -- the SGX extension (the reference enclave's builder, enclave/tdx.py) ----------------------------
_pair = sgx_item


def sgx_extension(*, fmspc: bytes = FMSPC, pcesvn: int = 13, comps: tuple[int, ...] = (4,) * 16,
                  pce_id: bytes = b"\x00\x00", sgx_type: int = 0) -> bytes:
    """DER of the SGX extension (PCK Certificate and CRL Profile §1.3.5) with the forge's fields:
    zero PPID and platform instance id, SGX type 0 (Standard) unless told."""
    return enclave_tdx.sgx_extension(fmspc=fmspc, pcesvn=pcesvn, cpusvn=bytes(comps), pce_id=pce_id,
                                     sgx_type=sgx_type, ppid=bytes(16), platform_instance_id=bytes(16))


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
    """The forged QE's REPORT body (enclave/tdx.py's builder): zero CPUSVN, MRENCLAVE 0x77..."""
    return enclave_tdx.qe_report(report_data, cpusvn=bytes(16), miscselect=miscselect, attributes=attributes,
                                 mrenclave=b"\x77" * 32, mrsigner=mrsigner, isvprodid=isvprodid, isvsvn=isvsvn)


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


def tcb_level(sgx: int, pcesvn: int, tdx: tuple[int, ...], status: str, date: str = TCB_DATE,
              advisories: tuple[str, ...] = ()) -> dict[str, Any]:
    """A TCB info level whose 16 SGX components are all ``sgx``."""
    return enclave_tdx.tcb_level(platform_tcb((sgx,) * 16, pcesvn, tdx), date=date, status=status,
                                 advisories=advisories)


def tdx_svn(first: int, second: int, third: int) -> tuple[int, ...]:
    return (first, second, third) + (0,) * 13


def tcb_info_inner(issue: dt.datetime, next_update: dt.datetime, *, levels: list[dict[str, Any]] | None = None,
                   module_levels: list[dict[str, Any]] | None = None, fmspc: bytes = FMSPC,
                   eval_number: int = 18) -> dict[str, Any]:
    """TCB info (enclave/tdx.py's builder) with the forge's levels unless told: platform and module
    levels UpToDate and OutOfDate (with advisories)."""
    return tcb_info(issue, next_update, fmspc=fmspc, pce_id=bytes(2), eval_number=eval_number,
                    levels=levels or [
                        tcb_level(4, 13, tdx_svn(0, 0, 2), "UpToDate"),
                        tcb_level(3, 11, tdx_svn(0, 0, 1), "OutOfDate", "2023-01-01T00:00:00Z", ("INTEL-SA-00001",))],
                    module_levels=module_levels or [
                        enclave_tdx.tcb_level({"isvsvn": 3}, date=TCB_DATE),
                        enclave_tdx.tcb_level({"isvsvn": 2}, date="2023-01-01T00:00:00Z", status="OutOfDate",
                                              advisories=("INTEL-SA-99999",))])


def qe_identity_inner(issue: dt.datetime, next_update: dt.datetime, *,
                      levels: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The forged TD_QE's identity (enclave/tdx.py's builder): one level, UpToDate at ISVSVN 4, unless told."""
    return qe_identity(issue, next_update, mrsigner=QE_MRSIGNER, isvprodid=2, attributes=QE_ATTRIBUTES,
                       eval_number=18, levels=levels or [enclave_tdx.tcb_level({"isvsvn": 4}, date=TCB_DATE)])


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
