"""In a real browser: a new user signs up, is led to the token page, stores a sandbox token
(after a wrong one is refused) and sees its last four characters; then invites an operator,
who joins from the link with a new account and sees the team read-only."""

from __future__ import annotations

import os
import re
from typing import Any

from panel.models import Membership, Role, TeamToken
from tests.e2e.conftest import SANDBOX_TOKEN

# Set E2E_SCREENSHOTS=/some/dir to keep screenshots of the pages for a look.
SHOTS = os.environ.get("E2E_SCREENSHOTS", "")


def _shot(page: Any, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def _sign_up(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/signup/")
    page.fill("input[name=username]", username)
    page.fill("input[name=email]", f"{username}@example.com")
    page.fill("input[name=password1]", "E2e-Password-2468")
    page.fill("input[name=password2]", "E2e-Password-2468")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(f"{base}/servers/")


def test_sign_up_and_store_the_token(page: Any, live_server: Any, sandbox: Any) -> None:
    base = live_server.url
    _sign_up(page, base, "erin")
    # No token yet: the server list leads the new admin to the token page.
    page.get_by_role("link", name="Add the API token").click()
    page.wait_for_url(f"{base}/team/token/")
    assert page.get_by_text("This team has no API token yet").is_visible()
    _shot(page, "team-token-empty")

    # A wrong token: refused with a clear message, nothing stored, the field empty.
    page.fill("input[name=token]", "not-a-valid-token-0000")
    page.get_by_role("button", name="Check and store").click()
    error = page.get_by_text(re.compile("rejected this token"))
    error.wait_for()
    assert page.input_value("input[name=token]") == ""
    assert not TeamToken.objects.exists()
    _shot(page, "team-token-rejected")

    # The sandbox's token: checked, stored, shown by its last four characters only.
    page.fill("input[name=token]", SANDBOX_TOKEN)
    page.get_by_role("button", name="Check and store").click()
    page.get_by_text("checked and stored").wait_for()
    tail = page.locator("[data-token-last4]")
    assert tail.get_attribute("data-token-last4") == SANDBOX_TOKEN[-4:]
    assert SANDBOX_TOKEN[-4:] in tail.inner_text()
    assert SANDBOX_TOKEN not in page.content()
    _shot(page, "team-token-stored")

    # The servers now come from the sandbox, and the activity records the token.
    page.get_by_role("link", name="Servers", exact=True).click()
    page.locator("[data-server-id]").first.wait_for()
    page.get_by_role("link", name="Activity").click()
    assert page.get_by_role("cell", name="API token stored").count() == 2  # refused, then stored


def test_an_admin_invites_an_operator_who_joins(
    page: Any, browser: Any, live_server: Any, sandbox: Any
) -> None:
    base = live_server.url
    _sign_up(page, base, "ivy")
    page.goto(f"{base}/team/members/")
    page.fill(".invite-form input[name=email]", "otis@example.com")
    page.select_option(".invite-form select[name=role]", "operator")
    page.get_by_role("button", name="Invite").click()
    link = page.input_value("#invitation-link")
    assert "/team/join/" in link
    _shot(page, "team-invitation")

    # The invitee, in another browser context (no session), creates an account from it.
    other = browser.new_context(viewport={"width": 1280, "height": 900})
    guest = other.new_page()
    try:
        guest.goto(link)
        assert guest.get_by_role("heading", name=re.compile("Join")).is_visible()
        guest.fill("input[name=username]", "otis")
        guest.fill("input[name=password1]", "Otis-Password-1357")
        guest.fill("input[name=password2]", "Otis-Password-1357")
        guest.get_by_role("button", name="Create my account and join").click()
        guest.wait_for_url(f"{base}/servers/")
        _shot(guest, "team-joined")
        assert guest.get_by_text("Your role: Operator").is_visible()
        # An operator: no token link, the members list read-only.
        assert guest.get_by_role("link", name="API token").count() == 0
        guest.get_by_role("link", name="Members").click()
        assert guest.get_by_role("button", name="Change role").count() == 0
        _shot(guest, "team-members-operator")
    finally:
        other.close()
    membership = Membership.objects.get(user__username="otis")
    assert membership.role == Role.OPERATOR
    assert membership.team.memberships.get(role=Role.ADMIN).user.username == "ivy"

    # The admin sees the new member and changes the role.
    page.goto(f"{base}/team/members/")
    row = page.locator('tr[data-member="otis"]')
    row.locator("select[name=role]").select_option("viewer")
    row.get_by_role("button", name="Change role").click()
    page.get_by_text("otis is now Viewer").wait_for()
    _shot(page, "team-members-admin")
    membership.refresh_from_db()
    assert membership.role == Role.VIEWER
