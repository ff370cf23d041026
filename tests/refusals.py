"""The shape every "this attack is refused and nothing is sent" session test shares: attest, find
the refusal at its own check, and find that a chat then raises the same refusal without sending
(the caller counts what reached the service)."""

from __future__ import annotations

import pytest

from verifier.errors import NotVerified
from verifier.result import AttestationResult
from verifier.session import Session

SECRET = [{"role": "user", "content": "my secret prompt"}]


async def refused_before_sending(session: Session, check_id: str, *, replayed: bool = False) -> AttestationResult:
    """``session``'s attestation refused first for ``check_id``, and a chat refused for it too.
    ``replayed``: the service replays its first answer, so attest once before (that nonce)."""
    if replayed:
        await session.attest()
    result = await session.attest()
    assert not result.verified
    assert result.first_failure is not None and result.first_failure.id == check_id, result.verdict()
    with pytest.raises(NotVerified) as refused:
        async for _ in session.stream_chat(SECRET):
            pass
    behind = refused.value.result
    assert behind is not None and behind.first_failure is not None and behind.first_failure.id == check_id
    return result
