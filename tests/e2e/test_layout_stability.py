"""The stylesheet keeps the layout still: one page width whatever the list shows, and
table columns that do not move when a button shows its busy label."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.contrib.auth.models import User

from panel.models import Role
from tests.e2e.conftest import logged_in, member, team_with_token

SHOTS = os.environ.get("E2E_SCREENSHOTS", "")
# One action running in every row at once (static/js/panel.js marks the clicked button
# busy and disables the others of its group): the worst case for the column.
BUSY = """action => {
  for (const b of document.querySelectorAll(`table.servers button[data-action=${action}]`)) {
    b.classList.add('is-busy');
    for (const n of b.childNodes) {
      if (n.nodeType === Node.TEXT_NODE && n.nodeValue.trim()) {
        n.nodeValue = b.dataset.busyLabel;
        break;
      }
    }
  }
}"""
WIDTHS = """() => [...document.querySelectorAll('table.servers tbody tr:first-child > *')]
  .map(cell => Math.round(cell.getBoundingClientRect().width))"""


@pytest.fixture
def operator(transactional_db: Any, upstream: Any) -> User:
    return member(team_with_token("Layout"), "lena", Role.OPERATOR)


def open_page(browser: Any, live_server: Any, user: User, language: str) -> tuple[Any, Any]:
    return logged_in(browser, live_server, user, extra_http_headers={"Accept-Language": language})


@pytest.mark.parametrize("language", ["en", "pt-BR"])
def test_busy_labels_do_not_move_the_columns(
    browser: Any, live_server: Any, operator: User, language: str
) -> None:
    context, page = open_page(browser, live_server, operator, language)
    try:
        page.goto(f"{live_server.url}/servers/")
        page.locator("table.servers button[data-busy-label]").first.wait_for()
        before = page.evaluate(WIDTHS)
        for action in ("start", "stop", "reboot"):
            assert page.locator(f"table.servers button[data-action={action}]").count() > 0
            page.evaluate(BUSY, action)
            assert page.evaluate(WIDTHS) == before, action
            if SHOTS:
                page.screenshot(path=f"{SHOTS}/busy-{action}-{language}.png")
            page.reload()
        # And nothing scrolls sideways at 1280 px, the table inside its box included.
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280
        overflow = "(el => el.scrollWidth - el.clientWidth)(document.querySelector('.results'))"
        assert page.evaluate(overflow) <= 0
    finally:
        context.close()


def test_the_page_is_as_wide_with_servers_without_and_on_an_error(
    browser: Any, live_server: Any, operator: User, upstream: Any
) -> None:
    import requests

    context, page = open_page(browser, live_server, operator, "en")
    main = "Math.round(document.querySelector('main').getBoundingClientRect().width)"
    try:
        page.goto(f"{live_server.url}/servers/")
        full = page.evaluate(main)
        page.goto(f"{live_server.url}/servers/?q=no-such-server")
        assert page.locator(".empty").count() == 1
        empty = page.evaluate(main)
        requests.post(f"{upstream.url}/_sandbox/faults", json={"error_rate": 1.0}, timeout=5)
        page.goto(f"{live_server.url}/servers/?status=stopped")
        assert page.locator(".notice.error, .notice").count() >= 1
        failing = page.evaluate(main)
        assert full == empty == failing == 1280
    finally:
        context.close()
