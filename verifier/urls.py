"""The one URL rule: which host a URL really connects to, whether that is loopback, and whether a
policy accepts a service URL (``service.url``).

httpx (which sends every request) and urllib (which most checks read URLs with) must read a URL
the same way before any decision is taken on it: a URL they read differently is refused.
"""

from __future__ import annotations

import ipaddress
import urllib.parse

from verifier import service_checks
from verifier.appraisal.policy import Policy
from verifier.result import Check, failed, passed


def is_loopback_host(host: str) -> bool:
    """A loopback IP literal, or exactly ``localhost``. Names *under* ``.localhost`` are not taken
    on trust: RFC 6761 asks resolvers to keep them on loopback, but a system resolver may send
    them to DNS, where whoever answers can point them anywhere (a demo policy, whose roots' private
    keys are public, would then accept a remote forger)."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_host(url: str) -> str | None:
    """The host ``url`` connects to, or None when it is not a plain absolute URL that both
    ``urllib`` and ``httpx`` (which sends the requests) read the same way."""
    import httpx  # here, not above: a policy check that reads no URL loads no HTTP client

    try:
        parsed = httpx.URL(url)
        port = parsed.port
        other = urllib.parse.urlsplit(url)
        other_port = other.port
    except (httpx.InvalidURL, ValueError, TypeError):
        return None
    host = parsed.host.lower()
    if not host or host != (other.hostname or "").lower() or port != other_port:
        return None
    if port is not None and not 1 <= port <= 65535:
        return None
    return host


def check_service_url(url: str, policy: Policy, *, proxied: bool = False) -> Check:
    """``service.url``: whether the policy accepts talking to this URL at all. ``proxied``: the
    connection goes through an HTTP proxy, so it is never a loopback connection, whatever the URL
    says (the loopback-only rule and plain http to loopback then fail)."""
    section = policy.section("service")
    host = url_host(url)
    scheme = urllib.parse.urlsplit(url).scheme.lower() if host else ""
    if host is None or scheme not in ("http", "https"):
        return failed(service_checks.SERVICE_URL, f"{url!r} is not an http(s) URL with a host and a valid port.")
    if "@" in url.split("//", 1)[-1].split("/", 1)[0] or "?" in url or "#" in url:
        return failed(service_checks.SERVICE_URL, "The service URL carries a user name, a query or a fragment; give the service's plain URL (credentials are never sent or shown).")
    through = f"the connection to {host} goes through a proxy, so it is not a loopback connection"
    if section.get("loopback_only", bool, False):
        if not is_loopback_host(host):
            return failed(service_checks.SERVICE_URL, f"Policy {policy.name!r} trusts INSECURE demo roots and only accepts loopback services (a loopback IP address or localhost); {host} is not one.")
        if proxied:
            return failed(service_checks.SERVICE_URL, f"Policy {policy.name!r} trusts INSECURE demo roots and only accepts loopback services; {through}.")
    if scheme == "http" and not section.get("allow_plain_http", bool, False):
        if not is_loopback_host(host):
            return failed(service_checks.SERVICE_URL, f"{url} uses plain http to a remote host; use https (the attested channel does not hide which service you talk to).")
        if proxied:
            return failed(service_checks.SERVICE_URL, f"{url} uses plain http and {through}; use https, or connect without the proxy.")
    return passed(service_checks.SERVICE_URL, f"The policy accepts {scheme}://{host}.")


def is_loopback_url(url: str) -> bool:
    """True for an ``http(s)`` URL that httpx and urllib agree connects to a loopback host."""
    host = url_host(url)
    scheme = urllib.parse.urlsplit(url).scheme.lower() if host else ""
    return host is not None and scheme in ("http", "https") and is_loopback_host(host)
