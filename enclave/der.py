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


def tlv(tag: int, body: bytes) -> bytes:
    """One DER element: ``tag``, its definite length, ``body``."""
    return bytes([tag]) + _length(len(body)) + body


def sequence(*items: bytes) -> bytes:
    return tlv(0x30, b"".join(items))


def oid(dotted: str) -> bytes:
    """An OBJECT IDENTIFIER (X.690 §8.19): the first two arcs in one octet, base-128 after."""
    arcs = [int(a) for a in dotted.split(".")]
    out = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(chunk))
    return tlv(0x06, bytes(out))


def boolean(value: bool) -> bytes:
    return tlv(0x01, b"\xff" if value else b"\x00")


def enumerated(value: int) -> bytes:
    return b"\x0a" + integer(value)[1:]
