"""The rows' action menus and the header's menu on a wide screen, in a browser that has
::details-content (the content of a closed <details> shown by CSS) and in one that has
not (Firefox before 143, Safari before 18.4): emulated here by serving panel.css as such
a browser reads it, so the fallback of panel.css is what the page gets."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from panel.models import Role
from tests.e2e.conftest import logged_in, member, team_with_token

# No browser knows this pseudo-element: a rule that names it is dropped, as an older
# browser drops the rules with ::details-content, and `@supports selector(...)` with it
# is false (so its `not` is true) -- exactly what such a browser does with the real one.
UNKNOWN = "::no-such-part"
# Screenshots for a human look at the fallback; off unless asked for.
SHOTS = os.environ.get("E2E_SCREENSHOTS", "")


def without_details_content(context: Any) -> list[int]:
    """Serve panel.css to `context` with ::details-content made unknown; the list gets
    how many uses were replaced, for each time the stylesheet was served."""
    replaced: list[int] = []

    def handle(route: Any) -> None:
        response = route.fetch()
        css = response.text()
        replaced.append(css.count("::details-content"))
        route.fulfill(response=response, body=css.replace("::details-content", UNKNOWN))

    context.route("**/css/panel.css*", handle)
    return replaced


@pytest.fixture
def operator(transactional_db: Any, upstream: Any) -> User:
    return member(team_with_token("E2E menus"), "mila", Role.OPERATOR)


@pytest.mark.parametrize("details_content", [True, False], ids=["supported", "unsupported"])
def test_on_a_wide_screen_every_rows_actions_and_the_navigation_can_be_used(
    browser: Any, live_server: Any, operator: User, details_content: bool
) -> None:
    context, page = logged_in(browser, live_server, operator)
    replaced = [] if details_content else without_details_content(context)
    try:
        page.goto(f"{live_server.url}/servers/")
        if not details_content:
            assert replaced and replaced[0] >= 2, "the stylesheet was not served emulated"
        scheme_has_it = page.evaluate("CSS.supports('selector(::details-content)')")
        assert scheme_has_it  # this Chromium has it: the emulation alone takes it away
        # The last row: a drop-down there must not be clipped by the table's box.
        row = page.locator("#results tbody tr", has=page.locator(".row-menu")).last
        menu = row.locator(".row-menu > summary")
        first = row.locator(".power-actions button").first
        if details_content:
            # The modern look: the buttons in the row, no menu to open.
            expect(menu).to_be_hidden()
        else:
            # The fallback: an Actions button that opens the menu, as a disclosure.
            expect(first).to_be_hidden()
            expect(menu).to_be_visible()
            menu.click()
        expect(first).to_be_visible()
        if SHOTS:
            page.screenshot(path=f"{SHOTS}/row-menu-{details_content}.png")
        label = first.inner_text().split()[0]
        first.click()  # Playwright clicks only what is visible, enabled and on top
        if label in ("Stop", "Reboot"):
            expect(page.locator("#confirm-dialog")).to_be_visible()
            page.locator("#confirm-dialog button[value=cancel]").click()
        # The header's navigation: in the bar, or behind its Menu button.
        activity = page.locator(".site-nav").get_by_role("link", name="Activity")
        if details_content:
            expect(page.locator(".site-menu > summary")).to_be_hidden()
        else:
            expect(activity).to_be_hidden()
            page.locator(".site-menu > summary").click()
        if SHOTS:
            page.screenshot(path=f"{SHOTS}/site-menu-{details_content}.png")
        activity.click()
        page.wait_for_url("**/team/activity/")
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    finally:
        context.close()
