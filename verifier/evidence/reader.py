"""A bounds-checked little-endian cursor for the binary evidence formats (SPDM, TDX quotes).

Every read names the field it is for, so a truncated or lying length becomes a
:class:`~verifier.errors.ParseError` that says which field ran out, never an IndexError.
"""

from __future__ import annotations

from verifier.errors import ParseError


class Reader:
    def __init__(self, data: bytes, offset: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = offset
        self.end = len(data) if end is None else end

    def take(self, n: int, field: str) -> bytes:
        if n < 0 or self.pos + n > self.end:
            raise ParseError(f"needs {n} bytes at offset {self.pos}, only {self.end - self.pos} remain",
                             field=field, reason="truncated")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def uint(self, size: int, field: str) -> int:
        pos = self.pos
        if size < 0 or pos + size > self.end:
            self.take(size, field)          # raises, naming the field
        self.pos = pos + size
        return int.from_bytes(self.data[pos:pos + size], "little")

    def u8(self, field: str) -> int:
        pos = self.pos
        if pos >= self.end:
            self.take(1, field)             # raises, naming the field
        self.pos = pos + 1
        return self.data[pos]

    def u16(self, field: str) -> int:
        return self.uint(2, field)

    def u24(self, field: str) -> int:
        return self.uint(3, field)

    def u32(self, field: str) -> int:
        return self.uint(4, field)

    @property
    def remaining(self) -> int:
        return self.end - self.pos
