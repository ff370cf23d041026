"""The reference enclave's current-layout documents (Tinfoil's v3 envelope, INSECURE DEMO roots),
each with one change, attested by the same Session code a live verification runs: each is refused
for its own check id, and nothing reaches the service's ``/v1``. The unchanged document verifies, its
checks in the catalogue's order."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.tinfoil.conftest import TinfoilEnclave
from verifier.appraisal.policy import Policy, parse_policy
from verifier.errors import NotVerified
from verifier.policy_check import check_policy
from verifier.providers.tinfoil import checks as ids
from verifier.result import AttestationResult, Status
from verifier.session import Session

pytestmark = pytest.mark.e2e

MEASUREMENT = slice(0x90, 0x90 + 48)  # SEV-SNP ATTESTATION_REPORT.MEASUREMENT (SEV-SNP ABI, Table 23)
Mutation = Callable[[dict[str, Any]], None]


@pytest.fixture(scope="module")
def server() -> Iterator[TinfoilEnclave]:
    with TinfoilEnclave() as s:
        yield s


def compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def section(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return json.loads(base64.b64decode(doc[name]))  # type: ignore[no-any-return]


def entry(doc: dict[str, Any], entry_id: str) -> dict[str, Any]:
    return next(e for e in doc["collateral"] if e["id"] == entry_id)


def flip_b64(text: str, at: int) -> str:
    """``text`` (base64) with the byte at ``at`` of what it encodes changed."""
    data = bytearray(base64.b64decode(text))
    data[at] ^= 0x01
    return b64(bytes(data))


# -- the mutations: each changes one thing the way an attacker in front of the enclave could ----------

def nonce(doc: dict[str, Any]) -> None:
    doc["challenge"]["nonce"] = "00" * 32


def crypto_item(doc: dict[str, Any]) -> None:
    cm = section(doc, "crypto_material")
    key = bytearray.fromhex(cm["items"][1]["data"])  # the hpke key: one byte another
    key[0] ^= 0x01
    cm["items"][1]["data"] = key.hex()
    doc["crypto_material"] = b64(compact(cm))


def crypto_item_rebound(doc: dict[str, Any]) -> None:
    """The same, with the endorsed hash and the challenge's report_data made to agree: only the
    hardware's REPORT_DATA still tells."""
    import hashlib

    from verifier.providers.tinfoil.envelope import compute_report_data

    crypto_item(doc)
    crypto = base64.b64decode(doc["crypto_material"])
    doc["cpu_evidence"]["endorsed"]["crypto_material_hash"] = hashlib.sha256(crypto).hexdigest()
    device = hashlib.sha256(base64.b64decode(doc["device_evidence"])).digest()
    doc["challenge"]["report_data"] = compute_report_data(bytes.fromhex(doc["challenge"]["nonce"]),
                                                          hashlib.sha256(crypto).digest(), device).hex()


def device_byte(doc: dict[str, Any]) -> None:
    de = section(doc, "device_evidence")
    de["items"][0]["evidence"]["evidence"] = flip_b64(de["items"][0]["evidence"]["evidence"], 200)
    doc["device_evidence"] = b64(compact(de))


def report_byte(doc: dict[str, Any]) -> None:
    doc["cpu_evidence"]["report_base64"] = flip_b64(doc["cpu_evidence"]["report_base64"], MEASUREMENT.start)


def report_data_claim(doc: dict[str, Any]) -> None:
    claimed = bytearray.fromhex(doc["challenge"]["report_data"])
    claimed[0] ^= 0x01
    doc["challenge"]["report_data"] = claimed.hex()


def vcek_byte(doc: dict[str, Any]) -> None:
    data = entry(doc, "vcek")["data"]
    data["vcek_der_base64"] = flip_b64(data["vcek_der_base64"], len(base64.b64decode(data["vcek_der_base64"])) - 20)


def release_byte(doc: dict[str, Any]) -> None:
    release = entry(doc, "code")["data"]["release"]
    envelope = json.loads(base64.b64decode(release["envelope"]))
    envelope["signatures"][0]["sig"] = flip_b64(envelope["signatures"][0]["sig"], 3)
    release["envelope"] = b64(compact(envelope))


def platform_byte(doc: dict[str, Any]) -> None:
    data = entry(doc, "platform")["data"]
    envelope = json.loads(base64.b64decode(data["envelope"]))
    envelope["signatures"][0]["sig"] = flip_b64(envelope["signatures"][0]["sig"], 3)
    data["envelope"] = b64(compact(envelope))


def witness_byte(doc: dict[str, Any]) -> None:
    data = entry(doc, "code-freshness")["data"]
    envelope = json.loads(base64.b64decode(data["envelope"]))
    envelope["signatures"][0]["sig"] = flip_b64(envelope["signatures"][0]["sig"], 3)
    data["envelope"] = b64(compact(envelope))


def mixed(doc: dict[str, Any]) -> None:
    doc["signature"] = ""  # a June 2026 member in a current-layout document


def unknown_member(doc: dict[str, Any]) -> None:
    doc["challenge"]["extra"] = "x"


MUTATIONS: list[tuple[str, Mutation, str]] = [
    ("nonce", nonce, ids.NONCE),
    ("crypto-material-item", crypto_item, ids.CRYPTO_MATERIAL_HASH),
    ("crypto-material-item-rebound", crypto_item_rebound, "snp.report_data"),
    ("device-evidence-byte", device_byte, ids.DEVICE_EVIDENCE_HASH),
    ("report-byte", report_byte, "snp.report.signature"),
    ("report-data-claim", report_data_claim, ids.REPORT_DATA),
    ("collateral-vcek-byte", vcek_byte, "snp.chain.vcek"),
    ("collateral-release-byte", release_byte, "release.signature"),
    ("collateral-platform-byte", platform_byte, ids.PLATFORM_ENDORSEMENTS),
    ("collateral-witness-byte", witness_byte, ids.FRESHNESS_CODE),
    ("mixed-layout", mixed, ids.LAYOUT),
    ("unknown-member", unknown_member, ids.PARSE),
]


async def attest(server: TinfoilEnclave, policy: Policy) -> AttestationResult:
    """One attestation; when it is refused, ``ready`` refuses too and no request reaches ``/v1``."""
    before = server.mode.requests
    async with Session(server.url, policy, provider="tinfoil") as session:
        result = await session.attest()
        if not result.verified:
            with pytest.raises(NotVerified):
                await session.ready()
            with pytest.raises(NotVerified):
                [d async for d in session.stream_chat([{"role": "user", "content": "my secret prompt"}])]
    assert server.mode.requests == before
    return result


def with_tinfoil(text: str, line: str) -> Policy:
    """The demo policy with one more key in its ``[tinfoil]`` table (put right under the header)."""
    head = "\n[tinfoil]\n"
    assert text.count(head) == 1
    return check_policy(parse_policy(text.replace(head, f"{head}{line}\n").encode(), "demo+tinfoil+test"))


def status(result: AttestationResult, cid: str) -> Status | None:
    check = result.check(cid)
    return check.status if check is not None else None


async def test_the_unchanged_document_verifies_in_catalogue_order(server: TinfoilEnclave,
                                                                  demo_tinfoil_policy: Policy) -> None:
    result = await attest(server, demo_tinfoil_policy)
    assert result.verified, result.verdict()
    emitted = [c.id for c in result.checks]
    own = [i for i in emitted if i in ids.CATALOGUE]
    assert own == [
        ids.SERVICE_URL, ids.LAYOUT, ids.PARSE, ids.DOWNGRADE, ids.NONCE, ids.CRYPTO_MATERIAL_HASH,
        ids.DEVICE_EVIDENCE_HASH, ids.REPORT_DATA, ids.TLS_KEY, ids.HPKE_KEY, ids.REPOSITORY,
        ids.FRESHNESS_CODE, ids.PLATFORM_ENDORSEMENTS, ids.FRESHNESS_PLATFORM, ids.MACHINE, ids.FRESHNESS_DEADLINE]
    assert sorted(own, key=ids.CATALOGUE.index) == own
    # the CPU checks between the REPORT_DATA claim and the TLS key; GPUs and the release after the HPKE key
    first_snp = next(n for n, i in enumerate(emitted) if i.startswith("snp."))
    assert emitted.index(ids.REPORT_DATA) < first_snp < emitted.index(ids.TLS_KEY)
    assert emitted.index(ids.HPKE_KEY) < emitted.index("gpu.count") < emitted.index(ids.REPOSITORY)
    assert emitted.index(ids.REPOSITORY) < emitted.index("release.signature") < emitted.index(ids.FRESHNESS_CODE)
    deadline = dt.datetime.fromisoformat(result.claims["freshness_expires_at"])
    assert dt.timedelta(days=6) < deadline - dt.datetime.now(dt.UTC) <= dt.timedelta(days=7)


@pytest.mark.parametrize(("mutation", "check_id"), [(m, c) for _, m, c in MUTATIONS], ids=[n for n, _, _ in MUTATIONS])
async def test_one_change_is_refused_for_its_own_check_and_nothing_is_sent(
        server: TinfoilEnclave, demo_tinfoil_policy: Policy, monkeypatch: pytest.MonkeyPatch,
        mutation: Mutation, check_id: str) -> None:
    honest = server.mode.document_current

    def changed(nonce: bytes) -> bytes:
        doc = json.loads(honest(nonce))
        mutation(doc)
        return compact(doc) + b"\n"

    monkeypatch.setattr(server.mode, "document_current", changed)
    result = await attest(server, demo_tinfoil_policy)
    assert not result.verified
    assert result.first_failure is not None and result.first_failure.id == check_id, result.verdict()
    if mutation is nonce:  # the binding itself holds: the evidence is the enclave's, for another nonce
        assert status(result, "snp.report_data") is Status.PASS
    if mutation in (mixed, unknown_member):  # nothing in such a document is used
        assert [c.id for c in result.checks] == [ids.SERVICE_URL, check_id]


async def test_a_deadline_passed_is_refused(server: TinfoilEnclave, demo_tinfoil_policy: Policy,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Witnesses eight days old: each witness is genuine, the reference values are stale."""
    monkeypatch.setattr(server.mode, "witnessed_at", dt.datetime.now(dt.UTC) - dt.timedelta(days=8))
    result = await attest(server, demo_tinfoil_policy)
    assert result.first_failure is not None and result.first_failure.id == ids.FRESHNESS_DEADLINE
    assert status(result, ids.FRESHNESS_CODE) is Status.PASS and status(result, ids.FRESHNESS_PLATFORM) is Status.PASS


async def test_a_shorter_maximum_age_in_the_policy_is_a_passed_deadline(
        server: TinfoilEnclave, demo_tinfoil_policy_text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server.mode, "witnessed_at", dt.datetime.now(dt.UTC) - dt.timedelta(hours=2))
    policy = with_tinfoil(demo_tinfoil_policy_text, "freshness_max_age_seconds = 3600")
    result = await attest(server, policy)
    assert result.first_failure is not None and result.first_failure.id == ids.FRESHNESS_DEADLINE


async def test_a_witness_from_the_future_is_refused(server: TinfoilEnclave, demo_tinfoil_policy: Policy,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server.mode, "witnessed_at", dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    result = await attest(server, demo_tinfoil_policy)
    assert result.first_failure is not None and result.first_failure.id == ids.FRESHNESS_CODE


async def test_a_machine_the_endorsements_do_not_list_is_refused(server: TinfoilEnclave, demo_tinfoil_policy: Policy,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server.mode, "endorse_machine", False)
    result = await attest(server, demo_tinfoil_policy)
    assert result.first_failure is not None and result.first_failure.id == ids.MACHINE
    assert status(result, ids.PLATFORM_ENDORSEMENTS) is Status.PASS


async def test_a_machine_the_policy_does_not_allow_is_refused(server: TinfoilEnclave,
                                                              demo_tinfoil_policy_text: str) -> None:
    other = "ab" * 64
    policy = with_tinfoil(demo_tinfoil_policy_text, f'machines = ["{other}"]')
    result = await attest(server, policy)
    assert result.first_failure is not None and result.first_failure.id == ids.MACHINE
    # and allowed when the policy names this chip
    chip = server.enclave.snp.chip_id.hex()
    policy = with_tinfoil(demo_tinfoil_policy_text, f'machines = ["{other}", "{chip}"]')
    assert (await attest(server, policy)).verified
