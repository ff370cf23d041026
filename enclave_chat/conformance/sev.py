"""``verify-attestation-sev`` (SPEC §3): one SEV-SNP report and its VCEK, on this project's appraisal.

The report (``attestation_doc_b64``: base64 of the gzip of the 1184 bytes, a v2 document's body) is
decoded by the Tinfoil document parser (:func:`verifier.providers.tinfoil.document.parse_document`)
and appraised by :func:`verifier.appraisal.sev_snp.appraise_snp` under the built-in ``tinfoil``
policy's ``[snp]`` table, with the input's knobs written into that table as its own options:

- ``amd_root_ca_pem``: the policy's ``roots`` pin that ARK's SPKI SHA-256 for every product line
  (the vendor pins no longer apply); ``ask_pem`` and the ARK travel with the VCEK as certificates.
- ``expected_measurement_hex``, ``expected_host_data_hex``, ``expected_id_key_digest_hex``,
  ``expected_author_key_digest_hex``: ``measurements``, ``host_data``, ``id_key_digests``,
  ``author_key_digests``, each a list of one.
- ``min_tcb_*_spl``: ``min_tcb`` for every product line; a caller's minimum raises the policy's
  floor (``DEFAULT_MIN_TCB``, AMD-SB-3019), never lowers it.
- ``expected_report_data_hex``: the appraisal's ``expected_report_data``. Without it
  ``snp.report_data`` is a required skip (no nonce here); this stage alone accepts that skip, since
  binding REPORT_DATA is the caller's (SPEC §8).
- ``enforce_spec_defaults``: read, and changes nothing: the tinfoil policy always refuses DEBUG and
  MIGRATE_MA, and the parser always refuses guest-policy bit 17 clear or bits 26-63 set.
- ``expiration_check_date_unix``: the verification time (else the system clock).

What the input does not carry (the ASK and ARK of a real VCEK) comes the project's way: AMD KDS's
``cert_chain`` through the collateral cache (``enclave-chat locate cache``; ``ENCLAVE_CHAT_OFFLINE=1``
answers from the cache only). When the input brings both ASK and ARK, nothing is fetched.

The verdict is the first failing check in appraisal order, mapped by ``TAXONOMY`` on (check id,
reason); the reasons are set by the appraisal (docs/sev-snp.md), never read from a detail sentence.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from enclave_chat.conformance.inputs import hex_bytes, obj, text
from enclave_chat.conformance.measurement import SEV
from enclave_chat.conformance.taxonomy import Key, Malformed, Rejected, code_for, reject_first
from verifier.appraisal.policy import Policy
from verifier.appraisal.sev_snp import PRODUCTS, appraise_snp, snp_policy
from verifier.appraisal.sev_snp import checks as ids
from verifier.endorsements import amd
from verifier.errors import PolicyError, VerifierError
from verifier.evidence.sev_snp import POLICY_RESERVED_ONE, SnpReport
from verifier.providers.tinfoil import document
from verifier.result import Status

STAGE = "verify-attestation-sev"
INPUT_KEYS = frozenset({"schema_version", "attestation_doc_b64", "vcek_der_b64", "amd_root_ca_pem",
                        "ask_pem", "expiration_check_date_unix", "policy"})
REQUIRED_KEYS = ("schema_version", "attestation_doc_b64", "vcek_der_b64")
PINS = {  # input policy key -> ([snp] key, bytes)
    "expected_measurement_hex": ("measurements", 48),
    "expected_host_data_hex": ("host_data", 32),
    "expected_id_key_digest_hex": ("id_key_digests", 48),
    "expected_author_key_digest_hex": ("author_key_digests", 48),
}
MIN_TCB = {"min_tcb_bl_spl": "bootloader", "min_tcb_tee_spl": "tee", "min_tcb_snp_spl": "snp",
           "min_tcb_ucode_spl": "microcode"}
POLICY_INPUT_KEYS = frozenset({*PINS, *MIN_TCB, "expected_report_data_hex", "enforce_spec_defaults"})
MAX_VCEK_BYTES = 16 * 1024
FALLBACK = "QV_RESULT_TERMINAL_UNSPECIFIED"

TAXONOMY: dict[Key, str] = {
    (ids.PARSE, "truncated"): "REPORT_TRUNCATED",
    (ids.PARSE, "version"): "WRONG_REPORT_VERSION",
    (ids.PARSE, "policy_reserved"): "GUEST_POLICY_RESERVED_BIT_SET",
    (ids.PARSE, "key_info"): "SIGNER_INFO_INVALID",
    (ids.PARSE, "signature_padding"): "REPORT_SIGNATURE_INVALID",
    (ids.PARSE, None): "REPORT_FORMAT_UNSUPPORTED",
    (ids.CHAIN_CERTIFICATES, "unsigned"): "SIGNER_INFO_INVALID",
    (ids.CHAIN_CERTIFICATES, None): "VCEK_CHAIN_INVALID",
    (ids.CHAIN_ARK_PINNED, None): "ARK_UNTRUSTED",
    (ids.CHAIN_ASK, None): "ASK_INVALID",
    (ids.CHAIN_VCEK, None): "VCEK_CHAIN_INVALID",
    (ids.CHAIN_VALIDITY, None): "VCEK_EXPIRED",
    (ids.VCEK_EXTENSIONS, "hwid"): "VCEK_HWID_MISMATCH",
    (ids.VCEK_EXTENSIONS, "hwid_missing"): "VCEK_HWID_MISMATCH",
    (ids.VCEK_EXTENSIONS, "tcb"): "VCEK_TCB_MISMATCH",
    (ids.VCEK_EXTENSIONS, None): "VCEK_CHAIN_INVALID",
    (ids.REPORT_SIGNATURE, None): "REPORT_SIGNATURE_INVALID",
    (ids.REVOCATION, None): "ASK_INVALID",
    (ids.SIGNING_KEY, None): "SIGNER_INFO_INVALID",
    (ids.POLICY_DEBUG, None): "GUEST_POLICY_DEBUG_SET",
    (ids.POLICY_MIGRATE_MA, None): "GUEST_POLICY_MIGRATE_MA_SET",
    (ids.PLATFORM_ALIAS_CHECK, None): "PLATFORM_INFO_INVALID",
    (ids.PLATFORM_SMT, None): "PLATFORM_INFO_INVALID",
    (ids.PLATFORM_TSME, None): "PLATFORM_INFO_INVALID",
    (ids.PLATFORM_FEATURES, None): "PLATFORM_INFO_INVALID",
    (ids.PLATFORM_RESERVED, None): "PLATFORM_INFO_INVALID",
    (ids.TCB_COMMITTED, None): "TCB_OUT_OF_DATE",
    (ids.TCB_REPORTED, None): "TCB_OUT_OF_DATE",
    (ids.TCB_MINIMUM, None): "TCB_OUT_OF_DATE",
    (ids.FIRMWARE, None): "TCB_OUT_OF_DATE",
    (ids.MEASUREMENT, None): "MEASUREMENT_MISMATCH",
    (ids.HOST_DATA, None): "HOST_DATA_MISMATCH",
    (ids.ID_KEY, None): "ID_KEY_DIGEST_MISMATCH",
    (ids.AUTHOR_KEY, None): "AUTHOR_KEY_DIGEST_MISMATCH",
    (ids.REPORT_DATA, None): "REPORT_DATA_MISMATCH",
}
"""(check id, reason) -> the suite's code; any other failing check is ``FALLBACK`` (the schema's
general code): the guest policy's SMT, CXL, AES, page-swap and ABI rules, VMPL, GUEST_SVN, the
mitigation vectors, FAMILY_ID, IMAGE_ID, REPORT_ID, the ID block and the product line have none."""

SPEC_REFS = {
    "REPORT_FORMAT_UNSUPPORTED": "3.1", "REPORT_TRUNCATED": "3.1", "WRONG_REPORT_VERSION": "3.1",
    "SIGNER_INFO_INVALID": "3.1.1", "VCEK_CHAIN_INVALID": "3.3.3", "VCEK_EXPIRED": "3.3.3",
    "ARK_UNTRUSTED": "3.3", "ASK_INVALID": "3.3", "VCEK_HWID_MISMATCH": "3.4.4",
    "VCEK_TCB_MISMATCH": "3.4.3", "REPORT_SIGNATURE_INVALID": "3.6", "TCB_OUT_OF_DATE": "3.7",
    "GUEST_POLICY_DEBUG_SET": "3.7", "GUEST_POLICY_MIGRATE_MA_SET": "3.7",
    "GUEST_POLICY_RESERVED_BIT_SET": "3.2.2", "PLATFORM_INFO_INVALID": "3.7",
    "MEASUREMENT_MISMATCH": "3.8", "HOST_DATA_MISMATCH": "8.3", "REPORT_DATA_MISMATCH": "8.2",
    "ID_KEY_DIGEST_MISMATCH": "3.1.1", "AUTHOR_KEY_DIGEST_MISMATCH": "3.1.1",
}


# -- input -----------------------------------------------------------------------------------------
def _b64(doc: Mapping[str, Any], key: str, limit: int) -> bytes:
    value = text(doc, key) or ""
    if len(value) > limit * 4 // 3 + 4:
        raise Malformed(f"{key} is larger than {limit} bytes")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise Malformed(f"{key} is not standard base64") from None


def _report(doc: Mapping[str, Any]) -> bytes:
    """The report bytes, decoded as a v2 document's body is (base64, then bounded gunzip)."""
    body = text(doc, "attestation_doc_b64")
    wrapped = json.dumps({"format": SEV, "body": body}).encode()
    try:
        parsed = document.parse_document(wrapped)
    except VerifierError as e:
        raise Malformed(f"attestation_doc_b64 does not decode: {e}") from None
    assert isinstance(parsed, document.V2Document)
    return parsed.report


def _certificate(doc: Mapping[str, Any], key: str) -> bytes | None:
    pem = text(doc, key, optional=True)
    if pem is None:
        return None
    if "-----BEGIN CERTIFICATE-----" not in pem:
        raise Malformed(f"{key} is not a PEM certificate")
    return pem.encode()


def _ark_pin(pem: bytes) -> str:
    """The SPKI SHA-256 of the injected ARK: the one root the policy then trusts."""
    try:
        certs = amd.load_certificates([pem])
    except VerifierError as e:
        raise Malformed(f"amd_root_ca_pem is not a certificate this verifier reads: {e}") from None
    if len(certs) != 1:
        raise Malformed(f"amd_root_ca_pem holds {len(certs)} certificates, not one")
    return certs[0].spki_sha256


def _at(doc: Mapping[str, Any]) -> dt.datetime:
    value = doc.get("expiration_check_date_unix")
    if value is None:
        return dt.datetime.now(dt.UTC)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Malformed("expiration_check_date_unix is not an integer")
    try:
        return dt.datetime.fromtimestamp(value, dt.UTC)
    except (OverflowError, OSError, ValueError):
        raise Malformed("expiration_check_date_unix is out of range") from None


def _policy(knobs: Mapping[str, Any], ark_pin: str | None) -> Policy:
    """The tinfoil policy's ``[snp]`` table with the input's knobs as its options."""
    from enclave_chat.paths import resolve_policy
    from verifier.providers.tinfoil import NAME as TINFOIL

    base = resolve_policy(TINFOIL)  # the built-in policy of the provider's own name
    table: dict[str, Any] = dict(base.tables.get("snp", {}))
    if ark_pin is not None:
        table["roots"] = {p.value: ark_pin for p in PRODUCTS}
    for key, (option, size) in PINS.items():
        pin = hex_bytes(knobs, key, length=size, optional=True)
        if pin is not None:
            table[option] = [pin.hex()]
    minimum: dict[str, int] = {}
    for key, component in MIN_TCB.items():
        value = knobs.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 255:
            raise Malformed(f"policy.{key} is not an integer 0-255 (an SPL is one byte)")
        minimum[component] = value
    if minimum:
        floor = snp_policy(base).min_tcb
        table["min_tcb"] = {p.value: {**floor.get(p, {}),
                                      **{k: max(v, floor.get(p, {}).get(k, 0)) for k, v in minimum.items()}}
                            for p in PRODUCTS}
    enforce = knobs.get("enforce_spec_defaults")
    if enforce is not None and not isinstance(enforce, bool):
        raise Malformed("policy.enforce_spec_defaults is not a boolean")
    digest = hashlib.sha256(json.dumps(table, sort_keys=True).encode()).hexdigest()
    return Policy("tinfoil (conformance input)", digest, base.description, {"snp": table}, "<conformance input>")


# -- outputs ---------------------------------------------------------------------------------------
def body_fields(report: SnpReport) -> dict[str, Any]:
    """The report's fields as the output schema names them. Integers are hex of the integer
    (``policy_hex``, ``current_tcb_hex``, ``platform_info_hex``, ``signer_info_hex``), the other TCB
    fields hex of their bytes, as the suite's expected outputs write them; every value at its
    offset in ABI spec 56860 Table 23 (docs/sev-snp.md says where the suite's vector differs)."""
    flags = report.policy_flags()
    platform = report.platform_flags()
    current = report.tcb("current", report.product)
    return {
        "version": report.version,
        "guest_svn": report.guest_svn,
        "policy_hex": f"{report.policy:016x}",
        "policy_decoded": {
            "abi_minor": flags["abi_minor"], "abi_major": flags["abi_major"], "smt": flags["smt"],
            "reserved_mbo": bool(report.policy & POLICY_RESERVED_ONE),
            "migrate_ma": flags["migrate_ma"], "debug": flags["debug"],
            "single_socket": flags["single_socket"], "cxl_allow": flags["cxl_allow"],
            "mem_aes_256_xts": flags["mem_aes_256_xts"], "raplmsr_dis": flags["rapl_dis"],
            "ciphertext_hiding_dram": flags["ciphertext_hiding"],
        },
        "family_id_hex": report.family_id.hex(),
        "image_id_hex": report.image_id.hex(),
        "vmpl": report.vmpl,
        "signature_algo": report.signature_algo,
        "current_tcb_hex": f"{report.current_tcb_raw:016x}",
        "current_tcb_decoded": {"bl_spl": current.bootloader, "tee_spl": current.tee,
                                "snp_spl": current.snp, "ucode_spl": current.microcode},
        "platform_info_hex": f"{report.platform_info:016x}",
        "platform_info_decoded": {
            "smt_en": platform["smt_en"], "tsme_en": platform["tsme_en"], "ecc_en": platform["ecc_en"],
            "rapl_dis": platform["rapl_dis"], "ciphertext_hiding": platform["ciphertext_hiding_en"],
        },
        "signer_info_hex": f"{report.key_info:08x}",
        "report_data_hex": report.report_data.hex(),
        "measurement_hex": report.measurement.hex(),
        "host_data_hex": report.host_data.hex(),
        "id_key_digest_hex": report.id_key_digest.hex(),
        "author_key_digest_hex": report.author_key_digest.hex(),
        "report_id_hex": report.report_id.hex(),
        "report_id_ma_hex": report.report_id_ma.hex(),
        "reported_tcb_hex": report.reported_tcb_raw.to_bytes(8, "little").hex(),
        "chip_id_hex": report.chip_id.hex(),
        "committed_tcb_hex": report.committed_tcb_raw.to_bytes(8, "little").hex(),
        "current_build": report.current_build,
        "current_minor": report.current_minor,
        "current_major": report.current_major,
        "committed_build": report.committed_build,
        "committed_minor": report.committed_minor,
        "committed_major": report.committed_major,
        "launch_tcb_hex": report.launch_tcb_raw.to_bytes(8, "little").hex(),
    }


# -- the stage -------------------------------------------------------------------------------------
def verify_attestation_sev(doc: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(doc) - INPUT_KEYS)
    if unknown:
        raise Malformed(f"unknown input member(s): {', '.join(unknown)}")
    missing = [k for k in REQUIRED_KEYS if k not in doc]
    if missing:
        raise Malformed(f"missing input member(s): {', '.join(missing)}")
    knobs = obj(doc, "policy", optional=True) or {}
    unknown = sorted(set(knobs) - POLICY_INPUT_KEYS)
    if unknown:
        raise Malformed(f"unknown policy member(s): {', '.join(unknown)}")

    report = _report(doc)
    vcek = _b64(doc, "vcek_der_b64", MAX_VCEK_BYTES)
    ark, ask = _certificate(doc, "amd_root_ca_pem"), _certificate(doc, "ask_pem")
    at = _at(doc)
    expected = hex_bytes(knobs, "expected_report_data_hex", length=64, optional=True)
    try:
        policy = _policy(knobs, _ark_pin(ark) if ark is not None else None)
        snp_policy(policy)
    except PolicyError as e:
        raise Malformed(f"the input's policy is not one this verifier takes: {e}") from None

    fetcher = None
    if ark is None or ask is None:
        from enclave_chat.paths import user_dir
        from verifier.endorsements.fetch import CollateralFetcher

        fetcher = CollateralFetcher(user_dir("cache") / "collateral")
    certificates = [vcek, *(c for c in (ask, ark) if c is not None)]
    appraisal = appraise_snp(report, certificates, policy=policy, at=at,
                             expected_report_data=expected, fetcher=fetcher)

    internal = appraisal.check(ids.INTERNAL)
    if internal is not None:
        raise RuntimeError(internal.detail)
    try:
        reject_first(appraisal.checks, TAXONOMY, fallback=FALLBACK)
        for c in appraisal.checks:
            if c.status is Status.SKIP and c.required and not (c.id == ids.REPORT_DATA and expected is None):
                raise Rejected(code_for(c, TAXONOMY) or FALLBACK, f"{c.id} skipped: {c.detail}")
        if not appraisal.authentic or appraisal.report is None:
            raise Rejected(FALLBACK, "the report is not authentic")
    except Rejected as e:
        e.spec_ref = e.spec_ref or SPEC_REFS.get(e.code)
        raise
    parsed = appraisal.report
    return {
        "measurement": {"type": SEV, "registers": [parsed.measurement.hex()]},
        "body_fields": body_fields(parsed),
    }
