"""The server list on a phone (390 px), in a real browser against the sandbox (its sort
control and compact rows: tests/e2e/test_phone.py)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from panel.models import Membership, Role, Team, TeamToken
from tests.e2e.conftest import SANDBOX_TOKEN, log_in

PASSWORD = "nora-password-1"


def test_copy_buttons_stay_hidden_where_they_cannot_work(
    browser: Any, live_server: Any, sandbox: Any, transactional_db: Any
) -> None:
    """Without scripts (or without a clipboard) a Copy button would do nothing."""
    team = Team.objects.create(name="E2E copy")
    stored = TeamToken(team=team)
    stored.set_token(SANDBOX_TOKEN)
    stored.save()
    User.objects.create_user("otto", password=PASSWORD)
    Membership.objects.create(team=team, user=User.objects.get(username="otto"), role=Role.VIEWER)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        log_in(page, live_server, "otto", PASSWORD)
        page.locator("table.servers tbody a", has_text="web-server-01").click()
        page.wait_for_url("**/servers/*/")
        assert page.locator("#server-card .mono", has_text="203.0.113.10").is_visible()
        assert page.locator("button[data-copy]").count() == 2
        assert not page.locator("button[data-copy]").first.is_visible()
    finally:
        context.close()
