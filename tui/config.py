"""The chat's settings: ``config.toml`` under the user config directory, then environment overrides.

The file (docs/tui.md shows a full example)::

    [service]
    url = "https://chat.example.com"   # empty: the welcome screen opens
    policy = "default"                 # a built-in policy name or a path to a policy file
    provider = "..."                   # a registered provider; left out: the policy's [service] provider
    http_proxy = "http://proxy:3128"   # the service through this proxy; left out: no proxy (never HTTP_PROXY)

    [ui]
    theme = "textual-dark"             # any Textual theme; the choice made in the app is saved here

    [history]
    enabled = true                     # false keeps nothing on disk (as --no-history does)

    [keys]                             # any binding id of docs/tui.md; several keys with commas
    reverify = "ctrl+r"

Environment variables override the file: ``ENCLAVE_CHAT_URL``, ``ENCLAVE_CHAT_POLICY``,
``ENCLAVE_CHAT_PROVIDER``, ``ENCLAVE_CHAT_THEME``, ``ENCLAVE_CHAT_HISTORY`` (``0``/``1``).
Unknown keys are errors, so that a misspelt setting is not silently ignored.
"""

from __future__ import annotations

import os
import tomllib
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from verifier.errors import InputError
from verifier.private_files import write_private
from verifier.providers.registry import provider_names

CONFIG_FILE = "config.toml"
DEFAULT_THEME = "textual-dark"
MAX_CONFIG_BYTES = 64 * 1024

#: Binding ids and their default keys. Chosen to avoid tmux's prefix (ctrl+b), terminal flow
#: control (ctrl+s, ctrl+q as XON/XOFF is left to Textual's quit) and the text area's own keys.
DEFAULT_KEYS: dict[str, str] = {
    "send": "enter",
    "newline": "shift+enter,ctrl+j",
    "cancel": "escape",
    "reverify": "ctrl+r",
    "details": "f2",
    "history": "f3",
    "model": "f4",
    "system_prompt": "f5",
    "copy": "f6",
    "export": "f7",
    "new_chat": "ctrl+n",
    "regenerate": "ctrl+g",
    "edit_last": "ctrl+o",
}

KEY_HELP: dict[str, str] = {
    "send": "send the message",
    "newline": "insert a new line",
    "cancel": "cancel the reply that is arriving (what arrived is kept, marked cancelled)",
    "reverify": "verify the service again with a fresh nonce",
    "details": "the full attestation result and the decoded evidence",
    "history": "show or hide saved conversations",
    "model": "choose the model",
    "system_prompt": "set the system prompt of this conversation",
    "copy": "copy the last reply",
    "export": "export this conversation to Markdown or JSON",
    "new_chat": "start a new conversation",
    "regenerate": "drop the last reply and ask the same again",
    "edit_last": "put your last message back into the input, taking it and its reply out",
}

_ENV = {
    "url": "ENCLAVE_CHAT_URL",
    "policy": "ENCLAVE_CHAT_POLICY",
    "provider": "ENCLAVE_CHAT_PROVIDER",
    "theme": "ENCLAVE_CHAT_THEME",
    "history": "ENCLAVE_CHAT_HISTORY",
}


class ConfigError(Exception):
    """The config file cannot be read or says something this version does not understand."""


@dataclass(frozen=True)
class Config:
    url: str | None = None
    policy: str | None = None
    provider: str | None = None
    """None: the policy's ``[service] provider`` decides."""
    http_proxy: str | None = None
    """The proxy the connection to the service goes through (None: none; the environment's
    ``HTTP_PROXY`` and the like are never used for it)."""
    theme: str = DEFAULT_THEME
    history: bool = True
    keys: Mapping[str, str] = field(default_factory=dict)
    path: Path | None = None

    def keymap(self) -> dict[str, str]:
        """The effective key for every binding id: the defaults with the user's choices on top."""
        return {**DEFAULT_KEYS, **self.keys}


def _table(doc: dict[str, Any], name: str, known: tuple[str, ...], source: str) -> dict[str, Any]:
    value = doc.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: [{name}] must be a table")
    unknown = sorted(set(value) - set(known))
    if unknown:
        raise ConfigError(f"{source}: [{name}] has unknown keys: {', '.join(unknown)}")
    return value


def _typed(table: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = table.get(key)
    if value is not None and not isinstance(value, kind):
        raise ConfigError(f"{where}: {key} must be a {kind.__name__}")
    return value


def parse_config(text: str, source: str = "<memory>") -> Config:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{source} is not valid TOML: {e}") from None
    unknown = sorted(set(doc) - {"service", "ui", "history", "keys"})
    if unknown:
        raise ConfigError(f"{source} has unknown tables: {', '.join(unknown)}")
    service = _table(doc, "service", ("url", "policy", "provider", "http_proxy"), source)
    ui = _table(doc, "ui", ("theme",), source)
    history = _table(doc, "history", ("enabled",), source)
    keys = _table(doc, "keys", tuple(DEFAULT_KEYS), source)
    for key, value in keys.items():
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{source}: [keys] {key} must be a non-empty string such as \"ctrl+r\"")
    provider = _typed(service, "provider", str, f"{source} [service]") or None
    if provider is not None and provider not in provider_names():
        raise ConfigError(f"{source}: [service] provider must be {_choices()}")
    enabled = _typed(history, "enabled", bool, f"{source} [history]")
    http_proxy = _typed(service, "http_proxy", str, f"{source} [service]") or None
    if http_proxy is not None and not _is_proxy_url(http_proxy):
        raise ConfigError(f"{source}: [service] http_proxy must be an http or https URL with a host, "
                          "such as \"http://proxy.example.com:3128\"")
    return Config(
        url=_typed(service, "url", str, f"{source} [service]") or None,
        policy=_typed(service, "policy", str, f"{source} [service]") or None,
        provider=provider,
        http_proxy=http_proxy,
        theme=_typed(ui, "theme", str, f"{source} [ui]") or DEFAULT_THEME,
        history=True if enabled is None else enabled,
        keys={k: v.strip() for k, v in keys.items()},
    )


def _is_proxy_url(url: str) -> bool:
    if any(c.isspace() or not c.isprintable() for c in url):
        return False
    try:
        parts = urllib.parse.urlsplit(url)
        _ = parts.port
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _choices() -> str:
    """The registered providers, as a sentence says them: ``a, b or c``."""
    names = list(provider_names())
    return " or ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def _flag(text: str, name: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be 0 or 1, not {text!r}")


def load_config(config_dir: Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read ``config_dir/config.toml`` (absent: the defaults), then apply environment overrides."""
    env = os.environ if environ is None else environ
    path = config_dir / CONFIG_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        config = Config()
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror or e}") from None
    else:
        if len(data) > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path} is larger than {MAX_CONFIG_BYTES} bytes")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"{path} is not UTF-8") from None
        config = parse_config(text, str(path))
    overrides: dict[str, Any] = {}
    for name, var in _ENV.items():
        if var in env:
            overrides[name] = _flag(env[var], var) if name == "history" else (env[var] or None)
    if overrides.get("provider") is not None and overrides["provider"] not in provider_names():
        raise ConfigError(f"ENCLAVE_CHAT_PROVIDER must be {_choices()}, not {overrides['provider']!r}")
    if "theme" in overrides and overrides["theme"] is None:
        overrides["theme"] = DEFAULT_THEME
    return replace(config, path=path, **overrides)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    raise TypeError(f"config values are strings or booleans, not {type(value).__name__}")


def dump_toml(doc: Mapping[str, Mapping[str, object]]) -> str:
    """The config's TOML form: tables of strings and booleans (all this file ever holds)."""
    parts = []
    for table, values in doc.items():
        if not values:
            continue
        lines = [f"[{table}]"] + [f"{key} = {_toml_value(v)}" for key, v in values.items()]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def save_setting(path: Path, table: str, key: str, value: str | bool) -> None:
    """Set one value in the config file, keeping the others; the file is 0600 in a 0700 folder."""
    try:
        doc = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        doc = {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"cannot update {path}: {e}") from None
    section = doc.setdefault(table, {})
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [{table}] must be a table")
    section[key] = value
    try:
        write_private(path, dump_toml(doc).encode("utf-8"))
    except InputError as e:
        raise ConfigError(f"cannot update {path}: {e}") from None
