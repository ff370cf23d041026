"""The current layout's reference values besides the release: the platform-endorsements artifact
(validated fail-closed, as the Go SDK does), the machine allow-list and the freshness deadline as
policy checks, and the ``[tinfoil]`` keys that set them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from verifier.appraisal.policy import parse_policy
from verifier.errors import ParseError, PolicyError
from verifier.providers.tinfoil import checks as ids
from verifier.providers.tinfoil import reference as ref
from verifier.providers.tinfoil.rules import FRESHNESS_MAX_AGE, TinfoilPolicy
from verifier.result import Status

CHIP = "ab" * 64
PPID = "cd" * 16
REG = "00" * 48
AT = dt.datetime(2026, 7, 1, tzinfo=dt.UTC)


def artifact(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "format": ref.PLATFORM_PREDICATE,
        "measurements": {"medium": {"mrtd": REG, "rtmr0": "11" * 48}},
        "machines": {CHIP: "genoa", PPID: "tdx-medium"},
        "policies": {"genoa": {"platform": "sev-snp", "sev_snp": {}},
                     "tdx-medium": {"platform": "tdx", "tdx": {"platform_measurements": ["medium"]}}},
    }
    doc.update(changes)
    return doc


def policy(**keys: Any) -> TinfoilPolicy:
    body = "".join(f"{k} = {v}\n" for k, v in keys.items())
    return TinfoilPolicy.from_policy(parse_policy(f'name = "t"\n[tinfoil]\n{body}'.encode()))


def endorsements(doc: dict[str, Any] | None = None) -> ref.PlatformEndorsements:
    machines, platforms, measurements = ref.parse_platform_endorsements(doc or artifact())
    return ref.PlatformEndorsements(machines, platforms, measurements, ref.Artifact(None, None, None, None, "00" * 32))


def test_a_well_formed_artifact() -> None:
    machines, platforms, measurements = ref.parse_platform_endorsements(artifact())
    assert machines == {CHIP: "genoa", PPID: "tdx-medium"}
    assert platforms == {"genoa": "sev-snp", "tdx-medium": "tdx"}
    assert measurements["medium"] == (bytes(48), bytes([0x11]) * 48)


@pytest.mark.parametrize(("changes", "why"), [
    ({"format": "https://tinfoil.sh/predicate/other/v1"}, "format"),
    ({"extra": {}}, "unknown members"),
    ({"machines": {CHIP: "missing"}}, "unknown policy"),
    ({"machines": {CHIP.upper(): "genoa"}}, "lowercase hex"),
    ({"machines": {PPID: "genoa"}}, "128 lowercase hex"),
    ({"policies": {"genoa": {"platform": "sev-snp", "tdx": {}}}, "machines": {}}, "exactly the sev_snp block"),
    ({"policies": {"x": {"platform": "nitro"}}, "machines": {}}, "no supported platform"),
    ({"measurements": {"m": {"mrtd": "00"}}}, "mrtd/rtmr0"),
])
def test_a_malformed_artifact_is_refused(changes: dict[str, Any], why: str) -> None:
    with pytest.raises(ParseError, match=why):
        ref.parse_platform_endorsements(artifact(**changes))


def test_the_machine_allow_list() -> None:
    e = endorsements()
    default = policy()
    assert default.require_endorsed_machine and default.machines == () and default.freshness_max_age == FRESHNESS_MAX_AGE
    assert ref.machine_check(bytes.fromhex(CHIP), "sev-snp", e, default).status is Status.PASS
    assert ref.machine_check(bytes.fromhex(PPID), "tdx", e, default).status is Status.PASS
    refused = ref.machine_check(bytes(64), "sev-snp", e, default)
    assert refused.id == ids.MACHINE and refused.status is Status.FAIL and "not endorsed" in refused.detail
    assert ref.machine_check(bytes.fromhex(PPID), "sev-snp", e, default).status is Status.FAIL  # a TDX policy
    # the policy's own list narrows the endorsed machines further, or alone decides
    narrow = policy(machines=f'["{"ef" * 64}"]')
    assert ref.machine_check(bytes.fromhex(CHIP), "sev-snp", e, narrow).status is Status.FAIL
    alone = policy(require_endorsed_machine="false", machines=f'["{"00" * 64}"]')
    assert ref.machine_check(bytes(64), "sev-snp", None, alone).status is Status.PASS
    off = ref.machine_check(bytes(64), "sev-snp", None, policy(require_endorsed_machine="false"))
    assert off.status is Status.SKIP and not off.required
    # nothing to look up in: a required skip
    assert ref.machine_check(None, "sev-snp", e, default).required
    assert ref.machine_check(bytes.fromhex(CHIP), "sev-snp", None, default).status is Status.SKIP


def test_the_platform_measurement() -> None:
    e = endorsements()
    check, name = ref.platform_measurement_check(e, bytes(48), bytes([0x11]) * 48)
    assert check.status is Status.PASS and name == "medium"
    check, name = ref.platform_measurement_check(e, bytes(48), bytes(48))
    assert check.status is Status.FAIL and name is None


def test_the_freshness_deadline() -> None:
    week = policy()
    code, platform = AT - dt.timedelta(days=1), AT - dt.timedelta(days=3)
    check, deadline = ref.deadline_check([code, platform], at=AT, tinfoil=week)
    assert check.status is Status.PASS and deadline == platform + dt.timedelta(days=7)  # the earlier witness
    check, _ = ref.deadline_check([code, platform], at=platform + dt.timedelta(days=7), tinfoil=week)
    assert check.status is Status.FAIL  # at the deadline, no longer
    check, _ = ref.deadline_check([code, platform], at=AT, tinfoil=policy(freshness_max_age_seconds=3600))
    assert check.status is Status.FAIL
    check, deadline = ref.deadline_check([code, None], at=AT, tinfoil=week)
    assert check.status is Status.SKIP and check.required and deadline is None


def test_witness_endorsement_is_compared_field_by_field() -> None:
    a = ref.Artifact("tinfoilsh/x", "v1", "c" * 40, "tinfoil-deployment.json", "ab" * 32)
    good = {"format": ref.FRESHNESS_PREDICATE, "endorses": {"repo": "tinfoilsh/x", "tag": "v1", "commit": "c" * 40,
                                                              "subject": {"name": "tinfoil-deployment.json",
                                                                          "digest": "sha256:" + "ab" * 32}}}
    assert ref._endorses(good, a) is None
    for key, value in (("repo", "tinfoilsh/y"), ("tag", "v2"), ("commit", "d" * 40)):
        assert ref._endorses({**good, "endorses": {**good["endorses"], key: value}}, a)
    assert ref._endorses({**good, "endorses": {**good["endorses"], "subject": {"name": "x", "digest": "sha256:" + "ab" * 32}}}, a)
    assert ref._endorses({**good, "format": "other"}, a)


def test_missing_reference_values_are_failures_not_crashes() -> None:
    check, found = ref.sigstore_platform(None, trusted_root=None)
    assert check.id == ids.PLATFORM_ENDORSEMENTS and check.status is Status.FAIL and found is None
    a = ref.Artifact("r/x", "v1", None, None, "00" * 32)
    check, when = ref.sigstore_witness(ids.FRESHNESS_CODE, None, a, what="code release", trusted_root=None, at=AT,
                                       tinfoil=policy())
    assert check.status is Status.FAIL and when is None
    check, when = ref.sigstore_witness(ids.FRESHNESS_CODE, b"{}", None, what="code release", trusted_root=None, at=AT,
                                       tinfoil=policy())
    assert check.status is Status.SKIP and check.required
    check, when = ref.sigstore_witness(ids.FRESHNESS_CODE, b'{"mediaType": "x"}', a, what="code release",
                                       trusted_root=None, at=AT, tinfoil=policy())
    assert check.status is Status.FAIL and "does not verify" in check.detail


@pytest.mark.parametrize(("body", "why"), [
    ("freshness_max_age_seconds = 0", "between 1 and a year"),
    ("freshness_max_age_seconds = true", "freshness_max_age_seconds"),
    ('machines = ["AB"]', "lowercase hex"),
    (f'machines = ["{"ab" * 20}"]', "lowercase hex"),
    ('require_endorsed_machine = "yes"', "require_endorsed_machine"),
    ("machines = []", "an empty list allows nothing"),
])
def test_the_new_policy_keys_are_checked(body: str, why: str) -> None:
    with pytest.raises(PolicyError, match=why):
        TinfoilPolicy.from_policy(parse_policy(f'name = "t"\n[tinfoil]\n{body}\n'.encode()))
