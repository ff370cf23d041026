"""Release statements: what a publisher says an image produces when launched (docs/protocol.md §Releases).

The statement is the payload of a DSSE envelope of type :data:`PAYLOAD_TYPE`::

    {"_type": STATEMENT_TYPE, "image": "sha256:<hex>", "version": "1.2.3",
     "measurements": {"sev-snp": ["<96 hex>", ...], "tdx": [{"mrtd": ..., "rtmr0": ...}, ...]}}
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from verifier import kinds
from verifier.errors import ParseError
from verifier.strict_json import load_strict_json

PAYLOAD_TYPE = "application/vnd.enclave-chat.release+json"
STATEMENT_TYPE = "https://enclave-chat.dev/release/v1"

_DIGEST = re.compile(r"\Asha256:[0-9a-f]{64}\Z")
_VERSION = re.compile(r"\A\d{1,6}(\.\d{1,6}){0,3}\Z")
_HEX = re.compile(r"\A[0-9a-f]{2,256}\Z")


@dataclass(frozen=True)
class ReleaseStatement:
    image: str
    version: str
    measurements: Mapping[str, tuple[Any, ...]]

    def encode(self) -> bytes:
        doc = {"_type": STATEMENT_TYPE, "image": self.image, "version": self.version,
               "measurements": {k: list(v) for k, v in self.measurements.items()}}
        return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()

    def measurements_for(self, platform: str) -> tuple[bytes, ...]:
        """The release's entries for ``platform`` as the bytes a launch measurement is compared as
        (the kind registry names each platform's reader: :func:`snp_entry`, :func:`tdx_entry`)."""
        reader = _entry_reader(platform)
        if reader is None:
            return ()
        return tuple(reader(v) for v in self.measurements.get(platform, ()))


TDX_REGISTERS = ("mrtd", "rtmr0", "rtmr1", "rtmr2")
"""What a TDX launch measurement is made of (RTMR3 is extended at run time: a policy matter)."""


def tdx_launch_measurement(mrtd: bytes, rtmr0: bytes, rtmr1: bytes, rtmr2: bytes) -> bytes:
    """The 192 bytes a TDX release entry is compared as: MRTD || RTMR0 || RTMR1 || RTMR2."""
    return mrtd + rtmr0 + rtmr1 + rtmr2


def snp_entry(value: Any) -> bytes:
    """An SEV-SNP release entry: the launch MEASUREMENT as 96 lowercase hex digits."""
    if not isinstance(value, str) or len(value) != 96 or not _HEX.match(value):
        raise ParseError("must be 96 lowercase hex digits", field="release.measurements.sev-snp")
    return bytes.fromhex(value)


def tdx_entry(value: Any) -> bytes:
    """A TDX release entry: MRTD, RTMR0, RTMR1 and RTMR2 as 96 lowercase hex digits each, compared
    as their concatenation (:func:`tdx_launch_measurement`)."""
    if not isinstance(value, dict) or not all(
            isinstance(value.get(k), str) and len(value[k]) == 96 and _HEX.match(value[k])
            for k in TDX_REGISTERS):
        raise ParseError("each entry must give mrtd, rtmr0, rtmr1 and rtmr2 as 96 lowercase hex digits",
                         field="release.measurements.tdx")
    return b"".join(bytes.fromhex(value[k]) for k in TDX_REGISTERS)


def _entry_reader(platform: str) -> Callable[[Any], bytes] | None:
    """The registered reader of ``platform``'s release entries (None: a platform no kind reads)."""
    kind = next((k for k in kinds.all_kinds() if k.name == platform and k.release_entry), None)
    return kinds.callable_of(kind.release_entry) if kind is not None and kind.release_entry else None


def parse_statement(data: bytes) -> ReleaseStatement:
    try:
        doc = load_strict_json(data, "release.statement")
    except ParseError:
        raise ParseError("is not JSON", field="release.statement") from None
    if not isinstance(doc, dict) or doc.get("_type") != STATEMENT_TYPE:
        raise ParseError(f"must be a JSON object with _type {STATEMENT_TYPE}", field="release.statement")
    image, version, ms = doc.get("image"), doc.get("version"), doc.get("measurements")
    if not isinstance(image, str) or not _DIGEST.match(image):
        raise ParseError("must be sha256:<64 hex>", field="release.image")
    if not isinstance(version, str) or not _VERSION.match(version):
        raise ParseError("must be a dotted numeric version", field="release.version")
    if not isinstance(ms, dict):
        raise ParseError("must be an object", field="release.measurements")
    out: dict[str, tuple[Any, ...]] = {}
    for platform, values in ms.items():
        if not isinstance(values, list) or len(values) > 64:
            raise ParseError("must be a list of at most 64", field=f"release.measurements.{platform}")
        reader = _entry_reader(platform)
        if reader is not None:
            for v in values:
                reader(v)
        out[platform] = tuple(values)
    return ReleaseStatement(image, version, out)


def version_tuple(version: str) -> tuple[int, ...]:
    """``"1.10.2"`` -> ``(1, 10, 2)`` for rollback comparisons."""
    if not _VERSION.match(version):
        raise ParseError(f"{version!r} is not a dotted numeric version", field="version")
    return tuple(int(p) for p in version.split("."))
