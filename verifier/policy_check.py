"""Check a whole policy when it is loaded, so that a misspelt rule fails at once (exit 2), not
halfway through an appraisal. The tables are those the registries name (each kind's and each
provider's, read by the module that uses it) plus ``[service]`` and ``[release]``. A table the
policy does not have holds only its defaults, which every appraisal uses, so only the tables it
has are read (and only their modules loaded)."""

from __future__ import annotations

from verifier import kinds
from verifier.appraisal.policy import Policy
from verifier.errors import PolicyError
from verifier.providers import registry

COMMON_TABLES = ("service", "release")
SERVICE_KEYS = ("loopback_only", "demo_roots", "max_age_seconds", "allow_remote_upstream",
                "allow_plain_http", "provider")
RELEASE_KEYS = ("publisher_keys", "min_version", "images", "log")


def policy_tables() -> tuple[str, ...]:
    """Every table a policy may have."""
    return (*COMMON_TABLES, *registry.policy_tables())


def policy_provider(policy: Policy) -> str:
    """The wire profile a policy is written for (``[service] provider``, default the registry's)."""
    return policy.section("service").choice("provider", registry.provider_names(), registry.DEFAULT)


def check_policy(policy: Policy) -> Policy:
    """Raise :class:`PolicyError` for an unknown table or key, or a value of the wrong type."""
    from verifier.errors import ParseError
    from verifier.reference.release import version_tuple

    tables = registry.policy_tables()
    unknown = sorted(set(policy.tables) - set(COMMON_TABLES) - set(tables))
    if unknown:
        raise PolicyError(f"policy {policy.name!r} has unknown tables: {', '.join(unknown)}")
    service = policy.section("service")
    service.only(*SERVICE_KEYS)
    if service.get("max_age_seconds", int, 600) <= 0:
        raise PolicyError("policy [service] max_age_seconds must be positive")
    for key in ("loopback_only", "demo_roots", "allow_remote_upstream", "allow_plain_http"):
        service.get(key, bool, False)
    policy_provider(policy)
    for table, rules in tables.items():
        if rules is not None and table in policy.tables:
            kinds.callable_of(rules)(policy)
    release = policy.section("release")
    release.only(*RELEASE_KEYS)
    keys = release.str_list("publisher_keys")
    if keys:
        from verifier.reference.dsse import load_ed25519_public

        for key in keys:
            load_ed25519_public(key)
    try:
        version_tuple(release.get("min_version", str, "0"))
    except ParseError as e:
        raise PolicyError(f"policy [release] min_version: {e}") from None
    release.str_list("images")
    if "log" in release.values:  # the release appraisal is loaded only for a policy that names a log
        from verifier.appraisal.release import LogPolicy

        LogPolicy.from_section(release, policy)
    return policy
