"""``evidence inspect`` of a native evidence bundle (JSON): its fields, and its CPU and GPU reports decoded."""

from __future__ import annotations

from typing import Any

from verifier import kinds
from verifier.channel.keyconfig import parse_ohttp_keys
from verifier.errors import ParseError
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
    out["key_configs"] = _key_configs(b.key_config)
    cpu = kinds.get_kind(b.cpu.platform)
    decoders = [kinds.callable_of(decode) for _, detect, decode in sorted(cpu.inspectors)
                if kinds.callable_of(detect)(b.cpu.report)]
    if decoders:
        out["cpu"]["report"] = decoders[0](b.cpu.report)
    gpu = kinds.callable_of("verifier.evidence.inspect:nvidia_fields")
    out["gpus"] = [{"arch": g.arch, "report": gpu(g.report)} for g in b.gpus]
    return out


def _key_configs(data: bytes) -> list[dict[str, Any]] | str:
    """The OHTTP key configurations (RFC 9458 §3.1) the bundle attests, decoded; a sentence when
    they do not decode (the appraisal says so as ``channel.key_config``)."""
    try:
        configs = parse_ohttp_keys(data)
    except ParseError as e:
        return f"does not decode: {e}"
    return [{"key_id": c.key_id, "kem": f"0x{c.kem_id:04x}", "public_key": c.public_key.hex(),
             "suites": [f"KDF 0x{x.kdf_id:04x} / AEAD 0x{x.aead_id:04x}" for x in c.suites]}
            for c in configs]
