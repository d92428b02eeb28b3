"""The server list on a phone (390 px), in a real browser against the sandbox (its sort
control and compact rows: tests/e2e/test_phone.py)."""

from __future__ import annotations

from typing import Any

from panel.models import Role
from tests.e2e.conftest import log_in, member, team_with_token

PASSWORD = "nora-password-1"


def test_copy_buttons_stay_hidden_where_they_cannot_work(
    browser: Any, live_server: Any, sandbox: Any, transactional_db: Any
) -> None:
    """Without scripts (or without a clipboard) a Copy button would do nothing."""
    member(team_with_token("E2E copy"), "otto", Role.VIEWER, PASSWORD)
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
