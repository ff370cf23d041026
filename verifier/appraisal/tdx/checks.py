"""The TDX check catalogue: every check id, in the order docs/tdx.md lists them, and the collector
of one appraisal.

An appraisal emits them all, in this order, except that a quote which does not parse gives
``tdx.parse`` alone.
"""

from __future__ import annotations

import datetime as dt

from verifier.appraisal.checks import CheckCollector
from verifier.appraisal.tdx.rules import MEASUREMENTS, TdxPolicy
from verifier.result import Check, skipped

PARSE = "tdx.parse"
QUOTE_TRAILING_BYTES = "tdx.quote.trailing_bytes"
QUOTE_QE_VENDOR = "tdx.quote.qe_vendor"
PCK_CHAIN = "tdx.pck.chain"
PCK_ROOT_PINNED = "tdx.pck.root_pinned"
PCK_EXTENSIONS = "tdx.pck.extensions"
PCK_FMSPC = "tdx.pck.fmspc"
QE_REPORT_SIGNATURE = "tdx.qe.report_signature"
QE_BINDING = "tdx.qe.binding"
QUOTE_SIGNATURE = "tdx.quote.signature"
COLLATERAL_ROOT_CRL = "tdx.collateral.root_crl"
COLLATERAL_PCK_CRL = "tdx.collateral.pck_crl"
PCK_REVOCATION = "tdx.pck.revocation"
COLLATERAL_TCB_INFO = "tdx.collateral.tcb_info"
COLLATERAL_QE_IDENTITY = "tdx.collateral.qe_identity"
TD_DEBUG = "tdx.td.debug"
TD_SEPT_VE_DISABLE = "tdx.td.sept_ve_disable"
TD_MIGRATABLE = "tdx.td.migratable"
TD_SERVICE_TD = "tdx.td.service_td"
TD_ATTRIBUTES = "tdx.td.attributes"
TD_ATTRIBUTES_FIXED = "tdx.td.attributes_fixed"
TD_XFAM = "tdx.td.xfam"
TD_XFAM_FIXED = "tdx.td.xfam_fixed"
TD_SEAM_ATTRIBUTES = "tdx.td.seam_attributes"
QE_IDENTITY = "tdx.qe.identity"
TCB_MODULE = "tdx.tcb.module"
TCB_STATUS = "tdx.tcb.status"
TCB_MINIMUM = "tdx.tcb.minimum"
TD_MRSEAM = "tdx.td.mrseam"
TD_MRSIGNERSEAM = "tdx.td.mrsignerseam"
TD_MRTD = "tdx.td.mrtd"
TD_RTMR0 = "tdx.td.rtmr0"
TD_RTMR1 = "tdx.td.rtmr1"
TD_RTMR2 = "tdx.td.rtmr2"
TD_RTMR3 = "tdx.td.rtmr3"
TD_MRCONFIGID = "tdx.td.mrconfigid"
TD_MROWNER = "tdx.td.mrowner"
TD_MROWNERCONFIG = "tdx.td.mrownerconfig"
TD_MRSERVICETD = "tdx.td.mrservicetd"
REPORT_DATA = "tdx.report_data"

TD_MEASUREMENTS: dict[str, str] = {
    "mrseam": TD_MRSEAM, "mrsignerseam": TD_MRSIGNERSEAM, "mrtd": TD_MRTD, "rtmr0": TD_RTMR0,
    "rtmr1": TD_RTMR1, "rtmr2": TD_RTMR2, "rtmr3": TD_RTMR3, "mrconfigid": TD_MRCONFIGID,
    "mrowner": TD_MROWNER, "mrownerconfig": TD_MROWNERCONFIG, "mrservicetd": TD_MRSERVICETD,
}
"""The check id of each measurement the policy may expect (the ``[tdx]`` keys of the same names)."""
assert tuple(TD_MEASUREMENTS) == MEASUREMENTS

CATALOGUE: tuple[str, ...] = (
    PARSE, QUOTE_TRAILING_BYTES, QUOTE_QE_VENDOR, PCK_CHAIN, PCK_ROOT_PINNED, PCK_EXTENSIONS, PCK_FMSPC,
    QE_REPORT_SIGNATURE, QE_BINDING, QUOTE_SIGNATURE, COLLATERAL_ROOT_CRL, COLLATERAL_PCK_CRL, PCK_REVOCATION,
    COLLATERAL_TCB_INFO, COLLATERAL_QE_IDENTITY, TD_DEBUG, TD_SEPT_VE_DISABLE, TD_MIGRATABLE,
    TD_SERVICE_TD, TD_ATTRIBUTES, TD_ATTRIBUTES_FIXED, TD_XFAM, TD_XFAM_FIXED, TD_SEAM_ATTRIBUTES,
    QE_IDENTITY, TCB_MODULE, TCB_STATUS, TCB_MINIMUM, *TD_MEASUREMENTS.values(),
    REPORT_DATA,
)
"""Every id a TDX appraisal emits, in documented (and emitted) order."""

AUTHENTICITY: tuple[str, ...] = (PARSE, PCK_CHAIN, PCK_ROOT_PINNED, QE_REPORT_SIGNATURE, QE_BINDING,
                                 QUOTE_SIGNATURE)
"""The ids that always decide ``authentic`` (``tdx.pck.revocation`` does too, once decidable)."""


class Run(CheckCollector):
    """The checks of one appraisal, with the policy and time they are made under."""

    def __init__(self, pol: TdxPolicy, at: dt.datetime) -> None:
        super().__init__()
        self.pol = pol
        self.at = at
        self.chain_ok = False

    def collateral_skip(self, id: str, detail: str) -> Check:
        """A skip for absent collateral, required when the policy says ``collateral = "required"``."""
        return self.add(skipped(id, detail, required=self.pol.collateral == "required"))
