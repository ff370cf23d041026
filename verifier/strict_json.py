"""The one strict JSON loader (I-JSON, RFC 7493) for everything that came from a service or a file.

Every JSON document from outside (bundles, release envelopes and statements, Tinfoil documents,
Sigstore bundles, NVIDIA answers, recordings) is read with :func:`load_strict_json`; a test fails
if another module calls ``json.loads`` on such input (tests/test_hardening_rules.py).
"""

from __future__ import annotations

import json
from typing import Any

from verifier.errors import ParseError

MAX_JSON_DEPTH = 32
"""No member of a bundle nests deeper than a few levels; deeper input is refused, not recursed into."""
MAX_SAFE_INTEGER = 2**53 - 1
"""I-JSON (RFC 7493 §2.2) and RFC 8785 integers: beyond this a number has no one canonical form."""


class _Refused(Exception):
    """Raised by the JSON parser's hooks; becomes a ParseError naming the document."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Refused(f"member {key[:64]!r} appears twice (parsers disagree on which one counts)")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number (RFC 8259)")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _Refused(f"the number {text[:32]} is out of range")
    return value


def _safe_int(text: str) -> int:
    if len(text.lstrip("-")) > 16 or abs(value := int(text)) > MAX_SAFE_INTEGER:
        raise _Refused(f"the integer {text[:32]} is beyond 2^53-1 (RFC 7493)")
    return value


def load_strict_json(data: bytes, field: str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse hostile JSON strictly (I-JSON, RFC 7493): UTF-8 without a byte order mark, no
    duplicate member names, no NaN or Infinity, integers within 2^53-1, strings that are valid
    Unicode, and at most ``max_depth`` levels of nesting. Any deviation is a :class:`ParseError`,
    however deep the input nests (the parser's own RecursionError included)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ParseError(f"is not UTF-8 ({e.reason} at byte {e.start})", field=field) from None
    try:
        doc = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant,
                         parse_float=_finite_float, parse_int=_safe_int)
    except _Refused as e:
        raise ParseError(str(e), field=field) from None
    except RecursionError:
        raise ParseError(f"nests deeper than {max_depth} levels", field=field) from None
    except ValueError as e:
        raise ParseError(f"is not JSON ({e})", field=field) from None
    _check_tree(doc, field, max_depth)
    return doc


def _check_tree(doc: Any, field: str, max_depth: int) -> None:
    """No deeper than ``max_depth``, and every string and member name encodes as UTF-8 (JSON
    escapes can spell lone surrogates). Iterative: depth costs no stack."""
    stack: list[tuple[Any, int]] = [(doc, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth >= max_depth:
                raise ParseError(f"nests deeper than {max_depth} levels", field=field)
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ParseError("holds a string that is not valid Unicode (a lone surrogate)", field=field) from None


_SPANS = json.JSONDecoder()
_WS = " \t\n\r"


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WS:
        i += 1
    return i


def member_spans(raw: bytes, field: str, *,
                 max_depth: int = MAX_JSON_DEPTH) -> tuple[dict[str, Any], dict[str, tuple[int, int]]]:
    """A strict JSON object (:func:`load_strict_json`) and, per top-level member, the byte span
    ``[start, end)`` of its value in ``raw``: what is hashed or signed is those exact bytes, which
    re-serialising would change."""
    doc = load_strict_json(raw, field, max_depth=max_depth)
    if not isinstance(doc, dict):
        raise ParseError("is not a JSON object", field=field)
    text = raw.decode("utf-8")
    ascii_only = text.isascii()
    spans: dict[str, tuple[int, int]] = {}
    i = _skip(text, _skip(text, 0) + 1)  # past "{"
    while i < len(text) and text[i] != "}":
        key, i = _SPANS.raw_decode(text, i)
        i = _skip(text, _skip(text, i) + 1)  # past ":"
        _, end = _SPANS.raw_decode(text, i)
        spans[str(key)] = (i, end) if ascii_only else (len(text[:i].encode()), len(text[:end].encode()))
        i = _skip(text, end)
        if i < len(text) and text[i] == ",":
            i = _skip(text, i + 1)
    return doc, spans
