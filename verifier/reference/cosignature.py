"""Witness cosignatures (C2SP tlog-cosignature) and an N-of-M witness policy.

A witness (C2SP tlog-witness) cosigns a checkpoint only after checking that it is consistent with
the last one it cosigned for that log. A client that requires N of M independent witnesses'
cosignatures on a checkpoint therefore catches a log that shows it a fork (a split view), even on
first contact, unless N witnesses collude with the log.

Cosignatures are note signature lines of type 0x04: ``u64 timestamp || Ed25519 signature`` over
``"cosignature/v1\\ntime <timestamp>\\n" || checkpoint text`` (see :mod:`verifier.reference.note`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verifier.errors import PolicyError
from verifier.reference.note import (
    SIG_COSIGNATURE_V1,
    Note,
    NoteFormatError,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    check_signatures,
    parse_vkey,
)

#: Cosignatures dated further than this past the verification time are not counted.
MAX_FUTURE_SKEW = dt.timedelta(minutes=5)


def cosigner(name: str, private_key: Ed25519PrivateKey) -> NoteSigner:
    """A witness signing key (type 0x04)."""
    return NoteSigner(name, SIG_COSIGNATURE_V1, private_key)


def cosign(note: Note, signer: NoteSigner, timestamp: int) -> NoteSignature:
    """C2SP tlog-cosignature: the witness's timestamped signature line for ``note``'s text."""
    if signer.sig_type != SIG_COSIGNATURE_V1:
        raise NoteFormatError("a cosigner key has signature type 0x04", field="signer key")
    return signer.sign(note.text, timestamp=timestamp)


@dataclass(frozen=True)
class WitnessVerdict:
    """Which trusted witnesses cosigned, which lines failed, and whether the threshold is met."""

    threshold: int
    total: int
    cosigned_by: tuple[str, ...]
    invalid: tuple[str, ...]
    future: tuple[str, ...]

    @property
    def satisfied(self) -> bool:
        return len(self.cosigned_by) >= self.threshold

    def describe(self) -> str:
        text = f"{len(self.cosigned_by)} of the {self.total} trusted witnesses cosigned (policy needs {self.threshold})"
        if self.cosigned_by:
            text += f": {', '.join(self.cosigned_by)}"
        if self.invalid:
            text += f"; invalid cosignatures from {', '.join(self.invalid)}"
        if self.future:
            text += f"; cosignatures dated in the future from {', '.join(self.future)}"
        return text


@dataclass(frozen=True)
class WitnessPolicy:
    """N-of-M: at least ``threshold`` of ``witnesses`` (cosignature keys) must have cosigned."""

    witnesses: tuple[NoteVerifier, ...]
    threshold: int

    def __post_init__(self) -> None:
        if any(w.sig_type != SIG_COSIGNATURE_V1 for w in self.witnesses):
            raise PolicyError("witness keys must be cosignature/v1 (type 0x04) vkeys")
        if len({(w.name, w.key_id) for w in self.witnesses}) != len(self.witnesses):
            raise PolicyError("the same witness key is listed twice")
        if not 0 <= self.threshold <= len(self.witnesses):
            raise PolicyError(f"min_witnesses must be between 0 and the {len(self.witnesses)} witnesses listed")

    @classmethod
    def from_vkeys(cls, vkeys: Iterable[str], threshold: int) -> WitnessPolicy:
        keys = []
        for text in vkeys:
            try:
                keys.append(parse_vkey(text))
            except NoteFormatError as e:
                raise PolicyError(f"witness key {text!r}: {e}") from None
        return cls(tuple(keys), threshold)

    def evaluate(self, note: Note, *, at: dt.datetime) -> WitnessVerdict:
        """Count distinct trusted witnesses whose cosignature on ``note`` verifies and is not
        dated more than :data:`MAX_FUTURE_SKEW` after ``at`` (C2SP tlog-cosignature allows
        refusing timestamps in the future)."""
        good, bad = check_signatures(note, self.witnesses)
        limit = (at + MAX_FUTURE_SKEW).timestamp()
        ok = tuple(v.verifier.name for v in good if v.timestamp is not None and v.timestamp <= limit)
        future = tuple(v.verifier.name for v in good if v.timestamp is None or v.timestamp > limit)
        return WitnessVerdict(self.threshold, len(self.witnesses), ok, tuple(b.name for b in bad), future)
