"""Approve on change: the release a service was accepted under, and what to do when it changes.

A release's identity is what a redeployment changes: the CPU measurement, the release version, the
image digest and the publisher (the key that signed a native release statement, the repository of
a Tinfoil one). :class:`ReleaseSummary` reads them (and the transparency-log index, shown but not
part of the identity) from a result's claims, whatever the provider.

A :class:`verifier.session.Session` pins the release of its first passing attestation (or the one
a :class:`ReleaseStore` recorded for the service before: trust on first use) and holds back a later
passing attestation whose release differs: :class:`ReleaseChanged` (a :class:`NotVerified`), and
nothing is sent until the caller accepts it (:meth:`Session.accept_release_change`).

The store keeps one small JSON per service URL (the release last accepted, and when), private
files (:mod:`verifier.private_files`) in the state directory's ``releases/``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verifier.errors import InputError, NotVerified, ParseError
from verifier.private_files import write_private
from verifier.result import AttestationResult, iso
from verifier.strict_json import load_strict_json
from verifier.text import one_line

RECORD_VERSION = 1
MAX_RECORD = 64 * 1024


def claim(mapping: Any, *path: str) -> Any:
    """The value at ``path`` in nested mappings (a result's claims), or None."""
    for key in path:
        if not isinstance(mapping, Mapping) or key not in mapping:
            return None
        mapping = mapping[key]
    return mapping


def first_claim(mapping: Any, *paths: tuple[str, ...]) -> Any:
    """The first of ``paths`` that holds a value (not None, "", [] or {}), or None."""
    for path in paths:
        value = claim(mapping, *path)
        if value not in (None, "", [], {}):
            return value
    return None


def _text(value: Any) -> str | None:
    return str(value) if value is not None else None


@dataclass(frozen=True)
class ReleaseSummary:
    """What release an attestation names, as far as its claims say: the CPU measurement, the
    release's version, image digest and publisher, and its index in the transparency log."""

    measurement: str | None = None
    version: str | None = None
    image: str | None = None
    log_index: int | None = None
    publisher: str | None = None

    @classmethod
    def from_claims(cls, claims: Any) -> ReleaseSummary:
        release = claim(claims, "release")
        measurement = first_claim(claims, ("cpu", "measurement"), ("release", "measurement"))
        version = first_claim(release, ("version",), ("statement", "version"), ("tag",))
        image = first_claim(release, ("image",), ("statement", "image"), ("digest",))
        index = first_claim(release, ("log", "index"), ("log_index",), ("rekor_log_index",))
        publisher = first_claim(release, ("publisher",), ("repository",))
        return cls(_text(measurement), _text(version), _text(image),
                   index if type(index) is int else None, _text(publisher))

    @property
    def identity(self) -> tuple[str | None, str | None, str | None, str | None]:
        """What a redeployment changes (the log index is where the same release was logged)."""
        return (self.measurement, self.version, self.image, self.publisher)

    def to_json(self) -> dict[str, Any]:
        return {"measurement": self.measurement, "version": self.version, "image": self.image,
                "log_index": self.log_index, "publisher": self.publisher}

    @classmethod
    def from_json(cls, doc: Any) -> ReleaseSummary:
        if not isinstance(doc, Mapping):
            raise ParseError("a release is not an object")
        texts = {k: doc.get(k) for k in ("measurement", "version", "image", "publisher")}
        if any(v is not None and not isinstance(v, str) for v in texts.values()):
            raise ParseError("a release field is not a string")
        index = doc.get("log_index")
        if index is not None and type(index) is not int:
            raise ParseError("a release's log_index is not an integer")
        return cls(texts["measurement"], texts["version"], texts["image"], index, texts["publisher"])

    def text(self) -> str:
        """``release 0.1.0 (measurement 1a2b3c4d5e6f…, log 3)``: one plain line, bounded."""
        head = f"release {one_line(self.version, 40)}" if self.version else "no release version"
        parts = []
        if self.measurement:
            parts.append(f"measurement {one_line(self.measurement, 16)}")
        if self.log_index is not None:
            parts.append(f"log {self.log_index}")
        return head + (f" ({', '.join(parts)})" if parts else "")


FIELDS: tuple[tuple[str, str], ...] = (("version", "Release"), ("measurement", "Measurement"),
                                       ("image", "Image"), ("publisher", "Publisher"),
                                       ("log_index", "Log index"))


@dataclass(frozen=True)
class ReleaseChange:
    """A passing attestation whose release is not the one accepted before: ``old`` (accepted at
    ``old_at``) and ``new`` (attested at ``new_at``)."""

    url: str
    old: ReleaseSummary
    new: ReleaseSummary
    old_at: dt.datetime | None
    new_at: dt.datetime

    def rows(self) -> list[tuple[str, str, str]]:
        """Label, old and new for each field of the release, the changed ones first."""
        rows = [(label, _text(getattr(self.old, name)) or "–", _text(getattr(self.new, name)) or "–")
                for name, label in FIELDS]
        return sorted(rows, key=lambda r: r[1] == r[2])

    def changed(self) -> list[str]:
        return [label.lower() for label, old, new in self.rows() if old != new and label != "Log index"]

    def text(self) -> str:
        """One line: what changed, old -> new, with log indices and dates."""
        when_old = f", accepted {iso(self.old_at)}" if self.old_at is not None else ""
        return (f"the release of {one_line(self.url, 80)} changed ({', '.join(self.changed()) or 'release'}): "
                f"{self.old.text()}{when_old} -> {self.new.text()}, attested {iso(self.new_at)}")


class ReleaseChanged(NotVerified):
    """The service passed, but under another release than the one accepted: nothing is sent
    until the caller accepts it (:meth:`verifier.session.Session.accept_release_change`)."""

    def __init__(self, change: ReleaseChange, result: AttestationResult, *, hint: str = "") -> None:
        super().__init__(change.text() + "; nothing was sent" + (f" ({hint})" if hint else ""), result)
        self.change = change


@dataclass(frozen=True)
class ReleaseRecord:
    """The release last accepted for a service, and when (the attestation's time)."""

    url: str
    release: ReleaseSummary
    at: dt.datetime | None
    accepted_changes: int = 0


class ReleaseStore:
    """Trust on first use: one JSON per service URL under ``directory`` (0600 files, 0700 folder)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, url: str) -> Path:
        return self.directory / (hashlib.sha256(url.rstrip("/").encode()).hexdigest()[:32] + ".json")

    def load(self, url: str) -> ReleaseRecord | None:
        """The record for ``url``, or None; an unreadable record is an :class:`InputError`
        (never silently a first use)."""
        path = self.path(url)
        try:
            with path.open("rb") as f:
                data = f.read(MAX_RECORD + 1)
        except FileNotFoundError:
            return None
        except OSError as e:
            raise InputError(f"the release record {path} cannot be read: {e.strerror or e}") from None
        try:
            if len(data) > MAX_RECORD:
                raise ParseError("it is too large")
            doc = load_strict_json(data, str(path))
            if not isinstance(doc, dict) or doc.get("version") != RECORD_VERSION:
                raise ParseError("it is not a version 1 release record")
            at = doc.get("at")
            when = dt.datetime.fromisoformat(at) if isinstance(at, str) else None
            changes = doc.get("accepted_changes", 0)
            return ReleaseRecord(str(doc.get("url", url)), ReleaseSummary.from_json(doc.get("release")),
                                 when, changes if type(changes) is int else 0)
        except (ParseError, ValueError) as e:
            raise InputError(f"the release record {path} is not valid ({e}); remove it to accept the "
                             "service's current release again") from None

    def save(self, record: ReleaseRecord) -> None:
        doc = {"version": RECORD_VERSION, "url": record.url, "release": record.release.to_json(),
               "at": iso(record.at) if record.at is not None else None,
               "accepted_changes": record.accepted_changes}
        write_private(self.path(record.url), json.dumps(doc, indent=2).encode() + b"\n")
