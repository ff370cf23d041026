"""The TCB statuses of Intel's TCB evaluation (Intel PCS API v4, TCB Info and QE Identity), named
once: the evaluation in :mod:`verifier.endorsements.intel_tcb` ends in one of them and a policy's
``[tdx] accepted_tcb_status`` names some (read without loading the evaluation)."""

from __future__ import annotations

NOT_SUPPORTED = "NotSupported"
MODULE_MISMATCH = "TDXModuleMismatch"
RELAUNCH_ADVISED = "TDRelaunchAdvised"
RELAUNCH_ADVISED_CONFIG = "TDRelaunchAdvisedConfigurationNeeded"

ALL_STATUSES = ("UpToDate", "SWHardeningNeeded", "ConfigurationNeeded",
                "ConfigurationAndSWHardeningNeeded", "OutOfDate", "OutOfDateConfigurationNeeded",
                RELAUNCH_ADVISED, RELAUNCH_ADVISED_CONFIG, "Revoked", NOT_SUPPORTED, MODULE_MISMATCH)
"""Every status an evaluation can end in; a policy's ``accepted_tcb_status`` names some of them."""
