"""Saved conversations: one SQLite file under the user data directory.

- WAL journal, ``PRAGMA user_version`` as the schema version (migrations run in order on open);
- the file is created 0600 (and SQLite gives its ``-wal``/``-shm`` files the same mode) in a 0700
  directory;
- each message records the attestation it was sent under (``messages.attestation_id``); an
  ``attestations`` row holds the result's JSON exactly as ``enclave-chat verify --json`` prints it,
  the release it names (measurement, version, image digest, log index) and, since schema 2, the
  name of its evidence: one recording per attestation (the layout of ``verify --save-evidence``,
  plus the policy it was judged by) in ``attestations/NAME/`` beside the file, 0600 files in 0700
  folders, which ``enclave-chat history verify ID`` replays offline at its capture time;
- since schema 4, each decision on a release change made in the conversation (``release_changes``:
  the release accepted before and the new one, accepted or refused, when, and after which message),
  and messages replaced by a regenerated reply or an edited question are kept, marked
  ``superseded`` (the time), rather than deleted: they went to the service.

This module loads no ``textual``: the ``history`` commands read the same store.

``--no-history`` (or ``[history] enabled = false``) means no :class:`History` is made at all, so
nothing is written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import secrets
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from verifier.errors import VerifierError
from verifier.release_pin import ReleaseChange, ReleaseSummary
from verifier.result import AttestationResult, iso
from verifier.text import one_line

if TYPE_CHECKING:
    from verifier.appraisal.policy import Policy

HISTORY_FILE = "history.sqlite3"
EVIDENCE_DIR = "attestations"
"""Beside the history file: one recording folder per attestation, named in ``attestations.evidence``."""
POLICY_FILE = "policy.toml"
"""In a kept recording: the policy file the attestation was judged by (its SHA-256 is the result's)."""
SCHEMA_VERSION = 4
_EVIDENCE_NAME = re.compile(r"[0-9a-f]{16,128}")

_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        created TEXT NOT NULL,
        updated TEXT NOT NULL,
        service_url TEXT NOT NULL,
        policy_name TEXT NOT NULL,
        model TEXT,
        system_prompt TEXT
    );
    CREATE TABLE attestations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        at TEXT NOT NULL,
        verified INTEGER NOT NULL,
        nonce TEXT,
        policy_name TEXT NOT NULL,
        policy_sha256 TEXT NOT NULL,
        result_json TEXT NOT NULL,
        UNIQUE (conversation_id, nonce)
    );
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
        content TEXT NOT NULL,
        state TEXT NOT NULL,
        created TEXT NOT NULL,
        attestation_id INTEGER REFERENCES attestations(id)
    );
    CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
    CREATE INDEX conversations_by_update ON conversations(updated DESC);
    """,
    2: """
    ALTER TABLE attestations ADD COLUMN provider TEXT;
    ALTER TABLE attestations ADD COLUMN measurement TEXT;
    ALTER TABLE attestations ADD COLUMN release_version TEXT;
    ALTER TABLE attestations ADD COLUMN image_digest TEXT;
    ALTER TABLE attestations ADD COLUMN log_index INTEGER;
    ALTER TABLE attestations ADD COLUMN evidence TEXT;
    CREATE INDEX attestations_by_conversation ON attestations(conversation_id, id);
    CREATE INDEX messages_by_attestation ON messages(attestation_id);
    """,
}
"""Schema 2: the provider and the release summary of each attestation (filled in from the stored
result for older rows), and the name of its kept recording (NULL for older rows: no evidence was
kept before schema 2, and ``history verify`` says so). Schema 3 is the search index below.
Schema 4: the release changes decided in a conversation, and superseded messages."""

_MIGRATIONS[4] = """
    CREATE TABLE release_changes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        at TEXT NOT NULL,
        decision TEXT NOT NULL CHECK (decision IN ('accepted', 'refused')),
        service_url TEXT NOT NULL,
        old_release TEXT NOT NULL,
        new_release TEXT NOT NULL,
        old_at TEXT,
        new_at TEXT NOT NULL,
        after_message INTEGER
    );
    CREATE INDEX release_changes_by_conversation ON release_changes(conversation_id, id);
    ALTER TABLE messages ADD COLUMN superseded TEXT
    """
"""Schema 4: ``release_changes`` (one row per decision: the releases as
:meth:`ReleaseSummary.to_json`, the attestation times, the decision's time, and the id of the last
message of the conversation when it was taken, NULL for none: where the transcript shows it) and
``messages.superseded`` (NULL: current; else when a regenerated reply or an edited question
replaced it)."""

_SEARCH_INDEX = (
    "CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages', content_rowid='id')",
    "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN"
    " INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END",
    "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN"
    " INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content); END",
    "CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN"
    " INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);"
    " INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END",
    "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
)
"""Schema 3: a full-text index (SQLite FTS5, an external-content table over ``messages.content``,
kept by triggers; built from the messages already stored when an older file is migrated). Where
SQLite lacks FTS5, the migration leaves it out and :meth:`History.search` scans with ``LIKE``."""


class HistoryError(Exception):
    """The history file cannot be opened or is from a newer version of enclave-chat."""


@dataclass(frozen=True)
class ConversationSummary:
    id: str
    title: str
    updated: str
    messages: int
    created: str = ""
    service_url: str = ""
    policy_name: str = ""
    attestations: int = 0
    with_evidence: int = 0
    """How many of its attestations have their evidence kept."""
    unattested: int = 0
    """How many of its messages name no attestation."""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "created": self.created, "updated": self.updated,
                "service_url": self.service_url, "policy": self.policy_name,
                "messages": self.messages, "messages_without_attestation": self.unattested,
                "attestations": self.attestations, "attestations_with_evidence": self.with_evidence}


@dataclass(frozen=True)
class StoredAttestation:
    """One attestation a conversation's messages went under, as the history keeps it."""

    id: int
    conversation_id: str
    at: str
    verified: bool
    nonce: str | None
    provider: str | None
    policy_name: str
    policy_sha256: str
    release: ReleaseSummary
    evidence: str | None
    """The name of its recording folder under ``attestations/`` (None: no evidence was kept)."""
    result_json: str

    @property
    def result(self) -> dict[str, Any]:
        """The result as ``verify --json`` printed it when it was recorded (``{}`` if unreadable)."""
        try:
            doc = json.loads(self.result_json)
        except ValueError:
            return {}
        return doc if isinstance(doc, dict) else {}

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at, "verified": self.verified, "nonce": self.nonce,
                "provider": self.provider,
                "policy": {"name": self.policy_name, "sha256": self.policy_sha256},
                "release": self.release.to_json(),
                "evidence": f"{EVIDENCE_DIR}/{self.evidence}" if self.evidence else None}


@dataclass(frozen=True)
class StoredMessage:
    id: int
    role: str
    content: str
    state: str
    created: str
    attestation_id: int | None
    superseded: str | None = None
    """When a regenerated reply or an edited question replaced it (None: it is current)."""


def _release_short(release: ReleaseSummary) -> str:
    """``0.1.0 (log 0)``, else the measurement's start: plain, one line, bounded."""
    if release.version:
        head = one_line(release.version, 40)
    elif release.measurement:
        head = f"measurement {one_line(release.measurement, 16)}"
    elif release.image:
        head = f"image {one_line(release.image, 24)}"
    else:
        head = "no release named"
    return head + (f" (log {release.log_index})" if release.log_index is not None else "")


def release_change_line(old: ReleaseSummary, new: ReleaseSummary, decision: str, at: str) -> str:
    """``release changed from 0.1.0 (log 0) to 0.2.0 (log 1), accepted at T``: one plain line."""
    return (f"release changed from {_release_short(old)} to {_release_short(new)}, "
            f"{one_line(decision, 10)} at {one_line(at, 40)}")


@dataclass(frozen=True)
class StoredReleaseChange:
    """A decision on a release change taken in a conversation: the release accepted before
    (``old``, accepted at ``old_at``) and the one the service passed under (``new``, attested at
    ``new_at``), ``accepted`` or ``refused`` at ``at``, after the message ``after_message``."""

    id: int
    conversation_id: str
    at: str
    decision: str
    service_url: str
    old: ReleaseSummary
    new: ReleaseSummary
    old_at: str | None
    new_at: str
    after_message: int | None

    def text(self) -> str:
        """``release changed from 0.1.0 (log 0) to 0.2.0 (log 1), accepted at T``: one plain line."""
        return release_change_line(self.old, self.new, self.decision, self.at)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at, "decision": self.decision, "service_url": self.service_url,
                "old": {**self.old.to_json(), "accepted_at": self.old_at},
                "new": {**self.new.to_json(), "attested_at": self.new_at},
                "after_message": self.after_message}


@dataclass(frozen=True)
class StoredConversation:
    id: str
    title: str
    created: str
    service_url: str
    policy_name: str
    model: str | None
    system_prompt: str | None
    messages: tuple[StoredMessage, ...]
    release_changes: tuple[StoredReleaseChange, ...] = ()
    """The decisions on release changes taken in it, in order."""

    @property
    def current(self) -> tuple[StoredMessage, ...]:
        """The messages not superseded: the conversation as it goes on."""
        return tuple(m for m in self.messages if m.superseded is None)


def _now() -> str:
    return iso(dt.datetime.now(dt.UTC))


def _create_private(path: Path) -> None:
    """Create the directory 0700 and the file 0600 before SQLite opens it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


class History:
    """The conversation store. Methods are small synchronous SQLite calls on local disk."""

    def __init__(self, path: Path, *, clock: Callable[[], str] = _now) -> None:
        self.path = path
        self.clock = clock
        try:
            _create_private(path)
            self.db = sqlite3.connect(path, isolation_level=None)
        except (OSError, sqlite3.Error) as e:
            raise HistoryError(f"cannot open the history file {path}: {e}") from None
        self.db.row_factory = sqlite3.Row
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except sqlite3.DatabaseError as e:
            self.db.close()
            raise HistoryError(f"the history file {path} is not usable: {e}") from None

    @classmethod
    def in_dir(cls, data_dir: Path) -> History:
        return cls(data_dir / HISTORY_FILE)

    @property
    def evidence_dir(self) -> Path:
        """Where the attestations' recordings are kept (beside the history file)."""
        return self.path.parent / EVIDENCE_DIR

    def _migrate(self) -> None:
        version = int(self.db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise HistoryError(f"the history file {self.path} has schema {version}; this version "
                               f"of enclave-chat reads up to {SCHEMA_VERSION}")
        for target in range(version + 1, SCHEMA_VERSION + 1):
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for statement in _MIGRATIONS.get(target, "").split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                if target == 3:
                    self._create_search_index()
                if target == 2:
                    self._fill_release_summaries()
                self.db.execute(f"PRAGMA user_version={target}")
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def _fill_release_summaries(self) -> None:
        """Schema 2 for rows recorded before it: provider and release from the stored result."""
        rows = self.db.execute("SELECT id, result_json FROM attestations").fetchall()
        for row in rows:
            try:
                doc = json.loads(row[1])
            except ValueError:
                doc = {}
            doc = doc if isinstance(doc, dict) else {}
            summary = ReleaseSummary.from_claims(doc.get("claims"))
            provider = doc.get("provider")
            self.db.execute(
                "UPDATE attestations SET provider = ?, measurement = ?, release_version = ?,"
                " image_digest = ?, log_index = ? WHERE id = ?",
                (provider if isinstance(provider, str) else None, summary.measurement,
                 summary.version, summary.image, summary.log_index, row[0]))

    def _create_search_index(self) -> None:
        try:
            self.db.execute("SAVEPOINT search_index")
            for statement in _SEARCH_INDEX:
                self.db.execute(statement)
            self.db.execute("RELEASE search_index")
        except sqlite3.OperationalError:  # SQLite built without FTS5: search scans instead
            self.db.execute("ROLLBACK TO search_index")
            self.db.execute("RELEASE search_index")

    @property
    def has_search_index(self) -> bool:
        return self.db.execute("SELECT 1 FROM sqlite_master WHERE name = 'messages_fts'").fetchone() is not None

    def search(self, query: str, limit: int = 500) -> list[ConversationSummary]:
        """The conversations with a message holding every word of ``query`` (as words, any case;
        the last word also as a prefix), newest first; all of them for an empty query. The query
        is text, never FTS5 syntax: each word is quoted, so quotes, ``*``, ``-``, ``NEAR`` or
        ``:`` in it are searched for as they are and never raise."""
        words = query.split()
        if not words:
            return self.conversations(limit)
        order = " ORDER BY c.updated DESC, c.rowid DESC LIMIT ?"
        if self.has_search_index:
            match = " ".join('"' + w.replace('"', '""') + '"' for w in words) + "*"
            rows = self.db.execute(
                f"{self._SUMMARY} WHERE c.id IN (SELECT m.conversation_id FROM messages_fts f"
                f" JOIN messages m ON m.id = f.rowid WHERE messages_fts MATCH ?){order}",
                (match, limit)).fetchall()
        else:
            likes = " AND ".join(["m.content LIKE ? ESCAPE '\\'"] * len(words))
            patterns = ["%" + re.sub(r"([%_\\])", r"\\\1", w) + "%" for w in words]
            rows = self.db.execute(
                f"{self._SUMMARY} WHERE c.id IN (SELECT m.conversation_id FROM messages m"
                f" WHERE {likes}){order}", (*patterns, limit)).fetchall()
        return [self._summary(r) for r in rows]

    def close(self) -> None:
        self.db.close()

    # -- writing -----------------------------------------------------------------------------------
    def create_conversation(self, *, title: str, service_url: str, policy_name: str,
                            model: str | None = None, system_prompt: str | None = None) -> str:
        cid = uuid.uuid4().hex
        now = self.clock()
        self.db.execute(
            "INSERT INTO conversations (id, title, created, updated, service_url, policy_name, model, system_prompt)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (cid, title[:200], now, now, service_url, policy_name, model, system_prompt))
        return cid

    def update_conversation(self, cid: str, *, model: str | None = None,
                            system_prompt: str | None = None) -> None:
        self.db.execute("UPDATE conversations SET model = ?, system_prompt = ?, updated = ? WHERE id = ?",
                        (model, system_prompt, self.clock(), cid))

    def record_attestation(self, cid: str, result: AttestationResult) -> int:
        """The row for ``result`` in this conversation (one per nonce), made if it is new."""
        nonce = result.nonce.hex() if result.nonce is not None else None
        row = self.db.execute("SELECT id FROM attestations WHERE conversation_id = ? AND nonce IS ?",
                              (cid, nonce)).fetchone()
        if row is not None:
            return int(row[0])
        summary = ReleaseSummary.from_claims(result.claims)
        cursor = self.db.execute(
            "INSERT INTO attestations (conversation_id, at, verified, nonce, policy_name, policy_sha256,"
            " result_json, provider, measurement, release_version, image_digest, log_index)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (cid, iso(result.at), int(result.verified), nonce, result.policy.name,
             result.policy.sha256, json.dumps(result.to_json(), sort_keys=True), result.provider,
             summary.measurement, summary.version, summary.image, summary.log_index))
        return int(cursor.lastrowid or 0)

    def keep_evidence(self, attestation_id: int, save: Callable[[Path], object],
                      policy: Policy | None = None) -> str:
        """Keep the attestation's evidence once: ``save(folder)`` writes its recording (the
        session's ``save_last``, whose last attestation must be this one), beside it the policy
        file it was judged by (when ``policy`` is read from a file whose SHA-256 is the result's),
        renamed into ``attestations/NAME`` whole. Another conversation's attestation with the same
        nonce shares the folder. Returns the name; :class:`HistoryError` when nothing whole could
        be kept (the row then keeps none, and ``history verify`` says so)."""
        row = self.db.execute("SELECT nonce, evidence, policy_sha256 FROM attestations WHERE id = ?",
                              (attestation_id,)).fetchone()
        if row is None:
            raise HistoryError(f"no attestation {attestation_id} in the history")
        if row["evidence"]:
            return str(row["evidence"])
        nonce = row["nonce"]
        name = nonce if isinstance(nonce, str) and _EVIDENCE_NAME.fullmatch(nonce) else uuid.uuid4().hex
        final = self.evidence_dir / name
        if not (final / "manifest.json").is_file():
            self._write_evidence(final, save, policy, str(row["policy_sha256"]))
        self.db.execute("UPDATE attestations SET evidence = ? WHERE id = ?", (name, attestation_id))
        return name

    def _write_evidence(self, final: Path, save: Callable[[Path], object], policy: Policy | None,
                        policy_sha256: str) -> None:
        from verifier.private_files import private_dir, write_private

        scratch = final.with_name(f".{final.name}.{secrets.token_hex(6)}.tmp")
        try:
            private_dir(self.evidence_dir)
            save(scratch)
            if not (scratch / "manifest.json").is_file():
                raise HistoryError("the session wrote no recording")
            policy_bytes = _policy_bytes(policy, policy_sha256)
            if policy_bytes is not None:
                write_private(scratch / POLICY_FILE, policy_bytes)
            try:
                os.rename(scratch, final)
            except OSError:
                if not (final / "manifest.json").is_file():
                    raise
        except (VerifierError, OSError, ValueError) as e:
            raise HistoryError(f"the evidence of this attestation could not be kept: {e}") from None
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def set_message_attestation(self, mid: int, attestation_id: int | None) -> None:
        """The message went under another attestation after all (the session attested again
        before sending it), or under none (nothing was sent)."""
        self.db.execute("UPDATE messages SET attestation_id = ? WHERE id = ?", (attestation_id, mid))

    def add_message(self, cid: str, role: str, content: str, *, state: str = "complete",
                    attestation_id: int | None = None) -> int:
        now = self.clock()
        cursor = self.db.execute(
            "INSERT INTO messages (conversation_id, role, content, state, created, attestation_id)"
            " VALUES (?, ?, ?, ?, ?, ?)", (cid, role, content, state, now, attestation_id))
        self.db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, cid))
        return int(cursor.lastrowid or 0)

    def add_messages(self, cid: str, messages: Sequence[tuple[str, str, str]]) -> None:
        """Many ``(role, content, state)`` at once (imports, benchmarks)."""
        now = self.clock()
        self.db.execute("BEGIN")
        self.db.executemany(
            "INSERT INTO messages (conversation_id, role, content, state, created) VALUES (?, ?, ?, ?, ?)",
            [(cid, role, content, state, now) for role, content, state in messages])
        self.db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, cid))
        self.db.execute("COMMIT")

    def supersede_messages(self, ids: Sequence[int]) -> None:
        """Mark the messages as replaced (a regenerated reply, an edited question): they stay in
        the file, with when, and leave the conversation as it goes on."""
        now = self.clock()
        self.db.executemany("UPDATE messages SET superseded = ? WHERE id = ? AND superseded IS NULL",
                            [(now, mid) for mid in ids])

    def record_release_change(self, cid: str, change: ReleaseChange, decision: str, at: str) -> int:
        """Record the user's ``decision`` (``accepted`` or ``refused``, at ``at``) on ``change``,
        after the conversation's last message so far."""
        if decision not in ("accepted", "refused"):
            raise ValueError(f"a release change is accepted or refused, not {decision!r}")
        last = self.db.execute("SELECT MAX(id) FROM messages WHERE conversation_id = ?", (cid,)).fetchone()[0]
        cursor = self.db.execute(
            "INSERT INTO release_changes (conversation_id, at, decision, service_url, old_release,"
            " new_release, old_at, new_at, after_message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (cid, at, decision, change.url, json.dumps(change.old.to_json(), sort_keys=True),
             json.dumps(change.new.to_json(), sort_keys=True),
             iso(change.old_at) if change.old_at is not None else None, iso(change.new_at), last))
        self.db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (self.clock(), cid))
        return int(cursor.lastrowid or 0)

    def release_changes(self, cid: str) -> list[StoredReleaseChange]:
        """The decisions on release changes taken in the conversation, in order."""
        out = []
        for r in self.db.execute("SELECT * FROM release_changes WHERE conversation_id = ? ORDER BY id", (cid,)):
            after = r["after_message"]
            out.append(StoredReleaseChange(
                int(r["id"]), str(r["conversation_id"]), str(r["at"]), str(r["decision"]),
                str(r["service_url"]), _stored_release(r["old_release"]), _stored_release(r["new_release"]),
                r["old_at"], str(r["new_at"]), after if type(after) is int else None))
        return out

    def finish_message(self, mid: int, content: str, state: str) -> None:
        self.db.execute("UPDATE messages SET content = ?, state = ? WHERE id = ?", (content, state, mid))

    def delete_conversation(self, cid: str) -> None:
        """Delete the conversation, its messages and attestations, and each kept recording that no
        other conversation's attestation shares."""
        names = [r[0] for r in self.db.execute(
            "SELECT DISTINCT evidence FROM attestations WHERE conversation_id = ? AND evidence IS NOT NULL",
            (cid,))]
        self.db.execute("DELETE FROM release_changes WHERE conversation_id = ?", (cid,))
        self.db.execute("DELETE FROM messages WHERE conversation_id = ?", (cid,))
        self.db.execute("DELETE FROM attestations WHERE conversation_id = ?", (cid,))
        self.db.execute("DELETE FROM conversations WHERE id = ?", (cid,))
        for name in names:
            shared = self.db.execute("SELECT 1 FROM attestations WHERE evidence = ? LIMIT 1", (name,)).fetchone()
            folder = self.evidence_path(name)
            if shared is None and folder is not None:
                shutil.rmtree(folder, ignore_errors=True)

    # -- reading -----------------------------------------------------------------------------------
    _SUMMARY = (
        "SELECT c.id, c.title, c.updated, (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id),"
        " c.created, c.service_url, c.policy_name,"
        " (SELECT COUNT(*) FROM attestations a WHERE a.conversation_id = c.id),"
        " (SELECT COUNT(*) FROM attestations a WHERE a.conversation_id = c.id AND a.evidence IS NOT NULL),"
        " (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id AND m.attestation_id IS NULL)"
        " FROM conversations c")

    @staticmethod
    def _summary(r: sqlite3.Row) -> ConversationSummary:
        return ConversationSummary(r[0], r[1], r[2], int(r[3]), r[4], r[5], r[6], int(r[7]), int(r[8]),
                                   int(r[9]))

    def conversations(self, limit: int = 500) -> list[ConversationSummary]:
        rows = self.db.execute(f"{self._SUMMARY} ORDER BY c.updated DESC, c.rowid DESC LIMIT ?",
                               (limit,)).fetchall()
        return [self._summary(r) for r in rows]

    def summary(self, cid: str) -> ConversationSummary | None:
        row = self.db.execute(f"{self._SUMMARY} WHERE c.id = ?", (cid,)).fetchone()
        return self._summary(row) if row is not None else None

    def find(self, prefix: str) -> str | None:
        """The conversation whose id is ``prefix``, or the only one that starts with it (at least
        4 characters); None when none does. :class:`HistoryError` when several do."""
        text = prefix.strip().lower()
        if not re.fullmatch(r"[0-9a-f]{4,32}", text):
            return None
        rows = self.db.execute("SELECT id FROM conversations WHERE id = ? OR substr(id, 1, ?) = ?"
                               " LIMIT 3", (text, len(text), text)).fetchall()
        ids = sorted({str(r[0]) for r in rows})
        if text in ids:
            return text
        if len(ids) > 1:
            raise HistoryError(f"{prefix} is the start of several conversations' ids; give more of it")
        return ids[0] if ids else None

    def load(self, cid: str) -> StoredConversation | None:
        row = self.db.execute("SELECT * FROM conversations WHERE id = ?", (cid,)).fetchone()
        if row is None:
            return None
        messages = tuple(
            StoredMessage(int(m["id"]), m["role"], m["content"], m["state"], m["created"],
                          m["attestation_id"], m["superseded"])
            for m in self.db.execute(
                "SELECT id, role, content, state, created, attestation_id, superseded FROM messages"
                " WHERE conversation_id = ? ORDER BY id", (cid,)))
        return StoredConversation(row["id"], row["title"], row["created"], row["service_url"],
                                  row["policy_name"], row["model"], row["system_prompt"], messages,
                                  tuple(self.release_changes(cid)))

    def attestation_json(self, attestation_id: int) -> dict[str, object] | None:
        row = self.db.execute("SELECT result_json FROM attestations WHERE id = ?",
                              (attestation_id,)).fetchone()
        return json.loads(row[0]) if row is not None else None

    _ATTESTATION_COLUMNS = ("id, conversation_id, at, verified, nonce, provider, policy_name, policy_sha256,"
                            " measurement, release_version, image_digest, log_index, evidence, result_json")

    @staticmethod
    def _attestation(row: sqlite3.Row) -> StoredAttestation:
        index = row["log_index"]
        return StoredAttestation(
            int(row["id"]), str(row["conversation_id"]), str(row["at"]), bool(row["verified"]),
            row["nonce"], row["provider"], str(row["policy_name"]), str(row["policy_sha256"]),
            ReleaseSummary(row["measurement"], row["release_version"], row["image_digest"],
                           index if type(index) is int else None),
            row["evidence"], str(row["result_json"]))

    def attestation(self, attestation_id: int) -> StoredAttestation | None:
        row = self.db.execute(f"SELECT {self._ATTESTATION_COLUMNS} FROM attestations WHERE id = ?",
                              (attestation_id,)).fetchone()
        return self._attestation(row) if row is not None else None

    def attestations(self, cid: str) -> list[StoredAttestation]:
        """The conversation's attestations, in the order they were recorded."""
        return [self._attestation(r) for r in self.db.execute(
            f"SELECT {self._ATTESTATION_COLUMNS} FROM attestations WHERE conversation_id = ? ORDER BY id",
            (cid,))]

    def evidence_path(self, name: str | None) -> Path | None:
        """The folder of a kept recording, or None for none (or a name that is not one of ours:
        the history file never points outside ``attestations/``)."""
        if not name or not _EVIDENCE_NAME.fullmatch(name):
            return None
        return self.evidence_dir / name


def _stored_release(text: object) -> ReleaseSummary:
    """A release as ``release_changes`` keeps it (an unreadable one: nothing named)."""
    try:
        return ReleaseSummary.from_json(json.loads(str(text)))
    except (ValueError, VerifierError):
        return ReleaseSummary()


def _policy_bytes(policy: Policy | None, sha256: str) -> bytes | None:
    """The policy file, when it can be read and is still the one the result names."""
    if policy is None or policy.source.startswith("<"):
        return None
    from verifier.appraisal.policy import MAX_POLICY_BYTES
    from verifier.files import read_file

    try:
        data = read_file(Path(policy.source), MAX_POLICY_BYTES)
    except VerifierError:
        return None
    return data if hashlib.sha256(data).hexdigest() == sha256 == policy.sha256 else None
