"""Decode the evidence bundle a service sent, for the details screen: facts only, no verdicts.

Every part is decoded on its own, so one malformed part is shown as such and the rest still is.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

from verifier.channel.keyconfig import parse_ohttp_keys
from verifier.errors import VerifierError
from verifier.evidence.bundle import EvidenceBundle, parse_bundle
from verifier.evidence.sev_snp import parse_report
from verifier.reference.dsse import parse_envelope

Decoded = dict[str, Any]


def _safe(decode: Callable[[], Any]) -> Any:
    try:
        return decode()
    except (VerifierError, ValueError, KeyError, TypeError) as e:
        return f"(cannot decode: {e})"


def _snp(report: bytes) -> Decoded:
    r = parse_report(report)
    product = r.product
    return {
        "version": r.version,
        "product": str(product.value if hasattr(product, "value") else product),
        "guest_svn": r.guest_svn,
        "vmpl": r.vmpl,
        "policy": {"raw": f"0x{r.policy:016x}", **r.policy_flags()},
        "platform_info": {"raw": f"0x{r.platform_info:016x}", **r.platform_flags()},
        "measurement": r.measurement.hex(),
        "report_data": r.report_data.hex(),
        "host_data": r.host_data.hex(),
        "chip_id": r.chip_id.hex(),
        "signing_key": str(r.signing_key.name if hasattr(r.signing_key, "name") else r.signing_key),
        "current_tcb": _tcb(r, "current"),
        "reported_tcb": _tcb(r, "reported"),
        "committed_tcb": _tcb(r, "committed"),
        "launch_tcb": _tcb(r, "launch"),
        "firmware": {"current": ".".join(map(str, r.firmware("current"))),
                     "committed": ".".join(map(str, r.firmware("committed")))},
    }


def _tcb(report: Any, which: str) -> Decoded:
    t = report.tcb(which)
    out: Decoded = {"raw": f"0x{t.raw:016x}", **t.components()}
    return out


def _release(release: Any) -> Decoded:
    out: Decoded = {}
    envelope = release.get("envelope") if isinstance(release, dict) else None
    if isinstance(envelope, str):
        def statement() -> Any:
            env = parse_envelope(base64.b64decode(envelope, validate=True))
            payload: Any = json.loads(env.payload)
            return {"payload_type": env.payload_type,
                    "signatures": [s.keyid for s in env.signatures], "statement": payload}
        out["envelope"] = _safe(statement)
    elif envelope is not None:
        out["envelope"] = _safe(lambda: {"statement": json.loads(parse_envelope(
            json.dumps(envelope).encode()).payload)})
    for key, value in (release or {}).items():
        if key != "envelope":
            out[key] = value
    return out


def _key_config(bundle: EvidenceBundle) -> Any:
    configs = parse_ohttp_keys(bundle.key_config)
    return {
        "sha256": hashlib.sha256(bundle.key_config).hexdigest(),
        "configs": [{"key_id": c.key_id, "kem": f"0x{c.kem_id:04x}",
                     "public_key": c.public_key.hex(),
                     "suites": [f"KDF 0x{s.kdf_id:04x} / AEAD 0x{s.aead_id:04x}" for s in c.suites]}
                    for c in configs],
    }


def decode_evidence(raw: bytes) -> Decoded:
    """The bundle's parts, decoded: nonce, expiry, key configuration, CPU report, GPUs, release,
    configuration, and the SHA-256 of each binary part."""
    try:
        bundle = parse_bundle(raw)
    except VerifierError as e:
        return {"error": f"the evidence bundle does not parse: {e}", "bytes": len(raw)}
    cpu: Decoded = {"platform": bundle.cpu.platform,
                    "report_sha256": hashlib.sha256(bundle.cpu.report).hexdigest(),
                    "certificates": [hashlib.sha256(c).hexdigest() for c in bundle.cpu.certificates]}
    if bundle.cpu.platform == "sev-snp":
        cpu["report"] = _safe(lambda: _snp(bundle.cpu.report))
    return {
        "version": bundle.version,
        "nonce": bundle.nonce.hex(),
        "expires": bundle.expires.isoformat(),
        "bytes": len(raw),
        "key_config": _safe(lambda: _key_config(bundle)),
        "cpu": cpu,
        "gpus": [{"arch": g.arch, "report_sha256": hashlib.sha256(g.report).hexdigest(),
                  "report_bytes": len(g.report)} for g in bundle.gpus],
        "release": _safe(lambda: _release(bundle.release)) if bundle.release is not None else None,
        "config": dict(bundle.config),
    }


def outline(value: Any, indent: int = 0) -> list[str]:
    """A plain indented ``key: value`` outline of nested dicts and lists."""
    pad = "  " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}{key}:")
                lines.extend(outline(item, indent + 1))
            else:
                lines.append(f"{pad}{key}: {_scalar(item)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}-")
                lines.extend(outline(item, indent + 1))
            else:
                lines.append(f"{pad}- {_scalar(item)}")
    else:
        lines.append(f"{pad}{_scalar(value)}")
    return lines


def _scalar(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return "(none)"
    return str(value)
