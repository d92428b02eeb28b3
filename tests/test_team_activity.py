"""/team/activity/: the team's audit trail, newest first, filterable by member, action and
server, paginated; only the current team's entries; read-only."""

from __future__ import annotations

import re
from datetime import timedelta

from django.utils import timezone

from panel.audit import record
from panel.models import AuditEntry
from servers.client import Unauthorized
from tests.conftest import client_for


def _entry(team, user, action, minutes_ago, **kwargs) -> AuditEntry:
    entry = record(team, user, action, **kwargs)
    entry.created_at = timezone.now() - timedelta(minutes=minutes_ago)
    entry.save(update_fields=["created_at"])
    return entry


def _rows(response) -> list[str]:
    body = response.content.decode()
    return [chunk.split('"', 1)[0] for chunk in body.split('<tr data-action="')[1:]]


def test_every_role_reads_the_activity_newest_first(admin_user, viewer_user, team) -> None:
    _entry(team, admin_user, "server.start", 30, target_id="101", target_name="web-1")
    _entry(team, admin_user, "server.stop", 10, target_id="101", target_name="web-1")
    _entry(team, admin_user, "server.reboot", 20, target_id="102", target_name="db-1")
    response = client_for(viewer_user).get("/team/activity/")
    assert response.status_code == 200
    assert _rows(response) == ["server.stop", "server.reboot", "server.start"]
    body = response.content.decode()
    assert "Server stopped" in body
    assert 'href="/servers/101/"' in body


def test_failures_show_the_status_and_message(admin_user, team) -> None:
    record(
        team, admin_user, "server.start", target_id="7", error=Unauthorized("Bad token", status=401)
    )
    body = client_for(admin_user).get("/team/activity/").content.decode()
    assert "Failed (401)" in body
    assert "Bad token" in body


def test_filter_by_member_action_and_server(admin_user, operator_user, team) -> None:
    _entry(team, admin_user, "server.start", 5, target_id="101", target_name="web-1")
    _entry(team, operator_user, "server.start", 4, target_id="102", target_name="db-1")
    _entry(team, operator_user, "server.reboot", 3, target_id="101", target_name="web-1")
    _entry(team, admin_user, "member.role", 2, target_name="vera-viewer")
    client = client_for(admin_user)
    assert _rows(client.get("/team/activity/?member=oscar-operator")) == [
        "server.reboot",
        "server.start",
    ]
    assert _rows(client.get("/team/activity/?action=server.start")) == [
        "server.start",
        "server.start",
    ]
    assert _rows(client.get("/team/activity/?server=101")) == ["server.reboot", "server.start"]
    assert _rows(
        client.get("/team/activity/?server=101&member=oscar-operator&action=server.reboot")
    ) == ["server.reboot"]
    nothing = client.get("/team/activity/?member=nobody")
    assert _rows(nothing) == []
    assert "Nothing recorded matches" in nothing.content.decode()


def test_the_filters_offer_members_actions_and_servers(admin_user, operator_user, team) -> None:
    _entry(team, operator_user, "server.start", 5, target_id="101", target_name="old-name")
    _entry(team, operator_user, "server.rename", 4, target_id="101", target_name="new-name")
    _entry(team, admin_user, "custom.thing", 3)
    body = client_for(admin_user).get("/team/activity/").content.decode()
    assert '<option value="oscar-operator">' in body
    assert '<option value="server.reboot">Server rebooted</option>' in body
    assert '<option value="custom.thing">custom.thing</option>' in body
    assert '<option value="101">new-name (101)</option>' in body


def test_it_is_paginated_and_pages_keep_the_filters(admin_user, team) -> None:
    for n in range(60):
        _entry(team, admin_user, "server.start", n, target_id="101")
    _entry(team, admin_user, "server.stop", 0, target_id="102")
    client = client_for(admin_user)
    first = client.get("/team/activity/?server=101")
    assert len(_rows(first)) == 50
    body = first.content.decode()
    assert "Page 1 of 2" in body
    assert 'href="?server=101&amp;page=2"' in body
    second = client.get("/team/activity/?server=101&page=2")
    assert len(_rows(second)) == 10
    assert client.get("/team/activity/?page=999").status_code == 200
    assert client.get("/team/activity/?page=abc").status_code == 200


def test_only_the_current_teams_entries(admin_user, outsider_user, team, other_team) -> None:
    _entry(other_team, outsider_user, "server.delete", 1, target_id="999", target_name="theirs")
    body = client_for(admin_user).get("/team/activity/").content.decode()
    assert "theirs" not in body
    assert "otto-outsider" not in body
    assert _rows(client_for(admin_user).get("/team/activity/?server=999")) == []


def test_an_htmx_request_answers_the_results_fragment(admin_user, team) -> None:
    _entry(team, admin_user, "server.start", 1, target_id="101")
    response = client_for(admin_user).get(
        "/team/activity/?action=server.start", HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="activity">')
    assert "<html" not in body
    assert _rows(response) == ["server.start"]


def test_the_activity_page_offers_no_way_to_change_entries(admin_user, team) -> None:
    _entry(team, admin_user, "server.start", 1, target_id="101")
    body = client_for(admin_user).get("/team/activity/").content.decode()
    main = body.split('<main id="main">')[1].split("</main>")[0]
    assert 'method="post"' not in main
    assert client_for(admin_user).post("/team/activity/").status_code == 405


def test_anonymous_is_sent_to_log_in(db) -> None:
    from django.test import Client

    assert Client().get("/team/activity/")["Location"].startswith("/accounts/login/")


def test_a_history_restore_answers_the_whole_page(admin_user, team) -> None:
    """Back to a filtered URL htmx pushed: htmx asks for the page again (history cache off)
    with HX-Request set; a fragment there would replace the whole body, header and
    filters gone."""
    _entry(team, admin_user, "server.start", 1, target_id="101")
    response = client_for(admin_user).get(
        "/team/activity/?action=server.start",
        HTTP_HX_REQUEST="true",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    )
    body = response.content.decode()
    assert "<html" in body
    assert 'id="filter-action"' in body
    assert _rows(response) == ["server.start"]


def test_the_answer_varies_on_hx_request(admin_user, team) -> None:
    """One URL answers a fragment or the page: without Vary the browser's cache may give
    the fragment to a plain visit (the back button after filtering)."""
    client = client_for(admin_user)
    for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
        response = client.get("/team/activity/?member=x", **headers)
        assert "HX-Request" in response.get("Vary", "")


def test_filtered_results_carry_the_link_that_clears_the_filters(admin_user, team) -> None:
    """The filters are applied by htmx, which swaps only the results: the way back to
    everything must come with them."""
    _entry(team, admin_user, "server.start", 1, target_id="101")
    client = client_for(admin_user)
    fragment = client.get("/team/activity/?action=server.start", HTTP_HX_REQUEST="true")
    assert 'href="/team/activity/"' in fragment.content.decode()
    unfiltered = client.get("/team/activity/", HTTP_HX_REQUEST="true").content.decode()
    assert "Clear filters" not in unfiltered


def test_each_filter_keeps_its_label_above_it(admin_user, team) -> None:
    """Label and select in one .field (as on the servers list), so they wrap together."""
    body = client_for(admin_user).get("/team/activity/").content.decode()
    for name in ("member", "action", "server"):
        assert re.search(
            rf'<div class="field">\s*<label for="filter-{name}">[^<]*</label>\s*'
            rf'<select name="{name}" id="filter-{name}"',
            body,
        ), name
