"""config.toml: defaults, environment overrides, refusing what it does not know, saving the theme,
and key bindings that the user can move."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

import pytest

from tests.tui.conftest import fake_app, settle
from tests.tui.fakes import FakeService
from tui.app import EnclaveChatApp
from tui.config import DEFAULT_KEYS, Config, ConfigError, load_config, save_setting
from tui.proof import Phase
from tui.screens.chat import ChatScreen
from tui.screens.welcome import WelcomeScreen
from tui.service import Target


def test_no_file_means_the_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path, environ={})
    assert config.url is None and config.history and config.keymap() == DEFAULT_KEYS
    assert config.path == tmp_path / "config.toml"


def test_file_then_environment(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        '[service]\nurl = "https://a.example"\npolicy = "strict"\n'
        '[ui]\ntheme = "nord"\n[history]\nenabled = true\n[keys]\nreverify = "f9"\n')
    config = load_config(tmp_path, environ={"ENCLAVE_CHAT_URL": "https://b.example",
                                            "ENCLAVE_CHAT_HISTORY": "0"})
    assert config.url == "https://b.example" and config.policy == "strict"
    assert config.theme == "nord" and config.history is False
    assert config.keymap()["reverify"] == "f9" and config.keymap()["send"] == "enter"


@pytest.mark.parametrize(("text", "match"), [
    ("[servce]\nurl = 'x'\n", "unknown tables"),
    ("[service]\nurll = 'x'\n", "unknown keys"),
    ("[keys]\nreverfy = 'f9'\n", "unknown keys"),
    ("[history]\nenabled = 'yes'\n", "must be a bool"),
    ("[service\n", "not valid TOML"),
])
def test_mistakes_are_errors_not_ignored(tmp_path: Path, text: str, match: str) -> None:
    (tmp_path / "config.toml").write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_config(tmp_path, environ={})


def test_bad_environment_value(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ENCLAVE_CHAT_HISTORY"):
        load_config(tmp_path, environ={"ENCLAVE_CHAT_HISTORY": "maybe"})


def test_saving_a_setting_keeps_the_others_and_is_private(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "config.toml"
    path.parent.mkdir(mode=0o700)
    path.write_text('[service]\nurl = "https://a.example"\n')
    save_setting(path, "ui", "theme", 'we"ird')
    doc = tomllib.loads(path.read_text())
    assert doc == {"service": {"url": "https://a.example"}, "ui": {"theme": 'we"ird'}}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_a_rebound_key_works_and_the_old_one_does_not() -> None:
    service = FakeService()
    app = fake_app(service, config=Config(keys={"reverify": "f9"}))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert service.attestations == 1
        await pilot.press("f9")
        await settle(pilot)
        assert service.attestations == 2


async def test_the_theme_choice_is_saved(tmp_path: Path) -> None:
    service = FakeService()
    app = EnclaveChatApp(target=service.target, connect=lambda _t: service,
                         config=Config(theme="nord", path=tmp_path / "config.toml"),
                         save_settings=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert app.theme == "nord"
        assert not (tmp_path / "config.toml").exists()  # opening does not write
        app.theme = "gruvbox"
        await pilot.pause()
    assert tomllib.loads((tmp_path / "config.toml").read_text())["ui"]["theme"] == "gruvbox"


async def test_no_service_opens_the_welcome_screen_and_a_url_opens_the_chat() -> None:
    service = FakeService()
    targets: list[Target] = []

    def connect(target: Target) -> FakeService:
        targets.append(target)
        return service

    app = EnclaveChatApp(connect=connect, resolve_policy=lambda _n: service.target.policy,
                         policy_names=["default", "demo"], launch_demo=lambda: "http://127.0.0.1:1")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, WelcomeScreen)
        app.screen.query_one("#url").value = "127.0.0.1:8700"  # type: ignore[attr-defined]
        app.screen.query_one("#url").focus()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ChatScreen)
        assert app.screen.state.phase is Phase.VERIFIED
        assert targets[0].url == "https://127.0.0.1:8700"


async def test_the_welcome_screen_starts_the_demo() -> None:
    service = FakeService()
    started: list[str] = []

    def launch() -> str:
        started.append("yes")
        return "http://127.0.0.1:8700"

    app = EnclaveChatApp(connect=lambda t: service, resolve_policy=lambda _n: service.target.policy,
                         policy_names=["default", "demo"], launch_demo=launch)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.click("#demo")
        await settle(pilot)
        assert started == ["yes"]
        assert isinstance(app.screen, ChatScreen) and app.demo
