"""The Azure vTPM check catalogue (kinds ``azure-snp-vtpm`` and ``azure-tdx-vtpm``): every
``hcl.*`` and ``tpm.*`` id, in the order docs/azure.md lists them, and the collector of one
appraisal.

An appraisal emits ``hcl.parse`` first, then the hardware report's own ``snp.*`` or ``tdx.*``
checks (as :func:`verifier.appraisal.sev_snp.appraise_snp` or
:func:`verifier.appraisal.tdx.appraise_tdx` emit them), then the rest of this catalogue in order
(``hcl.td_report`` for TDX only; ``hcl.user_data`` only when the caller expects a value there, as a
native session does). An HCL report that does not parse gives ``hcl.parse`` alone.
"""

from __future__ import annotations

import datetime as dt

from verifier.appraisal.azure.rules import AzurePolicy
from verifier.appraisal.checks import CheckCollector

HCL_PARSE = "hcl.parse"
HCL_VERSION = "hcl.version"
HCL_VARIABLE_DATA = "hcl.variable_data"
HCL_BINDING = "hcl.binding"
HCL_TD_REPORT = "hcl.td_report"
HCL_RUNTIME_CLAIMS = "hcl.runtime_claims"
HCL_USER_DATA = "hcl.user_data"
HCL_AK = "hcl.ak"
TPM_QUOTE_PARSE = "tpm.quote.parse"
TPM_QUOTE_SIGNATURE = "tpm.quote.signature"
TPM_NONCE = "tpm.nonce"
TPM_PCR_DIGEST = "tpm.pcr_digest"
TPM_PCRS = "tpm.pcrs"

CATALOGUE: tuple[str, ...] = (
    HCL_PARSE, HCL_VERSION, HCL_VARIABLE_DATA, HCL_BINDING, HCL_TD_REPORT, HCL_RUNTIME_CLAIMS,
    HCL_USER_DATA, HCL_AK, TPM_QUOTE_PARSE, TPM_QUOTE_SIGNATURE, TPM_NONCE, TPM_PCR_DIGEST, TPM_PCRS,
)
"""Every ``hcl.*`` / ``tpm.*`` id an Azure vTPM appraisal emits, in documented (and emitted) order."""

AUTHENTICITY: tuple[str, ...] = (HCL_PARSE, HCL_VARIABLE_DATA, HCL_BINDING, HCL_AK, TPM_QUOTE_PARSE,
                                 TPM_QUOTE_SIGNATURE, TPM_PCR_DIGEST)
"""The ids that decide ``authentic`` (with the hardware report's own)."""


class Run(CheckCollector):
    """The checks of one appraisal, with the policy and time they are made under."""

    def __init__(self, pol: AzurePolicy, at: dt.datetime) -> None:
        super().__init__()
        self.pol = pol
        self.at = at
