"""Two gunicorn workers on the defaults (no CACHE_URL, SQLite in a temporary folder), as
`make serve` runs them: the login lock-out is counted across both workers, and
concurrent role changes on SQLite wait for each other (no 500, never zero admins)."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox import start_sandbox
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
    upstream_list_calls,
)

LIMIT = 6  # LOGIN_FAILURE_LIMIT for these processes: fewer slow hashes to wait for
TOKEN = "workers-sandbox-token-0001"
# Long enough that only an invalidation, never an expiry, explains a fresh answer.
FRESH_SECONDS = 30


@dataclass
class Defaults:
    instance: Instance
    users: dict[str, int]
    database: Path
    sessions: dict[str, requests.Session]
    sandbox: Any


@pytest.fixture(scope="module")
def defaults(tmp_path_factory) -> Iterator[Defaults]:
    folder = tmp_path_factory.mktemp("workers")
    database = folder / "db.sqlite3"
    with start_sandbox(tokens=(TOKEN,), transition_seconds=1.0) as sandbox:
        env = production_env(
            f"sqlite:///{database}",
            LOGIN_FAILURE_LIMIT=str(LIMIT),
            VPSORG_API_URL=sandbox.api_url,
            SERVERS_CACHE_SECONDS=str(FRESH_SECONDS),
        )
        assert "CACHE_URL" not in env
        manage(env, "migrate", "--noinput", "--verbosity", "0")
        users = create_users(
            env,
            [
                *[("lena", "viewer"), ("control", "viewer"), ("vic", "viewer")],
                *[("val", "viewer"), ("ada", "admin"), ("bob", "admin")],
            ],
            token=TOKEN,
        )
        # Sync workers (one request each at a time): two requests at once take both.
        with gunicorn(env, folder / "gunicorn.log", workers=2, threads=1) as instance:
            # Everyone logs in first: the lock-out test then locks 127.0.0.1 for a while.
            sessions = {name: requests.Session() for name in ("ada", "bob", "vic", "val")}
            for name, session in sessions.items():
                assert log_in(session, instance.url, name, PASSWORD) == 302
            yield Defaults(instance, users, database, sessions, sandbox)


def test_the_defaults_serve_with_the_shared_database_cache(defaults) -> None:
    instance = defaults.instance
    health = requests.get(instance.url + "/healthz", timeout=10).json()
    assert health == {"status": "ok", "database": "ok", "cache": "ok", "cache_backend": "database"}


def test_viewers_on_both_workers_at_once_cost_one_upstream_call(defaults) -> None:
    """The single-flight lock and the shared list, across workers: while one worker asks
    the (slow) sandbox, the other waits for its answer instead of asking too."""
    instance, sandbox = defaults.instance, defaults.sandbox
    requests.post(sandbox.url + "/_sandbox/faults", json={"latency": 1.0}, timeout=10)
    requests.delete(sandbox.url + "/_sandbox/requests", timeout=10)
    before = len(instance.access_entries())
    url = instance.url + "/servers/?status=active"  # a key nobody filled yet
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            sessions = [defaults.sessions["vic"], defaults.sessions["val"]]
            pages = list(pool.map(lambda session: session.get(url, timeout=60), sessions))
    finally:
        requests.delete(sandbox.url + "/_sandbox/faults", timeout=10)
    assert [page.status_code for page in pages] == [200, 200]
    assert upstream_list_calls(sandbox) == 1
    served = [e for e in instance.access_entries()[before:] if e["path"] == "/servers/"]
    assert len({entry["pid"] for entry in served}) == 2, served  # one page per worker


def _on_both_workers(defaults: Defaults, path: str) -> list[requests.Response]:
    """`path` for two viewers at once: a slow upstream keeps both workers busy at once,
    so each serves one of the two."""
    instance, sandbox = defaults.instance, defaults.sandbox
    before = len(instance.access_entries())
    requests.post(sandbox.url + "/_sandbox/faults", json={"latency": 0.5}, timeout=10)
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            sessions = [defaults.sessions["vic"], defaults.sessions["val"]]
            pages = list(pool.map(lambda s: s.get(instance.url + path, timeout=60), sessions))
    finally:
        requests.delete(sandbox.url + "/_sandbox/faults", timeout=10)
    # The access log leaves the query string out.
    served = [e for e in instance.access_entries()[before:] if e["path"] == path.split("?")[0]]
    assert len({entry["pid"] for entry in served}) == 2, served
    return pages


def test_a_rename_through_one_worker_is_seen_through_both_at_once(defaults) -> None:
    instance, sandbox = defaults.instance, defaults.sandbox
    viewer, admin = defaults.sessions["vic"], defaults.sessions["ada"]
    server = requests.get(
        sandbox.api_url + "/servers/", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    ).json()["results"][0]
    assert server["name"] in viewer.get(instance.url + "/servers/", timeout=30).text
    detail = f"/servers/{server['id']}/"
    assert admin.get(instance.url + detail, timeout=30).status_code == 200
    status = csrf_post(admin, instance.url, f"{detail}rename/", {"name": "renamed-on-one"})
    assert status in (200, 302), status
    pages = _on_both_workers(defaults, "/servers/")
    # Entries stay fresh for FRESH_SECONDS: only the shared invalidation explains these.
    assert all("renamed-on-one" in page.text for page in pages)


def test_a_change_made_outside_the_panel_is_on_every_workers_next_page(defaults) -> None:
    """Each worker keeps the list it last parsed, built and rendered (issue 11); another
    tool renaming a server at VPS.org, with no word to the panel, is on the next page
    either worker serves, and an outage in between shows the last list as not current."""
    sandbox, headers = defaults.sandbox, {"Authorization": f"Bearer {TOKEN}"}
    server = requests.get(sandbox.api_url + "/servers/", headers=headers, timeout=10).json()
    server = server["results"][-1]
    # Found by its hostname, which the rename leaves: on the page before and after it.
    path = f"/servers/?q={server['hostname']}"
    for _ in range(2):  # both workers render, then both have it to reuse
        assert all(server["name"] in page.text for page in _on_both_workers(defaults, path))
    renamed = requests.patch(
        f"{sandbox.api_url}/servers/{server['id']}/",
        json={"name": "renamed-elsewhere"},
        headers=headers,
        timeout=10,
    )
    assert renamed.status_code == 200
    pages = _on_both_workers(defaults, path)
    assert all("renamed-elsewhere" in page.text for page in pages)
    assert all('id="stale-note"' not in page.text for page in pages)
    requests.post(sandbox.url + "/_sandbox/faults", json={"error_rate": 1.0}, timeout=10)
    try:
        down = defaults.sessions["vic"].get(defaults.instance.url + path, timeout=60)
    finally:
        requests.delete(sandbox.url + "/_sandbox/faults", timeout=10)
    # The last list known, said to be not current (it is rewritten at most every
    # KNOWN_REFRESH seconds, so it may be from before the rename).
    assert down.status_code == 200
    assert 'id="stale-note"' in down.text and server["hostname"] in down.text
    back = defaults.sessions["vic"].get(defaults.instance.url + path, timeout=60)
    assert 'id="stale-note"' not in back.text and "renamed-elsewhere" in back.text


def test_the_login_lockout_counts_failures_across_both_workers(defaults) -> None:
    instance = defaults.instance
    # The procedure works: the right password logs in (before any failure from 127.0.0.1).
    control = requests.Session()
    assert log_in(control, instance.url, "control", PASSWORD) == 302
    assert logged_in(control, instance.url)

    def fail(n: int) -> int:
        # Every other one a little later: it still finds the first worker busy (the password
        # hash takes longer) and goes to the other, but the two failures are not recorded
        # in the same millisecond. allauth counts them by reading and rewriting a list in
        # the cache, so two at once may count as one, in any cache (Redis too).
        time.sleep(0.1 * (n % 2))
        return log_in(requests.Session(), instance.url, "lena", "wrong-password")

    before = len(instance.access_entries())
    # Two at a time, so both sync workers are busy at once and each takes some failures.
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
    instance, users, database, sessions = (
        defaults.instance,
        defaults.users,
        defaults.database,
        defaults.sessions,
    )
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


def test_a_hup_replaces_the_workers_without_dropping_a_request(defaults) -> None:
    """Graceful restart (systemctl reload): a request in flight when the master gets HUP
    still answers, and new workers serve what comes after."""
    instance, sandbox = defaults.instance, defaults.sandbox
    old_pids = {entry["pid"] for entry in instance.access_entries()}
    viewer = defaults.sessions["vic"]
    requests.post(sandbox.url + "/_sandbox/faults", json={"latency": 2.0}, timeout=10)
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            # A list nobody asked for yet: its worker waits 2 s on the sandbox.
            slow = pool.submit(viewer.get, instance.url + "/servers/?status=stopped", timeout=60)
            time.sleep(0.7)
            os.kill(instance.process.pid, signal.SIGHUP)
            page = slow.result(timeout=60)
    finally:
        requests.delete(sandbox.url + "/_sandbox/faults", timeout=10)
    assert page.status_code == 200
    # It really was in flight in an old worker when the HUP came.
    assert page.elapsed.total_seconds() > 1.5
    (entry,) = [e for e in instance.access_entries() if e["path"] == "/servers/"][-1:]
    assert entry["pid"] in old_pids and entry["upstream_calls"] >= 1
    deadline = time.monotonic() + 30
    while True:
        answer = requests.get(instance.url + "/healthz", timeout=10)
        assert answer.status_code == 200
        if instance.access_entries()[-1]["pid"] not in old_pids:
            break
        assert time.monotonic() < deadline, "no new worker answered after HUP"
        time.sleep(0.2)
