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
from verifier.appraisal.sev_snp.rules import PLATFORM_BITS, SnpPolicy
from verifier.endorsements.amd import AmdCertificate
from verifier.errors import VerifierError
from verifier.evidence import azure_hcl
from verifier.evidence.sev_snp import (
    PLATFORM_RESERVED_MASK,
    Product,
    SigningKey,
    SnpReport,
    TcbVersion,
)
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

    abi = (int(flags["abi_major"]), int(flags["abi_minor"]))  # type: ignore[call-overload]
    if r.min_policy_abi is None:
        out.add(skipped(ids.POLICY_ABI, f"The policy sets no minimum guest policy ABI (the guest asks for {abi[0]}.{abi[1]}).", required=False))
    elif abi < r.min_policy_abi:
        out.add(failed(ids.POLICY_ABI, f"The guest policy's minimum ABI {abi[0]}.{abi[1]} is below the policy's {r.min_policy_abi[0]}.{r.min_policy_abi[1]}: the guest accepts older firmware."))
    else:
        out.add(passed(ids.POLICY_ABI, f"The guest policy's minimum ABI {abi[0]}.{abi[1]} is at least {r.min_policy_abi[0]}.{r.min_policy_abi[1]}."))

    vmpls = ", ".join(str(v) for v in sorted(r.vmpl))
    out.add(expect_one_of(ids.VMPL, "VMPL", report.vmpl, r.vmpl,
                          passes="The report was requested at VMPL {value}, which the policy allows.",
                          fails=f"The report was requested at VMPL {{value}}; the policy allows only {vmpls} (a lower-privileged guest layer could have asked for it)."))
    if r.min_guest_svn is None:
        out.add(skipped(ids.GUEST_SVN, f"The policy sets no minimum GUEST_SVN (the report has {report.guest_svn}).", required=False))
    elif report.guest_svn < r.min_guest_svn:
        out.add(failed(ids.GUEST_SVN, f"GUEST_SVN {report.guest_svn} is below the policy's minimum {r.min_guest_svn}."))
    else:
        out.add(passed(ids.GUEST_SVN, f"GUEST_SVN {report.guest_svn} is at least {r.min_guest_svn}."))

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
    _mitigation(out, ids.MITIGATION_LAUNCH, "LAUNCH_MIT_VECTOR", report, report.launch_mit_vector, r.min_launch_mitigation_vector)
    _mitigation(out, ids.MITIGATION_CURRENT, "CURRENT_MIT_VECTOR", report, report.current_mit_vector, r.min_current_mitigation_vector)

    lists: tuple[tuple[str, bytes, frozenset[bytes] | None, str], ...] = (
        (ids.MEASUREMENT, report.measurement, r.measurements, "MEASUREMENT"),
        (ids.HOST_DATA, report.host_data, r.host_data, "HOST_DATA"),
        (ids.FAMILY_ID, report.family_id, r.family_ids, "FAMILY_ID"),
        (ids.IMAGE_ID, report.image_id, r.image_ids, "IMAGE_ID"),
        (ids.REPORT_ID, report.report_id, r.report_ids, "REPORT_ID"),
        (ids.ID_KEY, report.id_key_digest, r.id_key_digests, "ID_KEY_DIGEST"),
        (ids.AUTHOR_KEY, report.author_key_digest, r.author_key_digests, "AUTHOR_KEY_DIGEST"),
    )
    for cid, value, allowed, label in lists:
        if cid in (ids.ID_KEY, ids.AUTHOR_KEY) and r.require_id_block:
            # A trusted author key vouches for any ID key (go-sev-guest): snp.id_block decides.
            trusted = allowed is not None and value in allowed and (cid == ids.ID_KEY or report.author_key_en)
            out.add(passed(cid, f"{label} {value.hex()[:16]}… is {'' if trusted else 'not '}one the policy trusts; snp.id_block decides (require_id_block)."))
            continue
        out.add(expect_one_of(cid, label, value, allowed, show=lambda v: v.hex()[:16],
                              unset="The policy names no {name} values (a release statement may decide instead).",
                              passes="{name} {value}… is one the policy names.",
                              fails="{name} {value}… is not among the {count} value(s) the policy names."))
    _id_block_check(out, r, report)


def _mitigation(out: CheckCollector, cid: str, name: str, report: SnpReport, vector: int,
                minimum: int | None) -> None:
    """go-sev-guest's MinimumLaunch/CurrentMitigationVector: every bit of the minimum is set."""
    if minimum is None:
        out.add(skipped(cid, f"The policy sets no minimum {name}.", required=False))
    elif report.version < 5:
        out.add(failed(cid, f"Report version {report.version} has no {name} (version 5 and later): the policy's minimum 0x{minimum:x} cannot be met."))
    elif vector & minimum != minimum:
        out.add(failed(cid, f"{name} 0x{vector:x} lacks mitigation bit(s) 0x{minimum & ~vector:x} of the policy's minimum 0x{minimum:x}."))
    else:
        out.add(passed(cid, f"{name} 0x{vector:x} has every mitigation bit of the policy's minimum 0x{minimum:x}."))


def _id_block_check(out: CheckCollector, r: SnpPolicy, report: SnpReport) -> None:
    """go-sev-guest's RequireIDBlock/RequireAuthorKey: the ID key is trusted when listed, or when a
    trusted author key (AUTHOR_KEY_EN set, digest listed) signed it; RequireAuthorKey needs the latter."""
    cid = ids.ID_BLOCK
    if not r.require_id_block:
        out.add(skipped(cid, "The policy does not require an ID block (require_id_block, require_author_key).", required=False))
        return
    author_trusted = (report.author_key_en and r.author_key_digests is not None
                      and report.author_key_digest in r.author_key_digests)
    id_trusted = r.id_key_digests is not None and report.id_key_digest in r.id_key_digests
    if r.require_author_key and not report.author_key_en:
        out.add(failed(cid, "The policy requires an author key, but AUTHOR_KEY_EN is clear: the ID block was not signed by an author key."))
    elif r.require_author_key and not author_trusted:
        out.add(failed(cid, f"AUTHOR_KEY_DIGEST {report.author_key_digest.hex()[:16]}… is not a trusted author key (author_key_digests)."))
    elif author_trusted:
        out.add(passed(cid, f"The ID key {report.id_key_digest.hex()[:16]}… is signed by the trusted author key {report.author_key_digest.hex()[:16]}…."))
    elif id_trusted:
        out.add(passed(cid, f"The ID key {report.id_key_digest.hex()[:16]}… is a trusted ID key (id_key_digests)."))
    else:
        out.add(failed(cid, f"The ID key {report.id_key_digest.hex()[:16]}… is neither a trusted ID key nor signed by a trusted author key."))


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
    info = report.platform_info
    have = {name for name, bit in PLATFORM_BITS.items() if info >> bit & 1}
    missing = sorted(r.require_platform - have)
    refused = sorted(r.refuse_platform & have)
    problems = ([f"required but absent: {', '.join(missing)}"] if missing else []) + (
        [f"set but refused: {', '.join(refused)}"] if refused else [])
    if problems:
        out.add(failed(ids.PLATFORM_FEATURES, f"PLATFORM_INFO 0x{info:x}: {'; '.join(problems)} (require_platform, refuse_platform)."))
    else:
        out.add(passed(ids.PLATFORM_FEATURES, f"PLATFORM_INFO 0x{info:x} has {', '.join(sorted(have)) or 'no feature'}: every required feature and no refused one."))
    if info & PLATFORM_RESERVED_MASK:
        out.add(failed(ids.PLATFORM_RESERVED, f"PLATFORM_INFO 0x{info:x} sets reserved bit(s) 0x{info & PLATFORM_RESERVED_MASK:x} (bits 8-63): a feature this verifier cannot judge."))
    else:
        out.add(passed(ids.PLATFORM_RESERVED, "PLATFORM_INFO sets no reserved bit (8-63)."))


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
    """``snp.tcb.committed``, ``snp.tcb.reported`` and ``snp.tcb.minimum``."""
    cur, com = report.tcb("current", product), report.tcb("committed", product)
    fw_cur, fw_com = report.firmware("current"), report.firmware("committed")
    same = cur.raw == com.raw and fw_cur == fw_com
    what = f"TCB {tcb_text(cur)}, firmware {fw_text(fw_cur)}"
    if same:
        out.add(passed(ids.TCB_COMMITTED, f"The committed TCB and firmware equal the current ones ({what})."))
    elif r.allow_provisional_firmware:
        # go-sev-guest: with provisional firmware permitted, committed may not exceed current.
        above = [k for k, v in com.components().items() if v > cur.components().get(k, 0)]
        if above or _bytes_above(com.raw, cur.raw) or fw_com[2] > fw_cur[2] or fw_com[:2] > fw_cur[:2]:
            out.add(failed(ids.TCB_COMMITTED, f"The committed TCB {tcb_text(com)} / firmware {fw_text(fw_com)} is above the current {what}: a report no firmware produces."))
        else:
            out.add(passed(ids.TCB_COMMITTED, f"Provisional firmware: current {what} differs from committed TCB {tcb_text(com)}, firmware {fw_text(fw_com)}; the policy allows it."))
    else:
        out.add(failed(ids.TCB_COMMITTED, f"Provisional firmware: current {what} is not the committed TCB {tcb_text(com)}, firmware {fw_text(fw_com)}; the host can roll back to the committed one."))
    rep = report.tcb("reported", product)
    if _bytes_above(rep.raw, cur.raw):
        out.add(failed(ids.TCB_REPORTED, f"REPORTED_TCB {tcb_text(rep)} is above CURRENT_TCB {tcb_text(cur)}: the host reports (and the VCEK certifies) a TCB the platform does not run."))
    else:
        out.add(passed(ids.TCB_REPORTED, f"REPORTED_TCB {tcb_text(rep)} is at most CURRENT_TCB {tcb_text(cur)}."))
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


def _bytes_above(a: int, b: int) -> bool:
    """Any of the 8 TCB_VERSION bytes of ``a`` (named or reserved) above that of ``b`` (go-sev-guest's
    component-wise ``tcbGtError``, which compares every byte, spl_4..spl_7 included)."""
    x, y = a.to_bytes(8, "little"), b.to_bytes(8, "little")
    return any(i > j for i, j in zip(x, y, strict=True))


def tcb_text(tcb: TcbVersion) -> str:
    return "/".join(f"{k} {v}" for k, v in tcb.components().items())
