"""The ``[tinfoil]`` policy table (docs/tinfoil.md, policies/tinfoil.toml), read and checked once.

========================  ===================================  ===========================================
key                       default                              meaning
========================  ===================================  ===========================================
``repos``                 ``{}``                               host -> ``OWNER/NAME`` of the code repository
                                                               whose releases that enclave must run
``discovery``             ``""``                               URL of a router's ``/.well-known/tinfoil-proxy``
                                                               document, for hosts ``repos`` does not name
``allowed_repos``         ``["tinfoilsh/*"]``                  glob patterns a discovered repository must match
``release_source``        ``"github"``                         ``"github"``: GitHub's own API and downloads;
                                                               ``"proxy"``: ``release_proxy``; ``"demo"``:
                                                               INSECURE DEMO, the native DSSE release
``release_proxy``         ``""``                               base URL of a GitHub proxy (``"proxy"`` only)
``workflow``              tagged workflow of the repository    regular expression for the Build Config URI;
                                                               ``{repo}`` stands for the escaped repository
``hardware_repo``         ``"tinfoilsh/hardware-measurements"`` where TDX MRTD/RTMR0 values are released
``tls_binding``           ``"required"``                       ``"off"``: no TLS (loopback demo policies only)
``freshness_max_age_``    ``604800`` (7 days)                  current layout: the reference values' freshness
``seconds``                                                    witnesses may be this old; the deadline is the
                                                               earliest witness time plus this
``require_endorsed_``     ``true``                             current layout: the CPU's machine id (SEV-SNP
``machine``                                                    CHIP_ID, TDX PPID) must be in the signed platform
                                                               endorsements' ``machines``
``machines``              absent (any)                         current layout: an allow-list; the machine id
                                                               (lowercase hex) must also be one of these
========================  ===================================  ===========================================
"""

from __future__ import annotations

import fnmatch
import re
import urllib.parse
from dataclasses import dataclass, field

from verifier.appraisal.policy import Policy, Section
from verifier.errors import PolicyError
from verifier.urls import is_loopback_host

KEYS = ("repos", "discovery", "allowed_repos", "release_source", "release_proxy", "workflow",
        "hardware_repo", "tls_binding", "freshness_max_age_seconds", "require_endorsed_machine", "machines")
FRESHNESS_MAX_AGE = 7 * 24 * 3600
"""Seconds: the Go SDK's default maximum age of a freshness witness (``MaxFreshnessAge``)."""
_MACHINE_ID = re.compile(r"\A(?:[0-9a-f]{128}|[0-9a-f]{32})\Z")
"""A SEV-SNP CHIP_ID (64 bytes) or a TDX PPID (16 bytes), lowercase hex."""
RELEASE_SOURCES = ("github", "proxy", "demo")
TLS_BINDINGS = ("required", "off")
GITHUB_API = "https://api.github.com"
GITHUB_DOWNLOADS = "https://github.com"
DEFAULT_WORKFLOW = r"https://github\.com/{repo}/\.github/workflows/[^/@]+@refs/tags/[^/@]+"
HARDWARE_REPO = "tinfoilsh/hardware-measurements"
_REPO = re.compile(r"\A[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+\Z")


def _url(value: str, key: str, *, allow_loopback_http: bool = True) -> str:
    parts = urllib.parse.urlsplit(value)
    host = (parts.hostname or "").lower()
    loopback = is_loopback_host(host)
    if parts.scheme == "https" and host:
        return value.rstrip("/")
    if parts.scheme == "http" and loopback and allow_loopback_http:
        return value.rstrip("/")
    raise PolicyError(f"policy [tinfoil] {key} {value!r} must be an https URL (http only to loopback)")


def _repo(value: object, where: str) -> str:
    if not isinstance(value, str) or not _REPO.match(value):
        raise PolicyError(f"policy [tinfoil] {where} must be OWNER/NAME, not {value!r}")
    return value


@dataclass(frozen=True)
class TinfoilPolicy:
    """``[tinfoil]``, typed (see the module docstring for each key)."""

    repos: dict[str, str] = field(default_factory=dict)
    discovery: str | None = None
    allowed_repos: tuple[str, ...] = ("tinfoilsh/*",)
    release_source: str = "github"
    release_proxy: str | None = None
    workflow: str = DEFAULT_WORKFLOW
    hardware_repo: str = HARDWARE_REPO
    tls_binding: str = "required"
    freshness_max_age: int = FRESHNESS_MAX_AGE
    require_endorsed_machine: bool = True
    machines: tuple[str, ...] = ()

    @classmethod
    def from_policy(cls, policy: Policy) -> TinfoilPolicy:
        s = policy.section("tinfoil")
        s.only(*KEYS)
        repos_table = Section("tinfoil.repos", s.get("repos", dict, {}))
        repos = {host.lower(): _repo(value, f"repos.{host}") for host, value in repos_table.values.items()}
        discovery = s.get("discovery", str, "") or None
        if discovery is not None:
            discovery = _url(discovery, "discovery")
        allowed = tuple(s.str_list("allowed_repos", ["tinfoilsh/*"]))
        source = s.choice("release_source", RELEASE_SOURCES, "github")
        proxy = s.get("release_proxy", str, "") or None
        if proxy is not None:
            proxy = _url(proxy, "release_proxy")
        if source == "proxy" and proxy is None:
            raise PolicyError('policy [tinfoil] release_source = "proxy" needs release_proxy, the proxy\'s base URL')
        if source != "proxy" and proxy is not None:
            raise PolicyError('policy [tinfoil] release_proxy is used only with release_source = "proxy"')
        workflow = s.get("workflow", str, DEFAULT_WORKFLOW)
        try:
            re.compile(workflow.replace("{repo}", "owner/name"))
        except re.error as e:
            raise PolicyError(f"policy [tinfoil] workflow is not a regular expression: {e}") from None
        hardware = _repo(s.get("hardware_repo", str, HARDWARE_REPO), "hardware_repo")
        tls = s.choice("tls_binding", TLS_BINDINGS, "required")
        loopback_demo = policy.demo and policy.section("service").get("loopback_only", bool, False)
        if source == "demo" and not loopback_demo:
            raise PolicyError('policy [tinfoil] release_source = "demo" (INSECURE DEMO) needs a demo policy '
                              "that accepts only loopback services ([service] demo_roots and loopback_only)")
        if tls == "off" and not loopback_demo:
            raise PolicyError('policy [tinfoil] tls_binding = "off" is for loopback demo policies only '
                              "([service] demo_roots and loopback_only): a real service must prove its TLS key")
        max_age = s.get("freshness_max_age_seconds", int, FRESHNESS_MAX_AGE)
        if not 0 < max_age <= 366 * 24 * 3600:
            raise PolicyError(f"policy [tinfoil] freshness_max_age_seconds must be between 1 and a year, not {max_age}")
        endorsed = s.get("require_endorsed_machine", bool, True)
        machines = tuple(s.allow_list("machines", "lowercase hex machine id") or ())
        bad = [m for m in machines if not _MACHINE_ID.match(m)]
        if bad:
            raise PolicyError(f"policy [tinfoil] machines must be lowercase hex SEV-SNP CHIP_IDs (128 digits) or "
                              f"TDX PPIDs (32 digits), not {bad[0][:40]!r}")
        return cls(repos, discovery, allowed, source, proxy, workflow, hardware, tls, max_age, endorsed, machines)

    # -- derived -----------------------------------------------------------------------------------
    @property
    def api_base(self) -> str:
        """Where ``/repos/{repo}/releases/latest`` and ``/repos/{repo}/attestations/...`` are asked."""
        return self.release_proxy or GITHUB_API

    @property
    def download_base(self) -> str:
        """Where ``/{repo}/releases/download/{tag}/tinfoil.hash`` is fetched."""
        return self.release_proxy or GITHUB_DOWNLOADS

    def workflow_for(self, repo: str) -> str:
        return self.workflow.replace("{repo}", re.escape(repo))

    def repo_allowed(self, repo: str) -> bool:
        return bool(_REPO.match(repo)) and any(fnmatch.fnmatchcase(repo, p) for p in self.allowed_repos)
