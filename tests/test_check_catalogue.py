"""Each vendor's check catalogue is what its doc's check table lists and what its appraisal emits;
the shared collector and allow-list check behave as documented; the packages import no httpx."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.vectors import REPO
from verifier.appraisal import checks as shared
from verifier.appraisal.azure import checks as azure_checks
from verifier.appraisal.checks import CheckCollector, expect_one_of
from verifier.appraisal.dstack import checks as dstack_checks
from verifier.appraisal.nvidia import checks as gpu_checks
from verifier.appraisal.sev_snp import checks as snp_checks
from verifier.appraisal.tdx import checks as tdx_checks
from verifier.result import Status, passed

DOCS = REPO / "docs"
APPRAISAL = REPO / "verifier" / "appraisal"
PACKAGES = ("sev_snp", "tdx", "nvidia", "dstack")


# -- the docs' tables ----------------------------------------------------------------------------
def documented_ids(doc: str, heading: str, prefix: str | tuple[str, ...]) -> list[str]:
    """The ids in the first column of the table under ``heading``, in order. A cell may list
    several (`a`, `b`) or a range (`x.rtmr0` .. `x.rtmr3`)."""
    text = (DOCS / doc).read_text()
    section = text.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]
    out: list[str] = []
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        cell = line.split("|")[1]
        found = re.findall(r"`([^`]+)`", cell)
        assert all(i.startswith(prefix) for i in found), line
        span = re.fullmatch(r"\s*`(\S+?)(\d+)`\s*\.\.\s*`(\S+?)(\d+)`\s*", cell)
        if span and span.group(1) == span.group(3):
            out += [f"{span.group(1)}{i}" for i in range(int(span.group(2)), int(span.group(4)) + 1)]
        else:
            out += found
    return out


@pytest.mark.parametrize(("doc", "heading", "prefix", "catalogue"), [
    ("sev-snp.md", "## Checks, in order", "snp.", snp_checks.CATALOGUE),
    ("tdx.md", "## Check ids, in order", "tdx.", tdx_checks.CATALOGUE),
    ("nvidia.md", "## The checks, in order", "gpu.",
     tuple(gpu_checks.doc_form(t) for t in gpu_checks.CATALOGUE)),
    ("azure.md", "## The checks, in order", ("hcl.", "tpm."), azure_checks.CATALOGUE),
    ("dstack.md", "## The checks, in order", "dstack.", dstack_checks.CATALOGUE),
])
def test_each_docs_check_table_is_its_catalogue(doc: str, heading: str, prefix: str | tuple[str, ...],
                                               catalogue: tuple[str, ...]) -> None:
    documented = documented_ids(doc, heading, prefix)
    assert len(set(documented)) == len(documented), "an id is documented twice"
    assert set(documented) == set(catalogue), (
        f"only in {doc}: {sorted(set(documented) - set(catalogue))}; "
        f"only in the catalogue: {sorted(set(catalogue) - set(documented))}")
    assert tuple(documented) == catalogue, "the same ids, in another order"


def test_the_catalogues_hold_each_id_once_and_their_authenticity_ids() -> None:
    for module in (snp_checks, tdx_checks, gpu_checks, azure_checks, dstack_checks):
        assert len(set(module.CATALOGUE)) == len(module.CATALOGUE)
        assert set(module.AUTHENTICITY) <= set(module.CATALOGUE)
        constants = {v for k, v in vars(module).items() if k.isupper() and isinstance(v, str)}
        assert constants == set(module.CATALOGUE), module.__name__


def test_gpu_ids_are_filled_in_from_templates() -> None:
    assert gpu_checks.gpu_id(gpu_checks.SIGNATURE, 3) == "gpu.3.signature"
    assert gpu_checks.gpu_id(gpu_checks.RIM_VERSION, 0, "vbios") == "gpu.0.rim.vbios.version"
    assert gpu_checks.gpu_id(gpu_checks.COUNT, 5) == "gpu.count"
    assert gpu_checks.doc_form(gpu_checks.RIM_CHAIN) == "gpu.N.rim.K.chain"


# -- the code uses the catalogue -----------------------------------------------------------------
def _literals(path: Path) -> list[str]:
    """String constants of a module, leaving out docstrings and the parts of f-strings."""
    tree = ast.parse(path.read_text())
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            skip.update(id(v) for v in node.values)
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant):
            skip.add(id(body[0].value))
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in skip]


@pytest.mark.parametrize("package", PACKAGES)
def test_check_ids_in_code_come_from_the_catalogue(package: str) -> None:
    """No module but checks.py spells a check id: each uses the catalogue's constants."""
    looks_like_id = re.compile(r"\A(snp|tdx|gpu|dstack)\.[A-Za-z0-9_.{}]+\Z")
    not_ids = {"tdx.roots"}  # a policy table's name
    for path in sorted((APPRAISAL / package).glob("*.py")):
        if path.name == "checks.py":
            continue
        spelt = [s for s in _literals(path) if looks_like_id.match(s) and s not in not_ids]
        assert not spelt, f"{path.relative_to(REPO)} spells check ids {spelt}"


def _in_catalogue_order(emitted: list[str], catalogue: tuple[str, ...]) -> None:
    positions = [catalogue.index(i) for i in emitted]
    assert positions == sorted(positions), emitted
    assert len(set(emitted)) == len(emitted)


@pytest.mark.vectors
def test_snp_appraisals_emit_catalogue_ids_in_order() -> None:
    from tests.snp.test_vectors import CASES, run

    for case in CASES:
        a = run(case.report, list(case.certs), crls=case.crls)
        _in_catalogue_order([c.id for c in a.checks], snp_checks.CATALOGUE)
        expected = [i for i in snp_checks.CATALOGUE if i != snp_checks.INTERNAL
                    and (i != snp_checks.HCL_RUNTIME_DATA or a.claims.get("azure_hcl"))]
        assert [c.id for c in a.checks] == expected, case.name


@pytest.mark.vectors
def test_tdx_appraisals_emit_the_catalogue() -> None:
    from tests.tdx.conftest import ALL_QUOTES, AUTHENTIC_AT, policy, read
    from tests.vectors import vectors_dir
    from verifier.appraisal.tdx import appraise_tdx

    for name in ALL_QUOTES:
        a = appraise_tdx(read(vectors_dir(), name), policy=policy(), at=AUTHENTIC_AT, expected_report_data=None)
        assert tuple(c.id for c in a.checks) == tdx_checks.CATALOGUE, name


@pytest.mark.vectors
def test_gpu_appraisals_emit_catalogue_templates_in_order() -> None:
    from tests.nvidia import nv
    from verifier.appraisal.nvidia import appraise_gpus
    from verifier.appraisal.policy import parse_policy

    report, chain = nv.h100()
    a = appraise_gpus([("HOPPER", report, chain)] * 2, policy=parse_policy(b'name = "t"\n'), at=nv.T_GPU_OCSP,
                      expected_nonce=nv.H100_NONCE, rims=nv.google_rims())
    ids = [c.id for c in a.checks]
    assert len(set(ids)) == len(ids)
    templates = [re.sub(r"\Agpu\.\d+\.", "gpu.{n}.", i).replace(".driver.", ".{kind}.").replace(".vbios.", ".{kind}.")
                 for i in ids]
    assert set(templates) == set(gpu_checks.CATALOGUE) - {gpu_checks.RIM_INPUT}
    per_device = [t for t, i in zip(templates, ids, strict=True) if i.startswith("gpu.0.")]
    _in_catalogue_order(list(dict.fromkeys(per_device)), gpu_checks.CATALOGUE)
    assert ids[:2] == [gpu_checks.COUNT, gpu_checks.DISTINCT] and ids[-1] == gpu_checks.MODE


# -- the shared helpers --------------------------------------------------------------------------
def test_the_collector_keeps_order_and_refuses_a_second_check_with_one_id() -> None:
    out = CheckCollector()
    first = out.add(passed("x.a", "a"))
    out.extend([passed("x.b", "b"), passed("x.c", "c")])
    assert first.id == "x.a" and [c.id for c in out.checks] == ["x.a", "x.b", "x.c"]
    assert "x.b" in out and len(out) == 3 and isinstance(out.checks, tuple)
    with pytest.raises(ValueError, match=r"x\.b"):
        out.add(passed("x.b", "again"))
    assert len(out) == 3


def test_expect_one_of() -> None:
    allowed = (b"\x01" * 4, b"\x02" * 4)
    ok = expect_one_of("x.m", "M", b"\x02" * 4, allowed, show=bytes.hex)
    assert ok.status is Status.PASS and ok.detail == "M 02020202 is one the policy accepts"
    bad = expect_one_of("x.m", "M", b"\x03" * 4, allowed, show=bytes.hex)
    assert bad.status is Status.FAIL and "03030303" in bad.detail and "2 value(s)" in bad.detail
    unset = expect_one_of("x.m", "M", b"\x03" * 4, None)
    assert unset.status is Status.SKIP and not unset.required and "no expected M" in unset.detail
    assert expect_one_of("x.m", "M", b"", None, unset_required=True).required
    absent = expect_one_of("x.m", "M", None, allowed)
    assert absent.status is Status.SKIP and absent.required
    nothing = expect_one_of("x.m", "M", 1, ())  # an empty allow-list accepts nothing
    assert nothing.status is Status.FAIL
    custom = expect_one_of("x.v", "VMPL", 2, {0, 1}, authenticity=True,
                           fails="VMPL {value}; the policy allows only {allowed}")
    assert custom.authenticity and custom.detail in ("VMPL 2; the policy allows only 0, 1",
                                                     "VMPL 2; the policy allows only 1, 0")
    assert shared.__all__ == ["CheckCollector", "expect_one_of"]


# -- light imports -------------------------------------------------------------------------------
@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_of_the_packages_imports_httpx_at_module_level(package: str) -> None:
    for path in [*sorted((APPRAISAL / package).glob("*.py")), APPRAISAL / "checks.py"]:
        tree = ast.parse(path.read_text())
        for node in tree.body:
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.split(".")[0] == "httpx" for n in names), path


def test_importing_the_cpu_appraisals_loads_no_httpx() -> None:
    code = ("import sys\nimport verifier.appraisal.sev_snp, verifier.appraisal.tdx\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'httpx'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"
