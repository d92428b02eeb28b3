"""The lock-out holds across processes: two panel instances under gunicorn, sharing one
database and one redis (CACHE_URL), as several instances behind a balancer do. Failed
logins sent to both, alternately, add up to one lock that both refuse, even with the right
password. Skipped where gunicorn or redis is missing."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
REDIS = "redis://127.0.0.1:6379/5"
PASSWORD = "right-password-42"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, child: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert child.poll() is None, "gunicorn stopped"
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer")


@pytest.fixture
def instances(tmp_path: Path) -> Iterator[list[str]]:
    redis = pytest.importorskip("redis")
    raw = redis.Redis.from_url(REDIS, socket_connect_timeout=0.5)
    try:
        raw.ping()
    except redis.RedisError:
        pytest.skip(f"redis is not reachable at {REDIS}")
    prefix = f"test-instances-{uuid.uuid4().hex}"
    env = {
        **os.environ,
        "DEBUG": "true",
        "SECRET_KEY": "test-only-secret-key",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'panel.sqlite3'}",
        "CACHE_URL": REDIS,
        "DJANGO_SETTINGS_MODULE": "tests.instance_settings",
        "TEST_CACHE_KEY_PREFIX": prefix,
        "LOGIN_FAILURE_LIMIT": "4",
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    create = (
        "from django.contrib.auth.models import User; "
        f"User.objects.create_user('lena', 'lena@example.com', '{PASSWORD}')"
    )
    subprocess.run([*manage, "shell", "-c", create], cwd=ROOT, env=env, check=True)
    children = []
    urls = []
    try:
        for _ in range(2):
            port = _free_port()
            child = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "panel.wsgi", "-b", f"127.0.0.1:{port}",
                 "-w", "1", "--log-level", "warning"],
                cwd=ROOT, env=env,
            )  # fmt: skip
            children.append(child)
            urls.append(f"http://127.0.0.1:{port}")
            _wait(f"{urls[-1]}/healthz", child)
        yield urls
    finally:
        for child in children:
            child.terminate()
            child.wait(timeout=10)
        keys = list(raw.scan_iter(f"{prefix}:*"))
        if keys:
            raw.delete(*keys)
        raw.close()


def _post_login(session: requests.Session, base: str, password: str) -> requests.Response:
    page = session.get(f"{base}/accounts/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return session.post(
        f"{base}/accounts/login/",
        data={"csrfmiddlewaretoken": token, "login": "lena", "password": password},
        headers={"Referer": f"{base}/accounts/login/"},
        allow_redirects=False,
        timeout=10,
    )


def test_failures_on_two_instances_add_up_to_one_lock(instances: list[str]) -> None:
    first, second = instances
    for n in range(4):  # LOGIN_FAILURE_LIMIT=4, alternately on each instance
        response = _post_login(requests.Session(), instances[n % 2], "wrong")
        assert response.status_code == 200
        assert "not correct" in response.text
    for base in (first, second):
        refused = _post_login(requests.Session(), base, PASSWORD)
        assert refused.status_code == 429
        assert "Too many failed log-in attempts" in refused.text
