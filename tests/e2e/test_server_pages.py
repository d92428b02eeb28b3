"""The server pages in a real browser against the sandbox: filter, create, rename, delete."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from django.contrib.auth.models import User

from panel.models import Role
from tests.e2e.conftest import log_in, member, team_with_token

PASSWORD = "mona-password-1"
# Screenshots for a human look at the layout; off unless asked for.
SHOTS = os.environ.get("E2E_SCREENSHOTS", "")


@pytest.fixture
def manager(transactional_db: Any, upstream: Any) -> User:
    return member(team_with_token("E2E servers"), "mona", Role.MANAGER, PASSWORD)


def shot(page: Any, name: str) -> None:
    if not SHOTS:
        return
    page.screenshot(path=f"{SHOTS}/{name}-desktop.png", full_page=True)
    size = page.viewport_size
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=f"{SHOTS}/{name}-narrow.png")
    page.set_viewport_size(size)


def statuses(page: Any) -> list[str]:
    return page.locator("#results [data-status]").evaluate_all(
        "els => els.map(e => e.dataset.status)"
    )


def choose_plan(page: Any, name: str) -> None:
    # A plan card is the label of its radio input: clicking the name picks it.
    page.locator(".plan-card:visible", has_text=name).click()


def creates(upstream: Any) -> int:
    counts = upstream.requests.snapshot()["by_endpoint"]
    return sum(n for key, n in counts.items() if re.fullmatch(r"POST /api/v1/servers/?", key))


def test_filtering_updates_the_table_and_the_url_without_a_reload(
    page: Any, live_server: Any, manager: User
) -> None:
    from playwright.sync_api import expect

    log_in(page, live_server, "mona", PASSWORD)
    expect(page.locator("#results tbody tr")).to_have_count(24)
    shot(page, "list")
    page.evaluate("window.__sameDocument = true")

    page.select_option("#filter-status", "stopped")
    page.wait_for_url(re.compile(r"/servers/\?status=stopped$"))
    expect(page.locator("#results tbody tr")).to_have_count(6)
    assert set(statuses(page)) == {"stopped"}

    page.fill("#filter-q", "staging")
    page.wait_for_url(re.compile(r"/servers/\?status=stopped&q=staging$"))
    expect(page.locator("#results tbody tr")).to_have_count(1)
    expect(page.locator("#results tbody tr th a")).to_have_text("staging-01")

    page.get_by_role("link", name="Created").click()
    page.wait_for_url(re.compile(r"sort=-created"))
    expect(page.locator('th[aria-sort="descending"]')).to_have_count(1)
    # Every step above swapped the table: the page itself was never reloaded.
    assert page.evaluate("window.__sameDocument") is True

    # The filter form now carries the sort: a new search keeps it.
    page.fill("#filter-q", "")
    page.wait_for_url(re.compile(r"/servers/\?status=stopped&sort=-created$"))
    expect(page.locator("#results tbody tr")).to_have_count(6)

    # Back goes to the previous state, table included.
    page.go_back()
    page.wait_for_url(re.compile(r"q=staging"))
    expect(page.locator("#results tbody tr")).to_have_count(1)

    page.goto(f"{live_server.url}/servers/?location=eu-central")
    expect(page.locator("#filter-location")).to_have_value("eu-central")
    expect(page.locator("#results tbody tr")).to_have_count(7)
    shot(page, "list-filtered")

    page.goto(f"{live_server.url}/servers/?q=no-such-server")
    expect(page.get_by_text("No server matches these filters.")).to_be_visible()
    page.locator("#results").get_by_role("link", name="Clear filters").click()
    expect(page.locator("#results tbody tr")).to_have_count(24)


def test_creating_a_server_lands_on_its_page_showing_provisioning(
    page: Any, live_server: Any, manager: User, upstream: Any
) -> None:
    from playwright.sync_api import expect

    log_in(page, live_server, "mona", PASSWORD)
    page.get_by_role("link", name="New server").click()
    page.wait_for_url("**/servers/new/")

    # Every plan is there until a location is chosen; then only those offered in it.
    expect(page.locator(".plan-card", has_text="Performance VPS")).to_be_visible()
    page.get_by_role("radio", name="Frankfurt").check()
    expect(page.locator("#plan-help")).to_have_text("Plans offered in the chosen location.")
    expect(page.locator(".plan-card", has_text="Performance VPS")).to_be_hidden()
    choose_plan(page, "Standard VPS")
    # The summary follows the choices: what, where, and the price a month.
    summary = page.locator("[data-create-summary]")
    expect(summary).to_contain_text("Frankfurt, Germany")
    expect(summary.locator("[data-summary=monthly]")).to_have_text("$10.00")
    page.select_option("#id_os_id", label="Ubuntu 22.04 LTS")
    page.fill("#id_name", "e2e-web-01")
    page.fill("#id_hostname", "e2e01.example.com")
    page.check("#id_backups_enabled")
    shot(page, "create")

    expect(summary).to_contain_text("e2e-web-01")
    page.locator("button[type=submit]", has_text="Create server").dblclick()
    page.wait_for_url(re.compile(r"/servers/\d+/$"))
    expect(page.locator("h1")).to_have_text("e2e-web-01")
    expect(page.locator("#server-card [data-status]")).to_have_attribute(
        "data-status", "provisioning"
    )
    expect(page.locator("#server-card")).to_contain_text("Provisioning")
    expect(page.locator("#messages")).to_contain_text("is being created")
    assert creates(upstream) == 1
    shot(page, "detail-provisioning")

    # Reloading the page, or going back and sending the form again, creates nothing more.
    page.go_back()
    page.wait_for_url("**/servers/new/")
    if page.locator("#id_name").input_value() == "e2e-web-01":
        page.locator("button[type=submit]", has_text="Create server").click()
        page.wait_for_load_state()
    assert creates(upstream) == 1


def test_validation_errors_sit_on_their_fields(
    page: Any, live_server: Any, manager: User, upstream: Any
) -> None:
    from playwright.sync_api import expect

    log_in(page, live_server, "mona", PASSWORD)
    page.goto(f"{live_server.url}/servers/new/")
    page.get_by_role("radio", name="Frankfurt").check()
    choose_plan(page, "Standard VPS")
    page.select_option("#id_os_id", label="Debian 12")
    page.fill("#id_name", "web-server-01")
    # Skip the browser's own checks to reach the server's.
    page.eval_on_selector("form.server-form", "f => f.noValidate = true")
    page.fill("#id_hostname", "not-a-fqdn")
    page.locator("button[type=submit]", has_text="Create server").click()
    expect(page.locator("#id_hostname_error")).to_contain_text("fully qualified domain name")
    expect(page.locator("#id_name")).to_have_value("web-server-01")
    assert creates(upstream) == 0
    shot(page, "create-errors")


def test_renaming_inline_and_deleting_by_typing_the_name(
    page: Any, live_server: Any, manager: User, upstream: Any
) -> None:
    from playwright.sync_api import expect

    log_in(page, live_server, "mona", PASSWORD)
    page.get_by_role("link", name="staging-01", exact=True).click()
    page.wait_for_url(re.compile(r"/servers/[A-Za-z0-9-]+/$"))
    detail_url = page.url
    expect(page.locator("#server-card")).to_be_visible()
    shot(page, "detail")

    page.evaluate("window.__sameDocument = true")
    page.get_by_text("Rename", exact=True).click()
    shot(page, "rename")
    page.fill("#rename-name", "staging-02")
    page.get_by_role("button", name="Save name").click()
    expect(page.locator("#server-heading h1")).to_have_text("staging-02")
    expect(page.locator("#server-heading")).to_contain_text("Name saved.")
    assert page.evaluate("window.__sameDocument") is True
    expect(page).to_have_title(re.compile(r"^staging-02"))

    page.get_by_role("link", name="Edit", exact=True).click()
    page.wait_for_url("**/edit/")
    expect(page.locator("#id_name")).to_have_value("staging-02")
    shot(page, "edit")
    page.go_back()
    page.wait_for_url(detail_url)

    page.get_by_role("link", name="Delete").click()
    page.wait_for_url("**/delete/")
    button = page.get_by_role("button", name="Delete this server")
    expect(button).to_be_disabled()
    page.fill("input[name=name]", "staging-01")  # the old name no longer matches
    expect(button).to_be_disabled()
    shot(page, "delete")
    page.fill("input[name=name]", "staging-02")
    expect(button).to_be_enabled()
    button.click()
    page.wait_for_url(f"{live_server.url}/servers/")
    expect(page.locator("#messages")).to_contain_text("Server staging-02 deleted.")
    expect(page.locator("#results tbody tr")).to_have_count(23)
    expect(page.get_by_role("link", name="staging-02")).to_have_count(0)

    page.goto(detail_url)
    expect(page.get_by_role("heading", name="Server not found")).to_be_visible()
