"""The team's own writes (create, edit, rename, delete) drop its cached servers, so the very
next page shows the change instead of the cached state of a moment ago."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import responses

from tests.conftest import API, client_for, page, server_json

SERVER = re.compile(rf"{re.escape(API)}/servers/(\w+)/$")
PLAN = {"id": 1, "name": "Standard VPS", "vcpus": 2, "memory": 4096, "storage": 80,
        "price_monthly": "10.00", "available": True, "locations": ["us-west"]}  # fmt: skip


class FakeAccount:
    """Just enough of VPS.org to remember what was written."""

    def __init__(self) -> None:
        self.servers: dict[str, dict[str, Any]] = {"12345": server_json("12345")}

    def install(self, api: responses.RequestsMock) -> None:
        api.add_callback("GET", f"{API}/servers/", callback=self.list)
        api.get(f"{API}/plans/", json=page([PLAN]))
        api.add_callback("POST", f"{API}/servers/", callback=self.create)
        for method in ("GET", "PUT", "PATCH", "DELETE"):
            api.add_callback(method, SERVER, callback=self.one)

    def list(self, request: Any) -> tuple[int, dict[str, str], str]:
        return 200, {}, json.dumps(page(list(self.servers.values())))

    def create(self, request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        new = server_json("12399", name=body["name"], status="provisioning", ip_address=None)
        self.servers["12399"] = new
        return 201, {}, json.dumps(new)

    def one(self, request: Any) -> tuple[int, dict[str, str], str]:
        server_id = SERVER.match(request.url).group(1)
        server = self.servers.get(server_id)
        if server is None:
            return 404, {}, json.dumps({"detail": "Not found."})
        if request.method == "DELETE":
            del self.servers[server_id]
            return 204, {}, ""
        if request.method in ("PUT", "PATCH"):
            server.update(json.loads(request.body))
        return 200, {}, json.dumps(server)


WRITES: list[tuple[str, str, dict[str, str], str, str]] = [
    # (write, url, form, page looked at before and after, what that page shows after)
    (
        "create",
        "/servers/new/",
        {"name": "web-fresh", "plan_id": "1", "os_id": "5", "location": "us-west"},
        "/servers/",
        "web-fresh",
    ),
    (
        "edit",
        "/servers/12345/edit/",
        {"name": "web-edited", "hostname": "web01.example.com", "backups_enabled": "on"},
        "/servers/",
        "web-edited",
    ),
    ("rename", "/servers/12345/rename/", {"name": "web-renamed"}, "/servers/", "web-renamed"),
    ("delete", "/servers/12345/delete/", {"name": "web-server-01"}, "/servers/", ""),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("write", "url", "form", "looked_at", "shown"), WRITES,
                         ids=[w[0] for w in WRITES])  # fmt: skip
def test_the_page_after_a_write_shows_it_not_the_cached_state(
    api: responses.RequestsMock,
    manager_user: Any,
    write: str,
    url: str,
    form: dict[str, str],
    looked_at: str,
    shown: str,
) -> None:
    FakeAccount().install(api)
    browser = client_for(manager_user)
    before = browser.get(looked_at).content.decode()
    assert 'data-server-id="12345"' in before and (not shown or shown not in before)

    assert browser.post(url, form).status_code == 302
    browser.get("/team/members/")  # shows the write's message, which names the server

    after = browser.get(looked_at).content.decode()
    if shown:
        assert shown in after, write
    else:
        assert 'data-server-id="12345"' not in after, write
