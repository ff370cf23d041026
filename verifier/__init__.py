"""enclave-chat's verifier: parse evidence, check it to vendor roots, appraise it against a policy.

No UI, no server. Everything else in the project builds on this package; nothing here imports
``tui``, ``enclave`` or ``enclave_chat``.
"""

__version__ = "0.1.0"
