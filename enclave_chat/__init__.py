"""enclave-chat's composition root: the ``enclave-chat`` command.

The only package that imports ``verifier``, ``tui`` and ``enclave`` together; it imports ``tui``
(and so textual) and ``enclave`` lazily, inside the commands that need them, so that ``verify``,
``ask`` and ``evidence`` stay light and never load the UI or the server.
"""
