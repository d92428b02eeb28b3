"""What keeps the list page at a few milliseconds for 100 rows (DESIGN.md): no query and
no reverse() per row, the OS catalog not asked about OSes it knows, the cache's pickling,
and one source for a row's markup (the list, the power actions and the poller)."""

from __future__ import annotations

import pickle
import re
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from responses import matchers

from servers import cache as server_cache
from servers import client as vpsorg
from servers.models import OperatingSystem
from servers.power import render_row
from tests.conftest import API, client_for, page, server_json

SERVERS = f"{API}/servers/"
PLANS = f"{API}/plans/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def many(n: int) -> list[dict[str, Any]]:
    statuses = ("active", "stopped", "starting", "suspended")
    return [
        server_json(i, name=f"srv-{i:03d}", status=statuses[i % len(statuses)])
        for i in range(1, n + 1)
    ]


def mock(api: Any, servers: list[dict[str, Any]]) -> None:
    query = {"page_size": "100"}
    api.get(SERVERS, json=page(servers), match=[matchers.query_param_matcher(query)])
    api.get(PLANS, json=page([]))


def queries_for(user: Any, api: Any, n: int) -> list[str]:
    mock(api, many(n))
    c = client_for(user)
    with CaptureQueriesContext(connection) as captured:
        assert c.get("/servers/?per_page=100").status_code == 200
    return [q["sql"] for q in captured.captured_queries]


@pytest.mark.django_db
def test_no_query_per_row(api, operator_user) -> None:
    few = queries_for(operator_user, api, 3)
    cache.clear()  # a cold cache again: the OS catalog is asked again too
    api.reset()
    assert len(queries_for(operator_user, api, 100)) == len(few)


@pytest.mark.django_db
def test_no_reverse_per_row(api, operator_user, monkeypatch) -> None:
    from servers import fragments, presenters

    calls: list[str] = []
    real = presenters.reverse

    def counting(*args: Any, **kwargs: Any) -> str:
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(presenters, "reverse", counting)
    monkeypatch.setattr(fragments, "reverse", counting)
    c = client_for(operator_user)
    mock(api, many(3))
    c.get("/servers/", **HTMX)
    few = len(calls)
    server_cache.invalidate(operator_user.memberships.get().team)
    api.reset()
    calls.clear()
    mock(api, many(100))
    html = c.get("/servers/?per_page=100", **HTMX).content.decode()
    assert html.count("data-server-id=") == 100
    assert len(calls) == few


@pytest.mark.django_db
def test_known_operating_systems_cost_no_query(api, viewer_user) -> None:
    mock(api, many(5))
    c = client_for(viewer_user)
    c.get("/servers/")  # learns (or confirms) OS 5
    server_cache.invalidate(viewer_user.memberships.get().team)
    with CaptureQueriesContext(connection) as captured:
        c.get("/servers/")
    assert not [q for q in captured.captured_queries if "servers_operatingsystem" in q["sql"]]


@pytest.mark.django_db
def test_a_deleted_operating_system_is_learned_again(api, viewer_user) -> None:
    team = viewer_user.memberships.get().team
    mock(api, [server_json(1, os={"id": 77, "name": "Plan 9"})])
    c = client_for(viewer_user)
    c.get("/servers/")
    OperatingSystem.objects.get(api_id="77").delete()
    server_cache.invalidate(team)
    c.get("/servers/")
    assert OperatingSystem.objects.get(api_id="77").name == "Plan 9"


def test_servers_survive_the_caches_pickling() -> None:
    server = vpsorg.Server.from_api(
        server_json(
            "abc-1",
            resource_usage={"cpu_percent": 12.5, "memory_used": 512},
            plan={"id": 3, "name": "Big", "locations": ["us-east"], "price_monthly": "9.50"},
        )
    )
    copy = pickle.loads(pickle.dumps([server, server], pickle.HIGHEST_PROTOCOL))
    assert copy == [server, server]
    assert copy[0].plan.locations == ("us-east",)
    assert copy[0].resource_usage.cpu_percent == 12.5


def _rows(html: str) -> list[str]:
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', 'name="csrfmiddlewaretoken"', html)
    return re.findall(r"<tr id=\"server-.*?</tr>", html, flags=re.S)


@pytest.mark.django_db
def test_list_rows_and_single_rows_are_the_same_markup(api, operator_user) -> None:
    servers = [*many(8), server_json(99, name='a <b> & "c"', hostname=None, ip_address=None)]
    mock(api, servers)
    html = client_for(operator_user).get("/servers/", **HTMX).content.decode()
    request = RequestFactory().get("/servers/")
    request.user = operator_user
    request.membership = operator_user.memberships.get()
    singles = [render_row(request, vpsorg.Server.from_api(s)) for s in servers]
    listed = _rows(html)
    assert len(listed) == len(servers)
    assert sorted(listed) == sorted(_rows("".join(singles)))
    # Escaped by Jinja2 (markupsafe writes a quote as &#34;).
    assert "a &lt;b&gt; &amp; &#34;c&#34;" in html


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["0-id-0 <x>", "{id} & {action}"])
def test_buttons_made_once_per_render_keep_each_rows_id_and_name(team, operator_user, name) -> None:
    from servers import fragments
    from servers.presenters import ButtonMaker

    make = ButtonMaker(operator_user.memberships.get())
    first = fragments.buttons(
        make(vpsorg.Server(id="7", name="first", status="active")), "first", "row", "tok"
    )
    server = vpsorg.Server(id="abc-9", name=name, status="active")
    html = fragments.buttons(make(server), name, "row", "tok")
    assert 'action="/servers/7/stop/"' in first
    assert 'action="/servers/abc-9/stop/"' in html and 'action="/servers/abc-9/reboot/"' in html
    assert "/servers/7/" not in html and "first" not in html
    escaped = name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert f'<span class="visually-hidden"> {escaped}</span>' in html
    assert f'aria-label="Power actions for {escaped}"' in html


@pytest.mark.django_db
def test_one_membership_query_for_a_single_team_user(api, viewer_user) -> None:
    # The team switcher asks how many teams the user has; with one, the query that
    # found the current team already answered.
    mock(api, many(3))
    c = client_for(viewer_user)
    with CaptureQueriesContext(connection) as captured:
        html = c.get("/servers/").content.decode()
    membership_queries = [q for q in captured.captured_queries if "panel_membership" in q["sql"]]
    assert len(membership_queries) == 1
    assert 'class="team-name"' in html and 'id="team-switch"' not in html


@pytest.mark.django_db
def test_a_user_of_two_teams_still_gets_the_switcher(api, viewer_user, other_team) -> None:
    from panel.models import Membership, Role

    Membership.objects.create(team=other_team, user=viewer_user, role=Role.VIEWER)
    mock(api, many(3))
    html = client_for(viewer_user).get("/servers/").content.decode()
    assert 'id="team-switch"' in html
    assert html.index(">Acme (") < html.index(">Other (")
