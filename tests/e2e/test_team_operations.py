"""Team operations in a real browser against the sandbox: a bulk reboot through its
confirmation page (double submit included), a protected server's delete, the exports."""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from panel.models import Role, Team
from tests.e2e.conftest import SANDBOX_TOKEN, log_in, member, team_with_token

PASSWORD = "ops-password-1"


@pytest.fixture
def team(transactional_db: Any, upstream: Any) -> Team:
    return team_with_token("E2E ops")


def seed(upstream: Any) -> list[dict[str, Any]]:
    answer = requests.get(
        f"{upstream.api_url}/servers/",
        params={"page_size": 100},
        headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"},
        timeout=5,
    )
    return answer.json()["results"]


def calls(upstream: Any, key: str) -> int:
    return upstream.requests.snapshot()["by_endpoint"].get(key, 0)


def test_a_bulk_reboot_of_a_mixed_selection_and_a_double_submit(
    page: Any, live_server: Any, team: Team, upstream: Any
) -> None:
    from playwright.sync_api import expect

    member(team, "oscar", Role.OPERATOR, PASSWORD)
    servers = seed(upstream)
    active = [s for s in servers if s["status"] == "active"][:3]
    stopped = next(s for s in servers if s["status"] == "stopped")
    suspended = next(s for s in servers if s["status"] == "suspended")
    chosen = [*active, stopped, suspended]
    log_in(page, live_server, "oscar", PASSWORD)
    query = "&".join(f"id={s['id']}" for s in chosen)
    page.goto(f"{live_server.url}/servers/bulk/?action=reboot&{query}&id=does-not-exist")
    expect(page.locator("h1")).to_have_text("Reboot 3 servers?")
    expect(page.locator("#bulk-skipped")).to_have_text("Will be skipped (2)")
    expect(page.locator("#bulk-missing")).to_have_text("Not found (1)")
    before = calls(upstream, "POST /api/v1/servers/{id}/reboot/")
    # What the form sends, to send the very same again below.
    sent = page.locator("form.bulk-form").evaluate("f => [...new FormData(f)]")
    page.get_by_role("button", name="Reboot 3 servers").click()
    expect(page.locator("#bulk-result")).to_be_visible()
    outcomes = page.locator("[data-bulk-server]").evaluate_all(
        "rows => Object.fromEntries(rows.map(r => [r.dataset.bulkServer, r.dataset.outcome]))"
    )
    assert outcomes == {
        **{str(s["id"]): "done" for s in active},
        str(stopped["id"]): "skipped",
        str(suspended["id"]): "skipped",
        "does-not-exist": "not_found",
    }
    assert calls(upstream, "POST /api/v1/servers/{id}/reboot/") - before == 3

    # Back to the confirmation: the page is fetched again (Cache-Control: no-store), so it
    # shows the servers as they are now, rebooting, and offers no second reboot.
    page.go_back()
    expect(page.locator("h1")).not_to_have_text("Reboot 3 servers?")
    expect(page.get_by_role("button", name="Reboot 3 servers")).to_have_count(0)
    # The same form sent again (a second tab, a replayed request): nothing is sent twice.
    again = page.request.post(
        f"{live_server.url}/servers/bulk/",
        data=urlencode([(name, value) for name, value in sent]),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": page.url,
        },
    )
    assert again.status == 200
    assert "already been sent" in again.text()
    assert calls(upstream, "POST /api/v1/servers/{id}/reboot/") - before == 3


def test_a_viewer_may_not_bulk_reboot(
    page: Any, live_server: Any, team: Team, upstream: Any
) -> None:
    member(team, "vera", Role.VIEWER, PASSWORD)
    server = next(s for s in seed(upstream) if s["status"] == "active")
    log_in(page, live_server, "vera", PASSWORD)
    answer = page.goto(f"{live_server.url}/servers/bulk/?action=reboot&id={server['id']}")
    assert answer.status == 403
    assert calls(upstream, "POST /api/v1/servers/{id}/reboot/") == 0


def test_protecting_from_the_delete_page_then_every_delete_is_refused(
    page: Any, live_server: Any, team: Team, upstream: Any
) -> None:
    from playwright.sync_api import expect

    member(team, "mona", Role.MANAGER, PASSWORD)
    server = next(s for s in seed(upstream) if s["status"] == "active")
    delete_url = f"{live_server.url}/servers/{server['id']}/delete/"
    log_in(page, live_server, "mona", PASSWORD)
    page.goto(delete_url)
    page.get_by_role("button", name="Protect from deletion").click()
    expect(page.locator("h1")).to_have_text(f"{server['name']} is protected from deletion")
    expect(page.locator("input[name=name]")).to_have_count(0)

    # A forced POST, with the session's own CSRF token, as a script would send it.
    token = page.context.cookies()
    csrf = next(c["value"] for c in token if c["name"] == "csrftoken")
    answer = page.request.post(
        delete_url,
        form={"name": server["name"], "csrfmiddlewaretoken": csrf},
        headers={"Referer": delete_url},
    )
    assert answer.status == 409
    assert calls(upstream, "DELETE /api/v1/servers/{id}/") == 0

    # Removing the protection brings the form back.
    page.get_by_role("button", name="Remove protection").click()
    expect(page.locator("input[name=name]")).to_have_count(1)
    assert calls(upstream, "DELETE /api/v1/servers/{id}/") == 0


def test_the_exports_download_as_csv(
    page: Any, live_server: Any, team: Team, upstream: Any
) -> None:
    member(team, "alice", Role.ADMIN, PASSWORD)
    servers = seed(upstream)
    log_in(page, live_server, "alice", PASSWORD)
    answer = page.request.get(f"{live_server.url}/servers/export.csv")
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(answer.body().decode("utf-8-sig"), newline="")))
    assert len(rows) == len(servers) + 1
    assert {r[0] for r in rows[1:]} == {str(s["id"]) for s in servers}

    stopped = next(s for s in servers if s["status"] == "stopped")
    page.goto(f"{live_server.url}/servers/bulk/?action=start&id={stopped['id']}")
    page.get_by_role("button", name="Start 1 server").click()
    page.goto(f"{live_server.url}/team/activity/")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export the activity as CSV").click()
    assert download.value.suggested_filename.startswith("activity-e2e-ops-")
    with open(download.value.path(), encoding="utf-8-sig", newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0][:4] == ["When (UTC)", "Member", "Action", "Action code"]
    # The browser's log-in is in the team's activity too (issue 13: sign-ins are audited).
    assert sorted(r[3] for r in rows[1:]) == ["account.sign_in", "server.bulk", "server.start"]
