"""Two instances, one panel: two gunicorn instances (different ports) on one PostgreSQL
database made for this test and one Redis, with the same SECRET_KEY and
TOKEN_ENCRYPTION_KEYS, in front of one sandbox, behave as one panel over HTTP.

Run by `make test-instances` (and so by .ci/run). Skipped with the reason where PostgreSQL
or Redis does not answer; in CI (CI=true) that is a failure instead.
INSTANCES_POSTGRES (default postgres://postgres@127.0.0.1:5432), INSTANCES_DB_PREFIX and
INSTANCES_REDIS_URL (default redis://127.0.0.1:6379/4) choose the services.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from sandbox import start_sandbox
from tests.live_panel import (
    PASSWORD,
    Instance,
    ServiceUnavailable,
    create_users,
    csrf_post,
    gunicorn,
    log_in,
    logged_in,
    manage,
    postgres_database,
    production_env,
    upstream_list_calls,
)

pytestmark = pytest.mark.instances

POSTGRES = os.environ.get("INSTANCES_POSTGRES", "postgres://postgres@127.0.0.1:5432")
DB_PREFIX = os.environ.get("INSTANCES_DB_PREFIX", "test_instances")
REDIS = os.environ.get("INSTANCES_REDIS_URL", "redis://127.0.0.1:6379/4")
TOKEN = "two-instances-sandbox-token-0001"
LIMIT = 6  # LOGIN_FAILURE_LIMIT of both instances
# Long enough that only an invalidation, never an expiry, explains a fresh answer.
FRESH_SECONDS = 30


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the two-instance test, but {reason}")
    pytest.skip(reason)


@dataclass
class Panel:
    a: Instance
    b: Instance
    sandbox: Any
    members: dict[str, int]


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """A PostgreSQL database of this test's own, dropped after."""
    try:
        with postgres_database(POSTGRES, DB_PREFIX) as url:
            yield url
    except ServiceUnavailable as reason:
        _unavailable(str(reason))


@pytest.fixture(scope="module")
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own in the shared Redis; its keys deleted after."""
    try:
        import redis
    except ImportError:
        _unavailable("redis-py is not installed (the redis extra)")
    raw = redis.Redis.from_url(REDIS, socket_connect_timeout=1)
    try:
        raw.ping()
    except redis.RedisError as error:
        _unavailable(f"Redis is not reachable at {REDIS} ({error.__class__.__name__})")
    prefix = f"instances-{uuid.uuid4().hex}"
    try:
        yield prefix
    finally:
        keys = list(raw.scan_iter(f"{prefix}:*"))
        if keys:
            raw.delete(*keys)
        raw.close()


@pytest.fixture(scope="module")
def panel(database: str, redis_prefix: str, tmp_path_factory) -> Iterator[Panel]:
    folder = tmp_path_factory.mktemp("instances")
    with start_sandbox(tokens=(TOKEN,), transition_seconds=1.0) as sandbox:
        env = production_env(
            database,
            CACHE_URL=REDIS,
            CACHE_KEY_PREFIX=redis_prefix,
            VPSORG_API_URL=sandbox.api_url,
            LOGIN_FAILURE_LIMIT=str(LIMIT),
            SERVERS_CACHE_SECONDS=str(FRESH_SECONDS),
        )
        manage(env, "migrate", "--noinput", "--verbosity", "0")
        members = create_users(
            env, [("ada", "admin"), ("vic", "viewer"), ("val", "viewer"), ("lena", "viewer")]
        )
        with (
            gunicorn(env, folder / "a.log", workers=1, threads=2) as a,
            gunicorn(env, folder / "b.log", workers=1, threads=2) as b,
        ):
            yield Panel(a, b, sandbox, members)


def _session(panel_url: str, username: str) -> requests.Session:
    session = requests.Session()
    assert log_in(session, panel_url, username, PASSWORD) == 302
    return session


def _sandbox_servers(sandbox: Any) -> list[dict[str, Any]]:
    answer = requests.get(
        sandbox.api_url + "/servers/", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    return answer.json()["results"]


def test_a_login_on_one_is_a_login_on_the_other(panel: Panel) -> None:
    on_a = _session(panel.a.url, "vic")
    # Only the session cookie goes across, as a balancer sending the next request to B.
    on_b = requests.Session()
    on_b.cookies.set("sessionid", on_a.cookies["sessionid"])
    assert logged_in(on_b, panel.b.url)
    anonymous = requests.Session()
    assert not logged_in(anonymous, panel.b.url)


def test_a_token_stored_through_one_is_used_by_the_other(panel: Panel) -> None:
    admin = _session(panel.a.url, "ada")
    assert admin.get(panel.a.url + "/team/token/", timeout=30).status_code == 200
    assert csrf_post(admin, panel.a.url, "/team/token/", {"token": TOKEN}) == 302
    viewer = _session(panel.b.url, "vic")
    page = viewer.get(panel.b.url + "/servers/", timeout=30)
    assert page.status_code == 200
    names = [server["name"] for server in _sandbox_servers(panel.sandbox)]
    assert names and all(name in page.text for name in names)
    assert TOKEN not in page.text


def test_the_polling_cache_is_shared_one_upstream_call_for_viewers_on_both(
    panel: Panel,
) -> None:
    first, second = _session(panel.a.url, "vic"), _session(panel.b.url, "val")
    requests.delete(panel.sandbox.url + "/_sandbox/requests", timeout=10)
    # A page a person opens asks VPS.org afresh (issue 8) and fills the team's shared
    # list; the live polls of every viewer, on either instance, read that entry.
    assert first.get(panel.a.url + "/servers/", timeout=30).status_code == 200
    assert upstream_list_calls(panel.sandbox) == 1
    poll = "/servers/status/?seen="
    hx = {"HX-Request": "true"}
    assert first.get(panel.a.url + poll, headers=hx, timeout=30).status_code == 200
    assert second.get(panel.b.url + poll, headers=hx, timeout=30).status_code == 200
    assert upstream_list_calls(panel.sandbox) == 1
    # Each instance really served a poll, and neither asked VPS.org for it: B answered
    # from what A had put in the shared cache.
    for instance in (panel.a, panel.b):
        polls = [e for e in instance.access_entries() if e["path"] == "/servers/status/"]
        assert polls and polls[-1]["status"] == 200
        assert polls[-1]["upstream_calls"] == 0


def test_an_invalidation_on_one_is_seen_by_the_other_at_once(panel: Panel) -> None:
    viewer = _session(panel.b.url, "vic")
    server = _sandbox_servers(panel.sandbox)[0]
    before = viewer.get(panel.b.url + "/servers/", timeout=30)
    assert server["name"] in before.text  # cached now, fresh for FRESH_SECONDS
    admin = _session(panel.a.url, "ada")
    detail = f"/servers/{server['id']}/"
    assert admin.get(panel.a.url + detail, timeout=30).status_code == 200
    new_name = "renamed-through-a"
    status = csrf_post(admin, panel.a.url, f"{detail}rename/", {"name": new_name})
    assert status in (200, 302), status
    after = viewer.get(panel.b.url + "/servers/", timeout=30)
    assert new_name in after.text
    assert server["name"] not in after.text


def test_the_login_lockout_is_shared(panel: Panel) -> None:
    # Last: the lock-out also locks 127.0.0.1 on both instances for a while.
    control = requests.Session()
    assert log_in(control, panel.b.url, "lena", PASSWORD) == 302
    for n in range(LIMIT):
        instance = panel.a if n % 2 == 0 else panel.b
        assert log_in(requests.Session(), instance.url, "lena", "wrong") in (200, 429)
    # Each instance saw half the failures; together they reached the limit.
    for instance in (panel.a, panel.b):
        session = requests.Session()
        assert log_in(session, instance.url, "lena", PASSWORD) != 302
        assert not logged_in(session, instance.url)
