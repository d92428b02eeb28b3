"""Browser fixtures: Debian's Chromium driven by Playwright, a sandbox as the upstream.

Where no Chromium is found the browser tests skip with the reason; in CI (CI=true)
they fail instead, because .ci/run installs it and they must run there.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.test import Client

from panel.models import Membership, Role, Team, TeamToken
from sandbox import start_sandbox

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SANDBOX_TOKEN = "e2e-sandbox-token-0001"

# live_server runs Django in a thread while Playwright's sync API holds an event loop.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests, but no Chromium at {CHROMIUM}")
        pytest.skip(f"no Chromium found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def sandbox(settings: Any) -> Iterator[Any]:
    """A fresh sandbox (fast transitions) as the panel's upstream for one test."""
    with start_sandbox(tokens=(SANDBOX_TOKEN,), transition_seconds=1.5) as running:
        settings.VPSORG_API_URL = running.api_url
        yield running


@pytest.fixture
def upstream(settings: Any) -> Iterator[Any]:
    """A sandbox whose transitions last a minute: a server looked at while it provisions,
    reboots or stops is still doing so (a module that wants them quicker overrides this)."""
    with start_sandbox(tokens=(SANDBOX_TOKEN,), transition_seconds=60) as running:
        settings.VPSORG_API_URL = running.api_url
        yield running


@pytest.fixture
def quick_idle_polls(settings: Any) -> None:
    """Live polls every 2 s while nothing is in transition (10 s by default), so a change
    made elsewhere shows within a few seconds. A module asks for it with
    `pytestmark = pytest.mark.usefixtures("quick_idle_polls")`."""
    settings.LIVE_IDLE_SECONDS = 2


def team_with_token(name: str) -> Team:
    """The team called `name` (made the first time), its API token the sandbox's."""
    team, created = Team.objects.get_or_create(name=name)
    if created:
        stored = TeamToken(team=team)
        stored.set_token(SANDBOX_TOKEN)
        stored.save()
    return team


def member(team: Team, username: str, role: Role, password: str | None = None) -> User:
    """A new user in `team` with `role`; the password defaults to "<username>-password-1"."""
    user = User.objects.create_user(username, password=password or f"{username}-password-1")
    Membership.objects.create(team=team, user=user, role=role)
    return user


def logged_in(browser: Any, live_server: Any, user: User, **options: Any) -> tuple[Any, Any]:
    """A browser context already logged in as `user` (its session cookie, no login form)
    and a page in it: 1280 x 900 unless `options` say otherwise (Playwright's new_context
    options: viewport, color_scheme, bypass_csp, java_script_enabled, ...)."""
    client = Client()
    client.force_login(user)
    name = django_settings.SESSION_COOKIE_NAME
    context = browser.new_context(**{"viewport": {"width": 1280, "height": 900}, **options})
    cookie = {"name": name, "value": client.cookies[name].value, "url": live_server.url}
    context.add_cookies([cookie])
    page = context.new_page()
    page.set_default_timeout(10_000)
    return context, page


def log_in(page: Any, live_server: Any, username: str, password: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    # allauth's login field is `login`; the page also has a passkey button (another form).
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", password)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/servers/**")
