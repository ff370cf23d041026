"""Messages the widgets and workers post, as small dataclasses (handled with ``@on``)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class PromptSubmitted(Message):
    """The user asked to send ``text``."""

    text: str


@dataclass
class ConversationChosen(Message):
    """A saved conversation was picked in the sidebar."""

    conversation_id: str


@dataclass
class VerificationStep(Message):
    """An attestation moved on to ``step`` (shown while verifying)."""

    step: str
