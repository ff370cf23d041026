"""QUIC variable-length integers (RFC 9000 §16), as used by Binary HTTP and chunked OHTTP.

Decoding accepts non-minimal encodings (RFC 9292 §3 allows them); encoding is always minimal.
"""

from __future__ import annotations

from verifier.errors import ParseError

MAX_VARINT = (1 << 62) - 1


def encode_varint(value: int) -> bytes:
    """The shortest RFC 9000 §16 encoding of ``value`` (0 .. 2**62-1)."""
    if value < 0 or value > MAX_VARINT:
        raise ValueError(f"{value} does not fit in a QUIC variable-length integer")
    if value < 1 << 6:
        return bytes((value,))
    if value < 1 << 14:
        return (value | 0x4000).to_bytes(2, "big")
    if value < 1 << 30:
        return (value | 0x8000_0000).to_bytes(4, "big")
    return (value | 0xC000_0000_0000_0000).to_bytes(8, "big")


def read_varint(data: bytes | bytearray | memoryview, offset: int = 0) -> tuple[int, int] | None:
    """``(value, next_offset)`` of the varint at ``offset``, or ``None`` if ``data`` ends inside it."""
    if offset >= len(data):
        return None
    size = 1 << (data[offset] >> 6)
    if offset + size > len(data):
        return None
    value = data[offset] & 0x3F
    for i in range(offset + 1, offset + size):
        value = (value << 8) | data[i]
    return value, offset + size


def decode_varint(
    data: bytes | bytearray | memoryview, offset: int = 0, *, field: str = "varint"
) -> tuple[int, int]:
    """Like :func:`read_varint`, but a truncated integer is a :class:`ParseError` naming ``field``."""
    result = read_varint(data, offset)
    if result is None:
        raise ParseError("truncated variable-length integer", field=field)
    return result
