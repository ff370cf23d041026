"""``enclave-chat evidence inspect FILE``: decode any registered evidence format into plain fields.

Formats are recognised by structure, by the ``inspectors`` each registered kind names
(:mod:`verifier.kinds`), tried in rank order: JSON documents first (a native bundle), then binary
formats, which may come as binary, hex text or base64. Decoding only: nothing here says whether the
evidence is authentic.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from verifier import kinds
from verifier.errors import InputError, ParseError
from verifier.evidence.encoding import MAX_EVIDENCE_FILE, decode_evidence
from verifier.files import read_file
from verifier.providers import registry

__all__ = ["inspect_bytes", "inspect_file", "inspectors", "registry"]

Detect = Callable[[bytes], bool]
Decode = Callable[[bytes], dict[str, Any]]


def inspectors(*, json: bool) -> list[tuple[str, Detect, Decode]]:
    """``(kind, detect, decode)`` of every registered kind, in rank order; ``json``: the decoders
    of JSON documents (rank below 10), else those of binary formats."""
    found = sorted((rank, kind.name, detect, decode) for kind in kinds.all_kinds()
                   for rank, detect, decode in kind.inspectors if (rank < 10) == json)
    return [(name, kinds.callable_of(detect), kinds.callable_of(decode)) for _, name, detect, decode in found]


def inspect_bytes(data: bytes, name: str = "the file") -> dict[str, Any]:
    if data.lstrip()[:1] == b"{":
        for kind, fits, decode in inspectors(json=True):
            if fits(data):
                try:
                    return decode(data)
                except ParseError as e:
                    raise InputError(f"{name} is JSON, but not a {kind} document this version decodes ({e})") from None
        raise InputError(f"{name} is JSON, but not any document this version decodes")
    binary = inspectors(json=False)
    raw, encoding = decode_evidence(data, lambda d: any(fits(d) for _, fits, _ in binary), name)
    for kind, fits, decode in binary:
        if fits(raw):
            try:
                return {"encoding": encoding, **decode(raw)}
            except ParseError as e:
                raise InputError(f"{name} looks like {kind} evidence but does not parse: {e}") from None
    raise InputError(f"the {encoding} content of {name} is not any evidence format this version knows ({len(raw)} bytes)")


def inspect_file(path: Path) -> dict[str, Any]:
    return inspect_bytes(read_file(path, MAX_EVIDENCE_FILE), str(path))
