"""``enclave-chat conformance tinfoil``: an adapter from Tinfoil's cross-SDK conformance contract
(``tinfoil-conformance``'s ``schemas/``: JSON on stdin, JSON on stdout, exit codes 0/10/20/30/1) to
this project's own verifiers. Every stage calls the verifier's functions; the adapter only decodes
the stage's input, builds the policy in memory and maps (check id, reason) to the suite's taxonomy
(:mod:`enclave_chat.conformance.taxonomy`). Nothing here is a second implementation of a check.
"""

from __future__ import annotations

from enclave_chat.conformance.contract import STAGES, run_stage

__all__ = ["STAGES", "run_stage"]
