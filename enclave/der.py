"""The few DER encodings the simulated VCEK extensions need (X.690 §8.3, §8.7, §8.21)."""

from __future__ import annotations


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def integer(value: int) -> bytes:
    body = value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True)
    return b"\x02" + _length(len(body)) + body


def ia5string(value: str) -> bytes:
    body = value.encode("ascii")
    return b"\x16" + _length(len(body)) + body


def octet_string(value: bytes) -> bytes:
    return b"\x04" + _length(len(value)) + value
