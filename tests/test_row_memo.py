"""servers.fragments renders a row once per worker for what it shows (Row.shown()): the
memo must never serve a row that differs in anything the template reads, nor another
request's CSRF token."""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from servers import client as vpsorg
from servers import fragments
from servers.presenters import ROW_SERVER_FIELDS, Row, RowMaker
from tests.conftest import server_json

TEMPLATE = Path(settings.BASE_DIR) / "templates" / "servers" / "_server.jinja.html"


def _rows_macro() -> str:
    text = TEMPLATE.read_text()
    start = text.index("{% macro rows(")
    return text[start : text.index("{%- endmacro %}", start)]


def test_the_row_template_reads_nothing_the_memo_key_leaves_out() -> None:
    # Every field of the row (r.x) and of its server (server.x) the template reads must be
    # in Row.shown(); a new cell that reads another one fails here, not in production.
    macro = _rows_macro()
    row_fields = set(re.findall(r"\br\.(\w+)", macro))
    server_fields = set(re.findall(r"\bserver\.(\w+)", macro))
    # What Row.shown() puts in the key, read from its own source.
    key_source = inspect.getsource(Row.shown)
    keyed_row = {"server", *re.findall(r"\bself\.(\w+)", key_source)}
    keyed_server = {*re.findall(r"\bserver\.(\w+)", key_source), *ROW_SERVER_FIELDS}
    assert row_fields and server_fields
    assert row_fields <= keyed_row, row_fields - keyed_row
    assert server_fields <= keyed_server, server_fields - keyed_server
    # The plan is keyed by its name only: the template must read no other plan field.
    assert set(re.findall(r"\bserver\.plan\.(\w+)", macro)) <= {"name"}


@pytest.mark.django_db
def test_every_row_field_but_the_digest_is_in_the_key(operator_user) -> None:
    row = _row(operator_user)
    other = {"badge": _row(operator_user, status="stopped").badge, "buttons": [],
             "protected": True, "selectable": False}  # fmt: skip
    for field in dataclasses.fields(Row):
        if field.name in ("server", "digest"):
            continue  # the server by its shown fields (below); the digest derives from them
        value = other.get(field.name, "something else")
        assert dataclasses.replace(row, **{field.name: value}).shown() != row.shown(), field.name


def _row(operator_user, **changes) -> Row:
    fields = {"name": "web-01", "status": "active", **changes}
    server = vpsorg.Server.from_api(server_json(7, **fields))
    return RowMaker(operator_user.memberships.get())(server)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "web-02"),
        ("status", "stopped"),
        ("hostname", "other.example.com"),
        ("ip_address", "203.0.113.99"),
        ("location", "ap-south"),
        ("plan", {"id": 9, "name": "Huge", "vcpus": 16, "memory": 65536, "storage": 800}),
        ("os", {"id": 6, "name": "Debian 13"}),
        ("created_at", "2020-01-01T00:00:00Z"),
    ],
)
def test_a_row_that_changed_in_any_shown_field_is_rendered_anew(
    operator_user, field, value
) -> None:
    before = fragments.row(_row(operator_user), "tok")
    assert fragments.row(_row(operator_user), "tok") == before  # served from the memo
    after = fragments.row(_row(operator_user, **{field: value}), "tok")
    assert after != before


@pytest.mark.django_db
def test_usage_figures_do_not_miss_the_memo(operator_user) -> None:
    # VPS.org changes them on every read; the row does not show them.
    first = _row(operator_user, resource_usage={"cpu_percent": 1.0})
    second = _row(operator_user, resource_usage={"cpu_percent": 99.0})
    assert first.shown() == second.shown()


@pytest.mark.django_db
def test_protection_role_and_language_are_part_of_the_key(operator_user, viewer_user) -> None:
    server = vpsorg.Server.from_api(server_json(7, name="web-01", status="active"))
    plain = RowMaker(operator_user.memberships.get())(server)
    locked = RowMaker(operator_user.memberships.get(), {"7"})(server)
    viewer = RowMaker(viewer_user.memberships.get())(server)
    html = {name: fragments.row(row, "tok") for name, row in
            [("plain", plain), ("locked", locked), ("viewer", viewer)]}  # fmt: skip
    assert "lock-mark" in html["locked"] and "lock-mark" not in html["plain"]
    assert "bulk-select" in html["plain"] and "bulk-select" not in html["viewer"]
    assert "power-form" not in html["viewer"]
    with translation.override("pt-br"):
        portuguese = fragments.row(RowMaker(operator_user.memberships.get())(server), "tok")
    assert portuguese != html["plain"]
    assert 'data-label="Localização"' in portuguese or "Localiza" in portuguese


@pytest.mark.django_db
def test_each_request_gets_its_own_csrf_token(operator_user) -> None:
    stopped = _row(operator_user, status="stopped")  # Start: a plain POST with the token
    first = fragments.row(stopped, "token-one")
    second = fragments.row(stopped, "token-two")
    assert 'name="csrfmiddlewaretoken" value="token-one"' in first
    assert 'name="csrfmiddlewaretoken" value="token-two"' in second
    assert "token-one" not in second
    # Without a token (none made for the request) no hidden field at all.
    assert "csrfmiddlewaretoken" not in fragments.row(stopped, "")


@pytest.mark.django_db
def test_a_name_that_looks_like_the_marker_stays_text(operator_user) -> None:
    row = _row(operator_user, name="<csrf-token>", status="stopped")
    html = fragments.row(row, "secret-token")
    assert "&lt;csrf-token&gt;" in html
    assert html.count("secret-token") == 1  # the Start form's field, nowhere else


@pytest.mark.django_db
def test_the_memo_is_bounded(operator_user, monkeypatch) -> None:
    monkeypatch.setattr(fragments, "ROWS_MEMO_SIZE", 3)
    monkeypatch.setattr(fragments, "_ROWS_MEMO", {})
    html = fragments.rows([_row(operator_user, name=f"s{n}") for n in range(5)], "")
    assert html.count("<tr ") == 5
    assert 0 < len(fragments._ROWS_MEMO) <= 3


@pytest.mark.django_db
def test_rows_from_the_memo_equal_rows_made_anew(operator_user, monkeypatch) -> None:
    from servers import presenters

    membership = operator_user.memberships.get()
    servers = [
        vpsorg.Server.from_api(server_json(n, name=f"s{n}", status=status))
        for n, status in enumerate(["active", "stopped", "rebooting", "suspended", "weird"])
    ]
    protected = {"1", "3"}
    first = presenters.rows(servers, membership, protected)
    again = presenters.rows(servers, membership, protected)  # from the memo
    monkeypatch.setattr(presenters, "_DERIVED", {})
    anew = presenters.rows(servers, membership, protected)
    assert first == again == anew
    assert [r.server for r in again] == servers  # each row holds its own server object


@pytest.mark.django_db
def test_the_relative_date_follows_the_clock(operator_user, monkeypatch) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from servers import presenters

    server = vpsorg.Server.from_api(server_json(1, created_at="2026-01-01T00:00:00Z"))
    membership = operator_user.memberships.get()
    now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: now)
    today = presenters.RowMaker(membership)(server)
    monkeypatch.setattr(timezone, "now", lambda: now + timedelta(days=400))
    later = presenters.RowMaker(membership)(server)
    assert today.created_ago != later.created_ago
    assert today.digest == later.digest


def test_what_a_row_derives_from_its_server_is_keyed_by() -> None:
    from servers import presenters

    # Every server field the derived parts read (the dates, buttons, digest) is in the
    # key RowMaker looks them up by.
    call = inspect.getsource(presenters.RowMaker.__call__)
    start = call.index("key = (")
    keyed = set(re.findall(r"\bserver\.(\w+)", call[start : call.index("\n        )\n", start)]))
    keyed |= set(presenters.ROW_SERVER_FIELDS)
    read = set()
    for function in (presenters.RowMaker._derive, presenters.row_digest,
                     presenters.ButtonMaker.__call__):  # fmt: skip
        read |= set(re.findall(r"\bserver\.(\w+)", inspect.getsource(function)))
    assert read and read <= keyed | {"plan", "os"}, read - keyed
