"""panel.audit.record(): one entry per act, with its outcome; entries_for_server()."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser

from panel.audit import Action, entries_for_server, record
from panel.models import AuditEntry
from servers.client import NotFound, Unavailable


def test_a_successful_act(team, admin_user) -> None:
    entry = record(team, admin_user, Action.SERVER_START, target_id=42, target_name="web-1")
    entry.refresh_from_db()
    assert entry.team == team
    assert entry.user == admin_user
    assert entry.username == "alice-admin"
    assert entry.action == "server.start"
    assert (entry.target_id, entry.target_name) == ("42", "web-1")
    assert entry.outcome == AuditEntry.Outcome.OK
    assert entry.status_code is None
    assert entry.created_at is not None


def test_a_failed_act_keeps_the_apis_status_and_message(team, admin_user) -> None:
    entry = record(
        team, admin_user, Action.SERVER_DELETE, target_id="9", error=NotFound("Gone", status=404)
    )
    assert entry.outcome == AuditEntry.Outcome.ERROR
    assert entry.status_code == 404
    assert entry.message == "Gone"


def test_a_failure_without_an_answer_has_no_status(team, admin_user) -> None:
    entry = record(team, admin_user, Action.SERVER_REBOOT, error=Unavailable())
    assert entry.outcome == "error"
    assert entry.status_code is None
    assert "could not be reached" in entry.message


def test_a_detail_message_for_a_success(team, admin_user) -> None:
    entry = record(team, admin_user, Action.MEMBER_ROLE, target_name="x", message="a → b")
    assert entry.message == "a → b"


def test_long_values_are_cut_to_fit(team, admin_user) -> None:
    entry = record(team, admin_user, "x" * 60, target_id="1" * 150, target_name="n" * 300)
    entry.refresh_from_db()
    assert len(entry.action) == 40
    assert len(entry.target_id) == 100
    assert len(entry.target_name) == 200


def test_an_anonymous_actor_is_recorded_without_a_user(team) -> None:
    entry = record(team, AnonymousUser(), Action.MEMBER_JOIN)
    assert entry.user is None
    assert entry.username == ""


def test_the_username_outlives_the_user(team, admin_user) -> None:
    entry = record(team, admin_user, Action.TOKEN_SET)
    admin_user.delete()
    entry.refresh_from_db()
    assert entry.user is None
    assert entry.username == "alice-admin"


def test_entries_for_server_newest_first_this_team_only(team, other_team, admin_user) -> None:
    record(team, admin_user, Action.SERVER_START, target_id="7")
    record(team, admin_user, Action.SERVER_STOP, target_id="7")
    record(team, admin_user, Action.SERVER_START, target_id="8")
    record(other_team, admin_user, Action.SERVER_DELETE, target_id="7")
    entries = list(entries_for_server(team, 7))
    assert [e.action for e in entries] == ["server.stop", "server.start"]
    assert len(list(entries_for_server(team, "7", limit=1))) == 1


def test_labels_for_known_and_unknown_actions() -> None:
    assert Action.label(Action.SERVER_REBOOT) == "Server rebooted"
    assert Action.label("something.new") == "something.new"
