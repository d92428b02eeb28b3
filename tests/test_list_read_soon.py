"""The list page asks VPS.org first and does what needs no servers while it answers
(servers.cache.read_list_soon): the page around the list, the protection query."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
from django.core.cache import cache as django_cache

from servers import cache as server_cache
from servers import client as vpsorg
from servers import protection
from servers.api import NoToken
from tests.conftest import API, client_for, page, server_json
from tests.local_upstream import Answer, Request, local_upstream, wait_until

SERVERS = f"{API}/servers/"


@pytest.mark.django_db
def test_the_page_is_prepared_while_vpsorg_answers(api, viewer_user, monkeypatch) -> None:
    # VPS.org answers only once the protection query has run: a page that asked for the
    # list and then waited for it before anything else would never get its answer.
    asked = threading.Event()
    real_ids = protection.protected_ids

    def ids(team):
        asked.set()
        return real_ids(team)

    def slow_answer(request):
        assert asked.wait(5), "the page waited for VPS.org before its own queries"
        return 200, {}, page_json

    page_json = json.dumps(page([server_json(1, name="web-01")]))
    monkeypatch.setattr(protection, "protected_ids", ids)
    api.add_callback("GET", SERVERS, callback=slow_answer, content_type="application/json")
    api.get(f"{API}/plans/", json=page([]))
    html = client_for(viewer_user).get("/servers/").content.decode()
    assert "web-01" in html
    assert "<panel-" not in html  # no slot left unfilled
    # The page is whole: its header and footer around the list, once each.
    assert html.count('<header class="site-header">') == 1
    assert html.count('id="results"') == 1
    # The locations (from the servers) are in the filter form, which was made before them.
    assert '<option value="us-west">' in html.split('id="filter-location"')[1].split("</select>")[0]
    assert html.rstrip().endswith("</html>")


@pytest.mark.django_db
def test_an_answer_is_cached_for_the_polls_and_the_lock_released(team, api) -> None:
    api.get(SERVERS, json=page([server_json(1), server_json(2)]))
    servers, read_at = server_cache.read_list_soon(team)()
    assert [s.id for s in servers] == ["1", "2"]
    key = server_cache._list_key(team, None, None)
    assert django_cache.get(key)["at"] == read_at
    assert django_cache.get(f"{key}:lock") is None
    # A poll right after takes it without asking VPS.org again.
    assert server_cache.list_servers(team) == servers
    assert len(api.calls) == 1


@pytest.mark.django_db
def test_an_upstream_failure_comes_from_the_call_cached_and_unlocked(team, api) -> None:
    api.get(SERVERS, status=503, json={"detail": "maintenance"})
    pending = server_cache.read_list_soon(team)
    with pytest.raises(vpsorg.VPSOrgError):
        pending()
    key = server_cache._list_key(team, None, None)
    assert "error" in django_cache.get(key)
    assert django_cache.get(f"{key}:lock") is None


@pytest.mark.django_db
def test_no_token_is_said_at_once(db) -> None:
    from panel.models import Team

    with pytest.raises(NoToken):
        server_cache.read_list_soon(Team.objects.create(name="No token yet"))


@pytest.mark.django_db
def test_while_another_caller_asks_the_answer_is_shared(team, api, monkeypatch) -> None:
    # Another worker holds the lock (pages opened together, or a poll): this read waits
    # for that answer and asks nothing itself.
    key = server_cache._list_key(team, None, None)
    django_cache.add(f"{key}:lock", "theirs", 30)
    pending = server_cache.read_list_soon(team)
    monkeypatch.setattr(server_cache, "sleep", lambda _s: None)
    now = server_cache.clock() + 1
    monkeypatch.setattr(server_cache, "clock", lambda: now)
    servers = [vpsorg.Server(id="9", name="theirs")]
    django_cache.set(key, {"at": now + 0.5, "value": servers}, 60)
    assert pending()[0] == servers
    assert len(api.calls) == 0
    assert django_cache.get(f"{key}:lock") == "theirs"


@pytest.mark.django_db
def test_the_caller_goes_on_once_the_request_has_left(team, settings, monkeypatch) -> None:
    # VPS.org answers only when the test says so: read_list_soon can come back before the
    # answer only on the client's word that the request was written (SEND_WAIT, its
    # bound, and the call's timeout are far longer than the test's bounds).
    release = threading.Event()

    def route(request: Request) -> Answer:
        assert release.wait(10)
        return Answer(body=page([server_json(1, name="web-01")]))

    monkeypatch.setattr(server_cache, "SEND_WAIT", 60.0)
    with local_upstream(route) as upstream:
        settings.VPSORG_API_URL = upstream.url + "/api/v1"
        settings.VPSORG_TIMEOUT = 60
        started = time.monotonic()
        pending = server_cache.read_list_soon(team)
        assert time.monotonic() - started < 10
        assert wait_until(lambda: len(upstream.requests) == 1)  # it had left, and once
        release.set()
        servers, _at = pending()
    assert [s.name for s in servers] == ["web-01"]


@pytest.mark.django_db
def test_a_request_that_cannot_leave_does_not_hold_the_caller(team, settings, monkeypatch) -> None:
    # Nothing listens on the port: the call fails before any request is written, and
    # the caller hears so at once rather than after SEND_WAIT.
    monkeypatch.setattr(server_cache, "SEND_WAIT", 60.0)
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        settings.VPSORG_API_URL = f"http://127.0.0.1:{unused.getsockname()[1]}/api/v1"
    started = time.monotonic()
    pending = server_cache.read_list_soon(team)
    assert time.monotonic() - started < 10
    with pytest.raises(vpsorg.Unavailable):
        pending()
