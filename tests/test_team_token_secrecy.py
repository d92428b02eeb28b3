"""The stored API token never shows: not in any page, not in the logs, not in error reports,
and not in plaintext anywhere in the database."""

from __future__ import annotations

import logging
import sys

import pytest
from django.contrib.auth.models import User
from django.core.signals import got_request_exception
from django.db import connection
from django.test import Client
from django.views.debug import ExceptionReporter

from panel.models import Membership, Role, Team, TeamToken
from tests.conftest import API, TOKEN, client_for

SECRET = "top-secret-token-value-zz99qq88"
ME = f"{API}/account/me/"
ACCOUNT = {"account": {"email": "ops@acme.example"}, "token": {"name": "t", "permissions": []}}


@pytest.fixture
def admin(db) -> User:
    team = Team.objects.create(name="Secretive")
    user = User.objects.create_user("sam-admin", "sam@example.com", "pw-sam-admin-1")
    Membership.objects.create(team=team, user=user, role=Role.ADMIN)
    return user


def _store(client: Client, api) -> None:
    api.get(ME, json=ACCOUNT)
    response = client.post("/team/token/", {"token": SECRET})
    assert response.status_code == 302
    assert TeamToken.objects.get().get_token() == SECRET


def _all_text_in_database() -> list[tuple[str, object]]:
    """Every value of every column of every row of every table."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # table names from the schema itself
            for row in cursor.fetchall():
                found.extend((table, value) for value in row)
    return found


def test_no_plaintext_token_in_any_column_of_any_row(admin, api) -> None:
    client = client_for(admin)
    _store(client, api)
    api.get(ME, status=401, json={"detail": "bad"})
    client.post("/team/token/", {"token": SECRET + "-other"})  # a rejected one, audited
    values = _all_text_in_database()
    assert any(table == "panel_teamtoken" for table, _ in values)  # the scan reached it
    for table, value in values:
        if isinstance(value, memoryview):
            value = value.tobytes()
        if isinstance(value, bytes):
            assert SECRET.encode() not in value, table
        elif isinstance(value, str):
            assert SECRET not in value, table


def test_the_token_is_in_no_rendered_page(admin, api) -> None:
    client = client_for(admin)
    _store(client, api)
    pages = [
        "/team/token/",
        "/team/token/remove/",
        "/team/members/",
        "/team/activity/",
        "/team/leave/",
        "/accounts/password/change/",
    ]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        body = response.content.decode()
        assert SECRET not in body, path
    assert SECRET[-4:] in client.get("/team/token/").content.decode()


def test_a_token_typed_into_a_failing_form_is_not_sent_back(admin, api) -> None:
    api.get(ME, status=503, json={"detail": "down"})
    response = client_for(admin).post("/team/token/", {"token": SECRET})
    body = response.content.decode()
    assert "nothing was stored" in body
    assert SECRET not in body
    assert 'name="token"' in body


def test_the_token_is_in_no_log_record(admin, api, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    client = client_for(admin)
    _store(client, api)
    api.get(ME, status=401, json={"detail": "Invalid token."})
    client.post("/team/token/", {"token": SECRET})
    api.get(ME, status=500, json={"detail": f"echoing {SECRET}"})
    client.post("/team/token/", {"token": SECRET})
    client.post("/team/token/remove/")
    assert caplog.records  # the client did log its calls
    for record in caplog.records:
        assert SECRET not in record.getMessage()
        assert SECRET not in str(record.args)
    assert SECRET not in caplog.text


def test_the_error_report_of_a_crash_hides_the_token(admin, api, settings) -> None:
    settings.DEBUG = True  # the technical 500 page, with every frame's variables
    api.get(ME, body=RuntimeError("boom deep inside requests"))
    client = client_for(admin)
    client.raise_request_exception = False
    response = client.post("/team/token/", {"token": SECRET})
    assert response.status_code == 500
    body = response.content.decode()
    assert "boom deep inside requests" in body  # it is the report of this crash
    assert "Bearer" in body or "headers" in body  # frames of requests are in it
    assert SECRET not in body
    assert SECRET[:12] not in body


def test_the_error_report_for_mail_hides_the_token(admin, api, settings) -> None:
    """The report Django mails to ADMINS (AdminEmailHandler), built from a real crash."""
    settings.DEBUG = False
    crashes: list[tuple] = []

    def keep(sender, request, **kwargs) -> None:
        crashes.append((request, *sys.exc_info()))

    got_request_exception.connect(keep)
    try:
        api.get(ME, body=RuntimeError("boom deep inside requests"))
        client = client_for(admin)
        client.raise_request_exception = False
        assert client.post("/team/token/", {"token": SECRET}).status_code == 500
    finally:
        got_request_exception.disconnect(keep)
    request, exc_type, exc_value, tb = crashes[0]
    reporter = ExceptionReporter(request, exc_type, exc_value, tb, is_email=True)
    for report in (reporter.get_traceback_text(), reporter.get_traceback_html()):
        assert "boom deep inside requests" in report
        assert "check_token" in report  # the frames of the panel are in it
        assert SECRET not in report
        assert SECRET[:12] not in report


def test_the_admin_never_shows_the_token(admin, api) -> None:
    _store(client_for(admin), api)
    staff = User.objects.create_superuser("root", "root@example.com", "pw-root-1")
    client = client_for(staff)
    stored = TeamToken.objects.get()
    for path in (
        "/admin/panel/teamtoken/",
        f"/admin/panel/teamtoken/{stored.pk}/change/",
        f"/admin/panel/team/{stored.team_id}/change/",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        body = response.content.decode()
        assert SECRET not in body
        assert bytes(stored.encrypted).decode() not in body  # nor its ciphertext


def test_fixture_token_is_not_in_the_members_page(admin_user) -> None:
    body = client_for(admin_user).get("/team/members/").content.decode()
    assert TOKEN not in body


@pytest.mark.parametrize("name", ["DATABASE_URL", "CACHE_URL", "EMAIL_URL", "SENTRY_DSN"])
def test_connection_urls_with_passwords_are_hidden_from_error_reports(name: str) -> None:
    from panel.debug import PanelExceptionReporterFilter

    reporter = PanelExceptionReporterFilter()
    cleansed = reporter.cleanse_setting(name, "postgres://panel:s3cret@db.internal/panel")
    assert "s3cret" not in str(cleansed)
