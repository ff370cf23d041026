"""Text from a service, a file or evidence, made safe to show: the one definition of ``one_line``."""

from __future__ import annotations

import re

_WHITE = re.compile(r"\s+")


def one_line(text: str, limit: int | None = None) -> str:
    """``text`` as one printable line: runs of white space (newlines too) become one space, other
    control characters are escaped (``\\x1b``), so that no message, whatever a server or evidence
    put in it, spans lines or drives the terminal; cut to ``limit`` characters when given."""
    if limit is not None:
        text = text[: limit * 4]  # bound the work before escaping; the cut below is exact
    text = _WHITE.sub(" ", text).strip()
    out = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
    return out[:limit] if limit is not None else out
