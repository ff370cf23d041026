"""The evidence an attestation fetched, decoded for the details screen: facts only, no verdicts.

Provider-agnostic: each exchange's body goes to the registry-driven decoder of every evidence
format (:func:`verifier.inspection.inspect_bytes`); a body it does not know is shown as the JSON
it is (read with the strict, depth-limited loader), as text, or by its size. Nothing here recurses
on what a service sent: :func:`outline` walks iteratively and stops at :data:`MAX_DEPTH`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from verifier.errors import VerifierError
from verifier.inspection import inspect_bytes
from verifier.recording import Exchange
from verifier.strict_json import load_strict_json
from verifier.text import one_line

Decoded = dict[str, Any]

MAX_DEPTH = 24
"""Levels of an outline shown; deeper parts are elided."""
MAX_LINES = 400
"""Lines of one decoded body shown."""
MAX_VALUE = 120
"""Characters of one value shown (long base64 and hex strings are cut, with their length)."""
MAX_TEXT_LINES = 40


def decode_body(body: bytes, what: str = "the answer") -> Decoded | list[str]:
    """The body decoded: a known evidence format's fields, else its JSON, else its text lines;
    a body that is none of these is described by its size and first bytes."""
    if not body:
        return ["(empty)"]
    try:
        return inspect_bytes(body, what)
    except (VerifierError, ValueError, TypeError, KeyError, IndexError, OverflowError,
            RecursionError):
        pass
    if body.lstrip()[:1] in (b"{", b"["):
        try:
            doc = load_strict_json(body, what)
        except VerifierError as e:
            return [f"JSON this version does not decode: {one_line(str(e), 200)} ({len(body)} bytes)"]
        return doc if isinstance(doc, dict) else {"items": doc}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return [f"{len(body)} bytes of binary data, starting {body[:32].hex()}"]
    lines = text.splitlines()
    shown = [one_line(line, MAX_VALUE) for line in lines[:MAX_TEXT_LINES]]
    if len(lines) > MAX_TEXT_LINES:
        shown.append(f"… {len(lines) - MAX_TEXT_LINES} more lines")
    return shown


def exchange_summary(e: Exchange) -> tuple[str, str]:
    """``("GET https://…", "HTTP 200, 1234 bytes, sha256 …")`` for one exchange."""
    return (f"{e.method} {one_line(e.url, 200)}",
            f"HTTP {e.status}, {len(e.body)} bytes, sha256 {hashlib.sha256(e.body).hexdigest()}")


def outline(value: Any, indent: int = 0, *, max_depth: int = MAX_DEPTH,
            max_lines: int | None = None) -> list[str]:
    """A plain indented ``key: value`` outline of nested dicts and lists, at most ``max_depth``
    levels deep (deeper: ``…``) and ``max_lines`` lines. Iterative: depth costs no stack."""
    lines: list[str] = []
    # Each entry: (label, value, depth); label None for the root and list items' "-".
    stack: list[tuple[str | None, Any, int]] = [(None, value, 0)]
    root = True
    while stack:
        if max_lines is not None and len(lines) >= max_lines:
            lines.append("  " * indent + f"… (cut at {max_lines} lines)")
            break
        label, item, depth = stack.pop()
        pad = "  " * (indent + depth)
        container = isinstance(item, dict | list) and bool(item)
        if root:
            root = False
            if not container:
                lines.append(f"{pad}{_scalar(item)}")
                continue
            children = _children(item)
            stack.extend((k, v, depth) for k, v in reversed(children))
            continue
        head = f"{pad}{label}:" if label is not None else f"{pad}-"
        if not container:
            lines.append(f"{head} {_scalar(item)}")
            continue
        if depth + 1 >= max_depth:
            lines.append(f"{head} … ({_size(item)}, nested too deep to show)")
            continue
        lines.append(head)
        stack.extend((k, v, depth + 1) for k, v in reversed(_children(item)))
    return lines


def _children(item: dict[Any, Any] | list[Any]) -> list[tuple[str | None, Any]]:
    if isinstance(item, dict):
        return [(one_line(str(k), MAX_VALUE), v) for k, v in item.items()]
    return [(None, v) for v in item]


def _size(item: dict[Any, Any] | list[Any]) -> str:
    return f"{len(item)} {'members' if isinstance(item, dict) else 'items'}"


def _scalar(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return "(none)"
    text = one_line(str(value))
    if len(text) > MAX_VALUE:
        return f"{text[:MAX_VALUE]}… ({len(text)} characters)"
    return text


def evidence_lines(exchanges: Iterable[Exchange]) -> list[str]:
    """Every exchange's body, decoded, under its request line."""
    lines: list[str] = []
    for e in exchanges:
        request, _ = exchange_summary(e)
        lines.append(request)
        decoded = decode_body(e.body, one_line(e.url, 120))
        if isinstance(decoded, list):
            lines.extend(f"  {line}" for line in decoded)
        else:
            lines.extend(outline(decoded, 1, max_lines=MAX_LINES))
        lines.append("")
    return lines
