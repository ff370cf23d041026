"""Policies: TOML files (policies/*.toml) that say what evidence a user accepts.

The file format is documented in docs/policies.md. A policy is identified in every result by its
name and the SHA-256 of its exact file bytes. Each verifier module reads its own table (``[snp]``,
``[release]``, ...) through :class:`Section`, which refuses unknown keys and wrong types, so that a
typo in a policy is an error rather than a silently ignored rule.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from verifier.errors import PolicyError
from verifier.result import PolicyRef

T = TypeVar("T")

MAX_POLICY_BYTES = 256 * 1024


@dataclass(frozen=True)
class Section:
    """One table of a policy, read key by key with types checked."""

    name: str
    values: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, kind: type[T], default: T) -> T:
        if key not in self.values:
            return default
        value = self.values[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise PolicyError(
                f"policy [{self.name}] {key} must be a {kind.__name__}, not {type(value).__name__}"
            )
        return value

    def str_list(self, key: str, default: list[str] | None = None) -> list[str]:
        value = self.get(key, list, default if default is not None else [])
        if not all(isinstance(v, str) for v in value):
            raise PolicyError(f"policy [{self.name}] {key} must be a list of strings")
        return list(value)

    def allow_list(self, key: str, what: str = "string") -> list[str] | None:
        """A list of the values evidence may have (one string counts as a list of one); None when
        the key is absent (any value). An empty list is a policy error: it would allow nothing,
        which no one writes on purpose (docs/policies.md says which lists are allow-lists)."""
        if key not in self.values:
            return None
        value = self.values[key]
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            raise PolicyError(f"policy [{self.name}] {key} must be a {what} or a list of them")
        if not items:
            raise PolicyError(f"policy [{self.name}] {key} = []: an empty list allows nothing; "
                              "remove the key to allow any value")
        return list(items)

    def hex_value(self, key: str, value: str, size: int, what: str = "") -> bytes:
        """``value`` (given under ``key``) as exactly ``size`` bytes of hex; ``what`` names them
        in the error (" (a SHA-256 PCR)")."""
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raise PolicyError(f"policy [{self.name}] {key}: {value!r} is not hex") from None
        if len(raw) != size:
            raise PolicyError(f"policy [{self.name}] {key}: {value!r} is not {size} bytes{what}")
        return raw

    def hex_allow_list(self, key: str, size: int, what: str = "") -> tuple[bytes, ...] | None:
        """An allow-list (:meth:`allow_list`) of ``size``-byte hex values; None when absent."""
        items = self.allow_list(key, "hex string")
        return None if items is None else tuple(self.hex_value(key, v, size, what) for v in items)

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.get(key, str, default)
        if value not in choices:
            raise PolicyError(f"policy [{self.name}] {key} must be one of {', '.join(choices)}, not {value!r}")
        return value

    def table(self, key: str) -> Section:
        return Section(f"{self.name}.{key}", self.get(key, dict, {}))

    def only(self, *known: str) -> None:
        """Refuse keys this verifier does not know (a misspelt rule must not be ignored)."""
        unknown = sorted(set(self.values) - set(known))
        if unknown:
            raise PolicyError(f"policy [{self.name}] has unknown keys: {', '.join(unknown)}")


@dataclass(frozen=True)
class Policy:
    """A parsed policy file; ``ref`` goes into every result made under it."""

    name: str
    sha256: str
    description: str
    tables: dict[str, Any]
    source: str = "<memory>"

    @property
    def ref(self) -> PolicyRef:
        return PolicyRef(self.name, self.sha256)

    def section(self, name: str) -> Section:
        value = self.tables.get(name, {})
        if not isinstance(value, dict):
            raise PolicyError(f"policy [{name}] must be a table")
        return Section(name, value)

    @property
    def demo(self) -> bool:
        """True for a policy that trusts the INSECURE demo roots; the UI says so on every screen."""
        return bool(self.section("service").get("demo_roots", bool, False))


def parse_policy(data: bytes, source: str = "<memory>") -> Policy:
    if len(data) > MAX_POLICY_BYTES:
        raise PolicyError(f"policy {source} is larger than {MAX_POLICY_BYTES} bytes")
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise PolicyError(f"policy {source} is not valid TOML: {e}") from None
    name = doc.pop("name", None)
    if not isinstance(name, str) or not name:
        raise PolicyError(f"policy {source} has no name")
    description = doc.pop("description", "")
    if not isinstance(description, str):
        raise PolicyError(f"policy {source}: description must be a string")
    return Policy(name, hashlib.sha256(data).hexdigest(), description, doc, source)


def load_policy(path: str | Path) -> Policy:
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise PolicyError(f"cannot read policy {p}: {e.strerror or e}") from None
    return parse_policy(data, str(p))
