"""What an NVIDIA device's chain and report say, JSON-able; never a verdict."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509

from verifier.endorsements.nvidia_chain import common_name, validity
from verifier.evidence.nvidia import SpdmReport
from verifier.memo import PerObject
from verifier.result import iso

ARCH_BY_CHIP = (("GH1", "HOPPER"), ("GB1", "BLACKWELL"), ("GB2", "BLACKWELL"), ("LS_10", "LS10"),
                ("LS10", "LS10"))
"""The architecture of a device, from the start of its leaf certificate's common name."""


def device_claims(chain: Sequence[x509.Certificate]) -> dict[str, object]:
    """The device, its model and architecture as the chain names them (read once for a remembered
    chain object; a new dict every time)."""
    return dict(_CHAIN_CLAIMS(chain) if isinstance(chain, tuple) else _device_claims(chain))


def _device_claims(chain: Sequence[x509.Certificate]) -> dict[str, object]:
    leaf = chain[0]
    out: dict[str, object] = {"device": common_name(leaf), "ueid": str(leaf.serial_number),
                              "chain_not_after": iso(min(validity(c)[1] for c in chain))}
    if len(chain) > 1:
        out["hwmodel"] = common_name(chain[1])
    name = common_name(leaf)
    for prefix, arch in ARCH_BY_CHIP:
        if name.startswith(prefix):
            out["chain_arch"] = arch
            out["chip"] = chip_of(name)
            break
    return out


_CHAIN_CLAIMS: PerObject[tuple[x509.Certificate, ...], dict[str, object]] = PerObject(
    "NVIDIA chain claims", 128, _device_claims)


def chip_of(common_name: str) -> str:
    """The chip a device certificate's common name starts with, as NVIDIA's RIMs spell it (their
    ``product`` and ``rim:PlatformModel``): ``GH100 A01 GSP FMC LF`` -> ``GH100``, ``LS_10 A01 FSP
    FMC LF`` -> ``LS10``."""
    return common_name.split(maxsplit=1)[0].replace("_", "") if common_name.strip() else ""


def report_claims(report: SpdmReport) -> dict[str, object]:
    o = report.opaque
    ff = o.feature_flag
    pp = o.protected_pcie_status
    if ff is not None:
        mode = {0: "spt", 1: "mpt", 2: "ppcie"}.get(ff, f"feature-flag-{ff}")
    elif pp == 0xAA:
        mode = "ppcie"
    else:
        mode = "legacy"
    return {
        "nonce": report.nonce.hex(),
        "driver_version": o.driver_version,
        "vbios_version": o.vbios_version,
        "project": o.project,
        "project_sku": o.project_sku,
        "chip_sku": o.chip_sku,
        "fwid": o.fwid.hex() if o.fwid is not None else None,
        "mode": mode,
        "measurement_blocks": len(report.response.blocks),
    }
