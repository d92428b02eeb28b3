"""deploy/gunicorn.conf.py: workers and threads from the cores unless set, graceful
restarts, and gunicorn accepting the file as it is."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "deploy" / "gunicorn.conf.py"
CORES = len(os.sched_getaffinity(0))


def load(monkeypatch, **env: str) -> dict[str, object]:
    for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_BIND", "GUNICORN_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONF))


def test_workers_and_threads_follow_the_cores_by_default(monkeypatch) -> None:
    conf = load(monkeypatch)
    assert conf["workers"] == 2 * CORES + 1
    assert conf["threads"] == max(2, 2 * CORES)
    assert conf["worker_class"] == "gthread"
    assert conf["bind"] == ["127.0.0.1:8000"]
    assert conf["graceful_timeout"] == 30
    assert conf["preload_app"] is False  # HUP reloads the code, too


def test_the_environment_sets_them(monkeypatch) -> None:
    conf = load(
        monkeypatch, WEB_CONCURRENCY="3", GUNICORN_THREADS="1", GUNICORN_BIND="0.0.0.0:8000"
    )
    assert (conf["workers"], conf["threads"], conf["worker_class"]) == (3, 1, "sync")
    assert conf["bind"] == ["0.0.0.0:8000"]


@pytest.mark.parametrize("value", ["many", "0", "-2"])
def test_a_bad_count_stops_the_start_with_its_name(monkeypatch, value) -> None:
    with pytest.raises(SystemExit, match="WEB_CONCURRENCY"):
        load(monkeypatch, WEB_CONCURRENCY=value)


def test_gunicorn_reads_the_file() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--config", str(CONF), "--check-config"],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "true"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
