"""``enclave-chat proxy URL`` as a process: it attests, prints the verdict and its base URL on
stderr, serves the OpenAI SDK, and ends on Ctrl-C (130); a refusal ends it at once (exit 1)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import openai
import pytest

from enclave.app import Settings
from enclave.server import BackgroundEnclave
from tests.environment import isolated_env

pytestmark = pytest.mark.e2e


def environment(tmp_path: Path) -> dict[str, str]:
    return isolated_env(tmp_path)


def test_the_command_serves_the_sdk_and_ends_on_ctrl_c(enclave: BackgroundEnclave, tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "enclave_chat", "proxy", enclave.url, "--policy", "demo",
                             "--port", "0"], stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                            env=environment(tmp_path))
    try:
        assert proc.stderr is not None
        lines = []
        for line in proc.stderr:  # blocks until the proxy says where it listens (no sleep)
            lines.append(line)
            if "proxy on" in line:
                break
        assert any(line.startswith("verified:") for line in lines), lines
        url = lines[-1].split("proxy on ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0, timeout=30)
        assert [m.id for m in client.models.list().data] == ["enclave-demo-1"]
        reply = client.chat.completions.create(model="enclave-demo-1",
                                               messages=[{"role": "user", "content": "hello"}])
        assert reply.choices[0].message.content
        stream = client.chat.completions.create(model="enclave-demo-1", stream=True,
                                                messages=[{"role": "user", "content": "hello"}])
        assert len([c for c in stream if c.choices and c.choices[0].delta.content]) > 2
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 130
        rest = proc.stderr.read()
        assert "Traceback" not in rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_refused_service_ends_the_command_with_exit_1(tmp_path: Path) -> None:
    with BackgroundEnclave(Settings(token_delay=0, attack="flip-measurement")) as server:
        proc = subprocess.run([sys.executable, "-m", "enclave_chat", "proxy", server.url, "--policy", "demo",
                               "--port", "0"], capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL, env=environment(tmp_path))
        assert server.enclave.gateway_posts == 0
    assert proc.returncode == 1
    assert "release.measurement" in proc.stderr and "Traceback" not in proc.stderr
