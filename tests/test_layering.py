"""Dependencies point one way (DESIGN.md, docs/architecture.md).

The module graph is computed from the sources: every ``import`` and ``from ... import``, at module
level or inside a function (both run), except those under ``if TYPE_CHECKING:`` (never run). An
import names the module it loads: ``from pkg import sub`` is an arrow to ``pkg.sub`` when that is a
module, else to ``pkg`` itself.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("verifier", "tui", "enclave", "enclave_chat")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports."""
    modules = project_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        targets: set[str] = set()
        for node in _imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
                continue
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join([*base, *([node.module] if node.module else [])])
            else:
                origin = node.module or ""
            for alias in node.names:
                sub = f"{origin}.{alias.name}"
                targets.add(sub if sub in modules else origin)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each strongly connected component of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_graph_sees_function_level_and_relative_imports() -> None:
    graph = import_graph()
    # verifier.session imports its provider registry at module level; the CLI imports the TUI
    # entry inside a function; a relative or package import is resolved to the module it loads.
    assert "verifier.providers.registry" in graph["verifier.session"]
    assert any(t.startswith("tui") for t in graph["enclave_chat.tui_entry"])
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_another_in_a_circle() -> None:
    assert cycles(import_graph()) == []


LAYERS: dict[str, set[str]] = {
    # package -> packages it must not import (DESIGN.md: appraisal -> evidence, endorsements,
    # reference; providers build on appraisal and channel; the session on providers)
    "verifier": {"tui", "enclave", "enclave_chat"},
    "verifier.evidence": {"verifier.appraisal", "verifier.providers", "verifier.session",
                          "verifier.endorsements", "verifier.reference", "verifier.channel"},
    "verifier.endorsements": {"verifier.appraisal", "verifier.providers", "verifier.session"},
    "verifier.reference": {"verifier.appraisal", "verifier.providers", "verifier.session"},
    "verifier.appraisal": {"verifier.providers", "verifier.session", "verifier.channel"},
    "verifier.channel": {"verifier.appraisal", "verifier.providers", "verifier.session"},
    "verifier.providers": {"verifier.session"},
    "tui": {"enclave", "enclave_chat"},
    "enclave": {"tui", "enclave_chat"},
}


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_no_arrow_the_design_forbids(package: str) -> None:
    graph = import_graph()
    bad = {m: sorted(t for t in targets if any(_within(t, f) for f in LAYERS[package]))
           for m, targets in graph.items() if _within(m, package)}
    assert {m: t for m, t in bad.items() if t} == {}


def test_nothing_imports_textual_outside_the_tui() -> None:
    for name, path in project_modules().items():
        if _within(name, "tui"):
            continue
        for node in _imports(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            assert not any(n.split(".")[0] == "textual" for n in names), name


def test_scripted_commands_do_not_load_textual_or_the_enclave(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from enclave_chat.cli import main\n"
        "for argv in (['verify', 'http://127.0.0.1:1', '--policy', 'demo', '--json'],\n"
        "             ['ask', 'http://127.0.0.1:1', 'hi', '--policy', 'demo'],\n"
        "             ['evidence', 'verify', 'sev-snp', '/nonexistent'],\n"
        "             ['locate', 'cache']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'enclave', 'tui'))\n"
        "print('LOADED=' + ','.join(bad))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "ENCLAVE_CHAT_CACHE_DIR": str(tmp_path / "c"),
           "ENCLAVE_CHAT_STATE_DIR": str(tmp_path / "s")}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "LOADED="
