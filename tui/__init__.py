"""The Textual chat app (DESIGN.md "tui/"): screens, widgets and one stylesheet.

It talks to :mod:`verifier.session` only; the composition root (``enclave_chat.tui_entry``) decides
what service to open, starts the demo enclave when asked, and passes in the user's directories.
"""

from tui.app import EnclaveChatApp

__all__ = ["EnclaveChatApp"]
