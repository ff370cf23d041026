"""What the proof panel, status line and refusal view say: pure functions over a result.

Kept apart from the widgets so that the wording can be tested without a terminal.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from verifier.errors import VerifierError
from verifier.providers.registry import get_spec
from verifier.release_pin import ReleaseSummary, claim, first_claim
from verifier.result import AttestationResult, Check, Status, iso
from verifier.text import one_line

DEMO_BANNER = ("INSECURE DEMO · simulated TEE under demo roots whose private keys are public · "
               "nothing here is protected by hardware")


class Phase(enum.StrEnum):
    IDLE = "idle"
    VERIFYING = "verifying"
    VERIFIED = "verified"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"
    ERROR = "error"
    CHANGED = "release changed"
    """Passed, under another release than the one accepted: held back until the user accepts."""


@dataclass(frozen=True)
class ProofState:
    """Everything the proof widgets show. ``phase`` is VERIFIED only for a passing result."""

    phase: Phase = Phase.IDLE
    url: str = ""
    policy: str = ""
    demo: bool = False
    steps: tuple[str, ...] = ()
    result: AttestationResult | None = None
    valid_until: dt.datetime | None = None
    message: str = ""
    attestations: int = 0
    note: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def verified(self) -> bool:
        return self.phase is Phase.VERIFIED and self.result is not None and self.result.verified


MARK = {Status.PASS: "✓", Status.FAIL: "✗", Status.SKIP: "–"}


def short(value: object, n: int = 16) -> str:
    text = str(value)
    return text if len(text) <= n else text[:n] + "…"


def hhmmss(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%H:%M:%SZ")


def _tcb_text(value: Any) -> str | None:
    if isinstance(value, Mapping):
        parts = [f"{k} {v}" for k, v in value.items() if k not in ("raw",) and isinstance(v, int)]
        return ", ".join(parts) or None
    return None if value is None else str(value)


def transport_text(result: AttestationResult) -> str | None:
    """What the channel of the result's provider can tell about a reply (the registry says
    whether its transport detects truncation); None when the result names no known provider."""
    try:
        spec = get_spec(result.provider) if result.provider else None
    except VerifierError:
        spec = None
    if spec is None:
        return None
    if spec.truncation_detectable:
        return f"{spec.name}: a reply cut short is detected"
    return f"{spec.name}: cannot detect a reply cut short"


def summary_rows(result: AttestationResult, valid_until: dt.datetime | None) -> list[tuple[str, str]]:
    """Label and value for each fact the issue asks the panel to show, as far as the result has it."""
    c = result.claims
    cpu = c.get("cpu") or {}
    release = c.get("release") or {}
    parse = result.check("bundle.parse")
    platform = first_claim(cpu, ("platform",), ("product",))
    if platform is None and parse is not None and parse.status is Status.PASS:
        platform = parse.detail.split(",")[1].strip().removesuffix(" CPU evidence") if "," in parse.detail else None
    product = claim(cpu, "product")
    rows: list[tuple[str, str]] = [("Policy", f"{result.policy.name} ({result.policy.sha256[:12]})")]
    if platform:
        rows.append(("Platform", f"{platform}{f' ({product})' if product and product != platform else ''}"))
    tcb = _tcb_text(first_claim(cpu, ("tcb", "reported"), ("reported_tcb",), ("tcb",), ("current_tcb",)))
    if tcb:
        rows.append(("TCB", tcb))
    gpus = c.get("gpus")
    if isinstance(gpus, dict):  # the GPU appraisal's claims: {"count": n, "gpus": [...]}
        gpus = gpus.get("gpus")
    rows.append(("GPUs", f"{len(gpus)} attested" if isinstance(gpus, list | tuple) and gpus else "none attested"))
    measurement = first_claim(cpu, ("measurement",))
    if measurement:
        rows.append(("Measurement", short(measurement, 24)))
    image = first_claim(release, ("image",), ("statement", "image"))
    if image:
        rows.append(("Image", short(image, 24)))
    version = first_claim(release, ("version",), ("statement", "version"))
    if version:
        rows.append(("Release", str(version)))
    log_index = first_claim(release, ("log", "index"), ("log_index",))
    if log_index is not None:
        rows.append(("Log index", str(log_index)))
    checkpoint = first_claim(release, ("log", "checkpoint"), ("checkpoint",), ("log", "size"))
    if checkpoint is not None:
        rows.append(("Checkpoint", short(checkpoint, 24)))
    key = c.get("key_config_sha256")
    if key:
        rows.append(("Key", "sha256:" + short(key, 16)))
    upstream = claim(c, "config", "upstream")
    if upstream:
        rows.append(("Prompts go to", short(upstream, 28)))
    transport = transport_text(result)
    if transport:
        rows.append(("Transport", transport))
    rows.append(("Verified at" if result.verified else "Checked at", iso(result.at)))
    if valid_until is not None:
        rows.append(("Valid until", iso(valid_until)))
    elif c.get("expires"):
        rows.append(("Evidence expires", str(c["expires"])))
    return rows


_REMEDIES: tuple[tuple[str, str], ...] = (
    ("service.url", "Check the URL, or choose a policy meant for this service (the demo policy accepts loopback only)."),
    ("bundle.fetch", "The service did not hand out evidence; it may not be a confidential service, or the URL is wrong."),
    ("bundle.parse", "The service's evidence is malformed; do not use it, and tell its operator."),
    ("bundle.nonce", "The evidence was not made for this request (replayed or stale); something between you and the service may be interfering. Try again later."),
    ("bundle.expires", "The service hands out expired evidence; its clock or configuration is wrong. Try again later."),
    ("snp.", "The CPU evidence does not hold; the service is not running where it claims, or its platform is not safe. Do not send it anything."),
    ("tdx.", "The CPU evidence does not hold; the service is not running where it claims, or its platform is not safe. Do not send it anything."),
    ("gpu.", "The GPU evidence does not hold; the model may run outside confidential computing. Do not send it anything."),
    ("release.log", "The release is not provably in the transparency log; try again, or check that the policy names the right log."),
    ("release.", "The service runs code that is not a release your policy trusts. Do not send it anything; check the policy's publisher and minimum version."),
    ("config.upstream", "The service forwards decrypted prompts outside the enclave; choose another service, or a policy that allows this on purpose."),
    ("channel.key_config", "The service's encryption key is not the one it attested; requests could be read outside the enclave. Do not use it."),
)


def remedy(check: Check | None) -> str:
    if check is None:
        return "Verify again, and look at the details for what is missing."
    for prefix, text in _REMEDIES:
        if check.id == prefix or check.id.startswith(prefix):
            return text
    if check.status is Status.SKIP:
        return "A required input was missing; verify again when the service or the network can provide it."
    return "Do not send this service anything until it verifies; the details screen shows every check."


def status_text(state: ProofState) -> str:
    """The one line at the bottom: what was verified, under which policy, and until when."""
    if state.phase is Phase.VERIFYING:
        step = state.steps[-1] if state.steps else "starting"
        return f"… verifying {state.url}: {step}"
    if state.phase is Phase.VERIFIED and state.result is not None:
        until = f" · until {hhmmss(state.valid_until)}" if state.valid_until else ""
        key = state.result.claims.get("key_config_sha256")
        key_text = f" · key {short(key, 12)}" if key else ""
        return (f"✓ VERIFIED {state.url} · policy {state.policy} · "
                f"{len(state.result.checks)} checks{key_text}{until}")
    if state.phase is Phase.REFUSED and state.result is not None:
        bad = state.result.first_failure
        return f"✗ REFUSED {state.url}: {bad.id if bad else 'not authentic'} · nothing was sent"
    if state.phase is Phase.CHANGED:
        return f"! RELEASE CHANGED {state.url} · nothing is sent until you accept it"
    if state.phase is Phase.UNREACHABLE:
        return f"✗ UNREACHABLE {state.url} · nothing was sent"
    if state.phase is Phase.ERROR:
        return f"✗ NOT VERIFIED {state.url} · nothing was sent"
    return "not verified yet"


@dataclass(frozen=True)
class SentUnder:
    """The attestation a message went under: what the transcript's marker says and what ``F2`` on
    the message shows. ``result`` is the result's JSON as ``verify --json`` prints it (from the
    session, or as the history keeps it: read it as text from outside); ``attestation_id`` and
    ``evidence`` (its kept recording) are None when no history is kept."""

    result: Mapping[str, Any]
    attestation_id: int | None = None
    evidence: Path | None = None
    conversation_id: str | None = None

    @property
    def release(self) -> ReleaseSummary:
        return ReleaseSummary.from_claims(self.result.get("claims"))

    @property
    def verified(self) -> bool:
        return self.result.get("verified") is True


def release_text(release: ReleaseSummary) -> str:
    """``release 0.1.0 · log 3``, else the measurement's start: one plain line, bounded."""
    parts: list[str] = []
    if release.version:
        parts.append(f"release {short(one_line(release.version), 20)}")
    elif release.measurement:
        parts.append(f"measurement {short(one_line(release.measurement), 12)}")
    elif release.image:
        parts.append(f"image {short(one_line(release.image), 19)}")
    if release.log_index is not None:
        parts.append(f"log {release.log_index}")
    return " · ".join(parts) or "no release named"


def marker_text(role: str, sent: SentUnder | None, *, unsent: bool = False) -> str:
    """The marker beside a message: the release it went to (``→``, a message of yours) or came
    from (``←``, a reply); or that nothing was sent, or that no attestation is recorded."""
    if unsent:
        return "not sent: the service no longer verified"
    if sent is None:
        return "no attestation recorded"
    arrow = "→" if role == "user" else "←"
    state = "" if sent.verified else "UNVERIFIED "
    return f"{arrow} {state}{release_text(sent.release)}"


def sent_rows(sent: SentUnder) -> list[tuple[str, str]]:
    """Label and value for each fact of the attestation a message went under (text from outside:
    one plain line each)."""
    doc = sent.result
    found = doc.get("policy")
    policy: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    release = sent.release
    rows: list[tuple[str, str]] = []
    if sent.attestation_id is not None:
        rows.append(("Attestation", f"#{sent.attestation_id} in the history"))
    rows.append(("Verified at" if sent.verified else "Checked at", one_line(str(doc.get("at", "")))))
    rows.append(("Policy", f"{one_line(str(policy.get('name', '')))} ({short(one_line(str(policy.get('sha256', ''))), 12)})"))
    if doc.get("provider"):
        rows.append(("Provider", one_line(str(doc["provider"]))))
    if doc.get("nonce"):
        rows.append(("Nonce", short(one_line(str(doc["nonce"])), 24)))
    if release.measurement:
        rows.append(("Measurement", short(one_line(release.measurement), 24)))
    if release.image:
        rows.append(("Image", short(one_line(release.image), 28)))
    if release.version:
        rows.append(("Release", short(one_line(release.version), 28)))
    if release.log_index is not None:
        rows.append(("Log index", str(release.log_index)))
    return rows
