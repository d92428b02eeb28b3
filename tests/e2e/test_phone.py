"""The list and a server's page on a phone (390 px), in a real browser against the sandbox:
compact rows with a menu of actions, one sort control, a navigation that fits, and
nothing that scrolls sideways."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from panel.models import Role
from tests.e2e.conftest import SANDBOX_TOKEN, log_in, member, team_with_token
from tests.e2e.test_accessibility import serious

TEAM = "E2E phone"
PASSWORD = "phone-password-1"
PHONE = {"width": 390, "height": 844}
SERVERS = 24


def fill_account(sandbox: Any, count: int = SERVERS) -> None:
    """Servers up to `count` in the sandbox account (its seed has a few)."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {SANDBOX_TOKEN}"
    seeded = session.get(f"{sandbox.api_url}/servers/", timeout=5).json()["count"]
    for n in range(max(0, count - seeded)):
        body = {"name": f"phone-{n:02d}", "plan_id": 3, "os_id": 5, "location": "us-east"}
        session.post(f"{sandbox.api_url}/servers/", json=body, timeout=5).raise_for_status()


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A phone-sized page; bypass_csp lets axe-core's injected script run."""
    context = browser.new_context(viewport=PHONE, bypass_csp=True)
    yield context.new_page()
    context.close()


def no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a 390 px screen"


def test_the_list_of_24_servers_is_compact_on_a_phone(
    phone: Any, live_server: Any, sandbox: Any, transactional_db: Any
) -> None:
    page = phone
    fill_account(sandbox)
    member(team_with_token(TEAM), "olga", Role.OPERATOR, PASSWORD)
    log_in(page, live_server, "olga", PASSWORD)
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(SERVERS)
    no_sideways_scroll(page)

    height = page.evaluate("document.documentElement.scrollHeight")
    first = rows.first.bounding_box()
    print(f"\nphone list of {SERVERS}: {height} px tall, first server at {first['y']:.0f} px")
    # Before issue 9: 8,500 px, the first server 600 px down, each card 317 px.
    assert height < 3500
    # 425 px before issue 12 added its Delete protection filter (one more row of
    # filters above the list); the bulk tools themselves wait below the rows.
    assert first["y"] < 500
    assert first["height"] < 110

    # Each row: its name, status and IP in view, the power buttons in a closed menu.
    row = rows.filter(has_text="web-server-01")
    assert row.locator("th a").is_visible()
    assert row.locator("[data-status]").is_visible()
    assert row.locator(".mono").is_visible()
    assert not row.get_by_role("button", name=re.compile(r"^Stop")).is_visible()
    assert row.get_by_text("Hostname").is_hidden()

    # The menu opens from the keyboard and holds the buttons.
    summary = row.locator("details.row-menu > summary")
    summary.focus()
    page.keyboard.press("Enter")
    stop = row.get_by_role("button", name=re.compile(r"^Stop web-server-01"))
    expect(stop).to_be_visible()
    box = stop.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    no_sideways_scroll(page)
    assert serious(page) == []


def test_one_sort_control_sorts_the_list_on_a_phone(
    page: Any, live_server: Any, sandbox: Any, transactional_db: Any
) -> None:
    member(team_with_token(TEAM), "nils", Role.VIEWER, PASSWORD)
    page.set_viewport_size(PHONE)
    log_in(page, live_server, "nils", PASSWORD)
    # The column headers are not on a phone: one select sorts.
    expect(page.locator("table.servers thead")).to_be_hidden()
    page.evaluate("window.__sameDocument = true")
    page.get_by_label("Sort by").select_option("-created")
    page.wait_for_url("**/servers/?sort=-created")
    expect(page.get_by_label("Sort by")).to_have_value("-created")
    assert page.evaluate("window.__sameDocument") is True
    names = page.locator("#results tbody th a").all_inner_texts()
    assert names and names != sorted(names)
    no_sideways_scroll(page)


def test_the_sort_control_works_without_javascript(
    browser: Any, live_server: Any, sandbox: Any, transactional_db: Any
) -> None:
    member(team_with_token(TEAM), "noah", Role.VIEWER, PASSWORD)
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    try:
        log_in(page, live_server, "noah", PASSWORD)
        page.get_by_label("Sort by").select_option("-name")
        page.get_by_role("button", name="Sort", exact=True).click()
        page.wait_for_url(re.compile(r"sort=-name"))
        names = page.locator("#results tbody th a").all_inner_texts()
        assert names == sorted(names, key=str.casefold, reverse=True)
    finally:
        context.close()


@pytest.mark.parametrize("scripts", [True, False], ids=["js", "no-js"])
def test_the_navigation_is_one_row_or_a_menu(
    browser: Any, live_server: Any, sandbox: Any, transactional_db: Any, scripts: bool
) -> None:
    member(team_with_token(TEAM), "nina", Role.ADMIN, PASSWORD)
    context = browser.new_context(viewport=PHONE, java_script_enabled=scripts)
    page = context.new_page()
    try:
        log_in(page, live_server, "nina", PASSWORD)
        header = page.locator(".site-header").bounding_box()
        assert header is not None and header["height"] < 80
        members = page.get_by_role("link", name="Members")
        assert not members.is_visible()
        page.locator(".site-menu > summary").click()
        expect(members).to_be_visible()
        members.click()
        page.wait_for_url("**/team/members/")
        no_sideways_scroll(page)
    finally:
        context.close()


def test_the_detail_page_fits_a_phone(
    phone: Any, live_server: Any, sandbox: Any, transactional_db: Any
) -> None:
    page = phone
    member(team_with_token(TEAM), "nadia", Role.ADMIN, PASSWORD)
    log_in(page, live_server, "nadia", PASSWORD)
    page.goto(f"{live_server.url}/servers/12345/")
    expect(page.locator("#server-card [data-status]")).to_be_visible()
    no_sideways_scroll(page)
    assert serious(page) == []


def test_stop_from_a_rows_menu_on_a_phone_settles_and_keeps_the_focus(
    phone: Any, live_server: Any, sandbox: Any, transactional_db: Any, settings: Any
) -> None:
    settings.LIVE_IDLE_SECONDS = 2
    page = phone
    member(team_with_token(TEAM), "otto", Role.OPERATOR, PASSWORD)
    log_in(page, live_server, "otto", PASSWORD)
    row = page.locator("#results tbody tr", has=page.get_by_role("link", name="web-server-01"))
    row.locator("details.row-menu > summary").click()
    row.get_by_role("button", name=re.compile(r"^Stop")).click()
    page.locator("#confirm-dialog").get_by_role("button", name="Stop").click()
    badge = row.locator("[data-status]")
    expect(badge).to_have_attribute("data-status", "stopped", timeout=12_000)
    # The swapped row's menu is closed again; the focus stays on this server, on its menu.
    summary = row.locator("details.row-menu > summary")
    expect(summary).to_be_focused()
    page.keyboard.press("Enter")
    expect(row.get_by_role("button", name=re.compile(r"^Start web-server-01"))).to_be_visible()
    no_sideways_scroll(page)
