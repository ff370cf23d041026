"""Check a whole policy when it is loaded, so that a misspelt rule fails at once (exit 2), not
halfway through an appraisal. Each table is read by the module that uses it."""

from __future__ import annotations

from verifier.appraisal.policy import Policy
from verifier.errors import PolicyError

TABLES = ("service", "snp", "tdx", "gpu", "release", "tinfoil")
SERVICE_KEYS = ("loopback_only", "demo_roots", "max_age_seconds", "allow_remote_upstream",
                "allow_plain_http", "provider")
PROVIDERS = ("native", "tinfoil")


def policy_provider(policy: Policy) -> str:
    """The wire profile a policy is written for (``[service] provider``, default ``native``)."""
    return policy.section("service").choice("provider", PROVIDERS, "native")
RELEASE_KEYS = ("publisher_keys", "min_version", "images", "log")


def check_policy(policy: Policy) -> Policy:
    """Raise :class:`PolicyError` for an unknown table or key, or a value of the wrong type."""
    from verifier.appraisal.nvidia import GpuPolicy
    from verifier.appraisal.release import LogPolicy
    from verifier.appraisal.sev_snp import SnpPolicy
    from verifier.appraisal.tdx import TdxPolicy
    from verifier.errors import ParseError
    from verifier.providers.tinfoil_policy import TinfoilPolicy
    from verifier.reference.dsse import load_ed25519_public
    from verifier.reference.release import version_tuple

    unknown = sorted(set(policy.tables) - set(TABLES))
    if unknown:
        raise PolicyError(f"policy {policy.name!r} has unknown tables: {', '.join(unknown)}")
    service = policy.section("service")
    service.only(*SERVICE_KEYS)
    if service.get("max_age_seconds", int, 600) <= 0:
        raise PolicyError("policy [service] max_age_seconds must be positive")
    for key in ("loopback_only", "demo_roots", "allow_remote_upstream", "allow_plain_http"):
        service.get(key, bool, False)
    policy_provider(policy)
    SnpPolicy.from_policy(policy)
    TdxPolicy.from_policy(policy)
    GpuPolicy.from_policy(policy)
    TinfoilPolicy.from_policy(policy)
    release = policy.section("release")
    release.only(*RELEASE_KEYS)
    for key in release.str_list("publisher_keys"):
        load_ed25519_public(key)
    try:
        version_tuple(release.get("min_version", str, "0"))
    except ParseError as e:
        raise PolicyError(f"policy [release] min_version: {e}") from None
    release.str_list("images")
    if "log" in release.values:
        LogPolicy.from_section(release, policy)
    return policy
