"""A simulated Azure confidential VM, SEV-SNP or TDX (INSECURE DEMO): the paravisor's HCL report,
its runtime claims with a demo vTPM attestation key (AK), and the vTPM's TPM2_Quote over demo PCRs.

On a real Azure CVM, Microsoft's paravisor (the HCL) asks the AMD-SP for the SEV-SNP report and
puts the SHA-256 of its own *runtime claims* into REPORT_DATA; the guest cannot choose it. The
claims carry the vTPM's attestation key (``HCLAkPub``) and the 64 bytes of ``user-data`` the guest
wrote to the vTPM's NV index before asking. The guest proves freshness with a TPM2_Quote that the
AK signs over the verifier's qualifying data and the PCRs. Here all of it is simulated:

- the SEV-SNP report is :class:`enclave.tee.SimulatedSnp`'s (demo VCEK under the demo ARK/ASK);
  on TDX (:class:`SimulatedAzureTdx`) the HCL report wraps a TDREPORT of
  :class:`enclave.tdx.SimulatedTdx`, whose TD quote (demo PCK under a demo Intel root) the
  bundle carries beside it, as Azure's ``/acc/tdquote`` returns it;
- the AK is an RSA-2048 key made once per process (:func:`demo_ak`): nothing protects it, and no
  TPM made it;
- the PCRs are fixed demo values (:func:`demo_pcrs`), each SHA-256 of one extend from zero: no
  boot was measured;
- the HCL report and the TPMS_ATTEST are built byte for byte as Azure's paravisor and a TPM 2.0
  (Library Part 2, "Structures") lay them out, so that the verifier's strict parsers read them.

In a session (docs/protocol.md §Azure confidential VMs) ``user-data`` and the quote's qualifying
data are both the native protocol's binding value. Nothing here is protected by hardware.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from enclave.tdx import SimulatedTdx, TdState
from enclave.tee import SimulatedSnp
from verifier.appraisal.azure import TpmQuote
from verifier.evidence import azure_hcl
from verifier.evidence.azure_tdx import REPORT_TYPE_TDX
from verifier.evidence.tpm import (
    PCR_COUNT,
    TPM_ALG_SHA256,
    TPM_GENERATED_VALUE,
    TPM_ST_ATTEST_QUOTE,
)

PLATFORM = "azure-snp-vtpm"
HCL_VERSION = 2
"""The HCL report version of the simulated paravisor (2: as on Genoa, the simulated chip)."""
HCL_REQUEST_TYPE = 2
IGVM_REQUEST_VERSION = 1
HASH_TYPE_SHA256 = 1
HCL_BUFFER_SIZE = 2600
"""Azure hands the HCL report out zero-padded to a fixed buffer of this size."""
FIRMWARE_VERSION = 0x2025010100000001
"""The simulated vTPM's firmwareVersion (a demo value)."""
QUOTED_PCRS = tuple(range(PCR_COUNT))
"""The quote covers SHA-256 PCRs 0-23."""

# TPM 2.0 Library Part 2: the AK's TPMT_PUBLIC.
TPM_ALG_RSA = 0x0001
TPM_ALG_NULL = 0x0010
TPM_ALG_RSASSA = 0x0014
AK_ATTRIBUTES = (1 << 1) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 16) | (1 << 18)
"""fixedTPM, fixedParent, sensitiveDataOrigin, userWithAuth, restricted, sign: an attestation key."""


@cache
def demo_ak() -> rsa.RSAPrivateKey:
    """INSECURE DEMO: the simulated vTPM's attestation key, made once per process."""
    return rsa.generate_private_key(65537, 2048)


@cache
def foreign_ak() -> rsa.RSAPrivateKey:
    """ATTACK (``azure-foreign-ak``, ``azure-claims-changed``): an RSA key that is not the vTPM's AK."""
    return rsa.generate_private_key(65537, 2048)


@cache
def demo_pcrs() -> tuple[bytes, ...]:
    """INSECURE DEMO PCR values: PCR i = SHA-256(32 zero bytes || SHA-256(label || i)), one
    extend from the reset value, the same on every run."""
    return tuple(hashlib.sha256(bytes(32) + hashlib.sha256(b"enclave-chat INSECURE DEMO PCR %d" % i).digest()).digest()
                 for i in range(PCR_COUNT))


def _b64url_uint(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def ak_jwk(key: rsa.RSAPublicKey) -> dict[str, Any]:
    """``HCLAkPub`` as the runtime claims carry it: an RSA JWK with ``key_ops`` ``sign``."""
    numbers = key.public_numbers()
    return {"kid": azure_hcl.AK_KID, "key_ops": ["sign"], "kty": "RSA",
            "e": _b64url_uint(numbers.e), "n": _b64url_uint(numbers.n)}


def tpm_name(key: rsa.RSAPublicKey) -> bytes:
    """The key's TPM name: nameAlg (SHA-256) || SHA-256(TPMT_PUBLIC), as the quote's qualifiedSigner."""
    modulus = key.public_numbers().n.to_bytes(key.key_size // 8, "big")
    public = (struct.pack(">HHI", TPM_ALG_RSA, TPM_ALG_SHA256, AK_ATTRIBUTES) + _tpm2b(b"")
              + struct.pack(">HHHHI", TPM_ALG_NULL, TPM_ALG_RSASSA, TPM_ALG_SHA256, key.key_size, 0)
              + _tpm2b(modulus))
    return struct.pack(">H", TPM_ALG_SHA256) + hashlib.sha256(public).digest()


def _tpm2b(data: bytes) -> bytes:
    return struct.pack(">H", len(data)) + data


def pcr_select(pcrs: Sequence[int]) -> bytes:
    """A TPML_PCR_SELECTION of ``pcrs`` in the SHA-256 bank (one TPMS_PCR_SELECTION, 3 bytes)."""
    bitmap = bytearray(3)
    for i in pcrs:
        bitmap[i // 8] |= 1 << (i % 8)
    return struct.pack(">IHB", 1, TPM_ALG_SHA256, len(bitmap)) + bytes(bitmap)


def tpms_attest(*, signer: bytes, extra_data: bytes, clock: int, reset_count: int, restart_count: int,
                safe: bool, firmware_version: int, pcrs: Sequence[int], values: Sequence[bytes]) -> bytes:
    """A quote's TPMS_ATTEST (type TPM_ST_ATTEST_QUOTE), every integer big-endian: magic, type,
    qualifiedSigner, extraData, clockInfo, firmwareVersion, then TPMS_QUOTE_INFO (the selection
    and pcrDigest = SHA-256 over the selected values in ascending order)."""
    digest = hashlib.sha256(b"".join(values[i] for i in sorted(pcrs))).digest()
    return (struct.pack(">IH", TPM_GENERATED_VALUE, TPM_ST_ATTEST_QUOTE) + _tpm2b(signer) + _tpm2b(extra_data)
            + struct.pack(">QIIBQ", clock, reset_count, restart_count, int(safe), firmware_version)
            + pcr_select(pcrs) + _tpm2b(digest))


def hcl_report(hardware_report: bytes, runtime_claims: bytes, *, report_type: int = azure_hcl.REPORT_TYPE_SNP) -> bytes:
    """The HCL report around a hardware report (layout: :mod:`verifier.evidence.azure_hcl`,
    :mod:`verifier.evidence.azure_tdx`): header (``HCLA``, version, size, request type, status 0),
    the report in its 1184-byte slot (an SEV-SNP report fills it; a 1024-byte TDREPORT is followed
    by zeros), the IGVM request data (``report_type``: 2 SNP, 4 TDX; SHA-256) and the runtime
    claims, zero-padded to Azure's buffer size."""
    slot = azure_hcl.REQUEST_OFFSET - azure_hcl.SNP_OFFSET
    size = azure_hcl.REQUEST_OFFSET + azure_hcl.REQUEST_HEADER_SIZE + len(runtime_claims)
    header = azure_hcl.MAGIC + struct.pack("<IIII", HCL_VERSION, size, HCL_REQUEST_TYPE, 0)
    header += bytes(azure_hcl.HEADER_SIZE - len(header))
    request = struct.pack("<IIIII", azure_hcl.REQUEST_HEADER_SIZE + len(runtime_claims), IGVM_REQUEST_VERSION,
                          report_type, HASH_TYPE_SHA256, len(runtime_claims))
    body = header + hardware_report + bytes(slot - len(hardware_report)) + request + runtime_claims
    return body + bytes(max(0, HCL_BUFFER_SIZE - len(body)))


@dataclass
class CvmEvidence:
    """What the simulated CVM answers for one binding value: the HCL report and the vTPM quote
    (on TDX, and the TD quote made from the HCL report's TDREPORT)."""

    hcl_report: bytes
    quote: TpmQuote
    td_quote: bytes | None = None


@dataclass(kw_only=True)
class SimulatedCvm:
    """What every simulated Azure CVM has (INSECURE DEMO): the paravisor's AK, its VM id, the
    vTPM's PCRs and clock; a platform adds its hardware report (:meth:`_hardware`)."""

    report_type: ClassVar[int] = azure_hcl.REPORT_TYPE_SNP
    ak: rsa.RSAPrivateKey = field(default_factory=demo_ak)
    vm_id: str = field(default_factory=lambda: str(uuid.uuid4()).upper())
    pcrs: tuple[bytes, ...] = field(default_factory=demo_pcrs)
    started: float = field(default_factory=time.monotonic)

    def runtime_claims(self, user_data: bytes, *, ak: rsa.RSAPublicKey | None = None) -> bytes:
        """The paravisor's runtime claims: ``HCLAkPub``, the VM configuration (Secure Boot and the
        vTPM on) and ``user-data``, the 64 bytes the guest gave, in uppercase hex."""
        doc = {"keys": [ak_jwk(ak or self.ak.public_key())],
               "vm-configuration": {"console-enabled": False, "secure-boot": True, "tpm-enabled": True,
                                    "vmUniqueId": self.vm_id},
               "user-data": user_data.hex().upper()}
        return json.dumps(doc, separators=(",", ":")).encode()

    def _hardware(self, claims: bytes, **hardware: Any) -> tuple[bytes, bytes | None]:
        """The HCL report over ``claims`` and, on TDX, the TD quote made from it."""
        raise NotImplementedError

    def hcl(self, claims: bytes, **hardware: Any) -> bytes:
        """A fresh HCL report over ``claims``: the hardware report's REPORT_DATA is SHA-256(claims)
        || 32 zero bytes. ``hardware``: the platform's options (attack modes bend the report with them)."""
        return self._hardware(claims, **hardware)[0]

    def quote(self, extra_data: bytes, *, key: rsa.RSAPrivateKey | None = None) -> TpmQuote:
        """TPM2_Quote(AK, qualifyingData = ``extra_data``, SHA-256 PCRs 0-23), signed
        RSASSA-PKCS1-v1_5 / SHA-256 by ``key`` (the AK unless an attack names another)."""
        signer = key or self.ak
        message = tpms_attest(signer=tpm_name(signer.public_key()), extra_data=extra_data,
                              clock=int((time.monotonic() - self.started) * 1000), reset_count=0,
                              restart_count=0, safe=True, firmware_version=FIRMWARE_VERSION,
                              pcrs=QUOTED_PCRS, values=self.pcrs)
        signature = signer.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return TpmQuote(message, signature, self.pcrs)

    def evidence(self, binding: bytes, *, attack: str | None = None, stale: bytes | None = None,
                 **hardware: Any) -> CvmEvidence:
        """The evidence for ``binding`` (the native protocol's 64-byte binding value, written as
        ``user-data`` and quoted as qualifying data), as ``attack`` bends it:

        - ``azure-stale-quote``: the quote's qualifying data is ``stale`` (another nonce's value);
        - ``azure-foreign-ak``: the quote is signed by a key that is not the claims' AK;
        - ``azure-pcr-changed``: PCR 7's value is changed after the quote was made;
        - ``azure-claims-changed``: after the report was made, the runtime claims are changed to
          name another AK, which signs the quote.
        """
        claims = self.runtime_claims(binding)
        report, td_quote = self._hardware(claims, **hardware)
        if attack == "azure-stale-quote":
            return CvmEvidence(report, self.quote(stale if stale is not None else bytes(len(binding))), td_quote)
        if attack == "azure-foreign-ak":
            return CvmEvidence(report, self.quote(binding, key=foreign_ak()), td_quote)
        if attack == "azure-pcr-changed":
            quote = self.quote(binding)
            pcrs = list(quote.pcrs)
            pcrs[7] = hashlib.sha256(pcrs[7] + b"a boot component that was never quoted").digest()
            return CvmEvidence(report, TpmQuote(quote.message, quote.signature, tuple(pcrs)), td_quote)
        if attack == "azure-claims-changed":
            swapped = self.runtime_claims(binding, ak=foreign_ak().public_key())
            return CvmEvidence(hcl_report(report[azure_hcl.SNP_OFFSET:azure_hcl.REQUEST_OFFSET], swapped,
                                          report_type=self.report_type),
                               self.quote(binding, key=foreign_ak()), td_quote)
        return CvmEvidence(report, self.quote(binding), td_quote)


@dataclass
class SimulatedAzureSnp(SimulatedCvm):
    """One simulated Azure SEV-SNP CVM (INSECURE DEMO): the simulated chip inside the CVM."""

    snp: SimulatedSnp

    def _hardware(self, claims: bytes, **snp: Any) -> tuple[bytes, bytes | None]:
        """``snp``: :meth:`SimulatedSnp.report`'s options."""
        report_data = hashlib.sha256(claims).digest() + bytes(32)
        return hcl_report(self.snp.report(report_data, **snp), claims), None


@dataclass
class SimulatedAzureTdx(SimulatedCvm):
    """One simulated Azure TDX CVM (INSECURE DEMO): the simulated TDX host (:mod:`enclave.tdx`).
    The HCL report wraps the TD's TDREPORT; the TD quote is made from that TDREPORT (the same
    REPORTDATA, MRTD, RTMRs and attributes), as Azure's ``/acc/tdquote`` returns it."""

    report_type: ClassVar[int] = REPORT_TYPE_TDX
    tdx: SimulatedTdx

    def _hardware(self, claims: bytes, **hardware: Any) -> tuple[bytes, bytes | None]:
        """``state`` (a :class:`TdState`): the TD to report (an attack's; the host's own by default)."""
        state: TdState | None = hardware.pop("state", None)
        if hardware:
            raise TypeError(f"unknown TD options {sorted(hardware)}")
        report_data = hashlib.sha256(claims).digest() + bytes(32)
        tdreport = (state or self.tdx.state).tdreport(report_data)
        return (hcl_report(tdreport, claims, report_type=REPORT_TYPE_TDX),
                self.tdx.quote(report_data, state=state))
