"""The chat commands' composition: which service, which policy, which directories, and (for
``enclave-chat demo``) the reference enclave started beside the app and stopped after it.

This is the only place that joins ``tui`` with ``enclave``; ``tui`` itself never imports either.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from enclave_chat.output import say
from enclave_chat.paths import (
    builtin_policy_names,
    demo_transparency_dir,
    release_store,
    resolve_policy,
    user_dir,
)
from enclave_chat.services import choose
from tui.config import Config, ConfigError, load_config
from tui.history import History, HistoryError
from tui.service import ChatService, SessionService, Target
from verifier.errors import PolicyError
from verifier.policy_check import policy_provider
from verifier.providers.registry import DEFAULT


def _connect(*, keep_nothing: bool, scratch: list[Path],
             http_proxy: str | None = None) -> Callable[[Target], ChatService]:
    """How the app opens a Session. With ``keep_nothing`` (``--no-history``) nothing is written
    to the user's directories: collateral is cached in a temporary folder removed at exit
    (listed in ``scratch``), and no transparency-log checkpoints are remembered. ``http_proxy``
    (``--http-proxy``, else the config's ``[service] http_proxy``) carries the connection to the
    service; without it the connection takes no proxy at all (never the environment's)."""
    if keep_nothing:
        def connect_ephemeral(target: Target) -> ChatService:
            folder = Path(tempfile.mkdtemp(prefix="enclave-chat-"))
            scratch.append(folder)
            return SessionService(target, collateral_dir=folder, state_dir=None, http_proxy=http_proxy)

        return connect_ephemeral
    cache = user_dir("cache")
    state = user_dir("state")

    def connect(target: Target) -> ChatService:
        return SessionService(target, collateral_dir=cache / "collateral", state_dir=state,
                              http_proxy=http_proxy, release_store=release_store())

    return connect


def build_app(*, url: str | None, policy: str | None, provider: str | None, no_history: bool,
              config: Config, launch_demo: Callable[[], str] | None = None,
              http_proxy: str | None = None) -> Any:
    """The configured app (typed loosely so that importing this module does not load textual)."""
    from tui.app import EnclaveChatApp

    error: str | None = None
    url = url or config.url
    target: Target | None = None
    if url:
        # --policy, then the config's; likewise the provider; with no policy named, a known
        # service gives both (docs/cli.md, "Known services").
        choice = choose(url, policy=policy or config.policy, provider=provider or config.provider)
        if choice.known is not None:
            say(choice.note())
        chosen = resolve_policy(choice.policy)
        target = Target(url, chosen, choice.provider or policy_provider(chosen))
    history: History | None = None
    data = user_dir("data")
    keep_nothing = no_history or not config.history
    scratch: list[Path] = []
    if not keep_nothing:
        try:
            history = History.in_dir(user_dir("data", create=True))
        except HistoryError as e:
            error = f"{e}; this session keeps nothing on disk."
    app = EnclaveChatApp(
        target=target, config=config,
        connect=_connect(keep_nothing=keep_nothing, scratch=scratch, http_proxy=http_proxy or config.http_proxy),
        history=history,
        resolve_policy=resolve_policy, policy_names=builtin_policy_names(), launch_demo=launch_demo,
        export_dir=data / "exports", evidence_dir=data / "evidence",
        save_settings=not keep_nothing, error=error, provider=provider)
    app.scratch_dirs = scratch
    return app


def _config() -> Config | None:
    try:
        return load_config(user_dir("config"))
    except ConfigError as e:
        say(f"error: {e}")
        return None


def close_app(app: Any) -> None:
    """After the app: close the history and remove the temporary folders it used."""
    history = getattr(app, "history", None)
    if history is not None:
        history.close()
    for folder in getattr(app, "scratch_dirs", []):
        shutil.rmtree(folder, ignore_errors=True)


def _run(app: Any) -> int:
    try:
        code = app.run()
    finally:
        close_app(app)
    return int(code or 0)


def _demo_settings(no_history: bool = False, platform: str = "sev-snp") -> Any:
    """The demo enclave keeps its transparency log where ``enclave-chat serve`` keeps it, so that a
    client that remembers its checkpoint sees one history across restarts (a fresh log each time
    would rightly look like a split view). With --no-history nothing is kept: a temporary log.
    ``platform``: the simulated CPU platform (``demo --platform``)."""
    from enclave.app import Settings

    if no_history:
        return Settings(platform=platform)
    return Settings(transparency_dir=demo_transparency_dir(), platform=platform)


class _DemoLauncher:
    """Starts the reference enclave on first use (from the welcome screen), stops it at exit."""

    def __init__(self) -> None:
        self.server: Any = None
        self.lock = threading.Lock()

    def __call__(self) -> str:
        from enclave.server import BackgroundEnclave

        with self.lock:
            if self.server is None:
                self.server = BackgroundEnclave(_demo_settings()).start()
            return str(self.server.url)

    def stop(self) -> None:
        with self.lock:
            if self.server is not None:
                self.server.stop()
                self.server = None


def run_chat(*, url: str | None = None, policy: str | None = None, provider: str | None = None,
             no_history: bool = False, http_proxy: str | None = None) -> int:
    """``enclave-chat [chat URL]``: the chat on a service, or the welcome screen when none is set."""
    config = _config()
    if config is None:
        return 2
    launcher = _DemoLauncher()
    try:
        app = build_app(url=url, policy=policy, provider=provider, no_history=no_history,
                        config=config, launch_demo=launcher, http_proxy=http_proxy)
    except PolicyError as e:
        say(f"error: {e}")
        return 2
    try:
        return _run(app)
    finally:
        launcher.stop()


def run_demo(*, no_history: bool = False, platform: str = "sev-snp") -> int:
    """``enclave-chat demo``: the reference enclave (INSECURE DEMO) on a free loopback port, the
    chat on it under the demo policy, and the enclave stopped when the chat closes; ``platform``:
    the CPU platform it simulates (bare SEV-SNP or an Azure SEV-SNP CVM)."""
    from enclave.server import BackgroundEnclave

    config = _config()
    if config is None:
        return 2
    say("starting the reference enclave (INSECURE DEMO: simulated TEE, public demo keys)…")
    with BackgroundEnclave(_demo_settings(no_history, platform)) as server:
        # The demo enclave is on this machine's loopback: connected directly, never through the
        # config's proxy (which the demo policy would rightly refuse).
        app = build_app(url=server.url, policy="demo", provider=DEFAULT, no_history=no_history,
                        config=replace(config, url=server.url, policy="demo", http_proxy=None))
        return _run(app)


