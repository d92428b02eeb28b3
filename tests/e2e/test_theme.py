"""The page's theme choice (static/js/theme.js) and the language switch that applies on change."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from panel.models import Membership, Role, Team
from tests.e2e.conftest import log_in

SCHEME = "getComputedStyle(document.documentElement).colorScheme"


def login(page: Any, live_server: Any, db: Any) -> None:
    team = Team.objects.create(name="Themes")
    user = User.objects.create_user("tess", password="tess-password-1")
    Membership.objects.create(team=team, user=user, role=Role.ADMIN)
    log_in(page, live_server, "tess", "tess-password-1")


def test_the_system_theme_is_followed_until_one_is_chosen_and_remembered(
    browser: Any, live_server: Any, transactional_db: Any
) -> None:
    context = browser.new_context(color_scheme="dark")
    page = context.new_page()
    try:
        login(page, live_server, transactional_db)
        assert page.evaluate(SCHEME) == "dark"
        assert page.locator("#theme-switch").input_value() == "system"
        page.select_option("#theme-switch", "light")
        assert page.evaluate(SCHEME) == "light"
        # Remembered: the next page is light from its first paint, in a dark system.
        page.goto(f"{live_server.url}/team/activity/")
        assert page.evaluate("document.documentElement.dataset.theme") == "light"
        assert page.evaluate(SCHEME) == "light"
        page.select_option("#theme-switch", "system")
        page.reload()
        assert page.evaluate(SCHEME) == "dark"
        assert page.evaluate("localStorage.getItem('panel-theme')") is None
    finally:
        context.close()


def test_without_scripts_the_system_decides_and_the_language_button_stays(
    browser: Any, live_server: Any, transactional_db: Any
) -> None:
    context = browser.new_context(color_scheme="dark", java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        assert page.evaluate(SCHEME) == "dark"
        assert not page.locator("#theme-switch").is_visible()
        assert page.get_by_role("button", name="Change language").is_visible()
    finally:
        context.close()


def test_choosing_a_language_applies_it_at_once(page: Any, live_server: Any, db: Any) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    assert not page.get_by_role("button", name="Change language").is_visible()
    with page.expect_navigation():
        page.select_option("#language-switch", "pt-br")
    assert page.locator("html").get_attribute("lang") == "pt-br"
