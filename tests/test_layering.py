"""Dependencies point one way (DESIGN.md): verifier imports none of tui, enclave, enclave_chat;
tui imports no enclave; and the scripted commands load neither textual nor the enclave."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(package: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        out[str(path.relative_to(ROOT))] = names
    return out


@pytest.mark.parametrize(("package", "forbidden"), [
    ("verifier", {"tui", "enclave", "enclave_chat", "textual"}),
    ("tui", {"enclave", "enclave_chat"}),
    ("enclave", {"tui", "enclave_chat", "textual"}),
])
def test_imports_point_one_way(package: str, forbidden: set[str]) -> None:
    modules = imported_modules(package)
    assert modules, f"no modules found under {package}/"
    bad = {path: sorted(names & forbidden) for path, names in modules.items() if names & forbidden}
    assert bad == {}


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
