"""axe-core on the main pages, light and dark, desktop and phone: no serious or critical
violation. axe-core comes from npm into .cache/axe (.ci/run installs it, pinned)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User

from panel.models import AuditEntry, Role
from tests.e2e.conftest import logged_in, member, team_with_token

AXE = Path(django_settings.BASE_DIR) / ".cache/axe/node_modules/axe-core/axe.min.js"
SERVER_ID = "12345"  # the sandbox seed's first documented server

PAGES = {
    "list": "/servers/",
    "detail": f"/servers/{SERVER_ID}/",
    "create": "/servers/new/",
    "delete": f"/servers/{SERVER_ID}/delete/",
    "members": "/team/members/",
    "activity": "/team/activity/",
    "token": "/team/token/",
    "ssh-keys": "/servers/ssh-keys/",
    "login": "/accounts/login/",
    # The wrong-password message (.form-errors), as prominent as it is readable.
    "login-error": "/accounts/login/",
}
THEMES = ("light", "dark")
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}

# Violations that come from markup this work cannot change; each must still fail, so
# that the mark goes when the page is fixed: {(page, theme, width): reason}.
KNOWN: dict[tuple[str, str, str], str] = {}


def cases() -> Iterator[Any]:
    for name in PAGES:
        for theme in THEMES:
            for width in WIDTHS:
                reason = KNOWN.get((name, theme, width))
                marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
                yield pytest.param(name, theme, width, id=f"{name}-{theme}-{width}", marks=marks)


@pytest.fixture
def admin(transactional_db: Any, upstream: Any) -> User:
    team = team_with_token("Accessibility")
    user = member(team, "ada", Role.ADMIN)
    member(team, "grace", Role.VIEWER)
    # Something in the activity (an edit with changes, a deleted server) to check.
    AuditEntry.objects.create(
        team=team,
        user=user,
        username="ada",
        action="server.edit",
        target_id=SERVER_ID,
        target_name="web-server-01",
    )
    AuditEntry.objects.create(
        team=team,
        user=user,
        username="ada",
        action="server.delete",
        target_id="999",
        target_name="old-box",
    )
    return user


def serious(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize(("name", "theme", "width"), list(cases()))
def test_no_serious_violation(
    browser: Any, live_server: Any, admin: User, name: str, theme: str, width: str
) -> None:
    if not AXE.exists():
        pytest.skip(f"axe-core not installed at {AXE} (npm install --prefix .cache/axe axe-core)")
    w, h = WIDTHS[width]
    # bypass_csp: the pages' CSP rightly refuses the injected axe script; it is not
    # what is tested here (tests/test_settings.py and the CSP header tests are).
    options = {"viewport": {"width": w, "height": h}, "color_scheme": theme, "bypass_csp": True}
    if name.startswith("login"):
        context = browser.new_context(**options)
        page = context.new_page()
        page.set_default_timeout(10_000)
    else:
        context, page = logged_in(browser, live_server, admin, **options)
    try:
        response = page.goto(f"{live_server.url}{PAGES[name]}")
        assert response is not None and response.status == 200
        if name == "login-error":
            page.fill("input[name=login]", "ada")
            page.fill("input[name=password]", "not-the-password")
            page.click("#login-form button[type=submit]")
            page.locator(".form-errors").wait_for()
        # The theme really is the one asked for (the tokens follow prefers-color-scheme).
        scheme = page.evaluate("getComputedStyle(document.documentElement).colorScheme")
        assert scheme == theme
        found = serious(page)
        assert found == [], json.dumps(found, indent=1)
    finally:
        context.close()


@pytest.mark.parametrize("theme", THEMES)
def test_the_list_with_its_bulk_confirmation_open_and_a_lock(
    browser: Any, live_server: Any, admin: User, theme: str
) -> None:
    """Issue 12's controls in use: ticked rows, the confirmation in the bulk panel, the
    outcomes on the rows, and a protected server's lock mark."""
    from servers.models import ServerProtection

    if not AXE.exists():
        pytest.skip(f"axe-core not installed at {AXE} (npm install --prefix .cache/axe axe-core)")
    team = admin.memberships.get().team
    ServerProtection.objects.create(team=team, server_id=SERVER_ID, protected_by=admin)
    context, page = logged_in(browser, live_server, admin, color_scheme=theme, bypass_csp=True)
    try:
        page.goto(f"{live_server.url}/servers/")
        assert page.locator(".row-lock").count() == 1
        for name in ("web-server-01", "staging-01"):
            page.get_by_role("checkbox", name=f"Select {name}", exact=True).check()
        page.get_by_role("button", name="Reboot selected", exact=True).click()
        page.locator("#bulk-panel .bulk-question").wait_for()
        found = serious(page)
        assert found == [], json.dumps(found, indent=1)
        page.locator("#bulk-panel").get_by_role("button", name="Reboot 1 server").click()
        page.locator("#bulk-panel #bulk-result").wait_for()
        found = serious(page)
        assert found == [], json.dumps(found, indent=1)
    finally:
        context.close()
