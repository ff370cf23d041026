"""Validate a parsed SEV-SNP report against the ``[snp]`` policy (go-sev-guest's ``validate``).

Nothing here looks at signatures: :mod:`verifier.appraisal.sev_snp.authenticity` does. These checks
only compare what the report says (guest policy, platform info, TCB, allow-listed values, binding)
with what the policy accepts.
"""

from __future__ import annotations

import hmac

from verifier.appraisal.checks import CheckCollector, expect_one_of
from verifier.appraisal.sev_snp import checks as ids
from verifier.appraisal.sev_snp.claims import fw_text
from verifier.appraisal.sev_snp.rules import SnpPolicy
from verifier.endorsements.amd import AmdCertificate
from verifier.errors import VerifierError
from verifier.evidence import azure_hcl
from verifier.evidence.sev_snp import Product, SigningKey, SnpReport, TcbVersion
from verifier.result import failed, passed, skipped


def hcl_runtime_data_check(out: CheckCollector, hcl: azure_hcl.HclReport) -> None:
    if hcl.report_data_binds_runtime_data():
        out.add(passed(ids.HCL_RUNTIME_DATA, f"REPORT_DATA is the {hcl.hash_name.upper()} of the HCL runtime data (the vTPM key), as Azure's paravisor sets it."))
    else:
        out.add(failed(ids.HCL_RUNTIME_DATA, f"REPORT_DATA is not the {hcl.hash_name.upper()} of the HCL runtime data: the runtime data was altered."))


def policy_checks(out: CheckCollector, r: SnpPolicy, report: SnpReport, product: Product,
                  leaf: AmdCertificate | None) -> None:
    """``snp.product`` through ``snp.author_key``, in the documented order."""
    names = ", ".join(sorted(p.value for p in r.products))
    out.add(expect_one_of(ids.PRODUCT, "product line", product, r.products, show=lambda p: p.value,
                          passes="{value} is a product line the policy accepts.",
                          fails=f"{{value}} is not a product line the policy accepts ({names})."))

    _signing_key_check(out, r, report, leaf)

    flags = report.policy_flags()
    _flag(out, ids.POLICY_DEBUG, bool(flags["debug"]), r.allow_debug, "DEBUG", "the hypervisor can read and write guest memory")
    _flag(out, ids.POLICY_MIGRATE_MA, bool(flags["migrate_ma"]), r.allow_migration_agent, "MIGRATE_MA", "a migration agent can export the guest")
    _flag(out, ids.POLICY_SMT, bool(flags["smt"]), r.allow_smt, "SMT", "sibling threads may run other tenants")
    _required(out, ids.POLICY_SINGLE_SOCKET, bool(flags["single_socket"]), r.require_single_socket, "SINGLE_SOCKET")
    _flag(out, ids.POLICY_CXL, bool(flags["cxl_allow"]), r.allow_cxl, "CXL_ALLOW", "CXL memory may back the guest")
    _required(out, ids.POLICY_AES_256_XTS, bool(flags["mem_aes_256_xts"]), r.require_aes_256_xts, "MEM_AES_256_XTS")
    _required(out, ids.POLICY_PAGE_SWAP, bool(flags["page_swap_disable"]), r.require_page_swap_disable, "PAGE_SWAP_DISABLE")

    vmpls = ", ".join(str(v) for v in sorted(r.vmpl))
    out.add(expect_one_of(ids.VMPL, "VMPL", report.vmpl, r.vmpl,
                          passes="The report was requested at VMPL {value}, which the policy allows.",
                          fails=f"The report was requested at VMPL {{value}}; the policy allows only {vmpls} (a lower-privileged guest layer could have asked for it)."))

    _platform_checks(out, r, report)
    tcb_checks(out, r, report, product)

    if r.min_firmware is None:
        out.add(skipped(ids.FIRMWARE, "The policy sets no firmware minimum.", required=False))
    else:
        low = [f"{w} {fw_text(report.firmware(w))}" for w in ("current", "committed") if report.firmware(w) < r.min_firmware]
        if low:
            out.add(failed(ids.FIRMWARE, f"SNP firmware below the policy's {fw_text(r.min_firmware)}: {', '.join(low)}."))
        else:
            out.add(passed(ids.FIRMWARE, f"SNP firmware {fw_text(report.firmware('current'))} (committed {fw_text(report.firmware('committed'))}) is at least {fw_text(r.min_firmware)}."))

    lists: tuple[tuple[str, bytes, frozenset[bytes] | None, str], ...] = (
        (ids.MEASUREMENT, report.measurement, r.measurements, "MEASUREMENT"),
        (ids.HOST_DATA, report.host_data, r.host_data, "HOST_DATA"),
        (ids.ID_KEY, report.id_key_digest, r.id_key_digests, "ID_KEY_DIGEST"),
        (ids.AUTHOR_KEY, report.author_key_digest, r.author_key_digests, "AUTHOR_KEY_DIGEST"),
    )
    for cid, value, allowed, label in lists:
        out.add(expect_one_of(cid, label, value, allowed, show=lambda v: v.hex()[:16],
                              unset="The policy names no {name} values (a release statement may decide instead).",
                              passes="{name} {value}… is one the policy names.",
                              fails="{name} {value}… is not among the {count} value(s) the policy names."))


def _signing_key_check(out: CheckCollector, r: SnpPolicy, report: SnpReport, leaf: AmdCertificate | None) -> None:
    key = report.signing_key
    if key is SigningKey.VCEK:
        if "vcek" in r.signing_keys:
            out.add(passed(ids.SIGNING_KEY, "Signed by a VCEK (chip-unique key), which the policy accepts."))
        else:
            out.add(failed(ids.SIGNING_KEY, "Signed by a VCEK, but the policy accepts only VLEKs."))
    elif key is SigningKey.VLEK:
        csp: str | None = None
        if leaf is not None:
            try:
                csp = leaf.extensions().csp_id
            except VerifierError:
                csp = None
        if "vlek" not in r.signing_keys:
            out.add(failed(ids.SIGNING_KEY, f"Signed by a VLEK (cloud provider {csp!r}); the policy accepts only VCEKs (add \"vlek\" to signing_keys and the provider to vlek_csp_ids)."))
        elif csp is None or csp not in r.vlek_csp_ids:
            out.add(failed(ids.SIGNING_KEY, f"Signed by a VLEK of cloud provider {csp!r}, which is not in the policy's vlek_csp_ids."))
        else:
            out.add(passed(ids.SIGNING_KEY, f"Signed by a VLEK of {csp!r}, a cloud provider the policy accepts."))
    else:
        out.add(failed(ids.SIGNING_KEY, "The report is not signed."))


def _platform_checks(out: CheckCollector, r: SnpPolicy, report: SnpReport) -> None:
    pf = report.platform_flags()
    if report.version < 3:
        out.add(skipped(ids.PLATFORM_ALIAS_CHECK, "Report version 2 predates the ALIAS_CHECK_COMPLETE bit; the BadRAM mitigation cannot be seen.", required=False))
    elif pf["alias_check_complete"]:
        out.add(passed(ids.PLATFORM_ALIAS_CHECK, "PLATFORM_INFO says the memory alias check completed (BadRAM mitigation, AMD-SB-3015)."))
    elif r.require_alias_check:
        out.add(failed(ids.PLATFORM_ALIAS_CHECK, "PLATFORM_INFO does not have ALIAS_CHECK_COMPLETE: the platform may be open to BadRAM (AMD-SB-3015); update its firmware."))
    else:
        out.add(passed(ids.PLATFORM_ALIAS_CHECK, "ALIAS_CHECK_COMPLETE is not set; the policy does not require it."))
    if pf["smt_en"] and not r.allow_platform_smt:
        out.add(failed(ids.PLATFORM_SMT, "SMT is enabled on the platform; the policy requires it off."))
    else:
        out.add(passed(ids.PLATFORM_SMT, f"SMT is {'enabled' if pf['smt_en'] else 'disabled'} on the platform; the policy allows it."))
    if r.require_tsme and not pf["tsme_en"]:
        out.add(failed(ids.PLATFORM_TSME, "TSME is off on the platform; the policy requires it."))
    else:
        out.add(passed(ids.PLATFORM_TSME, f"TSME is {'on' if pf['tsme_en'] else 'off'}; the policy {'requires' if r.require_tsme else 'does not require'} it."))


def _flag(out: CheckCollector, cid: str, is_set: bool, allowed: bool, bit: str, risk: str) -> None:
    if is_set and not allowed:
        out.add(failed(cid, f"Guest policy has {bit} set ({risk}); the policy forbids it."))
    else:
        out.add(passed(cid, f"Guest policy {bit} is {'set' if is_set else 'clear'}; the policy {'allows' if allowed else 'requires'} {'it' if allowed else 'it clear'}."))


def _required(out: CheckCollector, cid: str, is_set: bool, required: bool, bit: str) -> None:
    if required and not is_set:
        out.add(failed(cid, f"Guest policy {bit} is clear; the policy requires it set."))
    else:
        out.add(passed(cid, f"Guest policy {bit} is {'set' if is_set else 'clear'}; the policy {'requires it' if required else 'does not require it'}."))


def tcb_checks(out: CheckCollector, r: SnpPolicy, report: SnpReport, product: Product) -> None:
    """``snp.tcb.committed`` and ``snp.tcb.minimum``."""
    cur, com = report.tcb("current", product), report.tcb("committed", product)
    if cur.raw == com.raw:
        out.add(passed(ids.TCB_COMMITTED, f"The committed TCB equals the current TCB ({tcb_text(cur)})."))
    elif r.allow_provisional_firmware:
        out.add(passed(ids.TCB_COMMITTED, f"Provisional firmware: current TCB {tcb_text(cur)} differs from committed {tcb_text(com)}; the policy allows it."))
    else:
        out.add(failed(ids.TCB_COMMITTED, f"Provisional firmware: current TCB {tcb_text(cur)} is not the committed TCB {tcb_text(com)}; the host can roll back to the committed one."))
    minimum = r.min_tcb.get(product)
    if not minimum or not any(minimum.values()):
        out.add(skipped(ids.TCB_MINIMUM, f"The policy sets no minimum TCB for {product.value}.", required=False))
        return
    low: list[str] = []
    for which in ("current", "reported", "committed", "launch"):
        comps = report.tcb(which, product).components()
        below = [f"{name} {comps[name]}" for name, floor in minimum.items()
                 if name in comps and comps[name] < floor]
        if below:
            low.append(f"{which} {', '.join(below)}")
    floor_text = ", ".join(f"{k} {v}" for k, v in minimum.items())
    if low:
        out.add(failed(ids.TCB_MINIMUM, f"TCB below the policy's {product.value} minimum ({floor_text}): {'; '.join(low)}. Update the platform firmware."))
    else:
        out.add(passed(ids.TCB_MINIMUM, f"Current, reported, committed and launch TCB are at least the {product.value} minimum ({floor_text})."))


def report_data_check(out: CheckCollector, report: SnpReport, expected: bytes | None,
                      hcl: azure_hcl.HclReport | None) -> None:
    """``snp.report_data``: REPORT_DATA is the 64 bytes the caller expects (freshness, binding)."""
    cid = ids.REPORT_DATA
    if hcl is not None and expected is None:
        out.add(skipped(cid, "An Azure vTPM guest cannot set REPORT_DATA (the paravisor does): this evidence can be authentic but not bound to a session."))
        return
    if expected is None:
        out.add(skipped(cid, "No expected REPORT_DATA (nonce) was given: freshness is unknown, so the report cannot be verified."))
        return
    if len(expected) != 64:
        out.add(failed(cid, f"The expected REPORT_DATA is {len(expected)} bytes; it must be 64."))
        return
    if hmac.compare_digest(report.report_data, expected):
        out.add(passed(cid, "REPORT_DATA equals the expected 64 bytes (fresh and bound)."))
    elif hcl is not None:
        out.add(failed(cid, "REPORT_DATA is not the expected value: an Azure vTPM guest cannot put a nonce there, so this evidence cannot be bound to a session."))
    else:
        out.add(failed(cid, f"REPORT_DATA {report.report_data.hex()[:32]}… is not the expected {expected.hex()[:32]}…: stale, replayed or bound to another key."))


def tcb_text(tcb: TcbVersion) -> str:
    return "/".join(f"{k} {v}" for k, v in tcb.components().items())
