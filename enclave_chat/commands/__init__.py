"""The ``enclave-chat`` commands, one module each (or one per close group): ``verify``, ``ask``,
``evidence``, ``chat`` (``chat`` and ``demo``), ``serve``, ``log``, ``release``, ``locate``.

Each module imports only what every run of its command needs at its top (the arguments, the output,
the process); the verifier's appraisals, httpx, the enclave and textual are imported inside the
command that uses them, so that a command loads nothing another command needs.
:mod:`enclave_chat.cli` loads a command's module when that command runs.
"""
