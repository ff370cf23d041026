"""The verifier's typed errors. Every refusal of bad input is one of these, with a plain sentence.

Callers (the CLI, the TUI) show ``str(error)`` as one line; they never show a traceback.
"""

from __future__ import annotations


class VerifierError(Exception):
    """Base of every error this package raises on purpose."""


class ParseError(VerifierError):
    """Evidence or a protocol message does not follow its format.

    ``field`` names the field (or structure) at fault, so a message can point at it; ``reason``
    is an optional structured code (lower-case words joined by ``_``, e.g. ``truncated``) for an
    appraisal to carry into its check's ``reason`` without reading the message.
    """

    def __init__(self, message: str, *, field: str | None = None, reason: str | None = None) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {message}" if field else message)


class InputError(VerifierError):
    """A file or argument cannot be read or decoded at all (the CLI's exit code 2)."""


class PolicyError(VerifierError):
    """A policy file is missing, malformed, or names something this verifier does not know."""


class CollateralError(VerifierError):
    """Collateral (a certificate, CRL, OCSP answer, RIM, TCB info) could not be obtained."""


class OfflineError(CollateralError):
    """Collateral is not in the cache and the verifier was told not to fetch (``--offline``)."""


class ServiceUnreachable(VerifierError):
    """A service could not be reached at all (the CLI's exit code 3). ``reason``: the transport's
    own words, for a caller that words the error itself."""

    reason: str = ""


class ProtocolError(VerifierError):
    """A service answered, but not as the protocol says (wrong status, media type, framing)."""


class ChannelError(VerifierError):
    """Encryption or decryption on the attested channel failed."""


class TruncatedResponse(ChannelError):
    """A chunked response ended before its final chunk: what arrived is incomplete."""


class NotVerified(VerifierError):
    """A session refused to send because the attestation result did not pass.

    ``result`` is the :class:`verifier.result.AttestationResult` that was refused.
    """

    def __init__(self, message: str, result: object) -> None:
        self.result = result
        super().__init__(message)
