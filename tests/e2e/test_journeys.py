"""Journeys of each role the rest of tests/e2e/ does not walk, against the sandbox, with
axe-core on every page they visit: the operator who stops, starts and reboots but may not
delete, the manager who edits a server, the viewer who is told why there are no buttons.
(Sign-up and the token: test_team_token; list, filter and search, create, rename and
delete: test_server_pages; invitations: test_team_token; the list's power actions:
test_power.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from panel.models import Role
from tests.e2e.conftest import log_in, member, team_with_token
from tests.e2e.test_accessibility import serious

TEAM = "E2E journeys"
PASSWORD = "journey-password-1"
SETTLE = 12_000  # ms: a 1.5 s transition and a few 2 s polls, with room for a slow CI


pytestmark = pytest.mark.usefixtures("quick_idle_polls")


@pytest.fixture
def journey(browser: Any) -> Iterator[Any]:
    """A desktop page whose CSP lets axe-core's injected script run."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    yield context.new_page()
    context.close()


def accessible(page: Any) -> None:
    assert serious(page) == [], page.url


def row(page: Any, name: str) -> Any:
    return page.locator("#results tbody tr", has=page.get_by_role("link", name=name, exact=True))


def test_an_operator_stops_starts_and_reboots_but_may_not_delete(
    journey: Any, live_server: Any, sandbox: Any, transactional_db: Any
) -> None:
    page = journey
    member(team_with_token(TEAM), "oscar", Role.OPERATOR, PASSWORD)
    log_in(page, live_server, "oscar", PASSWORD)
    accessible(page)
    expect(page.get_by_role("link", name="New server")).to_have_count(0)
    web = row(page, "web-server-01")
    badge = web.locator("[data-status]")

    web.get_by_role("button", name=re.compile(r"^Stop")).click()
    page.locator("#confirm-dialog").get_by_role("button", name="Stop").click()
    expect(badge).to_have_attribute("data-status", "stopped", timeout=SETTLE)
    expect(badge).to_have_text("Stopped")
    web.get_by_role("button", name=re.compile(r"^Start")).click()
    expect(badge).to_have_attribute("data-status", "active", timeout=SETTLE)
    expect(badge).to_have_text("Active")
    accessible(page)

    web.get_by_role("link", name="web-server-01", exact=True).click()
    page.wait_for_url(re.compile(r"/servers/[A-Za-z0-9-]+/$"))
    card_badge = page.locator("#server-card [data-status]")
    expect(card_badge).to_have_attribute("data-status", "active")
    # An operator: power, yes; rename, edit and delete, no.
    for name in ("Edit", "Delete", "Rename"):
        expect(page.get_by_role("link", name=name, exact=True)).to_have_count(0)
    page.locator("#server-card").get_by_role("button", name=re.compile(r"^Reboot")).click()
    page.locator("#confirm-dialog").get_by_role("button", name="Reboot").click()
    expect(card_badge).to_have_attribute("data-status", "rebooting")
    accessible(page)
    expect(card_badge).to_have_attribute("data-status", "active", timeout=SETTLE)

    # The delete page itself refuses an operator, on the server.
    response = page.goto(page.url + "delete/")
    assert response is not None and response.status == 403
    expect(page.get_by_role("button", name="Delete this server")).to_have_count(0)
    accessible(page)


def test_a_manager_edits_a_server(
    journey: Any, live_server: Any, sandbox: Any, transactional_db: Any
) -> None:
    page = journey
    member(team_with_token(TEAM), "mira", Role.MANAGER, PASSWORD)
    log_in(page, live_server, "mira", PASSWORD)
    page.get_by_role("link", name="web-server-01", exact=True).click()
    page.wait_for_url(re.compile(r"/servers/[A-Za-z0-9-]+/$"))
    detail_url = page.url
    page.get_by_role("link", name="Edit", exact=True).click()
    page.wait_for_url("**/edit/")
    accessible(page)

    page.fill("#id_hostname", "web01.new.example.com")
    page.get_by_label("Automatic backups").uncheck()
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(detail_url)
    facts = page.locator(".server-facts")
    expect(facts).to_contain_text("web01.new.example.com")
    expect(facts.locator("div", has_text="Automatic backups")).to_contain_text("Off")
    accessible(page)

    page.get_by_role("link", name="Activity", exact=True).click()
    page.wait_for_url("**/team/activity/")
    expect(page.locator("main")).to_contain_text("web01.new.example.com")
    accessible(page)


def test_a_viewer_is_told_why_there_are_no_buttons(
    journey: Any, live_server: Any, sandbox: Any, transactional_db: Any
) -> None:
    page = journey
    member(team_with_token(TEAM), "vera", Role.VIEWER, PASSWORD)
    log_in(page, live_server, "vera", PASSWORD)
    note = page.locator(".role-note")
    expect(note).to_have_count(1)
    expect(note).to_have_text(
        "Your role (Viewer) cannot start or stop servers. Ask an admin of E2E journeys."
    )
    expect(page.locator("form.power-form")).to_have_count(0)
    expect(page.locator("details.row-menu")).to_have_count(0)
    accessible(page)

    page.get_by_role("link", name="web-server-01", exact=True).click()
    page.wait_for_url(re.compile(r"/servers/[A-Za-z0-9-]+/$"))
    expect(page.locator(".role-note")).to_have_count(1)
    expect(page.locator("#server-card form.power-form")).to_have_count(0)
    expect(page.get_by_role("link", name="Delete")).to_have_count(0)
    accessible(page)
