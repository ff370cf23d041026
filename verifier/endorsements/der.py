"""The one DER reader (ITU-T X.690 §8, §10) for the structures read by hand: AMD certificates'
signed bytes and RSASSA-PSS parameters, Intel's SGX extension.

Strict DER only: low tag numbers, definite lengths in minimal octets, no element running past its
container. Every failure is a :class:`verifier.errors.ParseError`; nothing here recurses.
"""

from __future__ import annotations

from dataclasses import dataclass

from verifier.errors import ParseError

TAG_INTEGER = 0x02
TAG_BIT_STRING = 0x03
TAG_OCTET_STRING = 0x04
TAG_NULL = 0x05
TAG_OID = 0x06
TAG_IA5STRING = 0x16
TAG_SEQUENCE = 0x30


@dataclass(frozen=True)
class Tlv:
    """One DER element: its tag, and where its content and the whole element lie in the buffer."""

    tag: int
    start: int  # first byte of the element (the tag)
    content: int  # first byte of the content
    end: int  # one past the last content byte


def read_tlv(data: bytes, pos: int, end: int | None = None, *, what: str = "DER") -> Tlv:
    """Read the element at ``pos`` (X.690 §8.1); it must end at or before ``end``."""
    limit = len(data) if end is None else end
    if pos + 2 > limit:
        raise ParseError("truncated element", field=what)
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise ParseError("multi-byte tags are not used here", field=what)
    first = data[pos + 1]
    cursor = pos + 2
    if first < 0x80:
        length = first
    elif first == 0x80:
        raise ParseError("indefinite length is not DER", field=what)
    else:
        count = first & 0x7F
        if count > 4 or cursor + count > limit:
            raise ParseError("length octets out of range", field=what)
        length = int.from_bytes(data[cursor:cursor + count], "big")
        if length < 0x80 or data[cursor] == 0:
            raise ParseError("length is not minimally encoded", field=what)
        cursor += count
    if cursor + length > limit:
        raise ParseError("element runs past its container", field=what)
    return Tlv(tag, pos, cursor, cursor + length)


def children(data: bytes, parent: Tlv, *, what: str = "DER") -> list[Tlv]:
    """The elements directly inside a constructed element, which they must fill exactly."""
    out: list[Tlv] = []
    pos = parent.content
    while pos < parent.end:
        child = read_tlv(data, pos, parent.end, what=what)
        out.append(child)
        pos = child.end
    return out


def items(data: bytes, *, what: str = "DER") -> list[tuple[int, bytes]]:
    """The elements that exactly fill ``data`` (the content of a constructed element), as
    ``(tag, content)``."""
    out: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(data):
        tlv = read_tlv(data, pos, what=what)
        out.append((tlv.tag, data[tlv.content:tlv.end]))
        pos = tlv.end
    return out
