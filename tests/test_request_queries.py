"""The database queries every team page pays before its own work (panel/teams.py,
panel/context_processors.py): the session, the user, and one query for the current
membership with its team and stored token. Counted with CaptureQueriesContext on the list
page and on the list's poller, the two requests a page left open repeats."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from panel.models import Membership, Role, Team
from tests.conftest import API, client_for, page, server_json

HX = {"HTTP_HX_REQUEST": "true"}
# What every request of a logged-in member reads, in this order.
PER_REQUEST = ["django_session", "auth_user", "panel_membership"]
# What the list and its poller add: the rows' delete-protection locks, in one query
# (issue 12's protected_ids()), however many rows.
LIST_ROWS = [*PER_REQUEST, "servers_serverprotection"]


def tables(captured: CaptureQueriesContext) -> list[str]:
    found = []
    for query in captured.captured_queries:
        match = re.search(r'\bFROM "(\w+)"', query["sql"])
        found.append(match[1] if match else query["sql"].split()[0])
    return found


def warm(api: Any, browser: Any) -> None:
    """Fill the caches (servers, plans, the OS catalog) so only per-request queries remain."""
    api.get(f"{API}/servers/", json=page([server_json(i, name=f"s{i}") for i in range(1, 30)]))
    api.get(f"{API}/plans/", json=page([]))
    assert browser.get("/servers/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("headers", [{}, HX], ids=["page", "fragment"])
def test_the_list_page_reads_session_user_and_membership_once(
    api: Any, viewer_user: Any, headers: dict[str, str]
) -> None:
    browser = client_for(viewer_user)
    warm(api, browser)
    with CaptureQueriesContext(connection) as captured:
        assert browser.get("/servers/", **headers).status_code == 200
    # The team switcher of a one-team user is answered by the membership query itself.
    assert tables(captured) == LIST_ROWS


@pytest.mark.django_db
def test_the_poller_reads_the_same_four(api: Any, viewer_user: Any, team: Team) -> None:
    browser = client_for(viewer_user)
    warm(api, browser)
    with CaptureQueriesContext(connection) as captured:
        response = browser.get(f"/servers/status/?team={team.pk}&seen=", **HX)
    assert response.status_code == 200
    assert tables(captured) == LIST_ROWS


@pytest.mark.django_db
def test_the_switcher_of_a_member_of_three_teams_costs_no_query(
    api: Any, viewer_user: Any, team: Team, other_team: Team
) -> None:
    Membership.objects.create(team=other_team, user=viewer_user, role=Role.VIEWER)
    third = Team.objects.create(name="beta")  # lower case: between Acme and Other
    Membership.objects.create(team=third, user=viewer_user, role=Role.VIEWER)
    browser = client_for(viewer_user)
    warm(api, browser)
    with CaptureQueriesContext(connection) as captured:
        response = browser.get("/servers/")
    assert response.status_code == 200
    assert tables(captured) == LIST_ROWS
    names = [m.team.name for m in response.context["memberships"]]
    assert names == sorted([team.name, other_team.name, "beta"], key=str.casefold)
