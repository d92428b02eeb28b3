"""Real panel processes for the tests that need several: gunicorn as `make serve` runs it
(deploy/gunicorn.conf.py), production settings over plain HTTP on loopback, and a
browser-like client that logs in through the login page, whatever its field names."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import requests
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "live-panel-test-secret-key-" + "s" * 40
ENCRYPTION_KEY = Fernet.generate_key().decode()
PASSWORD = "live-panel-pw-1234"


def production_env(database_url: str, **extra: str) -> dict[str, str]:
    """The documented production variables, with the TLS settings off for loopback HTTP."""
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    return {
        **keep,
        "DJANGO_SETTINGS_MODULE": "panel.settings",
        "SECRET_KEY": SECRET_KEY,
        "TOKEN_ENCRYPTION_KEYS": ENCRYPTION_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url,
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "VPSORG_API_URL": "http://127.0.0.1:9/api/v1",
        "VPSORG_TIMEOUT": "5",
        **extra,
    }


def manage(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


class ServiceUnavailable(Exception):
    """PostgreSQL or Redis does not answer here."""


@contextmanager
def postgres_database(server: str, prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on `server` (a URL without a database), dropped
    after; ServiceUnavailable where psycopg or the server is missing."""
    try:
        import psycopg
    except ImportError:
        raise ServiceUnavailable("psycopg is not installed (the postgres extra)") from None
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=3)
    except psycopg.Error as error:
        raise ServiceUnavailable(
            f"PostgreSQL is not reachable at {server} ({error.__class__.__name__})"
        ) from None
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{server}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Instance:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def access_entries(self) -> list[dict[str, object]]:
        """The panel's access-log lines so far (gunicorn's own lines skipped)."""
        entries = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                entries.append(json.loads(line))
        return entries


@contextmanager
def gunicorn(env: dict[str, str], log: Path, *, workers: int, threads: int) -> Iterator[Instance]:
    port = free_port()
    run_env = {
        **env,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_THREADS": str(threads),
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "deploy/gunicorn.conf.py"],
            cwd=ROOT,
            env=run_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    instance = Instance(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                # A worker's first answer (imports, first connections) may be slow here.
                if requests.get(f"{instance.url}/healthz", timeout=10).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass
            assert time.monotonic() < deadline, "gunicorn did not answer:\n" + log.read_text()
            time.sleep(0.2)
        yield instance
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class _LoginForm(HTMLParser):
    """The login form's fields: the password input's name, the other visible input's
    name (username today; allauth calls it login), and the hidden ones (CSRF)."""

    def __init__(self) -> None:
        super().__init__()
        self.in_form = False
        self.action: str | None = None
        self.password: str | None = None
        self.identity: str | None = None
        self.hidden: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form" and values.get("method", "").lower() == "post" and self.password is None:
            self.in_form = True
            self.action = values.get("action") or None
            self.hidden = {}
            self.identity = None
        elif tag == "input" and self.in_form:
            kind = values.get("type", "text").lower()
            name = values.get("name", "")
            if kind == "password" and self.password is None:
                self.password = name
            elif kind == "hidden":
                self.hidden[name] = values.get("value", "")
            elif kind in {"text", "email"} and self.identity is None:
                self.identity = name

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.in_form:
            self.in_form = False


LOGIN_PATH = "/accounts/login/"


def log_in(session: requests.Session, base: str, username: str, password: str) -> int:
    """Post the login form as a browser would; the status of the answer (not followed)."""
    page = session.get(base + LOGIN_PATH, timeout=30)
    assert page.status_code == 200, page.status_code
    form = _LoginForm()
    form.feed(page.text)
    assert form.password and form.identity, "no login form found on " + LOGIN_PATH
    action = form.action or LOGIN_PATH
    answer = session.post(
        base + action if action.startswith("/") else base + LOGIN_PATH,
        data={**form.hidden, form.identity: username, form.password: password},
        headers={"Referer": base + LOGIN_PATH},
        allow_redirects=False,
        timeout=30,
    )
    return answer.status_code


def logged_in(session: requests.Session, base: str) -> bool:
    """Whether the session's cookie is a login here: /servers/ answers instead of sending
    to the login page."""
    answer = session.get(base + "/servers/", allow_redirects=False, timeout=30)
    if answer.status_code in (301, 302, 303, 307, 308):
        return not answer.headers["Location"].startswith(LOGIN_PATH)
    return answer.status_code == 200


def csrf_post(session: requests.Session, base: str, path: str, data: dict[str, str]) -> int:
    token = session.cookies.get("csrftoken", "")
    answer = session.post(
        base + path,
        data={"csrfmiddlewaretoken": token, **data},
        headers={"Referer": base + path, "X-CSRFToken": token},
        allow_redirects=False,
        timeout=60,
    )
    return answer.status_code


def upstream_list_calls(sandbox: Any) -> int:
    """How many server lists the sandbox answered since its counter was last reset."""
    counts = requests.get(sandbox.url + "/_sandbox/requests", timeout=10).json()["by_endpoint"]
    return sum(
        n for key, n in counts.items() if key.startswith("GET ") and key.endswith("/servers/")
    )


SETUP_USERS = """
from django.contrib.auth.models import User
from panel.models import Membership, Role, Team, TeamToken
team = Team.objects.create(name="Live")
if {token!r}:
    stored = TeamToken(team=team, token_name="live")
    stored.set_token({token!r})
    stored.save()
for name, role in {roles!r}:
    user = User.objects.create_user(name, name + "@example.com", {password!r})
    Membership.objects.create(team=team, user=user, role=role)
for membership in Membership.objects.filter(team=team).order_by("id"):
    print("member", membership.user.username, membership.pk)
"""


def create_users(
    env: dict[str, str], roles: list[tuple[str, str]], token: str = ""
) -> dict[str, int]:
    """Users in one new team (with `token` stored, if given); membership ids by username."""
    script = SETUP_USERS.format(roles=roles, password=PASSWORD, token=token)
    out = manage(env, "shell", "-c", script)
    rows = [line.split() for line in out.splitlines() if line.startswith("member ")]
    return {name: int(pk) for _, name, pk in rows}
