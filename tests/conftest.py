"""Shared fixtures: a team with a member of each role, an outsider of another team,
the team's stored token, and the VPS.org API mocked with `responses`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import responses
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.utils import translation

from panel.models import Membership, Role, Team, TeamToken
from servers import client as vpsorg
from servers.fragments import results_memo

API = "http://vpsorg.test/api/v1"
TOKEN = "team-secret-token-abcd1234"
OTHER_TOKEN = "other-team-token-wxyz9876"


@pytest.fixture(autouse=True)
def _api_url_and_cache(settings) -> Iterator[None]:
    settings.VPSORG_API_URL = API
    settings.VPSORG_TIMEOUT = 2.0
    # The production hasher costs ~0.3 s per user created or logged in; tests need no strength.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    # The per-process memories of the list (its rendered results: a test's team has the
    # same pk as the last test's; its parsed pages and built servers).
    _forget_lists()
    yield
    cache.clear()
    _forget_lists()
    # A request in another language (LocaleMiddleware) leaves it active in this thread.
    translation.deactivate()


def _forget_lists() -> None:
    results_memo.clear()
    vpsorg._PARSED_PAGES.clear()
    vpsorg._BUILT_LISTS.clear()


def _member(team: Team, username: str, role: Role) -> User:
    user = User.objects.create_user(username, f"{username}@example.com", "pw-" + username)
    Membership.objects.create(team=team, user=user, role=role)
    return user


@pytest.fixture
def team(db) -> Team:
    team = Team.objects.create(name="Acme")
    stored = TeamToken(team=team, token_name="Acme token")
    stored.set_token(TOKEN)
    stored.save()
    return team


@pytest.fixture
def other_team(db) -> Team:
    other = Team.objects.create(name="Other")
    stored = TeamToken(team=other)
    stored.set_token(OTHER_TOKEN)
    stored.save()
    return other


@pytest.fixture
def admin_user(team: Team) -> User:
    return _member(team, "alice-admin", Role.ADMIN)


@pytest.fixture
def manager_user(team: Team) -> User:
    return _member(team, "mona-manager", Role.MANAGER)


@pytest.fixture
def operator_user(team: Team) -> User:
    return _member(team, "oscar-operator", Role.OPERATOR)


@pytest.fixture
def viewer_user(team: Team) -> User:
    return _member(team, "vera-viewer", Role.VIEWER)


@pytest.fixture
def outsider_user(other_team: Team) -> User:
    return _member(other_team, "otto-outsider", Role.ADMIN)


def client_for(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    """The VPS.org API, mocked; any unexpected call fails the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def server_json(id: int | str = 12345, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "id": id,
        "name": "web-server-01",
        "hostname": "web01.example.com",
        "status": "active",
        "ip_address": "203.0.113.10",
        "location": "us-west",
        "plan": {"id": 1, "name": "Standard VPS", "vcpus": 2, "memory": 4096, "storage": 80},
        "os": {"id": 5, "name": "Ubuntu 22.04 LTS"},
        "created_at": "2025-01-10T14:30:00Z",
        "updated_at": "2025-01-15T10:20:00Z",
    }
    data.update(overrides)
    return data


def page(results: list[dict[str, object]], next_url: str | None = None) -> dict[str, object]:
    return {"count": len(results), "next": next_url, "previous": None, "results": results}


REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_cache() -> Iterator[tuple[dict[str, Any], Any]]:
    """CACHES for a redis every instance would share, under a prefix of this test's own,
    and a raw connection to look inside; skipped where no redis answers."""
    redis = pytest.importorskip("redis")
    raw = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        raw.ping()
    except redis.RedisError:
        pytest.skip(f"redis is not reachable at {REDIS_URL}")
    prefix = f"test-{uuid.uuid4().hex}"
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    yield caches, raw
    keys = list(raw.scan_iter(f"{prefix}:*"))
    if keys:
        raw.delete(*keys)
    raw.close()
