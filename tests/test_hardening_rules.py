"""Each hardening rule has one definition (issue 11, point 5), and a second one cannot creep in:

- strict JSON (I-JSON: no duplicate names, no NaN, bounded integers and depth): verifier.strict_json;
- the bounded HTTP read (identity coding, raw bytes, no redirects, a deadline, a size cap):
  verifier.bounded_http;
- which URL is loopback (httpx and urllib must agree on the host): verifier.urls;
- the DER reader: verifier.endorsements.der;
- the private file writer (0600 files, 0700 directories, no symlink following): verifier.private_files;
- ``one_line`` for text from outside: verifier.text.

The scan looks for the library calls each rule wraps; a file that needs one of them for its own
reason is listed here with that reason.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("verifier", "tui", "enclave_chat")

RULES: dict[str, tuple[re.Pattern[str], str, dict[str, str]]] = {
    "strict JSON": (re.compile(r"\bjson\.loads\(|object_pairs_hook|parse_constant"), "verifier/strict_json.py", {
        "verifier/endorsements/fetch.py": "the collateral cache's own metadata file, written by this client",
        "verifier/reference/sigstore_bundle.py": "the sigstore package's own trusted-root object, re-read",
        "tui/history.py": "the conversation database's own rows, written by this client",
    }),
    "bounded HTTP read": (re.compile(r"\.(a?iter_bytes|a?iter_raw|aread)\(|\.read\(\)\s*$"), "verifier/bounded_http.py", {
        "verifier/recording.py": "the recording transport records every answer decoded, bounded by _bound",
        "enclave_chat/sdk.py": "the local caller's own request body, handed to the attested channel",
        "enclave_chat/proxy/app.py": "an exchange the session opened (bounded there), not an HTTP body",
    }),
    "loopback rule": (re.compile(r"\.is_loopback\b|ip_address\("), "verifier/urls.py", {}),
    "DER reader": (re.compile(r"def \w*tlv\w*\(|& 0x1F == 0x1F"), "verifier/endorsements/der.py", {}),
    "private file writer": (re.compile(r"O_CREAT"), "verifier/private_files.py", {
        "verifier/reference/checkpoint_store.py": "a lock file (flock), holding no data",
        "tui/history.py": "the SQLite database file, created 0600 before SQLite opens it",
    }),
    "one_line": (re.compile(r"def one_line\b"), "verifier/text.py", {}),
}


def _code_lines(path: Path) -> list[tuple[int, str]]:
    """The file's lines without comments and docstrings (a rule named in prose is not a use)."""
    text = path.read_text()
    skip: set[int] = set()
    for node in ast.walk(ast.parse(text, str(path))):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            skip.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return [(n, line.split("#", 1)[0]) for n, line in enumerate(text.splitlines(), 1) if n not in skip]


@pytest.mark.parametrize("rule", sorted(RULES))
def test_each_rule_has_one_definition(rule: str) -> None:
    pattern, home, allowed = RULES[rule]
    assert (ROOT / home).is_file(), home
    found: dict[str, list[int]] = {}
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name == home or name in allowed:
                continue
            hits = [n for n, line in _code_lines(path) if pattern.search(line)]
            if hits:
                found[name] = hits
    assert found == {}, f"{rule} is written again outside {home}"


@pytest.mark.parametrize("rule", sorted(RULES))
def test_each_allowance_is_still_needed(rule: str) -> None:
    pattern, _, allowed = RULES[rule]
    for name in allowed:
        assert any(pattern.search(line) for _, line in _code_lines(ROOT / name)), (rule, name)


def test_the_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('"""json.loads( in prose is fine"""\nimport json\nx = json.loads(b"{}")  # a use\n')
    assert [n for n, line in _code_lines(sample) if RULES["strict JSON"][0].search(line)] == [3]
