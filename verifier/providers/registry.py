"""The registry of providers (wire profiles), and the one list of the built-in provider packages.

Each package under :mod:`verifier.providers` declares ``PROVIDER`` (a
:class:`~verifier.providers.base.ProviderSpec`) and may declare ``KINDS`` (the
:class:`~verifier.kinds.EvidenceKind` values that belong to it); importing this module registers
every package in :data:`BUILTIN`. Everything that lists providers (``--provider`` choices, the TUI,
the recorder, ``[service] provider``, the policy tables) asks here. Adding a provider: copy a
package folder and add its module name to :data:`BUILTIN` (docs/architecture.md).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from verifier import kinds
from verifier.errors import ProtocolError
from verifier.providers.base import Provider, ProviderSpec

BUILTIN = ("verifier.providers.native", "verifier.providers.tinfoil", "verifier.providers.venice",
           "verifier.providers.chutes", "verifier.providers.phala",
           "verifier.providers.nearai")
DEFAULT = "native"
"""The provider a policy that names none is written for."""

_REGISTRY: kinds.Registry[ProviderSpec] = kinds.Registry("provider")
_PROVIDERS = _REGISTRY.entries
register_provider = _REGISTRY.register
unregister_provider = _REGISTRY.unregister


def _register_package(module: ModuleType) -> None:
    spec = module.PROVIDER
    assert isinstance(spec, ProviderSpec)
    register_provider(spec)
    for kind in getattr(module, "KINDS", ()):
        kinds.register_kind(kind)


def provider_names() -> tuple[str, ...]:
    return tuple(_PROVIDERS)


def all_providers() -> tuple[ProviderSpec, ...]:
    return tuple(_PROVIDERS.values())


def get_spec(name: str) -> ProviderSpec:
    spec = _PROVIDERS.get(name)
    if spec is None:
        raise ProtocolError(f"unknown provider {name!r}; known: {', '.join(_PROVIDERS)}")
    return spec


def get_provider(name: str) -> Provider:
    """A fresh :class:`Provider` of the registered ``name`` (its modules imported now)."""
    provider: Provider = kinds.callable_of(get_spec(name).factory)()
    return provider


def recorded_provider(value: str) -> str:
    """The provider that replays a recording whose manifest says ``provider: value``: a registered
    name, else the provider one of whose ``recorded_as`` prefixes ``value`` starts with; else
    ``value`` as it is (the replay then names it as unknown)."""
    if value in _PROVIDERS:
        return value
    for spec in _PROVIDERS.values():
        if any(value.startswith(prefix) for prefix in spec.recorded_as):
            return spec.name
    return value


def policy_tables() -> dict[str, str | None]:
    """Every policy table a kind or a provider reads, with the target that checks it."""
    tables: dict[str, str | None] = {}
    for kind in kinds.all_kinds():
        if kind.table:
            tables.setdefault(kind.table, kind.rules)
    for spec in _PROVIDERS.values():
        if spec.table:
            tables.setdefault(spec.table, spec.rules)
    return tables


for _name in BUILTIN:
    _register_package(importlib.import_module(_name))
