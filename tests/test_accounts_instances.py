"""The lock-out holds across processes: two panel instances under gunicorn (two workers
each), sharing one database and one redis (CACHE_URL), as several instances behind a
balancer do. Failed logins, and wrong second-factor codes, sent to both alternately add up
to one lock that both refuse, even with the right password or code. Skipped where redis is
missing."""

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
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # tom's authenticator app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, child: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert child.poll() is None, "gunicorn stopped"
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:  # not listening yet, or still booting
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
        "from allauth.mfa.totp.internal.auth import TOTP; "
        f"User.objects.create_user('lena', 'lena@example.com', '{PASSWORD}'); "
        f"TOTP.activate(User.objects.create_user('tom', 'tom@example.com', '{PASSWORD}'), "
        f"'{TOTP_SECRET}')"
    )
    subprocess.run([*manage, "shell", "-c", create], cwd=ROOT, env=env, check=True)
    children = []
    urls = []
    try:
        for _ in range(2):
            port = _free_port()
            child = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "panel.wsgi", "-b", f"127.0.0.1:{port}",
                 "-w", "2", "--log-level", "warning"],
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


def _post(session: requests.Session, base: str, path: str, **data: str) -> requests.Response:
    page = session.get(f"{base}{path}", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return session.post(
        f"{base}{path}",
        data={"csrfmiddlewaretoken": token, **data},
        headers={"Referer": f"{base}{path}"},
        allow_redirects=False,
        timeout=10,
    )


def _post_login(
    session: requests.Session, base: str, password: str, login: str = "lena"
) -> requests.Response:
    return _post(session, base, "/accounts/login/", login=login, password=password)


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


def test_wrong_codes_on_two_instances_add_up_to_one_lock(instances: list[str]) -> None:
    import pyotp

    first, second = instances
    # One browser: its session (in the shared database) moves between the instances.
    browser = requests.Session()
    step = _post_login(browser, first, PASSWORD, login="tom")
    assert step.headers["Location"] == "/accounts/2fa/authenticate/"
    for n in range(4):  # LOGIN_FAILURE_LIMIT=4
        wrong = _post(browser, instances[n % 2], "/accounts/2fa/authenticate/", code="000000")
        assert wrong.status_code == 200
        assert "Incorrect code." in wrong.text
    right = pyotp.TOTP(TOTP_SECRET).now()
    for base in (first, second):
        refused = _post(browser, base, "/accounts/2fa/authenticate/", code=right)
        assert refused.status_code == 200
        assert "Too many failed log-in attempts" in refused.text
    assert browser.get(f"{first}/servers/", allow_redirects=False).status_code == 302
