"""The registry of evidence kinds: every kind of evidence this verifier appraises, named once.

An :class:`EvidenceKind` says what the rest of the project needs to know of a kind, by *targets*
(``"module:attribute"`` strings, imported only when used, so that naming a kind costs nothing):

- ``table`` / ``rules``: the policy table its rules read, and the callable (``Policy -> object``)
  that parses and checks that table once (a :class:`~verifier.errors.PolicyError` on a bad one);
- ``files`` / ``options``: the offline appraiser behind ``enclave-chat evidence verify KIND``
  (``OfflineOptions -> AttestationResult``) and the :class:`~verifier.appraisal.offline.OfflineOptions`
  fields it reads (any other option is refused);
- ``inspectors``: ``(rank, detect, decode)`` triples for ``evidence inspect`` (raw bytes ->
  bool, raw bytes -> dict), tried in rank order across all kinds;
- ``cpu``: for a CPU platform that a bundle may carry, the callable that appraises that CPU's
  report (:class:`~verifier.appraisal.cpu.CpuAppraisal`) and ``release_entry``, the callable that
  reads one release-statement entry of this platform as the bytes a launch measurement is
  compared as.

The vendor kinds register here; a provider's own kinds register from its package
(:mod:`verifier.providers.registry` loads those). docs/architecture.md has the recipe.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from verifier.errors import InputError


@dataclass(frozen=True)
class EvidenceKind:
    name: str
    """The name on the command line and in results (``sev-snp``)."""
    summary: str
    table: str | None = None
    rules: str | None = None
    files: str | None = None
    options: frozenset[str] = frozenset()
    inspectors: tuple[tuple[int, str, str], ...] = ()
    cpu: str | None = None
    release_entry: str | None = None
    provider: str | None = None
    """The provider whose package registered this kind (None: a vendor kind)."""


def load(target: str) -> Any:
    """The attribute a ``"module:attribute"`` target names (dots after the colon walk attributes)."""
    module_name, _, attr = target.partition(":")
    value: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        value = getattr(value, part)
    return value


class Named(Protocol):
    @property
    def name(self) -> str: ...


T = TypeVar("T", bound=Named)


class Registry(Generic[T]):
    """Named entries in registration order (the kind registry here, the provider registry in
    :mod:`verifier.providers.registry`)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.entries: dict[str, T] = {}

    def register(self, entry: T) -> T:
        """Add ``entry``; the same name twice with different contents is a programming error."""
        known = self.entries.get(entry.name)
        if known is not None and known != entry:
            raise ValueError(f"{self.what} {entry.name!r} is registered twice")
        self.entries[entry.name] = entry
        return entry

    def unregister(self, name: str) -> None:
        """Remove an entry (tests that register a dummy clean up with this)."""
        self.entries.pop(name, None)


_REGISTRY: Registry[EvidenceKind] = Registry("evidence kind")
_KINDS = _REGISTRY.entries
register_kind = _REGISTRY.register
unregister_kind = _REGISTRY.unregister


def all_kinds() -> tuple[EvidenceKind, ...]:
    return tuple(_KINDS.values())


def kind_names(*, with_files: bool = False) -> tuple[str, ...]:
    """Registered kind names, in registration order; ``with_files``: those ``evidence verify`` takes."""
    return tuple(k.name for k in _KINDS.values() if k.files or not with_files)


def get_kind(name: str) -> EvidenceKind:
    kind = _KINDS.get(name)
    if kind is None:
        raise InputError(f"unknown evidence kind {name!r}; known: {', '.join(kind_names())}")
    return kind


def cpu_platforms() -> tuple[str, ...]:
    """The CPU platforms a native bundle may carry (kinds with a CPU appraiser)."""
    return tuple(k.name for k in _KINDS.values() if k.cpu)


def callable_of(target: str) -> Callable[..., Any]:
    func = load(target)
    if not callable(func):
        raise TypeError(f"{target} is not callable")
    return func  # type: ignore[no-any-return]


# -- the vendor kinds ----------------------------------------------------------------------------
register_kind(EvidenceKind(
    "sev-snp", "an AMD SEV-SNP attestation report (or an Azure HCL report carrying one)",
    table="snp", rules="verifier.appraisal.sev_snp:SnpPolicy.from_policy",
    files="verifier.appraisal.sev_snp.files:appraise_files",
    options=frozenset({"certs", "crls", "nonce", "report_data"}),
    inspectors=((10, "verifier.evidence.sev_snp:is_report_sized", "verifier.evidence.inspect:snp_fields"),
                (30, "verifier.evidence.azure_hcl:is_hcl_report", "verifier.evidence.inspect:hcl_fields")),
    cpu="verifier.appraisal.cpu:appraise_snp_cpu",
    release_entry="verifier.reference.release:snp_entry"))
register_kind(EvidenceKind(
    "tdx", "an Intel TDX quote (v4 or v5) with its collateral",
    table="tdx", rules="verifier.appraisal.tdx:TdxPolicy.from_policy",
    files="verifier.appraisal.tdx.files:appraise_files",
    options=frozenset({"collateral", "nonce", "report_data"}),
    inspectors=((20, "verifier.evidence.inspect:is_hcl_tdx", "verifier.evidence.inspect:hcl_tdx_fields"),
                (40, "verifier.evidence.tdx:looks_like_quote", "verifier.evidence.inspect:tdx_fields")),
    cpu="verifier.appraisal.cpu:appraise_tdx_cpu",
    release_entry="verifier.reference.release:tdx_entry"))
register_kind(EvidenceKind(
    "nvidia-gpu", "NVIDIA GPU SPDM measurement reports with their device certificate chains",
    table="gpu", rules="verifier.appraisal.nvidia:GpuPolicy.from_policy",
    files="verifier.appraisal.nvidia.files:appraise_files",
    options=frozenset({"certs", "rims", "ocsp", "nonce"}),
    inspectors=((50, "verifier.evidence.nvidia:looks_binary", "verifier.evidence.inspect:nvidia_fields"),)))
register_kind(EvidenceKind(
    "azure-snp-vtpm", "an Azure SEV-SNP confidential VM's HCL report and vTPM quote (trustee's JSON or loose files)",
    table="azure", rules="verifier.appraisal.azure:AzurePolicy.from_policy",
    files="verifier.appraisal.azure.files:appraise_snp_files",
    options=frozenset({"certs", "crls", "nonce", "maa_token"}),
    cpu="verifier.appraisal.cpu:appraise_azure_snp_cpu", release_entry="verifier.reference.release:snp_entry"))
register_kind(EvidenceKind(
    "azure-tdx-vtpm", "an Azure TDX confidential VM's HCL report, TD quote and vTPM quote",
    table="azure", rules="verifier.appraisal.azure:AzurePolicy.from_policy",
    files="verifier.appraisal.azure.files:appraise_tdx_files",
    options=frozenset({"collateral", "nonce", "maa_token"}),
    cpu="verifier.appraisal.cpu:appraise_azure_tdx_cpu", release_entry="verifier.reference.release:tdx_entry"))
register_kind(EvidenceKind(
    "dstack", "a dstack TDX attestation: TD quote, event log replayed to RTMR0-3, app compose (dstack's JSON forms)",
    table="dstack", rules="verifier.appraisal.dstack:DstackPolicy.from_policy",
    files="verifier.appraisal.dstack.files:appraise_files", options=frozenset({"collateral", "nonce", "report_data"})))
