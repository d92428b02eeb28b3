"""A stored token that VPS.org starts rejecting (401) on the edit, rename, delete and power
pages: the token notice (admins led to the token page, others told an admin must act),
never a 5xx. The list, detail, create and badge have their own tests of this."""

from __future__ import annotations

import re
from typing import Any

import pytest
import responses

from tests.conftest import API, client_for

REJECTED = {"status": 401, "json": {"detail": "Invalid token."}}
ANY_SERVER = re.compile(rf"{re.escape(API)}/servers/.*")
NOTICE = "VPS.org rejected the team"

PAGES: list[tuple[str, str, dict[str, str]]] = [
    ("get", "/servers/12345/edit/", {}),
    ("post", "/servers/12345/edit/", {"name": "web-9", "hostname": "", "backups_enabled": ""}),
    ("get", "/servers/12345/delete/", {}),
    ("post", "/servers/12345/delete/", {"name": "web-server-01"}),
]


def reject_everything(api: responses.RequestsMock) -> None:
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        api.add(method, ANY_SERVER, **REJECTED)


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "url", "data"), PAGES, ids=[f"{m} {u}" for m, u, _ in PAGES])
@pytest.mark.parametrize("role", ["admin_user", "manager_user"])
def test_the_pages_show_the_token_notice(
    api: responses.RequestsMock, request: Any, role: str, method: str, url: str,
    data: dict[str, str],
) -> None:  # fmt: skip
    reject_everything(api)
    browser = client_for(request.getfixturevalue(role))
    response = browser.get(url) if method == "get" else browser.post(url, data)
    html = response.content.decode()
    assert response.status_code < 500
    assert NOTICE in html
    leads_to_token_page = 'href="/team/token/"' in html.split(NOTICE)[1].split("</div>")[0]
    assert leads_to_token_page == (role == "admin_user")
    if method == "post" and "edit" in url:
        assert 'value="web-9"' in html  # the form keeps what was typed


@pytest.mark.django_db
def test_renaming_shows_the_token_notice(api: responses.RequestsMock, manager_user: Any) -> None:
    reject_everything(api)
    response = client_for(manager_user).post(
        "/servers/12345/rename/", {"name": "web-9"}, follow=True
    )
    html = response.content.decode()
    assert response.status_code < 500
    assert NOTICE in html
    assert 'value="web-9"' in html  # the form keeps what was typed


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["start", "stop", "reboot"])
def test_a_power_action_says_the_token_was_rejected(
    api: responses.RequestsMock, operator_user: Any, action: str
) -> None:
    reject_everything(api)
    response = client_for(operator_user).post(
        f"/servers/12345/{action}/", HTTP_REFERER="/servers/", follow=True
    )
    assert response.redirect_chain == [("/servers/", 302)]
    messages = response.content.decode().split('id="messages"')[1].split("</div>")[0]
    assert "rejected the team" in messages and "An admin must replace it" in messages
