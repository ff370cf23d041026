"""``enclave-chat history list|show|export|verify`` (issue 17, item 3: proof per message).

The history is made the way a user makes it: the TUI chats with the reference enclave (INSECURE
DEMO) through the real session, once for the module; each test works on its own copy of that data
folder. Then the commands read it in subprocesses, as a script or an auditor would."""

from __future__ import annotations

import asyncio
import base64
import shutil
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from enclave.app import Settings
from enclave.server import BackgroundEnclave
from enclave_chat.paths import resolve_policy
from tests.cli.conftest import Cli, contract
from tests.tui.conftest import send, settle
from tests.tui.fakes import fixed_result
from tui.app import EnclaveChatApp
from tui.history import _MIGRATIONS, EVIDENCE_DIR, HISTORY_FILE, SCHEMA_VERSION, History
from tui.screens.chat import ChatScreen
from tui.service import SessionService, Target

pytestmark = pytest.mark.e2e

QUESTIONS = ("What is SEV-SNP?", "And who signs the release?")


async def _chat(url: str, data: Path) -> None:
    history = History(data / HISTORY_FILE)
    app = EnclaveChatApp(target=Target(url, resolve_policy("demo")), connect=SessionService, history=history)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, ChatScreen) and app.screen.state.verified
            for question in QUESTIONS:
                await send(pilot, question)
                await settle(pilot)
    finally:
        history.close()


@pytest.fixture(scope="module")
def chatted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A data folder holding one conversation of two questions with the demo enclave."""
    data = tmp_path_factory.mktemp("history") / "data"
    with BackgroundEnclave(Settings(token_delay=0)) as server:
        asyncio.run(_chat(server.url, data))
    yield data


@pytest.fixture
def hcli(chatted: Path, tmp_path: Path) -> Cli:
    """The command line on a private copy of the chatted data folder."""
    cli = Cli(tmp_path)
    shutil.copytree(chatted, tmp_path / "data")
    return cli


def _only_id(cli: Cli) -> str:
    run = contract(cli("history", "list", "--json"), 0, json_out=True)
    conversations = run.json()["conversations"]
    assert len(conversations) == 1
    return str(conversations[0]["id"])


def _evidence_body(data: Path) -> Path:
    """The stored attestation bundle (the largest recorded body)."""
    bodies = sorted((data / EVIDENCE_DIR).glob("*/responses/*.body"), key=lambda p: p.stat().st_size)
    return bodies[-1]


def test_list_then_verify_then_a_flipped_byte_refuses(hcli: Cli, tmp_path: Path) -> None:
    listed = contract(hcli("history", "list", "--json"), 0, json_out=True).json()["conversations"]
    assert len(listed) == 1
    c = listed[0]
    assert c["title"] == QUESTIONS[0] and c["messages"] == 4 and c["policy"] == "demo"
    assert c["attestations"] == 1 and c["attestations_with_evidence"] == 1
    assert c["messages_without_attestation"] == 0

    run = contract(hcli("history", "verify", c["id"], "--json"), 0, json_out=True)
    doc = run.json()
    assert doc["verified"] is True and doc["first_failure"] is None and doc["kind"] == "history"
    [attestation] = doc["attestations"]
    assert attestation["verified"] is True and attestation["result"]["verified"] is True
    assert attestation["release"]["version"] == "0.1.0" and attestation["release"]["log_index"] is not None
    assert run.lines[0].startswith("verified: ")

    body = _evidence_body(tmp_path / "data")
    data = bytearray(body.read_bytes())
    data[len(data) // 2] ^= 0x01
    body.write_bytes(bytes(data))
    run = contract(hcli("history", "verify", c["id"][:8], "--json"), 1, json_out=True)
    doc = run.json()
    assert doc["verified"] is False and doc["attestations"][0]["verified"] is False
    failing = doc["first_failure"]
    assert failing["attestation"] == attestation["id"] and failing["status"] == "fail"
    assert failing["id"] and failing["id"] in run.lines[0] and run.lines[0].startswith("refused: ")


def test_a_removed_recording_or_policy_copy_refuses(hcli: Cli, tmp_path: Path) -> None:
    cid = _only_id(hcli)
    folder = next((tmp_path / "data" / EVIDENCE_DIR).iterdir())
    (folder / "policy.toml").write_text((folder / "policy.toml").read_text() + "\n# edited\n")
    run = contract(hcli("history", "verify", cid, "--json"), 1, json_out=True)
    assert run.json()["first_failure"]["id"] == "history.policy"
    # Judged by a policy given on the command line instead, the evidence itself still holds.
    run = contract(hcli("history", "verify", cid, "--policy", "demo", "--json"), 0, json_out=True)
    assert run.json()["policy_override"]["name"] == "demo"
    shutil.rmtree(folder / "responses")
    run = contract(hcli("history", "verify", cid, "--policy", "demo"), 1)
    assert "history.evidence" in run.lines[0]


def test_show_and_the_markdown_export_name_the_release_of_each_message(hcli: Cli) -> None:
    cid = _only_id(hcli)
    show, md = hcli.many([("history", "show", cid), ("history", "export", cid, "--format", "md")])
    contract(show, 0)
    contract(md, 0)
    assert show.stdout.count("→ release 0.1.0") == 2 and show.stdout.count("← release 0.1.0") == 2
    assert all(q in show.stdout for q in QUESTIONS)
    assert md.stdout.startswith(f"# {QUESTIONS[0]}\n") and "## Attestations" in md.stdout
    assert md.stdout.count("*→ release 0.1.0 · log ") == 2 and "- Evidence: kept" in md.stdout


def test_the_json_export_with_evidence_replays(hcli: Cli, tmp_path: Path) -> None:
    cid = _only_id(hcli)
    plain, full = hcli.many([("history", "export", cid, "--format", "json"),
                             ("history", "export", cid, "--format", "json", "--with-evidence")])
    doc = contract(plain, 0, json_out=True).json()
    assert [m["role"] for m in doc["messages"]] == ["user", "assistant"] * 2
    [attestation] = doc["attestations"]
    assert all(m["attestation"] == attestation["id"] for m in doc["messages"])
    assert attestation["result"]["verified"] is True and "recording" not in attestation
    files = contract(full, 0, json_out=True).json()["attestations"][0]["recording"]["files"]
    assert "manifest.json" in files and "result.json" in files and "policy.toml" in files
    out = tmp_path / "exported"
    for name, data in files.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(base64.b64decode(data))
    contract(hcli("verify", "--replay", str(out), "--policy", "demo"), 0)


def test_usage_errors(hcli: Cli, tmp_path: Path) -> None:
    cid = _only_id(hcli)
    runs = hcli.many([("history", "export", cid, "--with-evidence"), ("history", "show", "ffffffff"),
                      ("history", "verify", "no-such"), ("history",)])
    for run in runs:
        contract(run, 2)
    assert "--format json" in runs[0].lines[0] and "no conversation" in runs[1].lines[0]
    cli = Cli(tmp_path / "empty")
    empty = cli("history", "list", "--json")  # no history file yet: nothing, and none is made
    assert contract(empty, 0, json_out=True).json() == {"conversations": []}
    assert not Path(cli.env["ENCLAVE_CHAT_DATA_DIR"], HISTORY_FILE).exists()
    contract(cli("history", "verify", "abcd"), 2)


def test_an_old_schema_history_is_migrated_and_its_messages_shown_unproven(cli: Cli, tmp_path: Path) -> None:
    """A schema 1 file (attestation results, no evidence, a message with none) opens as schema 2:
    its release is filled in from the stored result, and verify refuses, saying why."""
    path = tmp_path / "data" / HISTORY_FILE
    path.parent.mkdir(mode=0o700)
    db = sqlite3.connect(path)
    db.executescript(_MIGRATIONS[1])
    import json

    result = fixed_result()
    db.execute("INSERT INTO conversations VALUES ('0123456789abcdef0123456789abcdef', 'old', "
               "'2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z', 'http://127.0.0.1:8700', 'demo', NULL, NULL)")
    db.execute("INSERT INTO attestations (conversation_id, at, verified, nonce, policy_name, policy_sha256,"
               " result_json) VALUES ('0123456789abcdef0123456789abcdef', '2025-07-01T12:00:00Z', 1, ?, 'demo', ?, ?)",
               (result.nonce.hex() if result.nonce else None, result.policy.sha256, json.dumps(result.to_json())))
    db.execute("INSERT INTO messages (conversation_id, role, content, state, created, attestation_id) VALUES"
               " ('0123456789abcdef0123456789abcdef', 'user', 'hello', 'complete', '2025-01-01T00:00:00Z', 1),"
               " ('0123456789abcdef0123456789abcdef', 'user', 'before', 'complete', '2025-01-01T00:00:00Z', NULL)")
    db.execute("PRAGMA user_version=1")
    db.commit()
    db.close()

    show = contract(cli("history", "show", "0123"), 0)
    assert "→ release 0.1.0 (attestation #1)" in show.stdout and "no attestation recorded" in show.stdout
    history = History(path)
    assert history.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    [stored] = history.attestations("0123456789abcdef0123456789abcdef")
    assert stored.release.version == "0.1.0" and stored.evidence is None and stored.provider == result.provider
    history.close()
    listed = contract(cli("history", "list", "--json"), 0, json_out=True).json()["conversations"]
    assert listed[0]["messages_without_attestation"] == 1 and listed[0]["attestations_with_evidence"] == 0
    run = contract(cli("history", "verify", "0123", "--json"), 1, json_out=True)
    doc = run.json()
    assert doc["first_failure"]["id"] == "history.evidence" and doc["messages_without_attestation"] == [2]


def test_the_history_commands_load_no_textual_and_no_enclave(hcli: Cli, tmp_path: Path) -> None:
    from tests.cli.test_startup import imported, loaded

    cid = _only_id(hcli)
    modules, proc = imported(hcli, tmp_path, "history", "verify", cid, "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert loaded(modules, "textual", "enclave") == []
    assert "verifier.replay" in modules and sys.executable


def test_show_and_export_carry_the_release_changes_and_superseded_messages(cli: Cli, tmp_path: Path) -> None:
    """Issue 17, item 4: a release change decided in the chat is in ``history show`` and both
    exports, after the message it followed; a regenerated reply stays, marked superseded."""
    import datetime as dt

    from verifier.release_pin import ReleaseChange, ReleaseSummary

    history = History(tmp_path / "data" / HISTORY_FILE)
    cid = history.create_conversation(title="changed", service_url="http://127.0.0.1:8700", policy_name="demo")
    attestation = history.record_attestation(cid, fixed_result())
    asked = history.add_message(cid, "user", "before the change", attestation_id=attestation)
    old_reply = history.add_message(cid, "assistant", "an answer regenerated since", attestation_id=attestation)
    history.supersede_messages([old_reply])
    change = ReleaseChange("http://127.0.0.1:8700", ReleaseSummary("ab" * 24, "0.1.0", None, 0),
                           ReleaseSummary("ab" * 24, "0.2.0", None, 1),
                           dt.datetime(2025, 1, 2, tzinfo=dt.UTC), dt.datetime(2025, 1, 3, tzinfo=dt.UTC))
    history.record_release_change(cid, change, "accepted", "2025-01-03T00:00:05Z")
    history.add_message(cid, "assistant", "the answer under the new release", attestation_id=attestation)
    history.close()
    line = "release changed from 0.1.0 (log 0) to 0.2.0 (log 1), accepted at 2025-01-03T00:00:05Z"

    show, md, js = cli.many([("history", "show", cid), ("history", "export", cid, "--format", "md"),
                             ("history", "export", cid, "--format", "json")])
    out = contract(show, 0).stdout
    assert f"\n! {line}\n" in out
    assert out.index("before the change") < out.index(line) < out.index("the answer under the new release")
    assert "Assistant (superseded " in out
    text = contract(md, 0).stdout
    assert f"> **Release change:** {line}" in text and "## Assistant (superseded " in text
    assert text.index(line) < text.index("the answer under the new release")
    doc = contract(js, 0, json_out=True).json()
    [row] = doc["release_changes"]
    assert row["decision"] == "accepted" and row["after_message"] == old_reply > asked
    assert (row["old"]["version"], row["new"]["version"], row["new"]["log_index"]) == ("0.1.0", "0.2.0", 1)
    assert [m["superseded"] is not None for m in doc["messages"]] == [False, True, False]
