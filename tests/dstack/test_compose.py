"""The app compose: its members' types, and the images of docker_compose_file as the line reader
finds and resolves them (``${VAR:-default}`` only for a variable the operator cannot set)."""

from __future__ import annotations

import json

import pytest

from verifier.errors import ParseError
from verifier.evidence.dstack import (
    ComposeImages,
    compose_images,
    looks_like_compose,
    parse_app_compose,
)

DIGEST = "ab" * 32


def images(compose_file: str, *, allowed: tuple[str, ...] = (), script: str = "") -> ComposeImages:
    doc = {"manifest_version": 2, "name": "t", "runner": "docker-compose", "docker_compose_file": compose_file,
           "allowed_envs": list(allowed), "pre_launch_script": script}
    return compose_images(parse_app_compose(json.dumps(doc).encode()))


def resolved(ci: ComposeImages) -> list[str | None]:
    return [i.resolved for i in ci.images]


def test_plain_and_quoted_images_and_their_pins() -> None:
    ci = images(f"services:\n  a:\n    image: alpine@sha256:{DIGEST}\n  b:\n    image: 'nginx:1.27'  # web\n"
                f'  c:\n    image: "redis"\n')
    assert resolved(ci) == [f"alpine@sha256:{DIGEST}", "nginx:1.27", "redis"]
    assert [i.pinned for i in ci.images] == [True, False, False] and ci.unread == ()


def test_defaults_resolve_only_for_variables_the_operator_cannot_set() -> None:
    text = f"services:\n  a:\n    image: ${{IMG:-app@sha256:{DIGEST}}}\n"
    assert resolved(images(text)) == [f"app@sha256:{DIGEST}"]
    chosen = images(text, allowed=("IMG",)).images[0]
    assert chosen.resolved is None and chosen.operator_set == ("IMG",) and not chosen.pinned
    # A variable a pre-launch script may export is not resolved either.
    scripted = images(text, script="export IMG=evil:latest\n").images[0]
    assert scripted.resolved is None and scripted.operator_set == ("IMG",)


@pytest.mark.parametrize(("written", "expected"), [
    ("repo/app:${TAG-1.0}", "repo/app:1.0"),
    ("repo/app$TAG", "repo/app"),
    ("repo/app${TAG}", "repo/app"),
    ("repo/app${TAG:+x}", "repo/app"),
    ("repo/$$app", "repo/$app"),
    ("repo/app:${TAG:?tag needed}", None),
    ("repo/app:${TAG:-${OTHER}}", None),
])
def test_interpolation_with_nothing_set(written: str, expected: str | None) -> None:
    assert resolved(images(f"services:\n  a:\n    image: {written}\n")) == [expected]


def test_block_scalars_are_skipped_and_other_forms_listed_as_unread() -> None:
    text = ("services:\n  a:\n    image: a@sha256:" + DIGEST + "\n"
            "  b: {image: hidden}\n"
            "  c:\n    image: &anchor ref\n"
            "configs:\n  x:\n    content: |\n      image: not-a-service\n      more text\n"
            "  y:\n    file: ./y\n  d:\n    build: https://example.org/repo.git\n")
    ci = images(text)
    assert resolved(ci) == [f"a@sha256:{DIGEST}"]
    assert ci.unread == (4, 6, 15)


def test_compose_members_are_typed() -> None:
    with pytest.raises(ParseError, match="kms_enabled"):
        parse_app_compose(b'{"runner": "docker-compose", "kms_enabled": "yes"}')
    with pytest.raises(ParseError, match="allowed_envs"):
        parse_app_compose(b'{"runner": "docker-compose", "allowed_envs": "A"}')
    with pytest.raises(ParseError, match="runner"):
        parse_app_compose(b'{"name": "x"}')
    app = parse_app_compose(b'{"runner": "bash", "init_script": "echo", "future_field": 1}')
    assert app.init_scripts == ("echo",) and app.unknown_keys == ("future_field",)
    assert looks_like_compose({"runner": "docker-compose", "manifest_version": 2})
    assert not looks_like_compose({"quote": "00", "event_log": "[]"})
