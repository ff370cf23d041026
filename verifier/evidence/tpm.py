"""TPM 2.0 quotes: the ``TPMS_ATTEST`` a ``TPM2_Quote`` signs, parsed strictly and by hand.

Structures (TPM 2.0 Library, Part 2 "Structures"; every integer big-endian):

``TPMS_ATTEST``
    magic ``TPM_GENERATED_VALUE`` (u32 0xff544347), type ``TPM_ST_ATTEST_QUOTE`` (u16 0x8018),
    qualifiedSigner ``TPM2B_NAME`` (u16 size, bytes), extraData ``TPM2B_DATA`` (u16 size, bytes:
    the verifier's nonce, the "qualifying data"), clockInfo ``TPMS_CLOCK_INFO`` (clock u64,
    resetCount u32, restartCount u32, safe u8 = 0 or 1), firmwareVersion (u64), then for a quote
    ``TPMS_QUOTE_INFO``:
``TPMS_QUOTE_INFO``
    pcrSelect ``TPML_PCR_SELECTION`` (count u32, then count ``TPMS_PCR_SELECTION``: hash u16,
    sizeofSelect u8, that many bytes of a PCR bitmap, bit ``i % 8`` of byte ``i // 8`` selecting
    PCR ``i``), pcrDigest ``TPM2B_DIGEST`` (u16 size, bytes): the hash, with the selection's
    algorithm, of the selected PCRs' values concatenated in selection order (banks in the order
    listed, PCRs in ascending order).

Nothing may follow the structure. The quote's signature (RSASSA or other, over the whole
``TPMS_ATTEST``) is checked by the appraisal, with a key it trusts for other reasons.

Also here: :func:`parse_serialized_quote`, the file az-cvm-vtpm writes for a quote (three
little-endian u64-length-prefixed fields: signature bytes, message bytes, then the PCR values as
a list of 32-byte arrays), so that such a file can be appraised as it is.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from verifier.errors import ParseError

TPM_GENERATED_VALUE = 0xFF544347
TPM_ST_ATTEST_QUOTE = 0x8018
HASH_ALGS: dict[int, tuple[str, int]] = {0x0004: ("sha1", 20), 0x000B: ("sha256", 32),
                                         0x000C: ("sha384", 48), 0x000D: ("sha512", 64)}
"""``TPM_ALG_ID`` of the hashes a PCR bank may use: (hashlib name, digest size)."""
TPM_ALG_SHA256 = 0x000B
MAX_ATTEST_SIZE = 1024
"""A quote's ``TPMS_ATTEST`` is a few hundred bytes (``TPM2B_ATTEST`` is at most 1024 here)."""
MAX_NAME = 2 + 64
MAX_DATA = 64
MAX_BANKS = 16
MAX_SELECT = 4
PCR_COUNT = 24


@dataclass(frozen=True)
class PcrSelection:
    """One ``TPMS_PCR_SELECTION``: a bank (hash algorithm) and the PCRs selected in it."""

    hash_alg: int
    pcrs: tuple[int, ...]

    @property
    def hash_name(self) -> str:
        return HASH_ALGS[self.hash_alg][0]


@dataclass(frozen=True)
class QuoteInfo:
    """A parsed ``TPMS_ATTEST`` of type ``TPM_ST_ATTEST_QUOTE``."""

    qualified_signer: bytes
    extra_data: bytes
    clock: int
    reset_count: int
    restart_count: int
    safe: bool
    firmware_version: int
    selections: tuple[PcrSelection, ...]
    pcr_digest: bytes
    raw: bytes

    def selected(self, hash_alg: int) -> tuple[int, ...]:
        """The PCRs the quote covers in bank ``hash_alg`` (empty when the bank is not selected)."""
        return tuple(i for s in self.selections if s.hash_alg == hash_alg for i in s.pcrs)


class _Reader:
    def __init__(self, data: bytes, field: str) -> None:
        self.data = data
        self.pos = 0
        self.field = field

    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > len(self.data):
            raise ParseError(f"ends inside {what} (needs {n} bytes at offset {self.pos}, "
                             f"{len(self.data) - self.pos} left)", field=f"{self.field}.{what}")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def uint(self, n: int, what: str) -> int:
        return int.from_bytes(self.take(n, what), "big")

    def sized(self, what: str, limit: int) -> bytes:
        size = self.uint(2, f"{what}.size")
        if size > limit:
            raise ParseError(f"size {size} is more than {limit}", field=f"{self.field}.{what}")
        return self.take(size, what)


def parse_quote_info(data: bytes) -> QuoteInfo:
    """Parse a quote's ``TPMS_ATTEST`` strictly; every failure is a :class:`ParseError`."""
    if len(data) > MAX_ATTEST_SIZE:
        raise ParseError(f"is {len(data)} bytes, more than {MAX_ATTEST_SIZE}", field="tpms_attest")
    r = _Reader(bytes(data), "tpms_attest")
    magic = r.uint(4, "magic")
    if magic != TPM_GENERATED_VALUE:
        raise ParseError(f"magic {magic:#010x} is not TPM_GENERATED_VALUE (0xff544347): "
                         "the TPM did not make this structure", field="tpms_attest.magic")
    kind = r.uint(2, "type")
    if kind != TPM_ST_ATTEST_QUOTE:
        raise ParseError(f"type {kind:#06x} is not TPM_ST_ATTEST_QUOTE (0x8018)", field="tpms_attest.type")
    signer = r.sized("qualifiedSigner", MAX_NAME)
    extra = r.sized("extraData", MAX_DATA)
    clock = r.uint(8, "clock")
    reset_count = r.uint(4, "resetCount")
    restart_count = r.uint(4, "restartCount")
    safe = r.uint(1, "safe")
    if safe not in (0, 1):
        raise ParseError(f"safe is {safe}, not a TPMI_YES_NO", field="tpms_attest.safe")
    firmware = r.uint(8, "firmwareVersion")
    count = r.uint(4, "pcrSelect.count")
    if not 1 <= count <= MAX_BANKS:
        raise ParseError(f"selects {count} banks (1 to {MAX_BANKS} expected)", field="tpms_attest.pcrSelect")
    selections: list[PcrSelection] = []
    for _ in range(count):
        alg = r.uint(2, "pcrSelect.hash")
        if alg not in HASH_ALGS:
            raise ParseError(f"bank hash {alg:#06x} is not SHA-1, SHA-256, SHA-384 or SHA-512",
                             field="tpms_attest.pcrSelect.hash")
        if any(s.hash_alg == alg for s in selections):
            raise ParseError(f"bank {alg:#06x} is selected twice", field="tpms_attest.pcrSelect.hash")
        size = r.uint(1, "pcrSelect.sizeofSelect")
        if not 1 <= size <= MAX_SELECT:
            raise ParseError(f"sizeofSelect {size} is not 1 to {MAX_SELECT}",
                             field="tpms_attest.pcrSelect.sizeofSelect")
        bitmap = r.take(size, "pcrSelect.pcrSelect")
        pcrs = tuple(i for i in range(8 * size) if bitmap[i // 8] >> (i % 8) & 1)
        if any(i >= PCR_COUNT for i in pcrs):
            raise ParseError(f"selects a PCR above {PCR_COUNT - 1}", field="tpms_attest.pcrSelect.pcrSelect")
        selections.append(PcrSelection(alg, pcrs))
    digest = r.sized("pcrDigest", 64)
    if r.pos != len(r.data):
        raise ParseError(f"{len(r.data) - r.pos} bytes follow the structure", field="tpms_attest")
    return QuoteInfo(signer, extra, clock, reset_count, restart_count, bool(safe), firmware,
                     tuple(selections), digest, bytes(data))


def pcr_digest(hash_alg: int, values: list[bytes]) -> bytes:
    """The ``pcrDigest`` of PCR ``values`` (already in selection order) in bank ``hash_alg``."""
    name, _size = HASH_ALGS[hash_alg]
    return hashlib.new(name, b"".join(values)).digest()


@dataclass(frozen=True)
class SerializedQuote:
    """A quote as a file holds it: the ``TPMS_ATTEST`` bytes, its signature, the PCR values."""

    message: bytes
    signature: bytes
    pcrs: tuple[bytes, ...]


MAX_SERIALIZED_QUOTE = 16 * 1024


def parse_serialized_quote(data: bytes) -> SerializedQuote:
    """az-cvm-vtpm's serialized quote (see the module's docstring), strictly: no trailing bytes."""
    if len(data) > MAX_SERIALIZED_QUOTE:
        raise ParseError(f"is {len(data)} bytes, more than {MAX_SERIALIZED_QUOTE}", field="quote")
    pos = 0

    def length(what: str, limit: int) -> int:
        nonlocal pos
        if pos + 8 > len(data):
            raise ParseError(f"ends inside the length of {what}", field=f"quote.{what}")
        n = int.from_bytes(data[pos:pos + 8], "little")
        pos += 8
        if n > limit:
            raise ParseError(f"{what} length {n} is more than {limit}", field=f"quote.{what}")
        return n

    def take(n: int, what: str) -> bytes:
        nonlocal pos
        if pos + n > len(data):
            raise ParseError(f"ends inside {what}", field=f"quote.{what}")
        out = data[pos:pos + n]
        pos += n
        return out

    signature = take(length("signature", 1024), "signature")
    message = take(length("message", MAX_ATTEST_SIZE), "message")
    count = length("pcrs", PCR_COUNT)
    pcrs = tuple(take(32, "pcrs") for _ in range(count))
    if pos != len(data):
        raise ParseError(f"{len(data) - pos} bytes follow the quote", field="quote")
    return SerializedQuote(bytes(message), bytes(signature), pcrs)


def looks_serialized(data: bytes) -> bool:
    """Binary-detection test for :func:`parse_serialized_quote`: a plausible first length."""
    return len(data) >= 8 and 0 < int.from_bytes(data[:8], "little") <= 1024
