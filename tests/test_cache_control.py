"""Every answer of a view carries Cache-Control: private, no-store (pages, htmx fragments,
polling endpoints, redirects and refusals alike); static files stay cacheable."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils.cache import get_max_age

from tests.conftest import API, client_for, page, server_json

HTMX = {"HTTP_HX_REQUEST": "true"}


def _directives(response) -> set[str]:
    return {part.strip().split("=")[0] for part in response.get("Cache-Control", "").split(",")}


@pytest.fixture
def upstream(api):
    api.get(re.compile(rf"{API}/servers/\d+/$"), json=server_json())
    api.get(re.compile(rf"{API}/servers/(\?.*)?$"), json=page([server_json()]))
    # Plans, the OS catalog, the account: whatever else a page asks, an empty answer.
    api.get(re.compile(rf"{API}/.*"), json=page([]))
    api.post(re.compile(rf"{API}/servers/\d+/\w+/$"), json={"status": "ok"})
    return api


TEAM_PAGES = [
    "/servers/",
    "/servers/?status=active",
    "/servers/new/",
    "/servers/ssh-keys/",
    "/servers/12345/",
    "/servers/12345/edit/",
    "/servers/12345/rename/",
    "/servers/12345/delete/",
    "/servers/12345/stop/",
    "/servers/12345/reboot/",
    "/team/token/",
    "/team/members/",
    "/team/activity/",
    "/team/activity/export.csv",
    "/servers/export.csv",
    "/team/leave/",
    "/accounts/password/change/",
]
FRAGMENTS = ["/servers/", "/servers/status/", "/servers/12345/status/", "/team/members/"]


@pytest.mark.parametrize("url", TEAM_PAGES)
def test_team_pages_are_private_and_not_stored(url, upstream, admin_user) -> None:
    response = client_for(admin_user).get(url)
    assert response.status_code < 500
    assert {"private", "no-store"} <= _directives(response), (url, response["Cache-Control"])


@pytest.mark.parametrize("url", FRAGMENTS)
def test_htmx_fragments_and_pollers_are_private_and_not_stored(url, upstream, admin_user) -> None:
    response = client_for(admin_user).get(url, **HTMX)
    assert response.status_code < 500
    assert {"private", "no-store"} <= _directives(response), (url, response["Cache-Control"])


def test_a_power_action_answer_is_private_and_not_stored(upstream, operator_user) -> None:
    response = client_for(operator_user).post("/servers/12345/start/", **HTMX)
    assert response.status_code == 200
    assert {"private", "no-store"} <= _directives(response)


def test_refusals_and_redirects_are_not_stored_either(upstream, viewer_user, db) -> None:
    refused = client_for(viewer_user).get("/team/token/")
    assert refused.status_code == 403
    assert {"private", "no-store"} <= _directives(refused)
    redirect = Client().get("/servers/")
    assert redirect.status_code == 302
    assert {"private", "no-store"} <= _directives(redirect)


def test_static_files_stay_cacheable(db) -> None:
    response = Client().get("/static/css/panel.css")
    assert response.status_code == 200
    assert "no-store" not in _directives(response)
    assert "private" not in _directives(response)
    # WhiteNoise's own caching header (the tests run it with finders, not hashed names).
    assert get_max_age(response) is not None
