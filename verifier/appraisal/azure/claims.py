"""What an Azure vTPM appraisal shows: the HCL report, the runtime claims, the quote and the PCRs
(the hardware report's own claims under ``snp`` or ``tdx``)."""

from __future__ import annotations

from verifier.evidence.azure_hcl import RuntimeClaims
from verifier.evidence.tpm import TPM_ALG_SHA256, QuoteInfo


def hcl_claims(version: int, claims: RuntimeClaims | None) -> dict[str, object]:
    out: dict[str, object] = {"version": version}
    if claims is not None:
        out["vm_id"] = claims.vm_configuration.get("vmUniqueId")
        out["vm_configuration"] = claims.vm_configuration
        out["user_data"] = claims.user_data
        out["keys"] = list(claims.keys)
    return out


def tpm_claims(info: QuoteInfo | None, values: tuple[bytes, ...]) -> dict[str, object]:
    out: dict[str, object] = {"pcrs": {str(i): v.hex() for i, v in enumerate(values)}}
    if info is not None:
        out.update({"extra_data": info.extra_data.hex(), "pcr_digest": info.pcr_digest.hex(),
                    "selected": list(info.selected(TPM_ALG_SHA256)), "qualified_signer": info.qualified_signer.hex(),
                    "clock": info.clock, "reset_count": info.reset_count, "restart_count": info.restart_count,
                    "firmware_version": f"{info.firmware_version:#018x}"})
    return out
