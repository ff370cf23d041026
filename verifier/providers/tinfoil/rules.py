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
        "hardware_repo", "tls_binding")
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
        return cls(repos, discovery, allowed, source, proxy, workflow, hardware, tls)

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
