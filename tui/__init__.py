"""The Textual chat app (DESIGN.md "tui/"): screens, widgets and one stylesheet.

It talks to :mod:`verifier.session` only; the composition root (``enclave_chat.tui_entry``) decides
what service to open, starts the demo enclave when asked, and passes in the user's directories.

``tui.EnclaveChatApp`` loads Textual when it is first asked for, not on ``import tui``: the
history store (:mod:`tui.history`), which the ``enclave-chat history`` commands read, loads none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tui.app import EnclaveChatApp

__all__ = ["EnclaveChatApp"]


def __getattr__(name: str) -> Any:
    if name == "EnclaveChatApp":
        from tui.app import EnclaveChatApp

        return EnclaveChatApp
    raise AttributeError(f"module 'tui' has no attribute {name!r}")
