"""Decoding the stages' input objects; a schema violation is :class:`Malformed` (exit 30)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from enclave_chat.conformance.taxonomy import Malformed


def obj(doc: Mapping[str, Any], key: str, *, optional: bool = False) -> Mapping[str, Any] | None:
    value = doc.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, dict):
        raise Malformed(f"{key} is not an object")
    return value


def text(doc: Mapping[str, Any], key: str, *, optional: bool = False) -> str | None:
    value = doc.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise Malformed(f"{key} is not a string")
    return value


def hex_bytes(doc: Mapping[str, Any], key: str, *, length: int | None = None, optional: bool = False) -> bytes | None:
    value = text(doc, key, optional=optional)
    if value is None:
        return None
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise Malformed(f"{key} is not hex") from None
    if length is not None and len(raw) != length:
        raise Malformed(f"{key} is {len(raw)} bytes, not {length}")
    return raw


def strings(doc: Mapping[str, Any], key: str) -> Sequence[str]:
    value = doc.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Malformed(f"{key} is not a list of strings")
    return value
