"""What the command line prints (docs/cli.md, "Conventions"): the machine result (``--json``) on
stdout, the human verdict, warnings and errors on stderr, one printable line each, coloured unless
``NO_COLOR`` is set or stderr is not a terminal."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import logging
import math
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from enclave_chat.process import Exit, check_interrupt
from verifier.text import one_line

if TYPE_CHECKING:
    from verifier.result import AttestationResult


def color(code: str, text: str) -> str:
    """``text`` in the ANSI colour ``code`` when stderr is a terminal and ``NO_COLOR`` is unset."""
    if os.environ.get("NO_COLOR") or not sys.stderr.isatty():
        return text
    return f"\033[{code}m{text}\033[0m"


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def warn(message: str) -> None:
    say(color("33", "warning: ") + one_line(message))


def error_line(prefix: str, message: str) -> None:
    """One error line on stderr: ``prefix`` (``error: ``, ``refused: ``...) in red, then ``message``."""
    say(color("31", prefix) + one_line(message))


def fail(code: Exit, message: str) -> NoReturn:
    error_line("error: ", message)
    raise SystemExit(int(code))


_TERMINAL_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7f, *range(0x80, 0xa0))
                     if c not in (0x09, 0x0a)}


def terminal_text(text: str) -> str:
    """``text`` as it may reach a terminal: every control character but newline and tab (C0, DEL,
    C1: ESC and so CSI sequences, BEL, backspace, carriage return) shown escaped, as ``\\x1b``,
    so that text from a service cannot move the cursor, retitle the window or rewrite the screen."""
    return text.translate(_TERMINAL_ESCAPES)


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON: bytes as lowercase hex, times as ISO-8601, enums by value,
    dataclasses and mappings as objects, sets sorted, and NaN or infinity (which JSON has no
    word for) as null. Whatever a claim holds, ``--json`` prints strict JSON."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, dt.datetime):
        from verifier.result import iso

        return iso(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        items = [jsonable(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=repr)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return str(value)


def dumps(doc: Any) -> str:
    """``doc`` as strict, indented JSON text (with its newline)."""
    return json.dumps(jsonable(doc), indent=2, allow_nan=False) + "\n"


def print_json(doc: Mapping[str, Any]) -> None:
    """Exactly one strict JSON object on stdout (``--json``)."""
    sys.stdout.write(dumps(doc))
    sys.stdout.flush()


def report(result: AttestationResult, as_json: bool) -> Exit:
    """Print ``result`` (JSON on stdout with ``as_json``; the verdict on stderr) and its exit code."""
    check_interrupt()
    if as_json:
        print_json(result.to_json())
    say(color("32" if result.verified else "31", one_line(result.verdict())))
    if result.verified:
        return Exit.VERIFIED
    return Exit.NOT_VERIFIED


OWN_PACKAGES = frozenset({"verifier", "enclave", "enclave_chat", "tui"})


class OwnWarnings(logging.Handler):
    """Warnings of this program's own modules, one line each on stderr. Other libraries' logging
    (sigstore's TUF notices, say) stays off the terminal: stderr carries the verdict and errors."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in OWN_PACKAGES:
            warn(record.getMessage())
