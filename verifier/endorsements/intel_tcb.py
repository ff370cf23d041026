"""TCB evaluation of a TDX quote against Intel's TCB info and QE identity.

Follows Intel's *TDX DCAP Quote Verification* algorithm (the numbered steps 4.1.2.4.x of the Quote
Verification Library's documentation) and PCS API v4's description of TDX TCB info:

1. TDX module identity (4.1.2.4.11): ``TEE_TCB_SVN[1]`` is the TDX module's major version. For 0
   the top-level ``tdxModule`` applies; otherwise ``tdxModuleIdentities`` entry ``TDX_<NN>`` (hex,
   missing: "TDX module mismatch"). MRSIGNERSEAM must equal its ``mrsigner`` and
   ``SEAMATTRIBUTES & attributesMask`` its ``attributes``. The module's TCB level is the first
   whose ``isvsvn <= TEE_TCB_SVN[0]`` (none: not supported).
2. Platform TCB level (4.1.2.4.17): the first ``tcbLevels`` entry whose 16 SGX components are all
   ``<=`` the PCK certificate's CPUSVN components and whose PCESVN is ``<=`` the certificate's,
   and whose 16 TDX components are ``<=`` ``TEE_TCB_SVN`` (from index 2 when the module's major
   version is non-zero: the module identity covers bytes 0 and 1). No such entry: "no matching
   TCB level" (Intel's ``TCB_NOT_SUPPORTED``).
3. The platform status converges with the module status (OutOfDate and Revoked dominate), then,
   for TDX 1.5 bodies, the TD-relaunch rule on ``TEE_TCB_SVN2``, then with the QE identity status.
4. QE identity (4.1.2.4.14-15): MRSIGNER and ISVPRODID equal, ``MISCSELECT & mask`` and
   ``ATTRIBUTES & mask`` equal the identity's values; its TCB level is the first with
   ``isvsvn <= ISVSVN``.

Levels are taken in the order PCS lists them (descending, as PCS API v4 specifies).
"""

from __future__ import annotations

from dataclasses import dataclass

from verifier.endorsements.intel_collateral import (
    ModuleTcbLevel,
    QeIdentity,
    TcbInfo,
    TcbLevel,
    TdxModuleIdentity,
)
from verifier.endorsements.intel_pck import PckExtensions
from verifier.endorsements.intel_status import (
    MODULE_MISMATCH,
    NOT_SUPPORTED,
    RELAUNCH_ADVISED,
    RELAUNCH_ADVISED_CONFIG,
)
from verifier.evidence.tdx import BodyType, EnclaveReport, TdxQuote

_CONFIG_NEEDED = ("ConfigurationNeeded", "OutOfDateConfigurationNeeded",
                  "ConfigurationAndSWHardeningNeeded", RELAUNCH_ADVISED_CONFIG)


def _mask(a: bytes, b: bytes) -> bytes:
    return bytes(x & y for x, y in zip(a, b, strict=True))


# -- QE identity ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class QeEvaluation:
    """``matches`` is False with ``reason`` when the QE is not the one Intel names (``mismatch``
    names the field: ``mrsigner``, ``isvprodid``, ``miscselect`` or ``attributes``); ``status`` is
    the QE's TCB status (UpToDate, OutOfDate, Revoked, or NotSupported) otherwise."""

    matches: bool
    status: str
    level: ModuleTcbLevel | None
    reason: str
    mismatch: str | None = None


def evaluate_qe(report: EnclaveReport, identity: QeIdentity) -> QeEvaluation:
    """Compare the QE report with the TD_QE identity (QVL 4.1.2.4.15, "EnclaveReportVerifier")."""
    if report.mrsigner != identity.mrsigner:
        return QeEvaluation(False, NOT_SUPPORTED, None,
                            f"QE MRSIGNER {report.mrsigner.hex()} is not {identity.mrsigner.hex()}", "mrsigner")
    if report.isvprodid != identity.isvprodid:
        return QeEvaluation(False, NOT_SUPPORTED, None,
                            f"QE ISVPRODID {report.isvprodid} is not {identity.isvprodid}", "isvprodid")
    if _mask(report.miscselect, identity.miscselect_mask) != identity.miscselect:
        return QeEvaluation(False, NOT_SUPPORTED, None,
                            f"QE MISCSELECT {report.miscselect.hex()} under mask "
                            f"{identity.miscselect_mask.hex()} is not {identity.miscselect.hex()}", "miscselect")
    if _mask(report.attributes, identity.attributes_mask) != identity.attributes:
        return QeEvaluation(False, NOT_SUPPORTED, None,
                            f"QE ATTRIBUTES {report.attributes.hex()} under mask "
                            f"{identity.attributes_mask.hex()} are not {identity.attributes.hex()}", "attributes")
    for level in identity.tcb_levels:
        if level.isvsvn <= report.isvsvn:
            return QeEvaluation(True, level.status, level,
                                f"QE ISVSVN {report.isvsvn} is at the level of ISVSVN {level.isvsvn}: {level.status}")
    return QeEvaluation(True, NOT_SUPPORTED, None,
                        f"QE ISVSVN {report.isvsvn} is below every TCB level of the QE identity")


# -- TDX module ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModuleEvaluation:
    identity: TdxModuleIdentity | None
    status: str  # "UpToDate"/"OutOfDate"/"Revoked", NotSupported, TDXModuleMismatch
    level: ModuleTcbLevel | None
    reason: str


def _find_identity(info: TcbInfo, major: int) -> TdxModuleIdentity | None:
    want = f"TDX_{major:02X}"
    return next((m for m in info.tdx_module_identities if m.id.upper() == want), None)


def evaluate_module(quote: TdxQuote, info: TcbInfo) -> ModuleEvaluation:
    """TDX module identity and TCB level (QVL 4.1.2.4.11 and 4.1.2.4.17.4.1)."""
    svn = quote.body.tee_tcb_svn
    major, minor_svn = svn[1], svn[0]
    if major == 0:
        ident = info.tdx_module
        if ident is None:
            return ModuleEvaluation(None, MODULE_MISMATCH, None, "the TCB info has no tdxModule")
    else:
        found = _find_identity(info, major)
        if found is None:
            return ModuleEvaluation(None, MODULE_MISMATCH, None,
                                    f"the TCB info has no identity TDX_{major:02X} for this TDX module")
        ident = found
    label = ident.id or "tdxModule"
    if quote.body.mrsignerseam != ident.mrsigner:
        return ModuleEvaluation(ident, MODULE_MISMATCH, None,
                                f"MRSIGNERSEAM {quote.body.mrsignerseam.hex()} is not {label}'s mrsigner")
    if _mask(quote.body.seam_attributes, ident.attributes_mask) != ident.attributes:
        return ModuleEvaluation(ident, MODULE_MISMATCH, None,
                                f"SEAMATTRIBUTES {quote.body.seam_attributes.hex()} do not match {label}")
    if major == 0:
        return ModuleEvaluation(ident, "UpToDate", None,
                                "TDX module major version 0: identity matches tdxModule")
    for level in ident.tcb_levels:
        if level.isvsvn <= minor_svn:
            return ModuleEvaluation(ident, level.status, level,
                                    f"TDX module {label} SVN {minor_svn} is at level {level.isvsvn}: {level.status}")
    return ModuleEvaluation(ident, NOT_SUPPORTED, None,
                            f"TDX module {label} SVN {minor_svn} is below every module TCB level")


# -- platform level and convergence --------------------------------------------------------------
def _sgx_ok(level: TcbLevel, pck: PckExtensions) -> bool:
    return (all(c >= m for c, m in zip(pck.cpusvn_components, level.sgx_components, strict=True))
            and pck.pcesvn >= level.pcesvn)


def _tdx_ok(level: TcbLevel, tee_tcb_svn: bytes) -> bool:
    start = 2 if tee_tcb_svn[1] > 0 else 0
    return all(tee_tcb_svn[i] >= level.tdx_components[i] for i in range(start, 16))


def match_levels(info: TcbInfo, pck: PckExtensions, tee_tcb_svn: bytes) -> tuple[TcbLevel | None, TcbLevel | None]:
    """(first level the SGX side meets, first level both SGX and TDX sides meet) (QVL 4.1.2.4.17.1-3)."""
    sgx_level: TcbLevel | None = None
    for level in info.tcb_levels:
        if not _sgx_ok(level, pck):
            continue
        if sgx_level is None:
            sgx_level = level
        if _tdx_ok(level, tee_tcb_svn):
            return sgx_level, level
    return sgx_level, None


def _converge(platform: str, other: str) -> str:
    """Converge with a module or QE status: OutOfDate and Revoked dominate (QVL TcbLevelCheck)."""
    if other == "OutOfDate":
        if platform in ("UpToDate", "SWHardeningNeeded"):
            return "OutOfDate"
        if platform in ("ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded"):
            return "OutOfDateConfigurationNeeded"
    if other == "Revoked":
        return "Revoked"
    if other == NOT_SUPPORTED:
        return NOT_SUPPORTED
    return platform


def _relaunch(quote: TdxQuote, info: TcbInfo, sgx_status: str, tdx_status: str, module_status: str,
              qe_status: str | None) -> str:
    """TDX 1.5 relaunch rule (QVL 4.1.2.4.17.4.3): the running module (TEE_TCB_SVN2) is already at
    the latest level although the TD was launched on an out-of-date one."""
    svn2 = quote.body.tee_tcb_svn2
    if svn2 is None or qe_status in ("OutOfDate", "Revoked", NOT_SUPPORTED):
        return tdx_status
    if sgx_status not in ("UpToDate", "SWHardeningNeeded", "ConfigurationNeeded",
                          "ConfigurationAndSWHardeningNeeded"):
        return tdx_status
    if tdx_status not in ("OutOfDate", "OutOfDateConfigurationNeeded") or module_status != "OutOfDate":
        return tdx_status
    latest = info.tcb_levels[0]
    if svn2[1] == 0:
        current = svn2[0] >= latest.tdx_components[0]
    else:
        ident = _find_identity(info, svn2[1])
        if ident is None:
            return MODULE_MISMATCH
        if not ident.tcb_levels:
            return NOT_SUPPORTED
        current = svn2[0] >= ident.tcb_levels[0].isvsvn
    if current and svn2[2] >= latest.tdx_components[2]:
        if sgx_status in _CONFIG_NEEDED or tdx_status in _CONFIG_NEEDED:
            return RELAUNCH_ADVISED_CONFIG
        return RELAUNCH_ADVISED
    return tdx_status


@dataclass(frozen=True)
class TcbEvaluation:
    """The converged TCB status and how it was reached."""

    status: str
    platform_level: TcbLevel | None
    module: ModuleEvaluation
    qe_status: str | None
    advisory_ids: tuple[str, ...]
    reason: str


def evaluate_tcb(quote: TdxQuote, pck: PckExtensions, info: TcbInfo, qe_status: str | None) -> TcbEvaluation:
    """Intel's TCB status for the quote (QVL ``checkTcbLevel`` for TDX), converged with the QE status
    when a QE identity was evaluated (``qe_status`` None otherwise)."""
    module = evaluate_module(quote, info)
    sgx_level, tdx_level = match_levels(info, pck, quote.body.tee_tcb_svn)
    if sgx_level is None or tdx_level is None:
        side = "PCK certificate's CPUSVN/PCESVN" if sgx_level is None else "TD's TEE_TCB_SVN"
        return TcbEvaluation(NOT_SUPPORTED, None, module, qe_status, (),
                             f"no matching TCB level: the {side} is below every level of the TCB info")
    if module.status in (NOT_SUPPORTED, MODULE_MISMATCH):
        return TcbEvaluation(module.status, tdx_level, module, qe_status, (), module.reason)
    status = _converge(tdx_level.status, module.status)
    if status != "Revoked" and quote.body_type is BodyType.TD15:
        status = _relaunch(quote, info, sgx_level.status, status, module.status, qe_status)
    if qe_status is not None:
        status = _converge(status, qe_status)
    advisories = list(tdx_level.advisory_ids)
    if module.level is not None:
        advisories += [a for a in module.level.advisory_ids if a not in advisories]
    reason = (f"TCB level of {tdx_level.tcb_date:%Y-%m-%d} ({tdx_level.status}); "
              f"TDX module {module.status}" + (f"; QE {qe_status}" if qe_status else ""))
    return TcbEvaluation(status, tdx_level, module, qe_status, tuple(advisories), reason)
