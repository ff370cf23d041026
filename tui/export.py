"""A conversation written out as Markdown or JSON (``.json`` chooses JSON, anything else Markdown)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verifier.private_files import write_private
from verifier.result import AttestationResult, iso

ROLE_TITLES = {"user": "You", "assistant": "Assistant", "system": "System prompt"}


@dataclass(frozen=True)
class Turn:
    role: str
    content: str
    state: str = "complete"


@dataclass(frozen=True)
class Transcript:
    title: str
    service_url: str
    policy: str
    model: str | None
    system_prompt: str | None
    turns: Sequence[Turn]
    result: AttestationResult | None


def to_markdown(t: Transcript) -> str:
    lines = [f"# {t.title or 'Conversation'}", ""]
    lines.append(f"- Service: {t.service_url}")
    lines.append(f"- Policy: {t.policy}")
    if t.result is not None:
        lines.append(f"- Attestation: {'verified' if t.result.verified else 'NOT verified'} at "
                     f"{iso(t.result.at)} (nonce {t.result.nonce.hex() if t.result.nonce else '—'})")
    if t.model:
        lines.append(f"- Model: {t.model}")
    lines.append("")
    if t.system_prompt:
        lines += ["## System prompt", "", t.system_prompt, ""]
    for turn in t.turns:
        title = ROLE_TITLES.get(turn.role, turn.role)
        if turn.state != "complete":
            title += f" ({turn.state})"
        lines += [f"## {title}", "", turn.content, ""]
    return "\n".join(lines)


def to_json(t: Transcript) -> dict[str, Any]:
    return {
        "title": t.title,
        "service": t.service_url,
        "policy": t.policy,
        "model": t.model,
        "system_prompt": t.system_prompt,
        "attestation": t.result.to_json() if t.result is not None else None,
        "messages": [{"role": x.role, "content": x.content, "state": x.state} for x in t.turns],
    }


def write_export(path: Path, t: Transcript) -> str:
    """Write ``t`` to ``path`` (0600) and say which format was used."""
    kind = "JSON" if path.suffix.lower() == ".json" else "Markdown"
    data = json.dumps(to_json(t), indent=2) + "\n" if kind == "JSON" else to_markdown(t)
    write_private(path, data.encode("utf-8"), own_parent=False)
    return kind
