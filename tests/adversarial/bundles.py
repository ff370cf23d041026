"""A real evidence bundle from the reference enclave (no transparency log), made once, and a demo
policy under which it verifies: the base that the parse and fuzz tests mutate."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path

from enclave.app import Enclave, Settings
from verifier.appraisal.policy import Policy, parse_policy

ROOT = Path(__file__).resolve().parents[2]
SERVICE = "http://127.0.0.1:8700"


@dataclass(frozen=True)
class Base:
    bundle: bytes
    nonce: bytes
    at: dt.datetime
    policy: Policy


def no_log_demo_policy() -> Policy:
    """The demo policy without its ``[release.log]`` table: a bundle made without a log verifies."""
    text = (ROOT / "policies" / "demo.toml").read_text()
    start, end = text.index("[release.log]"), text.index("[tinfoil]")
    return parse_policy((text[:start] + text[end:]).encode(), "demo-without-log")


@functools.cache
def base() -> Base:
    nonce = bytes(range(32))
    at = dt.datetime.now(dt.UTC)
    data = Enclave(Settings(transparency=False, evidence_lifetime=dt.timedelta(days=1))).bundle(nonce)
    return Base(data, nonce, at, no_log_demo_policy())
