"""The built wheel is the whole program (issue 16, packaging): installed into a fresh virtual
environment and run from outside the checkout, ``enclave-chat`` starts, finds its built-in policies
and the reference enclave's demo keys inside the installed package, and verifies the demo service.

The wheel is built from this checkout with the build backend the test extra installs (no network).
The fresh environment gets the wheel and nothing of the checkout; its third-party libraries are the
test environment's, reached through a ``.pth`` line (a path a ``.pth`` file adds is searched, but
its own ``.pth`` files, this checkout's editable install among them, are not read). ``make wheel``
does the same with the dependencies resolved from the package index instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from enclave_chat.paths import builtin_policy_names
from tests.vectors import REPO

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Installed:
    wheel: Path
    prefix: Path
    home: Path

    def run(self, *args: str, program: str = "enclave-chat") -> subprocess.CompletedProcess[str]:
        env = {"PATH": f"{self.prefix / 'bin'}:/usr/bin:/bin", "HOME": str(self.home), "LANG": "C.UTF-8",
               **{f"ENCLAVE_CHAT_{k}_DIR": str(self.home / k.lower()) for k in ("CONFIG", "DATA", "CACHE", "STATE")}}
        return subprocess.run([str(self.prefix / "bin" / program), *args], capture_output=True, text=True,
                              cwd=self.home, env=env, timeout=120, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    root = tmp_path_factory.mktemp("wheel")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                            "--no-index", "-q", "-w", str(root / "dist"), str(REPO)],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (root / "dist").glob("enclave_chat-*.whl")
    prefix = root / "venv"
    venv.EnvBuilder(with_pip=False).create(prefix)
    site = Path(subprocess.run([str(prefix / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "test_environment_libraries.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(prefix / "bin" / "python"), "install",
                           "--no-deps", "--no-index", "-q", str(wheel)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    home = root / "home"
    home.mkdir()
    yield Installed(wheel, prefix, home)


def test_the_wheel_holds_the_program_and_its_data_but_no_tests(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    assert {name.split("/")[0] for name in names if not name.startswith("enclave_chat-")} == \
        {"verifier", "tui", "enclave", "enclave_chat"}
    policies = {Path(n).stem for n in names if n.startswith("enclave_chat/policies/") and n.endswith(".toml")}
    assert policies == {p.stem for p in (REPO / "policies").glob("*.toml")}
    assert "tui/app.tcss" in names and "enclave/demo_keys/ark-INSECURE-DEMO.pem" in names
    assert "enclave_chat/services.toml" in names  # the known services (docs/cli.md)


def test_version_is_the_projects(installed: Installed) -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    answer = installed.run("--version")
    assert answer.returncode == 0 and answer.stdout == f"enclave-chat {version}\n", answer.stderr


def test_the_commands_start_from_the_installed_package(installed: Installed) -> None:
    demo = installed.run("demo", "--help")
    assert demo.returncode == 0 and "INSECURE DEMO" in " ".join(demo.stdout.split()), demo.stderr
    verify = installed.run("verify", "--help")
    listed = ", ".join(builtin_policy_names())  # the checkout's policies, as the packaged copy must list them
    assert verify.returncode == 0 and listed in " ".join(verify.stdout.split()), verify.stderr
    completion = installed.run("completion", "bash")
    assert completion.returncode == 0 and "complete " in completion.stdout and "enclave-chat" in completion.stdout
    services = installed.run("services", "--json")
    assert services.returncode == 0 and '"inference.tinfoil.sh"' in services.stdout, services.stderr


_IN_PROCESS = """
import asyncio, enclave, enclave_chat
from enclave.app import Settings
from enclave.server import BackgroundEnclave
from enclave_chat.paths import policies_dir, resolve_policy
from verifier.session import Session

async def attest(url):
    async with Session(url, resolve_policy("demo")) as session:
        result = await session.ready()
        return result.result.verified, "".join([t async for t in session.stream_chat([{"role": "user", "content": "hi"}])])

with BackgroundEnclave(Settings(token_delay=0)) as server:
    verified, reply = asyncio.run(attest(server.url))
print(enclave.__file__, enclave_chat.__file__, policies_dir(), verified, bool(reply), sep="\\n")
"""


def test_the_installed_reference_enclave_is_verified_with_the_packaged_demo_policy(installed: Installed) -> None:
    answer = installed.run("-c", _IN_PROCESS, program="python")
    assert answer.returncode == 0, answer.stderr[-3000:]
    enclave_file, package_file, policies, verified, replied = answer.stdout.split("\n")[:5]
    for path in (enclave_file, package_file, policies):
        assert Path(path).is_relative_to(installed.prefix), f"{path} is not the installed copy"
        assert not Path(path).is_relative_to(REPO)
    assert (verified, replied) == ("True", "True")


def test_the_checkout_is_not_on_the_installed_programs_path(installed: Installed) -> None:
    answer = installed.run("-c", "import sys; print('\\n'.join(sys.path))", program="python")
    assert str(REPO) not in answer.stdout.split("\n")
    assert os.path.realpath(str(REPO)) not in answer.stdout.split("\n")
