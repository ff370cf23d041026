"""Copying text: the terminal clipboard protocol (OSC 52) first, a system tool as the fallback.

OSC 52 works over SSH and in most terminals, but some (macOS Terminal, tmux without
``set-clipboard``) ignore it silently, so a local clipboard tool is also tried when one exists.
"""

from __future__ import annotations

import shutil
import subprocess

TOOLS: tuple[tuple[str, ...], ...] = (
    ("wl-copy",),
    ("xclip", "-selection", "clipboard"),
    ("xsel", "--clipboard", "--input"),
    ("pbcopy",),
    ("clip.exe",),
)


def system_copy(text: str) -> str | None:
    """Copy with the first clipboard tool found; the tool's name, or None when none worked."""
    for command in TOOLS:
        if shutil.which(command[0]) is None:
            continue
        try:
            subprocess.run(command, input=text.encode(), check=True, timeout=2,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except (OSError, subprocess.SubprocessError):
            continue
        return command[0]
    return None
