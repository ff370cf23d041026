"""How evidence files are written down: raw binary, hex text or base64 (DESIGN.md, command line).

Detection runs in a fixed order: binary when the caller's size/header test fits, then hex when the
text holds only hex digits and white space, then base64. Whatever the detection chose, a size error
afterwards is an error of that encoding, never a cue to try another.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable

from verifier.errors import InputError

MAX_EVIDENCE_FILE = 4 * 1024 * 1024
"""No evidence file we read is larger than a few hundred kilobytes; refuse before decoding."""

_HEX_TEXT = re.compile(rb"\A[0-9a-fA-F\s]*\Z")
_B64_TEXT = re.compile(rb"\A[A-Za-z0-9+/=_\-\s]*\Z")


def decode_evidence(data: bytes, binary_fits: Callable[[bytes], bool],
                    name: str = "the file") -> tuple[bytes, str]:
    """Return ``(raw bytes, "binary" | "hex" | "base64")``.

    ``binary_fits`` answers whether ``data`` as it stands has the size and header of the format;
    ``name`` (the file's path, say) is what an error message calls the input.
    """
    if len(data) > MAX_EVIDENCE_FILE:
        raise InputError(f"{name} is {len(data)} bytes, more than the {MAX_EVIDENCE_FILE} an evidence file may be")
    if binary_fits(data):
        return data, "binary"
    text = data.strip()
    if not text:
        raise InputError(f"{name} is empty")
    if _HEX_TEXT.match(text):
        compact = b"".join(text.split())
        if len(compact) % 2:
            raise InputError(f"{name}: hex text has an odd number of digits")
        return bytes.fromhex(compact.decode("ascii")), "hex"
    if _B64_TEXT.match(text):
        compact = b"".join(text.split())
        urlsafe = b"-" in compact or b"_" in compact
        if urlsafe and (b"+" in compact or b"/" in compact):
            raise InputError(f"{name}: the text mixes the standard and the URL-safe base64 alphabets")
        try:
            padded = compact + b"=" * (-len(compact) % 4)
            return base64.b64decode(padded, altchars=b"-_" if urlsafe else None, validate=True), "base64"
        except (binascii.Error, ValueError) as e:
            raise InputError(f"{name}: the text is not valid base64 ({e})") from None
    raise InputError(f"{name} is neither the binary format, hex text nor base64")


_TEXT = frozenset(range(0x20, 0x7F)) | {0x09, 0x0A, 0x0D}


def is_text(data: bytes) -> bool:
    """Printable ASCII and white space only: hex or base64 text, never a binary structure."""
    return all(b in _TEXT for b in data)


def b64decode_field(value: object, field: str) -> bytes:
    """Decode one standard, padded base64 value of a JSON document (DESIGN.md wire protocol)."""
    from verifier.errors import ParseError

    if not isinstance(value, str):
        raise ParseError("expected a base64 string", field=field)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ParseError("is not valid standard base64", field=field) from None


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
