"""``evidence inspect`` of a native evidence bundle (JSON): its fields, and its CPU and GPU reports decoded."""

from __future__ import annotations

from typing import Any

from verifier import kinds
from verifier.providers.native import bundle


def looks_like_bundle(data: bytes) -> bool:
    return data.lstrip()[:1] == b"{"


def bundle_fields(raw: bytes) -> dict[str, Any]:
    b = bundle.parse_bundle(raw)
    out: dict[str, Any] = {"format": "native evidence bundle", "version": b.version,
                           "nonce": b.nonce.hex(), "key_config": b.key_config.hex(),
                           "config": dict(b.config), "expires": b.expires.isoformat(),
                           "release": dict(b.release or {}), "digests": b.digests(),
                           "cpu": {"platform": b.cpu.platform,
                                   "certificates": len(b.cpu.certificates)}}
    cpu = kinds.get_kind(b.cpu.platform)
    decoders = [kinds.callable_of(decode) for _, detect, decode in sorted(cpu.inspectors)
                if kinds.callable_of(detect)(b.cpu.report)]
    if decoders:
        out["cpu"]["report"] = decoders[0](b.cpu.report)
    gpu = kinds.callable_of("verifier.evidence.inspect:nvidia_fields")
    out["gpus"] = [{"arch": g.arch, "report": gpu(g.report)} for g in b.gpus]
    return out
