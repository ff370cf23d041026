"""The process around a command: its exit codes, Ctrl-C, and what :func:`enclave_chat.cli.main`
installs for one run (docs/cli.md, "Exit codes").

Exit codes: 0 verified; 1 not verified (evidence refused or unparseable); 2 usage, or a file that
cannot be read or decoded; 3 a service could not be reached; 130 interrupted.

The lowest module of the command line: it imports no other module of :mod:`enclave_chat`
(:mod:`enclave_chat.output` imports it), and nothing heavy.
"""

from __future__ import annotations

import enum
import logging
import os
import signal
import sys
import threading
import warnings as python_warnings
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar

T = TypeVar("T")


class Exit(enum.IntEnum):
    VERIFIED = 0
    NOT_VERIFIED = 1
    USAGE = 2
    UNREACHABLE = 3
    INTERRUPTED = 130


class Interrupted(KeyboardInterrupt):
    """What Ctrl-C raises while :func:`enclave_chat.cli.main` runs. A subclass on purpose: CPython
    remembers a plain :class:`KeyboardInterrupt` that passes through ``eval``'d code
    (``collections.namedtuple``, run by many imports) and, even when it is caught, ends the process
    by SIGINT instead of with the exit code 130 that the contract promises."""


_INTERRUPT = threading.Event()
"""Set at Ctrl-C. Raising is not enough: Python ignores an exception raised in a finaliser or a
weakref callback (importlib runs some), so the command checks this too before it goes on."""


def _on_sigint(signum: int, frame: object) -> None:
    _INTERRUPT.set()
    raise Interrupted


def check_interrupt() -> None:
    """Raise :class:`Interrupted` if Ctrl-C came, even if its exception was swallowed."""
    if _INTERRUPT.is_set():
        raise Interrupted


@contextmanager
def default_sigint() -> Iterator[None]:
    """Python's own Ctrl-C handling, for the TUI (Textual runs its own event loop)."""
    ours = (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is _on_sigint)
    if ours:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        if ours:
            signal.signal(signal.SIGINT, _on_sigint)


INTERRUPT_GRACE = 3.0
"""Seconds a command has to wind down after Ctrl-C before it is ended outright."""


def _end_interrupted() -> NoReturn:
    """The last resort after Ctrl-C: the one line, then exit 130 at once."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    try:
        print("interrupted", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass
    os._exit(int(Exit.INTERRUPTED))


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """:func:`asyncio.run`, with Ctrl-C handled by the event loop itself.

    ``loop.add_signal_handler`` makes the signal wake the loop through its self-pipe, whichever
    thread the kernel delivers it to (a plain handler runs only when the main thread next executes
    Python, which a ``select`` waiting on a silent server may never do). The first Ctrl-C cancels
    the command, which ends as :class:`Interrupted`; if it has not ended within
    :data:`INTERRUPT_GRACE` seconds, or at a second Ctrl-C, the process exits 130 outright.
    """
    import asyncio

    async def guarded() -> T:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        interrupts: list[float] = []

        def on_sigint() -> None:
            _INTERRUPT.set()
            if interrupts:
                _end_interrupted()
            interrupts.append(loop.time())
            if task is not None:
                task.cancel()
            loop.call_later(INTERRUPT_GRACE, _end_interrupted)

        try:
            loop.add_signal_handler(signal.SIGINT, on_sigint)
            handled = True
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or Windows
            handled = False
        try:
            if _INTERRUPT.is_set():
                coro.close()  # never started: no "never awaited" warning
                raise Interrupted
            return await coro
        except asyncio.CancelledError:
            if interrupts:
                raise Interrupted from None
            raise
        finally:
            if handled:
                loop.remove_signal_handler(signal.SIGINT)
                if threading.current_thread() is threading.main_thread():
                    signal.signal(signal.SIGINT, _on_sigint)

    main_coro = guarded()
    try:
        return asyncio.run(main_coro)
    finally:
        # A Ctrl-C inside asyncio.run before either coroutine started must not leave a
        # "never awaited" warning behind (close() is a no-op on a finished coroutine).
        main_coro.close()
        coro.close()


@contextmanager
def scope(warnings: Callable[[], logging.Handler]) -> Iterator[None]:
    """Ctrl-C as :class:`Interrupted`, and logging through the handler ``warnings()`` makes (when
    the root logger has none), for one run of :func:`enclave_chat.cli.main`; both are put back
    afterwards (tests call ``main`` in-process). Python warnings are not shown: they are what a
    library says about its input (``cryptography`` on a hostile certificate's negative serial or
    over-long name, say), with a source line, and stderr carries the verdict and errors only; the
    verifier judges that input by its own rules."""
    _INTERRUPT.clear()
    root = logging.getLogger()
    handler = warnings() if not root.handlers else None
    if handler is not None:
        root.addHandler(handler)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, _on_sigint)
    unraisable = sys.unraisablehook

    def quiet_when_interrupted(info: Any) -> None:
        # Ctrl-C that lands in a finaliser or a weakref callback is "ignored" by Python with a
        # traceback on stderr (and so is what it breaks there); _INTERRUPT has it already.
        if _INTERRUPT.is_set() or isinstance(info.exc_value, KeyboardInterrupt):
            return
        unraisable(info)

    sys.unraisablehook = quiet_when_interrupted
    try:
        with python_warnings.catch_warnings():
            python_warnings.simplefilter("ignore")
            yield
    finally:
        if not _INTERRUPT.is_set():  # else the process is ending: keep finalisers quiet to the end
            sys.unraisablehook = unraisable
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        if handler is not None:
            root.removeHandler(handler)
