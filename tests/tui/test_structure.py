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
