"""panel.after_response: a page's writes into the shared cache land once its answer is
out, and the rest of the same request still sees what it read."""

from __future__ import annotations

import logging

import pytest
from django.core.cache import cache as django_cache
from django.http import HttpResponse
from django.test import RequestFactory

from panel import after_response
from servers import cache as server_cache
from servers import client as vpsorg
from tests.conftest import API, page, server_json

# Closing a response sends request_finished, whose handler touches the database.
pytestmark = pytest.mark.django_db


def _through_middleware(view):
    return after_response.after_response(view)(RequestFactory().get("/servers/"))


def test_outside_a_request_deferred_work_runs_at_once() -> None:
    done: list[str] = []
    after_response.defer(lambda: done.append("now"))
    assert done == ["now"]
    assert after_response.scratch() is None


def test_deferred_work_runs_when_the_response_is_closed_in_order() -> None:
    done: list[int] = []

    def view(request):
        after_response.defer(lambda: done.append(1))
        after_response.defer(lambda: done.append(2))
        return HttpResponse("page")

    response = _through_middleware(view)
    assert done == []  # the answer is complete before the work
    assert response.content == b"page"
    response.close()
    assert done == [1, 2]


def test_a_failing_deferred_task_is_logged_and_the_next_still_runs(caplog) -> None:
    done: list[str] = []

    def view(request):
        after_response.defer(lambda: 1 / 0)
        after_response.defer(lambda: done.append("second"))
        return HttpResponse("page")

    response = _through_middleware(view)
    with caplog.at_level(logging.ERROR, logger="panel.after_response"):
        response.close()
    assert done == ["second"]
    assert "Deferred work after a response failed" in caplog.text


def test_a_view_that_raises_still_runs_what_it_deferred() -> None:
    done: list[str] = []

    def view(request):
        after_response.defer(lambda: done.append("ran"))
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        _through_middleware(view)
    assert done == ["ran"]


def test_a_fresh_list_is_stored_after_the_answer_and_seen_within_the_request(team, api) -> None:
    api.get(f"{API}/servers/", json=page([server_json(1), server_json(2, name="db")]))
    seen: dict[str, object] = {}

    def view(request):
        servers, _at = server_cache.read_list(team, fresh=True)
        seen["read"] = [s.id for s in servers]
        # The same request reads its own answer back (a live poller, a lookup by id).
        seen["again"] = [s.id for s in server_cache.list_entry_age(team)[0]]
        seen["peek"] = server_cache.peek_server(team, "2")
        return HttpResponse("page")

    key = server_cache._list_key(team, None, None)
    response = _through_middleware(view)
    assert seen["read"] == seen["again"] == ["1", "2"]
    assert isinstance(seen["peek"], vpsorg.Server) and seen["peek"].name == "db"
    # Not written yet: the lock is still held, so another caller waits rather than asks.
    assert django_cache.get(key) is None
    assert django_cache.get(f"{key}:lock") == 1
    response.close()
    assert [s.id for s in django_cache.get(key)["value"]] == ["1", "2"]
    assert django_cache.get(f"{key}:lock") is None
    assert server_cache.last_known_list(team) is not None
    assert len(api.calls) == 1


def test_an_upstream_failure_is_cached_and_the_lock_released_at_once(team, api) -> None:
    api.get(f"{API}/servers/", status=503, json={"detail": "down"})

    def view(request):
        with pytest.raises(vpsorg.VPSOrgError):
            server_cache.read_list(team, fresh=True)
        return HttpResponse("page")

    key = server_cache._list_key(team, None, None)
    _through_middleware(view)  # not closed: nothing waits for the close
    assert "error" in django_cache.get(key)
    assert django_cache.get(f"{key}:lock") is None


def test_a_change_after_a_read_still_refreshes_the_last_known_list(team, api) -> None:
    # Read, then the team's own change (invalidate): the last-known list stored after the
    # answer is the one before the change, so the next good read must rewrite it.
    api.get(f"{API}/servers/", json=page([server_json(1)]))

    def view(request):
        server_cache.read_list(team, fresh=True)
        server_cache.invalidate(team)
        return HttpResponse("page")

    _through_middleware(view).close()
    fresh = f"{server_cache._known_prefix(team)}:list:fresh"
    assert django_cache.get(fresh) is None
