"""``enclave-chat history list|show|export|verify``: the saved conversations, the attestation each
message went under, and that proof checked again offline (docs/cli.md, "History").

The history is the chat's own file (``DATA/history.sqlite3``, :mod:`tui.history`, which loads no
Textual) and its kept recordings (``DATA/attestations/NAME/``: the layout of ``verify
--save-evidence``). ``history verify ID`` replays each recording through :func:`verifier.replay.replay`,
as ``verify --replay`` does, at the time it was made, and adds it all up: verified only when the
conversation has an attestation, every one of them verifies again from its kept evidence (which
must be the evidence the history recorded: the same nonce, the same digests), and every message
names one of them.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from enclave_chat.output import color, fail, print_json, say, terminal_text
from enclave_chat.process import Exit, check_interrupt
from verifier.text import one_line

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tui.history import History, StoredAttestation, StoredConversation, StoredMessage
    from verifier.appraisal.policy import Policy
    from verifier.result import AttestationResult

ROLE_TITLES = {"user": "You", "assistant": "Assistant", "system": "System prompt"}
MAX_EVIDENCE_FILE = 8 * 1024 * 1024
"""The largest file of a kept recording ``export --with-evidence`` reads (a recorded body's bound)."""


def cmd_history(args: argparse.Namespace) -> Exit:
    what = getattr(args, "history_command", None)
    if what is None:
        fail(Exit.USAGE, "history needs one of: list, show ID, export ID, verify ID")
    if what == "export" and args.with_evidence and args.format != "json":
        fail(Exit.USAGE, "--with-evidence needs --format json (Markdown carries no files)")
    history = _open(required=what != "list")
    if history is None:
        if args.json:
            print_json({"conversations": []})
        return Exit.VERIFIED
    try:
        if what == "list":
            return _list(history, args.json)
        conversation = _conversation(history, args.id)
        if what == "show":
            return _show(history, conversation)
        if what == "export":
            return _export(history, conversation, args.format, args.with_evidence)
        return _verify(history, conversation, args)
    finally:
        history.close()


def _open(*, required: bool) -> History | None:
    """The user's history file; None (``list``) or a usage error when there is none yet."""
    from enclave_chat.paths import user_dir
    from tui.history import HISTORY_FILE, History, HistoryError

    path = user_dir("data") / HISTORY_FILE
    if not path.is_file():
        if required:
            fail(Exit.USAGE, f"there is no history yet ({path} does not exist)")
        return None
    try:
        return History(path)
    except HistoryError as e:
        fail(Exit.USAGE, str(e))


def _conversation(history: History, given: str) -> StoredConversation:
    from tui.history import HistoryError

    try:
        cid = history.find(given)
    except HistoryError as e:
        fail(Exit.USAGE, str(e))
    stored = history.load(cid) if cid is not None else None
    if stored is None:
        fail(Exit.USAGE, f"no conversation {one_line(given, 80)} in the history "
             "(`enclave-chat history list` lists them)")
    return stored


def _text(value: str) -> str:
    """Text from the history file as it may reach stdout: escaped controls on a terminal."""
    return terminal_text(value) if sys.stdout.isatty() else value


def _marker(role: str, attestation: StoredAttestation | None) -> str:
    from tui.proof import release_text

    if attestation is None:
        return "no attestation recorded"
    arrow = "→" if role == "user" else "←"
    state = "" if attestation.verified else "UNVERIFIED "
    return f"{arrow} {state}{release_text(attestation.release)} (attestation #{attestation.id})"


def _by_id(history: History, conversation: StoredConversation) -> dict[int, StoredAttestation]:
    return {a.id: a for a in history.attestations(conversation.id)}


def _in_order(conversation: StoredConversation) -> Iterator[StoredMessage | str]:
    """The messages and, after the message it followed, the line of each decision on a release
    change ("release changed from 0.1.0 (log 0) to 0.2.0 (log 1), accepted at T")."""
    changes = list(conversation.release_changes)
    for m in conversation.messages:
        while changes and (changes[0].after_message or 0) < m.id:
            yield changes.pop(0).text()
        yield m
    yield from (c.text() for c in changes)


def _title(m: StoredMessage) -> str:
    title = ROLE_TITLES.get(m.role, m.role) + ("" if m.state == "complete" else f" ({m.state})")
    return title + (f" (superseded {m.superseded})" if m.superseded else "")


# -- list, show, export --------------------------------------------------------------------------------

def _list(history: History, as_json: bool) -> Exit:
    conversations = history.conversations(limit=-1)
    if as_json:
        print_json({"conversations": [c.to_json() for c in conversations]})
        return Exit.VERIFIED
    for c in conversations:
        kept = f"{c.attestations} attestation{'s' if c.attestations != 1 else ''}"
        if c.with_evidence != c.attestations:
            kept += f" ({c.attestations - c.with_evidence} without evidence)"
        unattested = f", {c.unattested} with none" if c.unattested else ""
        print(_text(f"{one_line(c.id)}  {one_line(c.updated)}  {c.messages} messages{unattested}, {kept}  "
                    f"{one_line(c.title or '(untitled)', 80)}"))
    return Exit.VERIFIED


def _show(history: History, conversation: StoredConversation) -> Exit:
    attestations = _by_id(history, conversation)
    print(_text(one_line(conversation.title or "(untitled)")))
    print(_text(f"  id {one_line(conversation.id)} · created {one_line(conversation.created)}"))
    print(f"  service {_text(one_line(conversation.service_url))} · policy {_text(one_line(conversation.policy_name))}"
          f" · model {_text(one_line(conversation.model)) if conversation.model else 'service default'}")
    for a in attestations.values():
        print(f"  attestation #{a.id}: {_attestation_line(a)}")
    if conversation.system_prompt:
        print("\nSystem prompt")
        print(_indent(_text(conversation.system_prompt)))
    for m in _in_order(conversation):
        if isinstance(m, str):
            print(f"\n! {_text(m)}")
            continue
        print(f"\n{_text(one_line(_title(m)))}  {_marker(m.role, attestations.get(m.attestation_id or -1))}")
        print(_indent(_text(m.content)))
    return Exit.VERIFIED


def _attestation_line(a: StoredAttestation) -> str:
    from tui.proof import release_text

    parts = [f"{'verified' if a.verified else 'NOT verified'} at {one_line(a.at)}",
             f"policy {one_line(a.policy_name)} ({a.policy_sha256[:12]})", release_text(a.release)]
    if a.release.measurement:
        parts.append(f"measurement {one_line(a.release.measurement)[:16]}…")
    parts.append("evidence kept" if a.evidence else "no evidence kept")
    return _text(" · ".join(parts))


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines()) or "    "


def _export(history: History, conversation: StoredConversation, form: str, with_evidence: bool) -> Exit:
    attestations = _by_id(history, conversation)
    if form == "json":
        print_json(_export_json(history, conversation, attestations, with_evidence))
    else:
        sys.stdout.write(_text(_export_markdown(conversation, attestations)))
        sys.stdout.flush()
    return Exit.VERIFIED


def _export_json(history: History, conversation: StoredConversation,
                 attestations: Mapping[int, StoredAttestation], with_evidence: bool) -> dict[str, Any]:
    kept = []
    for a in attestations.values():
        doc = {**a.to_json(), "result": a.result}
        if with_evidence:
            doc["recording"] = _recording_files(history.evidence_path(a.evidence))
        kept.append(doc)
    return {
        "conversation": {"id": conversation.id, "title": conversation.title, "created": conversation.created,
                         "service_url": conversation.service_url, "policy": conversation.policy_name,
                         "model": conversation.model, "system_prompt": conversation.system_prompt},
        "messages": [{"id": m.id, "role": m.role, "content": m.content, "state": m.state,
                      "created": m.created, "attestation": m.attestation_id, "superseded": m.superseded}
                     for m in conversation.messages],
        "release_changes": [c.to_json() for c in conversation.release_changes],
        "attestations": kept,
    }


def _recording_files(folder: Path | None) -> dict[str, Any] | None:
    """The kept recording's files, by their path in its folder, base64: written back out, the folder
    is one that ``verify --replay`` reads."""
    if folder is None or not folder.is_dir():
        return None
    from verifier.files import read_file

    files: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() or not path.is_file() or path.name.startswith("."):
            continue
        files[path.relative_to(folder).as_posix()] = base64.b64encode(read_file(path, MAX_EVIDENCE_FILE)).decode()
    return {"files": files}


def _export_markdown(conversation: StoredConversation, attestations: Mapping[int, StoredAttestation]) -> str:
    lines = [f"# {conversation.title or 'Conversation'}", "",
             f"- Conversation: {conversation.id}", f"- Service: {conversation.service_url}",
             f"- Policy: {conversation.policy_name}"]
    if conversation.model:
        lines.append(f"- Model: {conversation.model}")
    lines.append(f"- Created: {conversation.created}")
    lines.append("")
    if conversation.system_prompt:
        lines += ["## System prompt", "", conversation.system_prompt, ""]
    for m in _in_order(conversation):
        if isinstance(m, str):
            lines += [f"> **Release change:** {m}", ""]
            continue
        lines += [f"## {_title(m)}", "", f"*{_marker(m.role, attestations.get(m.attestation_id or -1))}*", "",
                  m.content, ""]
    lines += ["## Attestations", ""]
    if not attestations:
        lines += ["None is recorded.", ""]
    for a in attestations.values():
        result = a.result
        found = result.get("checks")
        checks: list[Any] = found if isinstance(found, list) else []
        passed = sum(isinstance(c, dict) and c.get("status") == "pass" for c in checks)
        lines += [f"### Attestation #{a.id}", "",
                  f"- {'Verified' if a.verified else 'NOT verified'} at {a.at} ({passed} of {len(checks)} checks passed)",
                  f"- Provider: {a.provider or '—'}",
                  f"- Policy: {a.policy_name} (sha256 {a.policy_sha256})",
                  f"- Nonce: {a.nonce or '—'}"]
        if a.release.measurement:
            lines.append(f"- Measurement: {a.release.measurement}")
        if a.release.version or a.release.image:
            lines.append(f"- Release: {a.release.version or '—'} (image {a.release.image or '—'})")
        if a.release.log_index is not None:
            lines.append(f"- Log index: {a.release.log_index}")
        lines.append(f"- Evidence: kept (`enclave-chat history verify {conversation.id}` checks it again offline)"
                     if a.evidence else "- Evidence: not kept (it cannot be checked again)")
        lines.append("")
    return "\n".join(lines)


# -- verify --------------------------------------------------------------------------------------------

def _check(id: str, status: str, detail: str) -> dict[str, Any]:
    return {"id": id, "status": status, "detail": detail, "required": True}


def _policy_for(attestation: StoredAttestation, folder: Path | None) -> tuple[Policy | None, dict[str, Any] | None]:
    """The policy the attestation was judged by: the copy kept beside its evidence (whose SHA-256
    must be the one recorded), else the built-in policy of that name and SHA-256. ``(None, check)``
    when a kept copy is not the recorded one; ``(None, None)`` when there is none to be had."""
    from enclave_chat.paths import builtin_policy_names, resolve_policy
    from tui.history import POLICY_FILE
    from verifier.appraisal.policy import MAX_POLICY_BYTES, parse_policy
    from verifier.errors import VerifierError
    from verifier.files import read_file
    from verifier.policy_check import check_policy

    copy = folder / POLICY_FILE if folder is not None else None
    if copy is not None and (copy.exists() or copy.is_symlink()):
        try:
            data = read_file(copy, MAX_POLICY_BYTES)
            if hashlib.sha256(data).hexdigest() != attestation.policy_sha256:
                return None, _check("history.policy", "fail",
                                    f"The policy kept beside the evidence is not the one the attestation was "
                                    f"judged by (sha256 {attestation.policy_sha256[:12]}…): it was altered.")
            return check_policy(parse_policy(data, str(copy))), None
        except VerifierError as e:
            return None, _check("history.policy", "fail", f"The policy kept beside the evidence cannot be used: {one_line(str(e))}")
    if attestation.policy_name in builtin_policy_names():
        builtin = resolve_policy(attestation.policy_name)
        if builtin.sha256 == attestation.policy_sha256:
            return builtin, None
    return None, None


async def _reverify(history: History, attestation: StoredAttestation,
                    override: Policy | None) -> tuple[dict[str, Any] | None, AttestationResult | None]:
    """The first failing check of one attestation (None: it verified again), and the replayed result."""
    from verifier.errors import InputError, ServiceUnreachable, VerifierError
    from verifier.recording import load_recording
    from verifier.replay import replay

    folder = history.evidence_path(attestation.evidence)
    if folder is None:
        return _check("history.evidence", "fail", "No evidence was kept for this attestation (it was recorded "
                      "before enclave-chat kept evidence, or keeping it failed): it cannot be checked again."), None
    policy, refusal = (override, None) if override is not None else _policy_for(attestation, folder)
    if refusal is not None:
        return refusal, None
    if policy is None:
        fail(Exit.USAGE, f"attestation #{attestation.id} was judged by policy {one_line(attestation.policy_name)!r} "
             f"(sha256 {attestation.policy_sha256[:12]}…), which is neither kept beside its evidence nor built in; "
             "give it with --policy")
    try:
        recording = load_recording(folder)
        result = await replay(folder, policy=policy, recording=recording)
    except ServiceUnreachable as e:
        return _check("history.evidence", "fail", f"The kept evidence is not a whole recording: {one_line(str(e))}"), None
    except (InputError, OSError) as e:
        return _check("history.evidence", "fail", f"The kept evidence cannot be read: {one_line(str(e))}"), None
    except VerifierError as e:
        return _check("history.evidence", "fail", f"The kept evidence cannot be replayed: {one_line(str(e))}"), None
    if not result.verified:
        bad = result.first_failure
        return (bad.to_json() if bad is not None else _check("history.evidence", "fail", result.verdict())), result
    stored = attestation.result
    nonce = result.nonce.hex() if result.nonce is not None else None
    if nonce != attestation.nonce or dict(result.evidence) != stored.get("evidence"):
        return _check("history.evidence.match", "fail",
                      "The kept evidence verifies, but it is not the evidence this attestation recorded "
                      "(another nonce or other digests): it was replaced."), result
    return None, result


def _verify(history: History, conversation: StoredConversation, args: argparse.Namespace) -> Exit:
    from enclave_chat.arguments import load_policy_arg
    from enclave_chat.process import run_async

    override = load_policy_arg(args.policy) if args.policy is not None else None
    attestations = history.attestations(conversation.id)

    async def run() -> list[tuple[dict[str, Any] | None, AttestationResult | None]]:
        return [await _reverify(history, a, override) for a in attestations]

    outcomes = run_async(run())
    check_interrupt()
    entries: list[dict[str, Any]] = []
    first: dict[str, Any] | None = None
    for a, (bad, result) in zip(attestations, outcomes, strict=True):
        entries.append({**a.to_json(), "verified": bad is None, "first_failure": bad,
                        "result": result.to_json() if result is not None else None})
        if bad is not None and first is None:
            first = {"attestation": a.id, **bad}
    known = {a.id for a in attestations}
    unattested = [m.id for m in conversation.messages if m.attestation_id not in known]
    if first is None and not attestations:
        first = {"attestation": None, **_check("history.attestations", "fail",
                                               "No attestation is recorded for this conversation.")}
    if first is None and unattested:
        first = {"attestation": None, **_check(
            "history.messages", "fail",
            f"{len(unattested)} of the conversation's {len(conversation.messages)} messages name no attestation of it "
            "(saved before enclave-chat recorded one, or never sent): nothing shows where they went.")}
    verified = first is None
    if args.json:
        print_json({"verified": verified, "kind": "history", "conversation": conversation.id,
                    "policy_override": override.ref.to_json() if override is not None else None,
                    "messages": len(conversation.messages), "messages_without_attestation": unattested,
                    "first_failure": first, "attestations": entries})
    if verified:
        n = len(attestations)
        say(color("32", f"verified: {n} attestation{'s' if n != 1 else ''} of conversation {conversation.id} "
                        f"verified again offline, each at the time it was made, and each of its "
                        f"{len(conversation.messages)} messages went under one of them"))
        return Exit.VERIFIED
    assert first is not None
    where = f"attestation #{first['attestation']}: " if first.get("attestation") is not None else ""
    say(color("31", one_line(f"refused: {where}{first['id']} {first['status']}: {first['detail']}")))
    return Exit.NOT_VERIFIED
