"""`make run`'s runner: both processes up, a clear message on a busy port, and Ctrl-C
leaving no process behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}",
        "PANEL_PORT": str(free_port()),
        "SANDBOX_PORT": str(free_port()),
        "SANDBOX_TRANSITION_SECONDS": "1",
    }
    env.pop("VPSORG_API_URL", None)  # the runner points the panel at its own sandbox
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    return env


def get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.status


def wait_until_up(url: str, runner: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert runner.poll() is None, "the runner exited early"
        try:
            if get(url) == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} never came up")


def pids_of_group(pgid: int) -> list[int]:
    out = subprocess.run(["ps", "-eo", "pid=,pgid="], capture_output=True, text=True).stdout
    return [int(p) for p, g in (line.split() for line in out.splitlines()) if int(g) == pgid]


def test_ctrl_c_stops_the_panel_and_the_sandbox(env: dict[str, str]) -> None:
    runner = subprocess.Popen(
        [sys.executable, "scripts/rundemo.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    panel = f"http://127.0.0.1:{env['PANEL_PORT']}"
    sandbox = f"http://127.0.0.1:{env['SANDBOX_PORT']}"
    try:
        wait_until_up(f"{panel}/healthz", runner)
        assert get(f"{sandbox}/") == 200
        assert get(f"{panel}/accounts/login/") == 200
        children = subprocess.run(
            ["pgrep", "-P", str(runner.pid)], capture_output=True, text=True
        ).stdout.split()
        assert len(children) == 2  # the sandbox and the panel, each in its own group

        runner.send_signal(signal.SIGINT)
        assert runner.wait(timeout=15) == 0
    finally:
        if runner.poll() is None:
            runner.kill()
    output = runner.stdout.read().decode() if runner.stdout else ""
    assert "demo / vpsorg-demo" in output
    for pid in map(int, children):
        assert pids_of_group(pid) == [], f"process group {pid} left behind"
    for url in (f"{panel}/healthz", f"{sandbox}/"):
        with pytest.raises(OSError):
            get(url)


def test_a_busy_port_gets_a_clear_message(env: dict[str, str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", int(env["PANEL_PORT"])))
        busy.listen()
        result = subprocess.run(
            [sys.executable, "scripts/rundemo.py"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2
    assert f"Port {env['PANEL_PORT']} on 127.0.0.1 already in use" in result.stderr
    assert "Traceback" not in result.stderr
