"""The panel in a real browser: log in and see the team's servers from the sandbox."""

from __future__ import annotations

from typing import Any

from panel.models import Role
from tests.e2e.conftest import log_in, member, team_with_token


def test_login_page_opens(page: Any, live_server: Any) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    assert page.locator("input[name=login]").is_visible()  # allauth's name (was username)
    assert page.locator("input[name=password]").is_visible()
    assert "Log in" in page.title()


def test_login_shows_the_teams_servers_from_the_sandbox(
    page: Any, live_server: Any, sandbox: Any, db: Any
) -> None:
    member(team_with_token("E2E"), "eve", Role.ADMIN)

    log_in(page, live_server, "eve", "eve-password-1")

    rows = page.locator("[data-server-id]")
    rows.first.wait_for()
    assert rows.count() == 24  # the sandbox's seed: more than one API page of 20
    assert page.get_by_text("web-server-01").first.is_visible()
    assert page.locator("[data-status=active]").count() >= 4
