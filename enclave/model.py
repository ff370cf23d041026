"""The built-in demo model: a deterministic, streaming stand-in for a real LLM (INSECURE DEMO).

It does no inference. It answers in Markdown, word by word, so that the client's streaming,
rendering and cancellation are exercised exactly as with a real model behind the gateway.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

MODEL_ID = "enclave-demo-1"


def _last_user_text(messages: Sequence[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content", "")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def reply_text(messages: Sequence[dict[str, Any]]) -> str:
    question = _last_user_text(messages).strip() or "(an empty message)"
    quoted = question if len(question) <= 200 else question[:200] + "…"
    words = len(re.findall(r"\S+", question))
    return (
        f"You asked: *{quoted}*\n\n"
        "This answer comes from the **built-in demo model** of the reference enclave. "
        "Your message travelled to it sealed with HPKE inside Oblivious HTTP, to a key that the "
        "enclave's (simulated) SEV-SNP report binds, and only after your client verified that "
        "report.\n\n"
        f"- words in your message: {words}\n"
        f"- messages in this conversation: {len(messages)}\n\n"
        "> INSECURE DEMO: the TEE here is simulated and its roots are public. Point "
        "`enclave-chat` at a real confidential service to get real guarantees."
    )


def tokens(text: str) -> list[str]:
    """Split into word-sized deltas that keep their whitespace, as an LLM's tokens do."""
    return re.findall(r"\s*\S+", text) + ([text[len(text.rstrip()):]] if text != text.rstrip() else [])


async def stream_reply(messages: Sequence[dict[str, Any]], *, delay: float = 0.0,
                       max_tokens: int | None = None) -> AsyncIterator[str]:
    for i, tok in enumerate(tokens(reply_text(messages))):
        if max_tokens is not None and i >= max_tokens:
            return
        if delay:
            await asyncio.sleep(delay)
        yield tok
