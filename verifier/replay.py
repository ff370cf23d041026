"""Re-verify a recorded session offline: ``enclave-chat verify --replay DIR``.

A recording made with ``verify --save-evidence DIR`` holds ``manifest.json`` (provider, URL, nonce,
capture time) and ``attestation.json`` (the bytes served). Replay appraises those bytes with the
nonce they were made for, at the capture time unless ``at`` says otherwise, and never fetches:
collateral missing from the recording is ``skip``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from verifier.appraisal.native import appraise_native
from verifier.appraisal.policy import Policy
from verifier.endorsements.fetch import CollateralFetcher
from verifier.errors import InputError
from verifier.result import AttestationResult, parse_time

MAX_RECORDING_FILE = 4 * 1024 * 1024


def _read(path: Path) -> bytes:
    try:
        with path.open("rb") as f:
            data = f.read(MAX_RECORDING_FILE + 1)
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror or e}") from None
    if len(data) > MAX_RECORDING_FILE:
        raise InputError(f"{path} is larger than {MAX_RECORDING_FILE} bytes")
    return data


def load_manifest(directory: Path) -> dict[str, object]:
    try:
        manifest = json.loads(_read(directory / "manifest.json"))
    except ValueError:
        raise InputError(f"{directory}/manifest.json is not JSON") from None
    if not isinstance(manifest, dict):
        raise InputError(f"{directory}/manifest.json must be a JSON object")
    return manifest


def replay(directory: Path, *, policy: Policy, provider: str = "native",
           at: dt.datetime | None = None) -> AttestationResult:
    manifest = load_manifest(directory)
    recorded_provider = manifest.get("provider", "native")
    if recorded_provider != provider and provider != "native":
        raise InputError(f"the recording is of provider {recorded_provider!r}, not {provider!r}")
    if recorded_provider != "native":
        raise InputError(f"replaying {recorded_provider!r} recordings is not supported by this build yet")
    try:
        nonce = bytes.fromhex(str(manifest["nonce"]))
        when = at or parse_time(str(manifest["captured_at"]))
        url = str(manifest["url"])
    except (KeyError, ValueError):
        raise InputError(f"{directory}/manifest.json lacks a valid nonce, captured_at or url") from None
    offline = CollateralFetcher(directory / "collateral", offline=True)
    result, _ = appraise_native(_read(directory / "attestation.json"), nonce=nonce, policy=policy,
                                at=when, service_url=url, fetcher=offline)
    return result
