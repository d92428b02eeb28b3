"""Two gunicorn workers on the defaults (no CACHE_URL, SQLite in a temporary folder), as
`make serve` runs them: the login lock-out is counted across both workers, and
concurrent role changes on SQLite wait for each other (no 500, never zero admins)."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.live_panel import (
    PASSWORD,
    Instance,
    create_users,
    csrf_post,
    gunicorn,
    log_in,
    logged_in,
    manage,
    production_env,
)

LIMIT = 6  # LOGIN_FAILURE_LIMIT for these processes: fewer slow hashes to wait for


@pytest.fixture(scope="module")
def defaults(
    tmp_path_factory,
) -> Iterator[tuple[Instance, dict[str, int], Path, dict[str, requests.Session]]]:
    folder = tmp_path_factory.mktemp("workers")
    database = folder / "db.sqlite3"
    env = production_env(f"sqlite:///{database}", LOGIN_FAILURE_LIMIT=str(LIMIT))
    assert "CACHE_URL" not in env
    manage(env, "migrate", "--noinput", "--verbosity", "0")
    users = create_users(
        env,
        [("lena", "viewer"), ("control", "viewer"), ("ada", "admin"), ("bob", "admin")],
    )
    # Sync workers (one request each at a time): two requests at once take both.
    with gunicorn(env, folder / "gunicorn.log", workers=2, threads=1) as instance:
        # The admins log in first: the lock-out test then locks 127.0.0.1 for a while.
        admins = {name: requests.Session() for name in ("ada", "bob")}
        for name, session in admins.items():
            assert log_in(session, instance.url, name, PASSWORD) == 302
        yield instance, users, database, admins


def test_the_defaults_serve_with_the_shared_database_cache(defaults) -> None:
    instance = defaults[0]
    health = requests.get(instance.url + "/healthz", timeout=10).json()
    assert health == {"status": "ok", "database": "ok", "cache": "ok", "cache_backend": "database"}


def test_the_login_lockout_counts_failures_across_both_workers(defaults) -> None:
    instance = defaults[0]
    # The procedure works: the right password logs in (before any failure from 127.0.0.1).
    control = requests.Session()
    assert log_in(control, instance.url, "control", PASSWORD) == 302
    assert logged_in(control, instance.url)

    def fail(_: int) -> int:
        return log_in(requests.Session(), instance.url, "lena", "wrong-password")

    before = len(instance.access_entries())
    # In pairs, so both sync workers are busy at once and each takes some of the failures.
    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = list(pool.map(fail, range(LIMIT)))
    assert all(status in (200, 429) for status in statuses), statuses
    posts = [
        entry
        for entry in instance.access_entries()[before:]
        if entry["method"] == "POST" and entry["path"] == "/accounts/login/"
    ]
    per_worker = Counter(entry["pid"] for entry in posts)
    assert len(per_worker) == 2, per_worker  # both workers counted some
    assert all(count < LIMIT for count in per_worker.values()), per_worker

    # Neither worker alone saw LIMIT failures; together they did: the right password fails.
    session = requests.Session()
    assert log_in(session, instance.url, "lena", PASSWORD) != 302
    assert not logged_in(session, instance.url)


def _admins(database: Path) -> int:
    with sqlite3.connect(database, timeout=30) as db:
        return db.execute("SELECT COUNT(*) FROM panel_membership WHERE role = 'admin'").fetchone()[
            0
        ]


def test_two_admins_demoting_each_other_at_once_never_leave_the_team_without_one(
    defaults,
) -> None:
    instance, users, database, sessions = defaults
    statuses: list[int] = []
    for _ in range(8):
        # Whoever is still admin makes the other admin again, then both demote at once.
        for name, other in (("ada", "bob"), ("bob", "ada")):
            path = f"/team/members/{users[other]}/role/"
            status = csrf_post(sessions[name], instance.url, path, {"role": "admin"})
            statuses.append(status)
        assert _admins(database) == 2

        def demote(pair: tuple[str, str]) -> int:
            name, other = pair
            path = f"/team/members/{users[other]}/role/"
            return csrf_post(sessions[name], instance.url, path, {"role": "viewer"})

        with ThreadPoolExecutor(max_workers=2) as pool:
            statuses += list(pool.map(demote, [("ada", "bob"), ("bob", "ada")]))
        assert _admins(database) == 1
    assert all(status < 500 for status in statuses), statuses
