"""The TUI's shape (issue 11, point 7): it names no provider (they come from the registry), and no
module of it imports another in a circle (screens reach the app through a Protocol)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.test_layering import cycles, import_graph

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_WORD = re.compile(r"\b(native|tinfoil)\b", re.IGNORECASE)


def test_no_provider_is_named_in_the_tui() -> None:
    found: list[str] = []
    for path in sorted((ROOT / "tui").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and PROVIDER_WORD.search(node.value):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []


def test_no_tui_module_imports_another_in_a_circle() -> None:
    graph = {m: {t for t in targets if t.startswith("tui")}
             for m, targets in import_graph().items() if m.startswith("tui")}
    assert cycles(graph) == []
    screens = [m for m in graph if m.startswith("tui.screens")]
    assert screens and not any("tui.app" in graph[m] for m in screens)


SHOWS_CONTENT = {"Label", "Static", "Option", "Button", "Toast"}
"""Widgets whose first argument Textual parses as markup when it is a ``str``."""


def _texts(tree: ast.Module) -> set[str]:
    """The functions of a module annotated to return Text, and the names it assigns a Text(...)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns is not None \
                and ast.unparse(node.returns) in ("Text", "Content"):
            names.add(node.name)
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) \
                and isinstance(node.value.func, ast.Name) and node.value.func.id in ("Text", "Content"):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _plain(node: ast.expr, texts: set[str]) -> bool:
    """A literal we wrote (no markup in it), or a Text/Content (never parsed as markup)."""
    if isinstance(node, ast.Constant):
        return not (isinstance(node.value, str) and "[" in node.value)
    if isinstance(node, ast.IfExp):
        return _plain(node.body, texts) and _plain(node.orelse, texts)
    if isinstance(node, ast.Name):
        return node.id in texts
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        return name in ("Text", "Content") or name in texts
    return False


def test_text_from_outside_is_never_parsed_as_markup() -> None:
    """Issue 12, finding 3: every notification turns markup off, and every widget that would parse
    a ``str`` as markup is given a literal of ours or a Text (service text in an f-string, a model
    id, an error, a title from the history file would otherwise be parsed)."""
    found: list[str] = []
    for path in sorted((ROOT / "tui").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        texts = _texts(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else \
                node.func.id if isinstance(node.func, ast.Name) else ""
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if name == "notify":
                markup = [k for k in node.keywords if k.arg == "markup"]
                if not (markup and isinstance(markup[0].value, ast.Constant)
                        and markup[0].value.value is False):
                    found.append(f"{where}: notify without markup=False")
            elif name in SHOWS_CONTENT and node.args and not _plain(node.args[0], texts):
                found.append(f"{where}: {name} of {ast.unparse(node.args[0])}")
            elif name == "update" and node.args and isinstance(node.args[0], ast.JoinedStr | ast.BinOp):
                found.append(f"{where}: update with {ast.unparse(node.args[0])}")
            elif name == "Select" and node.args and isinstance(node.args[0], ast.ListComp) \
                    and isinstance(node.args[0].elt, ast.Tuple) \
                    and not _plain(node.args[0].elt.elts[0], texts):
                found.append(f"{where}: Select prompt {ast.unparse(node.args[0].elt.elts[0])}")
    assert found == []
