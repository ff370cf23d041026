"""A native session on an Azure confidential VM (docs/protocol.md §Azure confidential VMs): the
reference enclave as a simulated Azure SEV-SNP CVM (INSECURE DEMO) is verified under the demo
policy with every hcl.* and tpm.* check, a reply streams over the channel, each attack mode is
refused by its own check with nothing sent, and the bundle's Azure members are parsed strictly."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from enclave import PLATFORMS
from enclave.app import Enclave, Settings
from enclave.attacks import AZURE_ATTACKS, check_mode
from enclave.azure import FIRMWARE_VERSION, QUOTED_PCRS, SimulatedAzureSnp, tpm_name
from enclave.server import BackgroundEnclave
from enclave_chat.paths import resolve_policy
from tests.refusals import refused_before_sending
from verifier.appraisal.azure import appraise_azure_snp
from verifier.appraisal.azure import checks as ids
from verifier.appraisal.policy import Policy
from verifier.errors import ParseError
from verifier.evidence.tpm import TPM_ALG_SHA256, parse_quote_info
from verifier.providers.native.appraisal import appraise_native
from verifier.providers.native.bundle import parse_bundle, report_data_binding
from verifier.result import Status
from verifier.session import Session

AZURE = "azure-snp-vtpm"
AZURE_TDX = "azure-tdx-vtpm"
NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def cvm_enclave() -> Any:
    with BackgroundEnclave(Settings(platform=AZURE, token_delay=0)) as server:
        yield server


# -- the session --------------------------------------------------------------------------------
@pytest.mark.e2e
async def test_a_session_on_the_simulated_cvm_is_verified_and_a_reply_streams(cvm_enclave: BackgroundEnclave,
                                                                             demo_policy: Policy) -> None:
    async with Session(cvm_enclave.url, demo_policy) as session:
        result = await session.attest()
        assert result.verified, result.verdict()
        assert result.evidence_kind == AZURE
        emitted = [c.id for c in result.checks]
        azure = [i for i in emitted if i.startswith(("hcl.", "tpm."))]
        assert azure == [i for i in ids.CATALOGUE if i != ids.HCL_TD_REPORT]  # all of them, in order
        status = {c.id: c.status for c in result.checks}
        assert all(status[i] is Status.PASS for i in azure if i != ids.TPM_PCRS)
        assert status[ids.TPM_PCRS] is Status.SKIP  # the demo policy pins no PCR
        # hcl.parse, then the hardware report's snp.* checks, then the rest of hcl.*, tpm.*, the GPU, the release
        assert emitted.index("bundle.expires") + 1 == emitted.index(ids.HCL_PARSE)
        assert emitted.index(ids.HCL_PARSE) + 1 == emitted.index("snp.parse")
        assert emitted.index("snp.report_data") < emitted.index(ids.HCL_VERSION)
        assert emitted.index(ids.TPM_PCRS) < emitted.index("gpu.count") < emitted.index("release.measurement")
        for passing in ("snp.chain.ark_pinned", "snp.report.signature", "gpu.0.signature", "release.measurement",
                        "release.log.inclusion", "config.upstream", "channel.key_config"):
            assert status[passing] is Status.PASS, passing
        cpu = result.claims["cpu"]
        assert cpu["hcl"]["user_data"] == cpu["tpm"]["extra_data"].upper()  # the binding value, twice
        text = "".join([d async for d in session.stream_chat([{"role": "user", "content": "What is a vTPM?"}])])
    assert "What is a vTPM?" in text and "built-in demo model" in text
    assert cvm_enclave.enclave.gateway_posts >= 1


@pytest.mark.e2e
@pytest.mark.parametrize(("attack", "check_id", "also_failing"), [
    ("azure-stale-quote", ids.TPM_NONCE, ()),
    ("azure-foreign-ak", ids.TPM_QUOTE_SIGNATURE, ()),
    ("azure-pcr-changed", ids.TPM_PCR_DIGEST, ()),
    ("azure-claims-changed", "snp.report_data", (ids.HCL_BINDING, ids.HCL_AK)),
    ("swap-key-config", ids.HCL_USER_DATA, (ids.TPM_NONCE,)),
    ("gpu-binding", ids.HCL_USER_DATA, (ids.TPM_NONCE,)),
    ("flip-measurement", "release.measurement", ()),
])
async def test_each_attack_is_refused_by_its_check_and_nothing_is_sent(attack: str, check_id: str,
                                                                      also_failing: tuple[str, ...],
                                                                      demo_policy: Policy) -> None:
    with BackgroundEnclave(Settings(platform=AZURE, token_delay=0, attack=attack)) as server:
        async with Session(server.url, demo_policy) as session:
            result = await refused_before_sending(session, check_id)
            failing = {c.id for c in result.checks if c.status is Status.FAIL}
            assert set(also_failing) <= failing
        assert server.enclave.gateway_posts == 0


def test_the_azure_attacks_need_the_azure_platform() -> None:
    for attack in sorted(AZURE_ATTACKS):
        with pytest.raises(ValueError, match="needs a simulated Azure CVM"):
            check_mode(attack)
        with pytest.raises(ValueError, match="needs a simulated Azure CVM"):
            check_mode(attack, platform="tdx")
        assert check_mode(attack, platform=AZURE) == attack
        assert check_mode(attack, platform=AZURE_TDX) == attack
    with pytest.raises(ValueError, match="does not simulate 'azure-sev-vtpm'"):
        Enclave(Settings(platform="azure-sev-vtpm", transparency=False))


def test_the_parser_offers_the_simulated_platforms() -> None:
    from enclave_chat.cli import SIMULATED_PLATFORMS

    assert SIMULATED_PLATFORMS == PLATFORMS


def test_the_default_policy_refuses_the_demo_roots() -> None:
    enclave = Enclave(Settings(platform=AZURE, transparency=False))
    nonce = secrets.token_bytes(32)
    result, bundle = appraise_native(enclave.bundle(nonce), nonce=nonce, policy=resolve_policy("default"), at=NOW,
                                     service_url="http://127.0.0.1:1")
    assert bundle is not None and bundle.cpu.platform == AZURE
    assert not result.verified and not result.authentic
    assert result.first_failure is not None and result.first_failure.id == "snp.chain.ark_pinned"


# -- the simulated evidence, and one piece of it changed ------------------------------------------
@pytest.fixture(scope="module")
def cvm() -> SimulatedAzureSnp:
    return Enclave(Settings(platform=AZURE, transparency=False)).cvm  # type: ignore[return-value]


def test_the_quote_is_a_tpms_attest_byte_for_byte(cvm: SimulatedAzureSnp) -> None:
    binding = secrets.token_bytes(32) + bytes(32)
    quote = cvm.quote(binding)
    info = parse_quote_info(quote.message)
    assert quote.message[:6] == bytes.fromhex("ff5443478018")  # TPM_GENERATED_VALUE, TPM_ST_ATTEST_QUOTE
    assert info.extra_data == binding and info.qualified_signer == tpm_name(cvm.ak.public_key())
    assert info.qualified_signer[:2] == b"\x00\x0b" and len(info.qualified_signer) == 34  # nameAlg || SHA-256
    assert info.selected(TPM_ALG_SHA256) == QUOTED_PCRS == tuple(range(24))
    assert info.pcr_digest == hashlib.sha256(b"".join(quote.pcrs)).digest()
    assert info.safe and info.firmware_version == FIRMWARE_VERSION
    # magic, type, name, extraData, clockInfo (17), firmwareVersion, one 3-byte SHA-256 selection, digest
    assert len(quote.message) == 4 + 2 + (2 + 34) + (2 + 64) + 17 + 8 + (4 + 2 + 1 + 3) + (2 + 32)
    assert len(quote.signature) == 256


def _appraise(cvm: SimulatedAzureSnp, hcl: bytes, quote: Any, binding: bytes) -> Any:
    return appraise_azure_snp(hcl, quote, cvm.snp.certificates(), policy=resolve_policy("demo"), at=NOW,
                              nonce=binding, user_data=binding)


def _failing(a: Any) -> list[str]:
    return [c.id for c in a.checks if c.status is Status.FAIL]


def test_honest_evidence_passes_and_user_data_of_another_session_is_refused(cvm: SimulatedAzureSnp) -> None:
    binding, other = secrets.token_bytes(32) + bytes(32), secrets.token_bytes(32) + bytes(32)
    honest = cvm.evidence(binding)
    a = _appraise(cvm, honest.hcl_report, honest.quote, binding)
    assert a.verified and not _failing(a)
    # runtime claims made for another session, with this session's quote
    stale_claims = cvm.hcl(cvm.runtime_claims(other))
    a = _appraise(cvm, stale_claims, cvm.quote(binding), binding)
    assert _failing(a) == [ids.HCL_USER_DATA] and a.authentic and not a.verified


@pytest.mark.parametrize(("user_data", "status"), [
    ("lower", Status.PASS), ("absent", Status.FAIL), ("short", Status.FAIL), ("not-hex", Status.FAIL),
    ("number", None),
])
def test_user_data_is_read_strictly(cvm: SimulatedAzureSnp, user_data: str, status: Status | None) -> None:
    binding = secrets.token_bytes(32) + bytes(32)
    doc = json.loads(cvm.runtime_claims(binding))
    if user_data == "lower":
        doc["user-data"] = binding.hex()
    elif user_data == "absent":
        del doc["user-data"]
    elif user_data == "short":
        doc["user-data"] = binding.hex()[:-2]
    elif user_data == "not-hex":
        doc["user-data"] = binding.hex()[:-1] + "g"
    else:
        doc["user-data"] = 7
    a = _appraise(cvm, cvm.hcl(json.dumps(doc).encode()), cvm.quote(binding), binding)
    if status is None:  # not a string: the runtime claims do not parse
        assert _failing(a)[0] == ids.HCL_VARIABLE_DATA
        return
    check = a.check(ids.HCL_USER_DATA)
    assert check is not None and check.status is status and check.required
    assert a.verified is (status is Status.PASS)


# -- the bundle's Azure members, parsed strictly -------------------------------------------------
@pytest.fixture(scope="module")
def azure_bundle() -> tuple[bytes, bytes]:
    nonce = secrets.token_bytes(32)
    return Enclave(Settings(platform=AZURE, transparency=False)).bundle(nonce), nonce


def _edited(data: bytes, edit: Any) -> bytes:
    doc = json.loads(data)
    edit(doc["cpu"])
    return json.dumps(doc).encode()


def _b64(n: int) -> str:
    return base64.b64encode(bytes(n)).decode()


@pytest.mark.parametrize(("name", "edit", "field"), [
    ("no tpm_quote", lambda c: c.pop("tpm_quote"), "cpu.tpm_quote"),
    ("tpm_quote not an object", lambda c: c.update(tpm_quote=[]), "cpu.tpm_quote"),
    ("no message", lambda c: c["tpm_quote"].pop("message"), "cpu.tpm_quote.message"),
    ("empty message", lambda c: c["tpm_quote"].update(message=""), "cpu.tpm_quote.message"),
    ("message too long", lambda c: c["tpm_quote"].update(message=_b64(1025)), "cpu.tpm_quote.message"),
    ("signature too long", lambda c: c["tpm_quote"].update(signature=_b64(513)), "cpu.tpm_quote.signature"),
    ("23 PCRs", lambda c: c["tpm_quote"]["pcrs"].pop(), "cpu.tpm_quote.pcrs"),
    ("25 PCRs", lambda c: c["tpm_quote"]["pcrs"].append(_b64(32)), "cpu.tpm_quote.pcrs"),
    ("a 31-byte PCR", lambda c: c["tpm_quote"]["pcrs"].__setitem__(3, _b64(31)), "cpu.tpm_quote.pcrs[3]"),
    ("PCR not base64", lambda c: c["tpm_quote"]["pcrs"].__setitem__(0, "%%"), "cpu.tpm_quote.pcrs[0]"),
    ("tdx without td_quote", lambda c: c.update(platform="azure-tdx-vtpm"), "cpu.td_quote"),
])
def test_the_azure_members_are_parsed_strictly(azure_bundle: tuple[bytes, bytes], name: str, edit: Any,
                                               field: str) -> None:
    data, nonce = azure_bundle
    assert parse_bundle(data).cpu.vtpm is not None
    with pytest.raises(ParseError) as e:
        parse_bundle(_edited(data, edit))
    assert e.value.field == field, name
    result, bundle = appraise_native(_edited(data, edit), nonce=nonce, policy=resolve_policy("demo"), at=NOW,
                                     service_url="http://127.0.0.1:1")
    assert bundle is None and result.first_failure is not None and result.first_failure.id == "bundle.parse"


def test_the_azure_members_are_ignored_on_bare_sev_snp(azure_bundle: tuple[bytes, bytes]) -> None:
    bare = Enclave(Settings(transparency=False))
    nonce = secrets.token_bytes(32)
    doc = json.loads(bare.bundle(nonce))
    doc["cpu"]["tpm_quote"] = json.loads(azure_bundle[0])["cpu"]["tpm_quote"]
    bundle = parse_bundle(json.dumps(doc).encode())
    assert bundle.cpu.platform == "sev-snp" and bundle.cpu.vtpm is None


# -- the simulated Azure TDX CVM -------------------------------------------------------------------
@pytest.mark.e2e
async def test_a_session_on_the_simulated_tdx_cvm_is_verified_and_a_reply_streams(demo_policy: Policy) -> None:
    with BackgroundEnclave(Settings(platform=AZURE_TDX, token_delay=0)) as server:
        async with Session(server.url, demo_policy) as session:
            result = await session.attest()
            assert result.verified, result.verdict()
            assert result.evidence_kind == AZURE_TDX
            emitted = [c.id for c in result.checks]
            assert [i for i in emitted if i.startswith(("hcl.", "tpm."))] == list(ids.CATALOGUE)
            status = {c.id: c.status for c in result.checks}
            assert all(status[i] is Status.PASS for i in ids.CATALOGUE if i != ids.TPM_PCRS)
            for passing in ("tdx.pck.root_pinned", "tdx.quote.signature", "tdx.tcb.status", "tdx.report_data",
                            "gpu.0.signature", "release.measurement", "release.log.inclusion", "channel.key_config"):
                assert status[passing] is Status.PASS, passing
            cpu = result.claims["cpu"]
            assert cpu["hcl"]["user_data"] == cpu["tpm"]["extra_data"].upper()
            text = "".join([d async for d in session.stream_chat([{"role": "user", "content": "What is a TD?"}])])
        assert "What is a TD?" in text and server.enclave.gateway_posts >= 1


@pytest.mark.e2e
@pytest.mark.parametrize(("attack", "check_id", "also_failing"), [
    ("azure-stale-quote", ids.TPM_NONCE, ()),
    ("azure-foreign-ak", ids.TPM_QUOTE_SIGNATURE, ()),
    ("azure-pcr-changed", ids.TPM_PCR_DIGEST, ()),
    ("azure-claims-changed", "tdx.report_data", (ids.HCL_BINDING, ids.HCL_AK)),
    ("swap-key-config", ids.HCL_USER_DATA, (ids.TPM_NONCE,)),
    ("flip-measurement", "release.measurement", ()),
])
async def test_each_attack_on_the_tdx_cvm_is_refused_by_its_check_and_nothing_is_sent(
        attack: str, check_id: str, also_failing: tuple[str, ...], demo_policy: Policy) -> None:
    with BackgroundEnclave(Settings(platform=AZURE_TDX, token_delay=0, attack=attack)) as server:
        async with Session(server.url, demo_policy) as session:
            result = await refused_before_sending(session, check_id)
            assert set(also_failing) <= {c.id for c in result.checks if c.status is Status.FAIL}
        assert server.enclave.gateway_posts == 0


def test_the_tdx_cvm_quote_is_made_from_the_hcl_reports_tdreport() -> None:
    from verifier.evidence.azure_tdx import parse_hcl_tdx_strict
    from verifier.evidence.tdx import parse_quote

    enclave = Enclave(Settings(platform=AZURE_TDX, transparency=False))
    nonce = secrets.token_bytes(32)
    bundle = parse_bundle(enclave.bundle(nonce))
    assert bundle.cpu.vtpm is not None and bundle.cpu.vtpm.td_quote is not None
    assert bundle.cpu.tdx_collateral is not None and bundle.cpu.certificates == ()
    env = parse_hcl_tdx_strict(bundle.cpu.report)
    body = parse_quote(bundle.cpu.vtpm.td_quote).body
    td = env.report.tdreport
    assert env.hash_name == "sha256" and td.report_data == body.report_data
    assert td.report_data == hashlib.sha256(env.report.runtime_data).digest() + bytes(32)
    assert (td.mrtd, td.rtmrs, td.td_attributes, td.xfam) == (body.mrtd, body.rtmrs, body.td_attributes, body.xfam)
    assert body.mrtd + body.rtmr0 + body.rtmr1 + body.rtmr2 == enclave.measurement
    expected = report_data_binding(nonce, bundle.key_config, bundle.gpus, bundle.config)
    assert json.loads(env.report.runtime_data)["user-data"] == expected.hex().upper()
    result, _ = appraise_native(enclave.bundle(nonce), nonce=nonce, policy=resolve_policy("default"), at=NOW,
                                service_url="http://127.0.0.1:1")
    assert result.first_failure is not None and result.first_failure.id == "tdx.pck.root_pinned"


# -- the client side of azure-tdx-vtpm, on trustee's real TDX CVM set ------------------------------
@pytest.mark.vectors
def test_a_tdx_cvm_bundle_is_appraised_and_its_binding_checked(vectors: Path, tmp_path: Path) -> None:
    """A bundle around trustee's real set (made for the nonce 'challenge',
    user-data zero) is authentic to Intel's root and refused for the binding, twice."""
    from verifier.appraisal.azure import TpmQuote
    from verifier.appraisal.cpu import VtpmEvidence
    from verifier.endorsements.fetch import CollateralFetcher
    from verifier.providers.native.bundle import encode_bundle

    doc = json.loads((vectors / "azure/trustee-az-tdx-vtpm/evidence-v1.json").read_bytes())

    def b64url(s: str) -> bytes:
        return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

    q = doc["tpm_quote"]
    vtpm = VtpmEvidence(TpmQuote(bytes.fromhex(q["message"]), bytes.fromhex(q["signature"]),
                                 tuple(bytes.fromhex(p) for p in q["pcrs"])), b64url(doc["td_quote"]))
    nonce = bytes(range(32))
    at = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    config = {"upstream": "builtin:demo-model"}
    data = encode_bundle(nonce=nonce, key_config=b"\x00", platform="azure-tdx-vtpm", report=b64url(doc["hcl_report"]),
                         certificates=[], gpus=[], release=None, config=config, expires=at + dt.timedelta(minutes=5),
                         vtpm=vtpm)
    bundle = parse_bundle(data)
    assert bundle.cpu.vtpm == vtpm and set(bundle.digests()) >= {"cpu.tpm_quote", "cpu.td_quote"}
    policy = resolve_policy("default")
    result, _ = appraise_native(data, nonce=nonce, policy=policy, at=at, service_url="https://cvm.example",
                                fetcher=CollateralFetcher(tmp_path / "cache", offline=True))
    status = {c.id: c.status for c in result.checks}
    assert status["tdx.quote.signature"] is Status.PASS and status[ids.HCL_TD_REPORT] is Status.PASS
    assert status[ids.HCL_BINDING] is Status.PASS and status[ids.TPM_QUOTE_SIGNATURE] is Status.PASS
    assert status[ids.HCL_USER_DATA] is Status.FAIL and status[ids.TPM_NONCE] is Status.FAIL
    assert result.authentic and not result.verified
    expected = report_data_binding(nonce, b"\x00", [], config)
    assert expected.hex()[:32] in result.check(ids.HCL_USER_DATA).detail  # type: ignore[union-attr]
    assert [i for i in status if i.startswith(("hcl.", "tpm."))] == list(ids.CATALOGUE)

