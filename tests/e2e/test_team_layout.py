"""In a real browser at phone width (390 px): the team pages fit the screen.

A member of several teams has the team switcher in the header; the activity filters keep
each label above its select; a card's first paragraph does not add a second top margin.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from panel.models import Membership, Role, Team
from tests.e2e.conftest import log_in

PASSWORD = "E2e-Password-2468"
PHONE = {"width": 390, "height": 844}


def _member_of_two_teams() -> User:
    user = User.objects.create_user("maria-multiteam", "maria@example.com", PASSWORD)
    for name, role in (("Operations Europe", Role.ADMIN), ("Marketing websites", Role.VIEWER)):
        Membership.objects.create(team=Team.objects.create(name=name), user=user, role=role)
    return user


def test_the_header_with_the_team_switcher_fits_a_phone(page: Any, live_server: Any) -> None:
    _member_of_two_teams()
    page.set_viewport_size(PHONE)
    log_in(page, live_server, "maria-multiteam", PASSWORD)
    for path in ("/team/members/", "/team/activity/"):
        page.goto(f"{live_server.url}{path}")
        # On a phone the team switcher and the account sit in the header's Menu.
        assert not page.locator("#team-switch").is_visible()
        page.locator(".site-menu > summary").click()
        assert page.locator("#team-switch").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
        log_out = page.locator("header button", has_text="Log out").bounding_box()
        assert log_out is not None
        assert log_out["x"] + log_out["width"] <= PHONE["width"], path


def test_the_activity_filters_keep_each_label_above_its_select(page: Any, live_server: Any) -> None:
    _member_of_two_teams()
    log_in(page, live_server, "maria-multiteam", PASSWORD)
    for viewport in (PHONE, {"width": 1280, "height": 900}):
        page.set_viewport_size(viewport)
        page.goto(f"{live_server.url}/team/activity/")
        for name in ("member", "action", "server"):
            label = page.locator(f"label[for=filter-{name}]").bounding_box()
            select = page.locator(f"#filter-{name}").bounding_box()
            assert label and select
            assert label["y"] + label["height"] <= select["y"] + 1, (viewport, name)
            assert abs(label["x"] - select["x"]) <= 1, (viewport, name)


def test_a_cards_first_paragraph_sits_at_the_cards_padding(page: Any, live_server: Any) -> None:
    _member_of_two_teams()
    log_in(page, live_server, "maria-multiteam", PASSWORD)
    # The viewer's team: its leave page is a card that opens with a paragraph.
    page.goto(f"{live_server.url}/team/members/")
    page.select_option("#team-switch", label="Marketing websites (Viewer)")
    page.get_by_role("button", name="Switch").click()
    page.goto(f"{live_server.url}/team/leave/")
    gap = page.evaluate(
        """() => {
            const card = document.querySelector("main .card");
            const first = card.firstElementChild;
            return first.getBoundingClientRect().top - card.getBoundingClientRect().top;
        }"""
    )
    padding = page.evaluate(
        "parseFloat(getComputedStyle(document.querySelector('main .card')).paddingTop)"
    )
    assert gap <= padding + 1
