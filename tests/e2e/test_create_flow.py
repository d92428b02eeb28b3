"""The create form in a browser: complete without JavaScript, and keyboard operable."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User

from panel.models import Role
from servers.models import OperatingSystem
from tests.e2e.conftest import logged_in, member, team_with_token


@pytest.fixture
def manager(transactional_db: Any, upstream: Any) -> User:
    user = member(team_with_token("Create flow"), "cora", Role.MANAGER)
    # The seeded catalog entry, again: a transactional test before this one flushed it.
    OperatingSystem.objects.get_or_create(api_id="3", defaults={"name": "Debian 12"})
    return user


def open_form(browser: Any, live_server: Any, user: User, **options: Any) -> tuple[Any, Any]:
    context, page = logged_in(browser, live_server, user, **options)
    page.goto(f"{live_server.url}/servers/new/")
    return context, page


def test_without_javascript_every_plan_shows_and_the_server_checks_the_pair(
    browser: Any, live_server: Any, manager: User
) -> None:
    from playwright.sync_api import expect

    context, page = open_form(browser, live_server, manager, java_script_enabled=False)
    try:
        performance = page.locator(".plan-card", has_text="Performance VPS")
        expect(performance).to_be_visible()
        expect(performance).to_contain_text("Offered in Los Angeles, New York")
        # Frankfurt and a plan not offered there: the server says so, nothing is created.
        page.get_by_role("radio", name="Frankfurt").check()
        page.get_by_role("radio", name="Performance VPS").check()
        page.select_option("#id_os_id", label="Debian 12")
        page.fill("#id_name", "nojs-01")
        page.get_by_role("button", name="Create server").click()
        expect(page.locator("#plan-errors")).to_contain_text("is not offered in eu-central")
        expect(page.locator("[data-summary=location]")).to_have_text("Frankfurt, Germany")
        # Marked, still visible and choosable: the user picks another plan or location.
        expect(performance).to_have_attribute("data-offered", "no")
        page.get_by_role("radio", name="Standard VPS").check()
        page.get_by_role("button", name="Create server").click()
        page.wait_for_url(re.compile(r"/servers/\d+/$"))
        expect(page.locator("h1")).to_have_text("nojs-01")
    finally:
        context.close()


def test_the_cards_are_radio_groups_for_the_keyboard(
    browser: Any, live_server: Any, manager: User
) -> None:
    from playwright.sync_api import expect

    context, page = open_form(browser, live_server, manager)
    try:
        first = page.locator("input[name=location]").first
        first.focus()
        page.keyboard.press("Space")
        expect(first).to_be_checked()
        page.keyboard.press("ArrowDown")
        second = page.locator("input[name=location]").nth(1)
        expect(second).to_be_checked()
        expect(page.locator("[data-summary=location]")).not_to_have_text("Not chosen yet")
        # Tab leaves the group for the plans; the focus ring is on the chosen card.
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.name")
        assert focused == "plan_id"
        outline = page.evaluate(
            "getComputedStyle(document.activeElement.closest('.choice-card')).outlineStyle"
        )
        assert outline == "solid"
    finally:
        context.close()
