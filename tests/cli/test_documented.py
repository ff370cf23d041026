"""docs/cli.md's table of commands is the parser's: every command, subcommand and option the
parser takes is named in it (a new option without its line in the contract fails here)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from enclave_chat.cli import COMMANDS, build_parser
from tests.vectors import REPO


def _commands_table() -> str:
    doc = (REPO / "docs" / "cli.md").read_text()
    return doc.split("\n## Commands\n", 1)[1].split("\n### ", 1)[0]


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _commands(parser: argparse.ArgumentParser, words: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    subs = _subparsers(parser)
    if words and not subs:
        yield words, parser
    for name, sub in subs.items():
        yield from _commands(sub, (*words, name))


def _rows(table: str, words: tuple[str, ...]) -> list[str]:
    head = "`enclave-chat " + " ".join(words)
    return [line for line in table.splitlines()
            if line.startswith("| " + head + " ") or line.startswith("| " + head + "`")]


def test_every_command_has_a_row() -> None:
    table = _commands_table()
    missing = [" ".join(w) for w, _ in _commands(build_parser()) if not _rows(table, w)]
    assert not missing, f"docs/cli.md has no row for: {missing}"
    assert {w[0] for w, _ in _commands(build_parser())} == set(COMMANDS)


def test_every_option_is_in_its_commands_rows() -> None:
    table = _commands_table()
    missing = []
    for words, parser in _commands(build_parser()):
        rows = " ".join(_rows(table, words))
        for action in parser._actions:
            for option in action.option_strings:
                if option.startswith("--") and option != "--help" and option not in rows:
                    missing.append(f"{' '.join(words)} {option}")
    assert not missing, f"docs/cli.md's rows do not name: {missing}"


def test_the_top_level_options_have_rows() -> None:
    table = _commands_table()
    assert "`enclave-chat --version`" in table
