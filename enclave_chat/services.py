"""The services enclave-chat knows (``services.toml`` beside this module; docs/cli.md, "Known
services"): which provider and built-in policy a host is spoken to with when the command line
names neither.

:func:`parse_services` reads the file strictly (a bad host pattern, an unknown provider, a policy
that is not built in, an unknown key: refused in one sentence); :func:`match` finds the entry for a
host; :func:`choose` applies the rule: an explicit ``--policy`` or ``--provider`` always wins, the
known service fills in what was not given, and a host no entry matches keeps today's default.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from verifier.errors import InputError

if TYPE_CHECKING:
    from verifier.appraisal.policy import Policy

SERVICES_FILE = Path(__file__).with_name("services.toml")
MAX_SERVICES_BYTES = 64 * 1024

_KEYS = {"name", "hosts", "provider", "policy", "about"}
_REQUIRED = ("name", "hosts", "provider", "policy")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")


@dataclass(frozen=True)
class KnownService:
    name: str
    hosts: tuple[str, ...]
    provider: str
    policy: str
    about: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "hosts": list(self.hosts), "provider": self.provider,
                "policy": self.policy, "about": self.about}


def _domain(text: str) -> bool:
    """A DNS name in lower case: labels of letters, digits and inner hyphens, 253 characters at
    most, the last label not all digits (so no IP address)."""
    labels = text.split(".")
    return (len(text) <= 253 and all(_LABEL.match(label) for label in labels)
            and not labels[-1].isdigit())


def check_pattern(pattern: str) -> str:
    """``pattern`` in lower case, or :class:`ValueError` saying what a host pattern must be."""
    lowered = pattern.lower()
    if lowered.startswith("*."):
        domain = lowered[2:]
        if not _domain(domain) or "." not in domain:
            raise ValueError(f"{pattern!r} is not a host pattern: after '*.' comes a domain of at least "
                             "two labels, such as '*.example.com'")
        return lowered
    if not _domain(lowered):
        raise ValueError(f"{pattern!r} is not a host pattern: give a host name such as 'api.example.com' "
                         "or '*.' and a domain")
    return lowered


def parse_services(data: bytes, source: str, *, providers: Sequence[str],
                   policies: Sequence[str]) -> tuple[KnownService, ...]:
    """The entries of a services file; :class:`InputError` (one sentence naming ``source``) for
    anything that is not exactly the documented format, or that names a provider not in
    ``providers`` or a policy not in ``policies``."""
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise InputError(f"{source} is not valid TOML ({e})") from None
    unknown = sorted(set(doc) - {"service"})
    if unknown:
        raise InputError(f"{source} has unknown keys at the top: {', '.join(unknown)} (only [[service]] entries)")
    entries = doc.get("service", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise InputError(f"{source}: service must be an array of tables ([[service]])")
    seen: dict[str, str] = {}
    out: list[KnownService] = []
    for i, entry in enumerate(entries, 1):
        where = f"{source}: [[service]] {i}"
        if extra := sorted(set(entry) - _KEYS):
            raise InputError(f"{where} has unknown keys: {', '.join(extra)}")
        if missing := [k for k in _REQUIRED if k not in entry]:
            raise InputError(f"{where} lacks {', '.join(missing)}")
        for key in ("name", "provider", "policy", "about"):
            value = entry.get(key, "")
            if not isinstance(value, str) or (key != "about" and not value.strip()) or \
                    not value.isprintable():
                raise InputError(f"{where}: {key} must be a non-empty printable string on one line"
                                 if key != "about" else f"{where}: about must be a printable string on one line")
        name = entry["name"]
        where = f"{source}: service {name!r}"
        if entry["provider"] not in providers:
            raise InputError(f"{where} names the provider {entry['provider']!r}, which is not registered "
                             f"(the providers are {', '.join(providers)})")
        if entry["policy"] not in policies:
            raise InputError(f"{where} names the policy {entry['policy']!r}, which is not built in "
                             f"(the built-in policies are {', '.join(policies)})")
        hosts = entry["hosts"]
        if not isinstance(hosts, list) or not hosts or not all(isinstance(h, str) for h in hosts):
            raise InputError(f"{where}: hosts must be a non-empty list of host patterns")
        patterns: list[str] = []
        for host in hosts:
            try:
                pattern = check_pattern(host)
            except ValueError as e:
                raise InputError(f"{where}: {e}") from None
            if pattern in seen:
                raise InputError(f"{where} lists {pattern!r}, which service {seen[pattern]!r} lists already")
            seen[pattern] = name
            patterns.append(pattern)
        out.append(KnownService(name, tuple(patterns), entry["provider"], entry["policy"], entry.get("about", "")))
    return tuple(out)


@cache
def known_services() -> tuple[KnownService, ...]:
    """The packaged ``services.toml``, read once."""
    from enclave_chat.paths import builtin_policy_names
    from verifier.files import read_file
    from verifier.providers.registry import provider_names

    data = read_file(SERVICES_FILE, MAX_SERVICES_BYTES, "services file")
    return parse_services(data, SERVICES_FILE.name, providers=provider_names(),
                          policies=builtin_policy_names())


def match(host: str, services: Sequence[KnownService]) -> tuple[KnownService, str] | None:
    """The entry for ``host`` and the pattern that matched it: an exact host first, else the
    ``*.domain`` with the longest domain that ``host`` is under (not the domain itself); case and
    a trailing dot do not matter. None when no entry matches."""
    host = host.lower().rstrip(".")
    if not host:
        return None
    best: tuple[KnownService, str] | None = None
    for service in services:
        for pattern in service.hosts:
            if pattern == host:
                return service, pattern
            if pattern.startswith("*.") and host.endswith(pattern[1:]) and \
                    (best is None or len(pattern) > len(best[1])):
                best = service, pattern
    return best


@dataclass(frozen=True)
class Choice:
    """What a command speaks to a service with: ``policy`` (a ``--policy`` argument, or None for
    the default), ``provider`` (None: the policy's ``[service] provider``), and the known service
    that gave them (None when the command line's flags stand as given)."""

    policy: str | None
    provider: str | None
    known: KnownService | None = None
    host: str = ""
    pattern: str = ""

    def note(self) -> str:
        """The stderr line that says which known service was used, and for which host."""
        if self.known is None:
            return ""
        return (f"known service: {self.known.name} ({self.host} matches {self.pattern}): "
                f"--provider {self.known.provider} --policy {self.known.policy} "
                "(`enclave-chat services` lists them; --policy overrides)")


def choose(url: str | None, *, policy: str | None, provider: str | None,
           services: Sequence[KnownService] | None = None) -> Choice:
    """The rule of docs/cli.md, "Known services": a known service is used when no ``--policy`` is
    given and ``--provider``, if given, is the service's own; it gives its policy and provider.
    Otherwise (an explicit policy, another provider, no URL, a host no entry matches) the flags
    stand as given: no policy is the default policy, no provider is the policy's own."""
    if policy is not None or not url:
        return Choice(policy, provider)
    from verifier.urls import url_host

    host = url_host(url)
    found = match(host, known_services() if services is None else services) if host else None
    if found is None or provider not in (None, found[0].provider):
        return Choice(policy, provider)
    known, pattern = found
    return Choice(known.policy, known.provider, known, host or "", pattern)


def resolve(url: str | None, *, policy: str | None, provider: str | None) -> tuple[Policy, str | None]:
    """What ``verify``, ``ask`` and ``proxy`` speak to ``url`` with: :func:`choose`, one stderr line
    when a known service was used, and the policy loaded as ``--policy`` is (a usage error for a
    broken one). The provider is None when the policy's own ``[service] provider`` decides."""
    from enclave_chat.arguments import load_policy_arg
    from enclave_chat.output import say

    choice = choose(url, policy=policy, provider=provider)
    if choice.known is not None:
        say(choice.note())
    return load_policy_arg(choice.policy), choice.provider
