"""Saved conversations: one SQLite file under the user data directory.

- WAL journal, ``PRAGMA user_version`` as the schema version (migrations run in order on open);
- the file is created 0600 (and SQLite gives its ``-wal``/``-shm`` files the same mode) in a 0700
  directory;
- each message records the attestation result it was sent under (``attestations`` rows hold the
  result's JSON exactly as ``enclave-chat verify --json`` prints it).

``--no-history`` (or ``[history] enabled = false``) means no :class:`History` is made at all, so
nothing is written.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from verifier.result import AttestationResult, iso

HISTORY_FILE = "history.sqlite3"
SCHEMA_VERSION = 1

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
}


class HistoryError(Exception):
    """The history file cannot be opened or is from a newer version of enclave-chat."""


@dataclass(frozen=True)
class ConversationSummary:
    id: str
    title: str
    updated: str
    messages: int


@dataclass(frozen=True)
class StoredMessage:
    id: int
    role: str
    content: str
    state: str
    created: str
    attestation_id: int | None


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

    def _migrate(self) -> None:
        version = int(self.db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise HistoryError(f"the history file {self.path} has schema {version}; this version "
                               f"of enclave-chat reads up to {SCHEMA_VERSION}")
        for target in range(version + 1, SCHEMA_VERSION + 1):
            self.db.execute("BEGIN IMMEDIATE")
            for statement in _MIGRATIONS[target].split(";"):
                if statement.strip():
                    self.db.execute(statement)
            self.db.execute(f"PRAGMA user_version={target}")
            self.db.execute("COMMIT")

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
        cursor = self.db.execute(
            "INSERT INTO attestations (conversation_id, at, verified, nonce, policy_name, policy_sha256, result_json)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (cid, iso(result.at), int(result.verified), nonce, result.policy.name,
             result.policy.sha256, json.dumps(result.to_json(), sort_keys=True)))
        return int(cursor.lastrowid or 0)

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

    def finish_message(self, mid: int, content: str, state: str) -> None:
        self.db.execute("UPDATE messages SET content = ?, state = ? WHERE id = ?", (content, state, mid))

    def delete_conversation(self, cid: str) -> None:
        self.db.execute("DELETE FROM conversations WHERE id = ?", (cid,))

    # -- reading -----------------------------------------------------------------------------------
    def conversations(self, limit: int = 500) -> list[ConversationSummary]:
        rows = self.db.execute(
            "SELECT c.id, c.title, c.updated, (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id)"
            " FROM conversations c ORDER BY c.updated DESC, c.rowid DESC LIMIT ?", (limit,)).fetchall()
        return [ConversationSummary(r[0], r[1], r[2], int(r[3])) for r in rows]

    def load(self, cid: str) -> StoredConversation | None:
        row = self.db.execute("SELECT * FROM conversations WHERE id = ?", (cid,)).fetchone()
        if row is None:
            return None
        messages = tuple(
            StoredMessage(int(m["id"]), m["role"], m["content"], m["state"], m["created"],
                          m["attestation_id"])
            for m in self.db.execute(
                "SELECT id, role, content, state, created, attestation_id FROM messages"
                " WHERE conversation_id = ? ORDER BY id", (cid,)))
        return StoredConversation(row["id"], row["title"], row["created"], row["service_url"],
                                  row["policy_name"], row["model"], row["system_prompt"], messages)

    def attestation_json(self, attestation_id: int) -> dict[str, object] | None:
        row = self.db.execute("SELECT result_json FROM attestations WHERE id = ?",
                              (attestation_id,)).fetchone()
        return json.loads(row[0]) if row is not None else None
