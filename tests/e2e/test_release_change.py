"""Approve on change in the scripted commands (issue 17, point 4): ``ask`` records the release of
a service the first time (trust on first use, in the state directory); after the service is
redeployed with another release, ``ask`` refuses (exit 1, one line naming old -> new) and sends
nothing; ``--on-change accept`` goes on and records the new release."""

from __future__ import annotations

import json
from pathlib import Path

from enclave.app import Settings
from enclave.server import BackgroundEnclave
from tests.redeploy import NEW_VERSION, redeploy


def _record(tmp_path: Path) -> dict[str, object]:
    files = sorted((tmp_path / "state" / "releases").glob("*.json"))
    assert len(files) == 1, files
    assert files[0].stat().st_mode & 0o777 == 0o600
    doc = json.loads(files[0].read_text())
    assert isinstance(doc, dict)
    return doc


def test_ask_refuses_a_changed_release_until_accepted(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with BackgroundEnclave(Settings(token_delay=0)) as server:
        first = cli("ask", server.url, "hello", "--policy", "demo")
        assert first.code == 0, first.stderr
        record = _record(tmp_path)
        assert record["url"] == server.url and record["release"]["version"] == "0.1.0"  # type: ignore[index]
        old_index = record["release"]["log_index"]  # type: ignore[index]

        again = cli("ask", server.url, "same release", "--policy", "demo")
        assert again.code == 0, again.stderr
        posts = server.enclave.gateway_posts

        redeploy(server)
        refused = cli("ask", server.url, "secret", "--policy", "demo")
        assert server.enclave.gateway_posts == posts  # nothing was sent
        assert refused.code == 1 and refused.stdout == ""
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1, refused.stderr
        assert "release 0.1.0 (" in lines[0] and f"-> release {NEW_VERSION} (" in lines[0]
        assert f"log {old_index}" in lines[0] and "--on-change accept" in lines[0]
        assert _record(tmp_path)["release"]["version"] == "0.1.0"  # type: ignore[index]

        accepted = cli("ask", server.url, "go on", "--policy", "demo", "--on-change", "accept")
        assert accepted.code == 0, accepted.stderr
        assert "go on" in accepted.stdout and server.enclave.gateway_posts == posts + 1
        assert f"accepted (--on-change accept): the release of {server.url} changed (release)" in accepted.stderr
        record = _record(tmp_path)
        assert record["release"]["version"] == NEW_VERSION and record["accepted_changes"] == 1  # type: ignore[index]

        after = cli("ask", server.url, "and now", "--policy", "demo")
        assert after.code == 0, after.stderr
