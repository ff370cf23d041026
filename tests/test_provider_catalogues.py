"""The catalogues of the checks that are not a vendor's: the shared ``service.url``, the native
bundle's, the release and Sigstore checks, and Tinfoil's. Each is what its doc's table lists, holds
each of its constants once, is the only module that spells its ids, and is the order the
appraisals emit."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from tests.vectors import REPO
from verifier import service_checks
from verifier.appraisal import release_checks
from verifier.appraisal.nvidia import checks as gpu_checks
from verifier.appraisal.sev_snp import checks as snp_checks
from verifier.appraisal.tdx import checks as tdx_checks
from verifier.providers.native import checks as native_checks
from verifier.providers.tinfoil import checks as tinfoil_checks
from verifier.reference import sigstore_checks

DOCS = REPO / "docs"
VERIFIER = REPO / "verifier"
CATALOGUES: tuple[ModuleType, ...] = (service_checks, native_checks, release_checks, sigstore_checks,
                                      tinfoil_checks)
VENDORS: tuple[ModuleType, ...] = (snp_checks, tdx_checks, gpu_checks)


# -- the docs' tables ----------------------------------------------------------------------------
def table_ids(doc: str, heading: str) -> list[str]:
    """Every id of the first column of the table under ``heading``, in order (a cell may list
    several: `a`, `b`; `x.*` stands for a family)."""
    text = (DOCS / doc).read_text()
    assert f"\n{heading}\n" in text, f"{doc} has no heading {heading!r}"
    section = text.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]
    out: list[str] = []
    for line in section.splitlines():
        if line.startswith("| `"):
            out += re.findall(r"`([^`]+)`", line.split("|")[1])
    assert out, f"no table under {heading!r} in {doc}"
    return out


def _known_elsewhere() -> set[str]:
    """The ids (documentation forms) of every catalogue, NVSwitches (``nvswitch.N.*``, GPU
    checks renamed) included."""
    ids = {i for m in (*CATALOGUES, snp_checks, tdx_checks) for i in m.CATALOGUE}
    gpu = {gpu_checks.doc_form(t) for t in gpu_checks.CATALOGUE}
    return ids | gpu | {i.replace("gpu.N.", "nvswitch.N.") for i in gpu if i.startswith("gpu.N.")}


def _is_known(documented: str) -> bool:
    known = _known_elsewhere()
    if documented.endswith(".*"):
        return any(i.startswith(documented[:-1]) for i in known)
    return documented in known


def _tie(documented: list[str], catalogue: tuple[str, ...], doc: str) -> None:
    assert len(set(documented)) == len(documented), f"an id is documented twice in {doc}"
    assert set(documented) == set(catalogue), (
        f"only in {doc}: {sorted(set(documented) - set(catalogue))}; "
        f"only in the catalogue: {sorted(set(catalogue) - set(documented))}")
    assert tuple(documented) == catalogue, "the same ids, in another order"


@pytest.mark.parametrize(("heading", "catalogue"), [
    ("## Client checks (`verifier/appraisal/release.py`)", release_checks.CATALOGUE),
    ("## Sigstore bundles (`verifier/reference/sigstore_bundle.py`)", sigstore_checks.CATALOGUE),
])
def test_transparency_md_tables_are_the_release_and_sigstore_catalogues(heading: str,
                                                                       catalogue: tuple[str, ...]) -> None:
    _tie(table_ids("transparency.md", heading), catalogue, "transparency.md")


def test_protocol_md_check_order_is_the_native_catalogue() -> None:
    documented = table_ids("protocol.md", "## Check order")
    own = [i for i in documented if i in native_checks.CATALOGUE]
    _tie(own, native_checks.CATALOGUE, "protocol.md")
    others = [i for i in documented if i not in native_checks.CATALOGUE]
    assert others == ["snp.*", "tdx.*", "gpu.count", "gpu.*", "release.*"]
    assert all(_is_known(i) for i in others)
    # the CPU, GPU and release checks sit between bundle.expires and config.upstream
    assert documented.index(native_checks.BUNDLE_EXPIRES) + 1 == documented.index("snp.*")
    assert documented.index("release.*") + 1 == documented.index(native_checks.CONFIG_UPSTREAM)


def test_tinfoil_md_table_is_the_tinfoil_catalogue() -> None:
    documented = table_ids("tinfoil.md", "## The checks, in order")
    family = "tinfoil.hardware.sigstore.*"
    assert documented.count(family) == 1
    at = documented.index(family)
    expanded = [*documented[:at], *tinfoil_checks.HARDWARE_SIGSTORE, *documented[at + 1:]]
    own = [i for i in expanded if i in tinfoil_checks.CATALOGUE]
    _tie(own, tinfoil_checks.CATALOGUE, "tinfoil.md")
    others = [i for i in expanded if i not in tinfoil_checks.CATALOGUE]
    assert all(_is_known(i) for i in others), others
    assert not [i for i in others if i.startswith("tinfoil.")], "a tinfoil id the catalogue lacks"


# -- the catalogues themselves -------------------------------------------------------------------
@pytest.mark.parametrize("module", CATALOGUES, ids=lambda m: m.__name__)
def test_each_constant_is_in_its_catalogue_once(module: ModuleType) -> None:
    assert len(set(module.CATALOGUE)) == len(module.CATALOGUE)
    assert set(module.AUTHENTICITY) <= set(module.CATALOGUE)
    constants = {v for k, v in vars(module).items() if k.isupper() and isinstance(v, str)}
    derived = set(getattr(module, "HARDWARE_SIGSTORE", ()))
    assert constants == set(module.CATALOGUE) - derived, module.__name__


def test_catalogues_do_not_overlap_and_providers_share_service_url() -> None:
    assert native_checks.CATALOGUE[0] == tinfoil_checks.CATALOGUE[0] == service_checks.SERVICE_URL
    everything = [i for m in (*CATALOGUES, *VENDORS) for i in m.CATALOGUE
                  if i != service_checks.SERVICE_URL]
    assert len(set(everything)) == len(everything)


def test_release_families() -> None:
    assert set(release_checks.LOG) <= set(release_checks.CATALOGUE)
    assert release_checks.CATALOGUE[-len(release_checks.LOG):] == release_checks.LOG
    code, hardware = tinfoil_checks.CODE_RELEASE, tinfoil_checks.HARDWARE_RELEASE
    assert code.sigstore == sigstore_checks.CATALOGUE
    assert hardware.sigstore == tuple(f"tinfoil.hardware.{i}" for i in sigstore_checks.CATALOGUE)
    assert hardware.sigstore_id(sigstore_checks.DIGEST) == "tinfoil.hardware.sigstore.digest"
    assert code.sigstore_id(sigstore_checks.DIGEST) == sigstore_checks.DIGEST
    hw = hardware.ordered()
    start = tinfoil_checks.CATALOGUE.index(hw[0])
    assert tinfoil_checks.CATALOGUE[start:start + len(hw)] == hw
    own = tuple(i for i in code.ordered() if i not in sigstore_checks.CATALOGUE)
    start = tinfoil_checks.CATALOGUE.index(own[0])
    assert tinfoil_checks.CATALOGUE[start:start + len(own)] == own


# -- the code uses the catalogues ----------------------------------------------------------------
SCANNED = sorted({
    *(VERIFIER / "providers" / "native").glob("*.py"),
    *(VERIFIER / "providers" / "tinfoil").glob("*.py"),
    VERIFIER / "appraisal" / "release.py",
    VERIFIER / "reference" / "sigstore_bundle.py",
    VERIFIER / "urls.py",
} - {VERIFIER / "providers" / "native" / "checks.py", VERIFIER / "providers" / "tinfoil" / "checks.py"})
LOOKS_LIKE_ID = re.compile(
    r"\A(service|bundle|config|channel|release|sigstore|tinfoil|snp|tdx|gpu|nvswitch)\.[A-Za-z0-9_.{}]+\Z")
NOT_IDS = {"tinfoil.repos"}  # a policy table's name (the [tinfoil] repos of rules.py)
CATALOGUE_MODULES = {VERIFIER / "service_checks.py", VERIFIER / "appraisal" / "release_checks.py",
                     VERIFIER / "reference" / "sigstore_checks.py",
                     *VERIFIER.rglob("checks.py")}


def literals(path: Path) -> list[str]:
    """String constants of a module, leaving out docstrings, the parts of f-strings, and the
    ``field=`` of an error (which names a field of the input, not a check)."""
    tree = ast.parse(path.read_text())
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            skip.update(id(v) for v in node.values)
        if isinstance(node, ast.keyword) and node.arg == "field":
            skip.add(id(node.value))
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant):
            skip.add(id(body[0].value))
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in skip]


@pytest.mark.parametrize("path", SCANNED, ids=lambda p: str(p.relative_to(REPO)))
def test_check_ids_in_code_come_from_the_catalogues(path: Path) -> None:
    """No module of the providers, the release or Sigstore appraisals spells a check id."""
    spelt = [s for s in literals(path) if LOOKS_LIKE_ID.match(s) and s not in NOT_IDS]
    assert not spelt, f"{path.relative_to(REPO)} spells check ids {spelt}"


def test_no_verifier_module_spells_an_id_of_these_catalogues() -> None:
    ids = {i for m in CATALOGUES for i in m.CATALOGUE}
    for path in sorted(set(VERIFIER.rglob("*.py")) - CATALOGUE_MODULES):
        spelt = sorted(set(literals(path)) & ids)
        assert not spelt, f"{path.relative_to(REPO)} spells check ids {spelt}"


# -- the appraisals emit the catalogues, in order ------------------------------------------------
def _in_order(emitted: list[str], catalogue: tuple[str, ...]) -> None:
    own = [i for i in emitted if i in catalogue]
    assert len(set(own)) == len(own), own
    positions = [catalogue.index(i) for i in own]
    assert positions == sorted(positions), own


def _groups(emitted: list[str], order: list[Callable[[str], bool]]) -> None:
    """Each id falls in one group of ``order``, and the groups come in that order."""
    ranks = []
    for i in emitted:
        matches = [n for n, test in enumerate(order) if test(i)]
        assert len(matches) == 1, (i, matches)
        ranks.append(matches[0])
    assert ranks == sorted(ranks), list(zip(emitted, ranks, strict=True))


@pytest.mark.vectors
def test_native_appraisal_emits_its_catalogue_in_order(vectors: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from tests.test_native_tdx import AT, NONCE, _bundle
    from verifier.appraisal.policy import parse_policy
    from verifier.evidence.tdx import parse_quote
    from verifier.providers.native.appraisal import appraise_native
    from verifier.reference.dsse import format_ed25519_public

    quote = (vectors / "tdx/go-tdx-guest/quote_v5_sample.dat").read_bytes()
    body = parse_quote(quote).body
    key = Ed25519PrivateKey.generate()
    policy = parse_policy(f'name = "t"\n[release]\npublisher_keys = ["{format_ed25519_public(key.public_key())}"]\n'.encode())
    registers = {r: getattr(body, r).hex() for r in ("mrtd", "rtmr0", "rtmr1", "rtmr2")}
    result, _ = appraise_native(_bundle(quote, registers, key), nonce=NONCE, policy=policy, at=AT,
                                service_url="https://tdx.example")
    emitted = [c.id for c in result.checks]
    n = native_checks
    assert [i for i in emitted if i in n.CATALOGUE] == [
        n.SERVICE_URL, n.BUNDLE_PARSE, n.BUNDLE_NONCE, n.BUNDLE_EXPIRES, n.CONFIG_UPSTREAM]
    assert [i for i in emitted if i.startswith("tdx.")] == list(tdx_checks.CATALOGUE)
    _in_order(emitted, release_checks.CATALOGUE)
    _groups(emitted, [lambda i: i in (n.SERVICE_URL, n.BUNDLE_FETCH, n.BUNDLE_PARSE, n.BUNDLE_NONCE, n.BUNDLE_EXPIRES),
                      lambda i: i in tdx_checks.CATALOGUE, lambda i: i == gpu_checks.COUNT,
                      lambda i: i in release_checks.CATALOGUE,
                      lambda i: i in (n.CONFIG_UPSTREAM, n.CHANNEL_KEY_CONFIG)])


def test_release_appraisal_emits_its_catalogue_in_order(tmp_path: Path) -> None:
    import httpx
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from enclave.transparency.log import TransparencyLog
    from enclave.transparency.publish import publish_release
    from tests.transparency.helpers import MEASUREMENT, log_signer, policy, statement
    from tests.transparency.test_release_log import serve
    from verifier.appraisal.release import appraise_release

    signer, publisher = log_signer(), Ed25519PrivateKey.generate()
    log = TransparencyLog(tmp_path / "log", signer)
    release = publish_release(statement(), publisher_key=publisher, log=log)
    http: httpx.Client = serve(log)
    with_log = appraise_release(release, platform="sev-snp", measurement=MEASUREMENT,
                                policy=policy(publisher, signer, url="https://log.example/"),
                                log_http=http, state_dir=tmp_path / "state").checks
    r = release_checks
    assert tuple(c.id for c in with_log) == tuple(i for i in r.CATALOGUE if i != r.IMAGE)
    without = appraise_release(release, platform="sev-snp", measurement=MEASUREMENT,
                               policy=policy(publisher, None)).checks
    assert [c.id for c in without] == [r.ENVELOPE, r.SIGNATURE, r.MEASUREMENT, r.VERSION, r.LOG_INCLUSION]


@pytest.mark.vectors
def test_sigstore_appraisal_emits_its_catalogue(vectors: Path) -> None:
    from tests.transparency.test_sigstore import PAIRS
    from verifier.reference.sigstore_bundle import verify_release_files

    bundle, root, repo, artifact, digest, _ = PAIRS[0]
    result = verify_release_files(vectors / bundle, repository=repo, trusted_root_path=vectors / root,
                                  artifact_path=vectors / artifact if artifact else None,
                                  digest=f"sha256:{digest}", offline=True)
    assert tuple(c.id for c in result.checks) == sigstore_checks.CATALOGUE
    broken = verify_release_files(vectors / root, repository=repo, offline=True)  # not a bundle
    assert tuple(c.id for c in broken.checks) == sigstore_checks.CATALOGUE


def _tinfoil_groups(emitted: list[str]) -> None:
    t = tinfoil_checks
    before_cpu = t.CATALOGUE[:t.CATALOGUE.index(t.NVSWITCH_HASH) + 1]
    before_gpu = t.CATALOGUE[len(before_cpu):t.CATALOGUE.index(t.ATTESTATION_HASH) + 1]
    _groups(emitted, [lambda i: i in before_cpu, lambda i: i.split(".")[0] in ("snp", "tdx"),
                      lambda i: i in before_gpu, lambda i: i.startswith("gpu."),
                      lambda i: i == t.NVSWITCH or i.startswith("nvswitch."),
                      lambda i: i in t.CATALOGUE[t.CATALOGUE.index(t.REPOSITORY):] or i in sigstore_checks.CATALOGUE])
    _in_order(emitted, t.CATALOGUE)
    sig = [i for i in emitted if i in sigstore_checks.CATALOGUE]
    assert tuple(sig) == sigstore_checks.CATALOGUE
    assert emitted.index(t.RELEASE_ATTESTATION) < emitted.index(sig[0]) < emitted.index(t.RELEASE_TAG)


@pytest.mark.vectors
@pytest.mark.parametrize("recording", ["CLOUD", "DIRECT"])
async def test_tinfoil_v3_recordings_emit_the_catalogue_in_order(vectors: Path, recording: str) -> None:
    from enclave_chat.paths import resolve_policy
    from tests.tinfoil import conftest
    from verifier.replay import replay

    result = await replay(vectors / getattr(conftest, recording), policy=resolve_policy("tinfoil"),
                          provider="tinfoil")
    emitted = [c.id for c in result.checks]
    _tinfoil_groups(emitted)
    t = tinfoil_checks
    expected_hardware = list(t.HARDWARE_RELEASE.ordered()) if recording == "DIRECT" else []
    assert [i for i in emitted if i.startswith("tinfoil.hardware.")] == expected_hardware


@pytest.mark.vectors
def test_tinfoil_v2_bundle_emits_the_catalogue_in_order(vectors: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from enclave_chat.cli import main
    from tests.tinfoil.conftest import GENOA_CHAIN, V2_BUNDLE, V2_TRUST_ROOT

    monkeypatch.setenv("ENCLAVE_CHAT_CACHE_DIR", str(tmp_path / "cache"))
    main(["evidence", "verify", "tinfoil", str(vectors / V2_BUNDLE), str(vectors / V2_TRUST_ROOT),
          "--policy", "tinfoil", "--cert", str(vectors / GENOA_CHAIN), "--at", "2026-02-01T00:00:00Z",
          "--offline", "--json"])
    emitted = [c["id"] for c in json.loads(capsys.readouterr().out)["checks"]]
    _in_order(emitted, tinfoil_checks.CATALOGUE)
    t = tinfoil_checks
    assert [i for i in emitted if i in t.CATALOGUE][:4] == [t.PARSE, t.DOWNGRADE, t.FRESHNESS, t.TLS_KEY]
    assert t.ATTESTATION_HASH in emitted
