"""The sandbox's contract, over real HTTP: every endpoint, status code and shape the
VPS.org documentation gives, plus the lifecycle, pagination, faults and test controls
that the panel's own tests lean on."""

from __future__ import annotations

import ipaddress
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox import RunningSandbox, start_sandbox
from sandbox.state import Server, resource_usage
from tests.vpsorg_docs import CREATE_EXAMPLE, DETAIL_EXAMPLE, LIST_EXAMPLE

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "tok-alpha-0001"
OTHER = "tok-bravo-0002"
READ = "tok-reader-0003"
TRANSITION = 0.2
SETTLED = 0.3  # comfortably past TRANSITION, measured from the answer that started it

LIST_FIELDS = {
    "id",
    "name",
    "hostname",
    "status",
    "ip_address",
    "location",
    "plan",
    "os",
    "created_at",
    "updated_at",
}
DETAIL_FIELDS = LIST_FIELDS | {"ipv6_address", "backups_enabled", "resource_usage"}
CREATE_FIELDS = LIST_FIELDS | {"backups_enabled", "message"}
PLAN_FIELDS = {
    "id",
    "name",
    "slug",
    "vcpus",
    "memory",
    "storage",
    "bandwidth",
    "price_monthly",
    "price_hourly",
    "available",
    "locations",
    "description",
}
USAGE_FIELDS = {"cpu_percent", "memory_used", "disk_used", "bandwidth_used"}
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
GOOD_BODY = {"name": "new-box", "plan_id": 3, "os_id": 5, "location": "us-west"}
SEED_COUNT = 24  # per account: more than one default page of 20
WHOLE = {"page_size": 100}  # one page holding every server of these tests' accounts


class Api:
    """requests bound to one sandbox and one token; paths are relative to /api/v1."""

    def __init__(self, sandbox: RunningSandbox, token: str | None = TOKEN) -> None:
        self.base = sandbox.api_url
        self.session = requests.Session()
        if token is not None:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.base + path, timeout=5, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def create(self, **fields: Any) -> dict[str, Any]:
        response = self.post("/servers/", json={**GOOD_BODY, **fields})
        assert response.status_code == 201, response.text
        return response.json()

    def status(self, server_id: int) -> str:
        return self.get(f"/servers/{server_id}/").json()["status"]

    def follow(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Every result from this page on, following `next` as a client must."""
        results = list(body["results"])
        while body["next"] is not None:
            body = self.session.get(body["next"], timeout=5).json()
            results += body["results"]
        return results


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with start_sandbox(
        tokens=(TOKEN, OTHER),
        read_tokens=(READ,),
        transition_seconds=TRANSITION,
        credits=100.0,
    ) as running:
        yield running


@pytest.fixture
def api(sandbox: RunningSandbox) -> Iterator[Api]:
    client = Api(sandbox)
    yield client
    client.session.close()


def control(sandbox: RunningSandbox, method: str, path: str, **kwargs: Any) -> Any:
    response = requests.request(method, f"{sandbox.url}/_sandbox/{path}", timeout=5, **kwargs)
    assert response.ok, response.text
    return response.json()


# -- authentication -----------------------------------------------------------------


def test_missing_and_unknown_tokens_answer_401(sandbox: RunningSandbox) -> None:
    for path in ("/servers/", "/servers/12345/", "/plans/", "/account/me/"):
        missing = Api(sandbox, token=None).get(path)
        assert missing.status_code == 401
        assert missing.json() == {"detail": "Authentication credentials were not provided."}
        assert missing.headers["WWW-Authenticate"].startswith("Bearer")
        unknown = Api(sandbox, token="not-a-token").get(path)
        assert unknown.status_code == 401
        assert unknown.json() == {"detail": "Invalid token."}
    create = Api(sandbox, token="nope").post("/servers/", json=GOOD_BODY)
    assert create.status_code == 401


def test_each_token_is_its_own_account_with_globally_unique_ids(sandbox: RunningSandbox) -> None:
    mine = Api(sandbox).get("/servers/", params=WHOLE).json()["results"]
    theirs = Api(sandbox, OTHER).get("/servers/", params=WHOLE).json()["results"]
    assert len(mine) == len(theirs) == SEED_COUNT
    assert [s["name"] for s in mine] == [s["name"] for s in theirs]  # the same seed shape
    assert not {s["id"] for s in mine} & {s["id"] for s in theirs}
    assert not {s["ip_address"] for s in mine} & {s["ip_address"] for s in theirs}
    other_id = theirs[0]["id"]
    assert Api(sandbox).get(f"/servers/{other_id}/").status_code == 404
    assert Api(sandbox).request("DELETE", f"/servers/{other_id}/").status_code == 404
    assert Api(sandbox, OTHER).get(f"/servers/{other_id}/").status_code == 200


def test_read_token_reads_but_every_write_answers_403(sandbox: RunningSandbox) -> None:
    reader = Api(sandbox, READ)
    servers = reader.get("/servers/")
    assert servers.status_code == 200
    server_id = servers.json()["results"][0]["id"]
    assert reader.get(f"/servers/{server_id}/").status_code == 200
    assert reader.get("/plans/").status_code == 200
    forbidden = {"detail": "This token does not have write permission."}
    writes = [
        ("POST", "/servers/", {"json": GOOD_BODY}),
        ("PUT", f"/servers/{server_id}/", {"json": {"name": "x"}}),
        ("PATCH", f"/servers/{server_id}/", {"json": {"name": "x"}}),
        ("DELETE", f"/servers/{server_id}/", {}),
        ("POST", f"/servers/{server_id}/stop/", {}),
        ("POST", f"/servers/{server_id}/start/", {}),
        ("POST", f"/servers/{server_id}/reboot/", {}),
    ]
    for method, path, kwargs in writes:
        response = reader.request(method, path, **kwargs)
        assert response.status_code == 403, (method, path)
        assert response.json() == forbidden
    assert reader.get(f"/servers/{server_id}/").json()["status"] == "active"


def test_account_me_shows_profile_and_token_permissions(sandbox: RunningSandbox) -> None:
    full = Api(sandbox).get("/account/me/")
    assert full.status_code == 200
    body = full.json()
    assert set(body) == {"account", "token"}
    assert set(body["account"]) == {
        "email",
        "first_name",
        "last_name",
        "company_name",
        "created_at",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", body["account"]["created_at"])
    assert {"name", "permissions", "created_at"} <= set(body["token"])
    assert body["token"]["permissions"] == [
        "servers:read",
        "servers:write",
        "plans:read",
        "account:read",
    ]
    read = Api(sandbox, READ).get("/account/me/").json()
    assert read["token"]["permissions"] == ["servers:read", "plans:read", "account:read"]
    assert read["account"]["email"] != body["account"]["email"]


# -- servers: list and detail -----------------------------------------------------------


def test_list_items_have_exactly_the_documented_fields(api: Api) -> None:
    response = api.get("/servers/")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert len(body["results"]) == 20 and body["next"] is not None  # the default page size
    items = api.follow(body)
    assert body["count"] == len(items) >= SEED_COUNT
    for item in items:
        assert set(item) == LIST_FIELDS
        assert set(item["plan"]) == {"id", "name", "vcpus", "memory", "storage"}
        assert set(item["os"]) == {"id", "name"}
        assert isinstance(item["id"], int)
        assert TIMESTAMP.fullmatch(item["created_at"])
        assert TIMESTAMP.fullmatch(item["updated_at"])
    ids = [item["id"] for item in items]
    assert ids == sorted(ids)
    statuses = [item["status"] for item in items]
    assert statuses.count("active") >= 4
    assert {"stopped", "suspended"} <= set(statuses)
    assert len({item["location"] for item in items}) >= 3


def test_seed_has_the_documentation_servers(api: Api) -> None:
    first_two = api.get("/servers/").json()["results"][:2]
    assert first_two == LIST_EXAMPLE["results"]


def test_detail_adds_the_documented_fields(api: Api) -> None:
    response = api.get("/servers/12345/")
    assert response.status_code == 200
    server = response.json()
    assert set(server) == DETAIL_FIELDS
    assert server["ipv6_address"] == "2001:0db8::1"
    assert server["backups_enabled"] is True
    assert server["plan"] == DETAIL_EXAMPLE["plan"]
    usage = server["resource_usage"]
    assert set(usage) == USAGE_FIELDS
    assert isinstance(usage["cpu_percent"], float) and 0 <= usage["cpu_percent"] <= 100
    assert usage["cpu_percent"] == round(usage["cpu_percent"], 1)
    assert 0 < usage["memory_used"] <= 4096
    assert 0 < usage["disk_used"] <= 80
    assert 0 <= usage["bandwidth_used"] <= 2048


def test_unknown_server_and_bad_paths_answer_404_json(api: Api, sandbox: RunningSandbox) -> None:
    for path in ("/servers/999999/", "/servers/abc/", "/servers", "/servers/12345", "/nothing/"):
        response = api.get(path)
        assert response.status_code == 404, path
        assert response.headers["Content-Type"] == "application/json"
        assert "detail" in response.json()
    assert api.get("/servers/999999/").json() == {"detail": "Not found."}
    for method in ("PUT", "PATCH", "DELETE"):
        assert api.request(method, "/servers/999999/", json={"name": "x"}).status_code == 404
    for action in ("start", "stop", "reboot"):
        assert api.post(f"/servers/999999/{action}/").status_code == 404
    outside = requests.get(f"{sandbox.url}/elsewhere", timeout=5)
    assert outside.status_code == 404 and outside.json() == {"detail": "Not found."}


def test_wrong_method_answers_405_with_allow(api: Api) -> None:
    response = api.request("DELETE", "/servers/")
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "DELETE" not allowed.'}
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS, POST"
    assert api.get("/servers/12345/start/").status_code == 405
    head = api.request("HEAD", "/servers/12345/")
    assert head.status_code == 200 and head.content == b""
    options = api.request("OPTIONS", "/servers/12345/")
    assert options.status_code == 200
    assert options.headers["Allow"] == "DELETE, GET, HEAD, OPTIONS, PATCH, PUT"
    form = api.post("/servers/", data={"name": "x"})
    assert form.status_code == 415


# -- servers: create ------------------------------------------------------------------


def test_create_answers_201_with_the_documented_fields(api: Api, sandbox: RunningSandbox) -> None:
    response = api.post(
        "/servers/",
        json={
            "name": "web-server-02",
            "plan_id": 1,
            "os_id": 5,
            "location": "us-west",
            "hostname": "web02.example.com",
            "ssh_key_id": 7,
            "backups_enabled": True,
        },
    )
    assert response.status_code == 201
    server = response.json()
    assert set(server) == CREATE_FIELDS
    assert server["status"] == "provisioning"
    assert server["ip_address"] is None
    assert server["backups_enabled"] is True
    assert server["message"] == "Server is being provisioned. This may take 2-5 minutes."
    assert server["plan"] == CREATE_EXAMPLE["plan"]
    assert server["os"] == {"id": 5, "name": "Ubuntu 22.04 LTS"}
    assert server["created_at"] == server["updated_at"]
    assert TIMESTAMP.fullmatch(server["created_at"])
    listed = api.get("/servers/", params=WHOLE).json()["results"]
    assert server["id"] in [s["id"] for s in listed]
    # Ids come from one counter shared by every account.
    theirs = Api(sandbox, OTHER).create()
    assert theirs["id"] > server["id"]


def test_create_defaults_optional_fields(api: Api) -> None:
    server = api.create(name="bare")
    assert server["hostname"] is None
    assert server["backups_enabled"] is False
    with_nulls = api.create(name="nulls", hostname=None, ssh_key_id=None)
    assert with_nulls["hostname"] is None


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {},
            {
                "name": ["This field is required."],
                "plan_id": ["This field is required."],
                "os_id": ["This field is required."],
                "location": ["This field is required."],
            },
        ),
        ({**GOOD_BODY, "name": "has space"}, {"name": ["Use only letters, digits and hyphens."]}),
        ({**GOOD_BODY, "name": "ünïcode"}, {"name": ["Use only letters, digits and hyphens."]}),
        ({**GOOD_BODY, "name": ""}, {"name": ["This field may not be blank."]}),
        ({**GOOD_BODY, "name": None}, {"name": ["This field may not be null."]}),
        ({**GOOD_BODY, "name": 42}, {"name": ["Not a valid string."]}),
        (
            {**GOOD_BODY, "name": "a" * 65},
            {"name": ["Ensure this field has no more than 64 characters."]},
        ),
        ({**GOOD_BODY, "plan_id": "1"}, {"plan_id": ["A valid integer is required."]}),
        ({**GOOD_BODY, "plan_id": True}, {"plan_id": ["A valid integer is required."]}),
        ({**GOOD_BODY, "plan_id": 1.5}, {"plan_id": ["A valid integer is required."]}),
        ({**GOOD_BODY, "plan_id": 99}, {"plan_id": ['Invalid pk "99" - object does not exist.']}),
        (
            {**GOOD_BODY, "plan_id": 5},
            {"plan_id": ["The plan Legacy VPS is not available for new servers."]},
        ),
        (
            {**GOOD_BODY, "plan_id": 4, "location": "us-west"},
            {
                "plan_id": [
                    "The plan Memory VPS is not offered in us-west "
                    "(offered in: us-east, eu-central)."
                ]
            },
        ),
        ({**GOOD_BODY, "os_id": False}, {"os_id": ["A valid integer is required."]}),
        ({**GOOD_BODY, "os_id": 42}, {"os_id": ['Invalid pk "42" - object does not exist.']}),
        ({**GOOD_BODY, "location": "mars"}, {"location": ['"mars" is not a valid choice.']}),
        ({**GOOD_BODY, "location": None}, {"location": ["This field may not be null."]}),
        *[
            (
                {**GOOD_BODY, "hostname": bad},
                {
                    "hostname": [
                        "Enter a valid fully qualified domain name, e.g. web01.example.com."
                    ]
                },
            )
            for bad in (
                "localhost",
                "-bad.example.com",
                "bad-.example.com",
                "a..example.com",
                "under_score.example.com",
                "203.0.113.5",
                f"{'a' * 64}.example.com",
                ".".join(["abcdefghij"] * 24),
            )
        ],
        ({**GOOD_BODY, "hostname": ""}, {"hostname": ["This field may not be blank."]}),
        ({**GOOD_BODY, "hostname": 5}, {"hostname": ["Not a valid string."]}),
        ({**GOOD_BODY, "ssh_key_id": "7"}, {"ssh_key_id": ["A valid integer is required."]}),
        (
            {**GOOD_BODY, "ssh_key_id": 0},
            {"ssh_key_id": ["Ensure this value is greater than or equal to 1."]},
        ),
        (
            {**GOOD_BODY, "backups_enabled": "true"},
            {"backups_enabled": ["Must be a valid boolean."]},
        ),
        ({**GOOD_BODY, "backups_enabled": 1}, {"backups_enabled": ["Must be a valid boolean."]}),
        (
            [GOOD_BODY],
            {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]},
        ),
    ],
)
def test_create_validation_answers_400_per_field(
    api: Api, body: Any, errors: dict[str, list[str]]
) -> None:
    before = api.get("/servers/").json()["count"]
    response = api.post("/servers/", json=body)
    assert response.status_code == 400
    assert response.json() == errors
    assert api.get("/servers/").json()["count"] == before


def test_create_accepts_a_long_but_valid_hostname_and_name(api: Api) -> None:
    hostname = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])  # 253 characters
    server = api.create(name="N" * 64, hostname=hostname)
    assert server["hostname"] == hostname


def test_body_that_is_not_json_answers_400(api: Api) -> None:
    for method, path in (
        ("POST", "/servers/"),
        ("PUT", "/servers/12345/"),
        ("PATCH", "/servers/12345/"),
    ):
        response = api.request(
            method, path, data="{not json", headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json()["detail"].startswith("JSON parse error")


def test_credits_are_charged_and_too_few_answer_402(sandbox: RunningSandbox, api: Api) -> None:
    # 100.00 of credits: the Performance plan costs 20.00, so five fit and the sixth not.
    for n in range(5):
        api.create(name=f"perf-{n}", plan_id=2)
    refused = api.post("/servers/", json={**GOOD_BODY, "plan_id": 2})
    assert refused.status_code == 402
    assert refused.json()["detail"].startswith("Insufficient credits: ")
    # Validation is answered before credits are looked at.
    invalid = api.post("/servers/", json={**GOOD_BODY, "plan_id": 2, "name": "bad name"})
    assert invalid.status_code == 400
    # Another account's credits are its own.
    assert (
        Api(sandbox, OTHER).post("/servers/", json={**GOOD_BODY, "plan_id": 2}).status_code == 201
    )
    accounts = control(sandbox, "GET", "accounts")["results"]
    assert [a["credits"] for a in accounts] == ["0.00", "80.00", "100.00"]
    assert all(TOKEN not in json.dumps(a) for a in accounts)


# -- servers: update and delete ---------------------------------------------------------


def test_put_replaces_the_three_fields(api: Api) -> None:
    before = api.get("/servers/12346/").json()
    response = api.request(
        "PUT",
        "/servers/12346/",
        json={"name": "db-renamed", "hostname": "db-renamed.example.com", "backups_enabled": False},
    )
    assert response.status_code == 200
    server = response.json()
    assert set(server) == DETAIL_FIELDS
    assert (server["name"], server["hostname"], server["backups_enabled"]) == (
        "db-renamed",
        "db-renamed.example.com",
        False,
    )
    assert server["updated_at"] > before["updated_at"]
    assert api.get("/servers/12346/").json()["name"] == "db-renamed"


def test_put_requires_every_field_and_refuses_others(api: Api) -> None:
    response = api.request("PUT", "/servers/12345/", json={"name": "only-name"})
    assert response.status_code == 400
    assert response.json() == {
        "hostname": ["This field is required."],
        "backups_enabled": ["This field is required."],
    }
    response = api.request(
        "PUT",
        "/servers/12345/",
        json={
            "name": "x",
            "hostname": "x.example.com",
            "backups_enabled": True,
            "plan_id": 2,
            "status": "stopped",
        },
    )
    assert response.status_code == 400
    assert response.json() == {
        "plan_id": ["This field cannot be changed."],
        "status": ["This field cannot be changed."],
    }
    assert api.get("/servers/12345/").json()["name"] == "web-server-01"


def test_patch_changes_only_what_is_sent(api: Api) -> None:
    response = api.request("PATCH", "/servers/12345/", json={"name": "new-server-name"})
    assert response.status_code == 200
    server = response.json()
    assert set(server) == DETAIL_FIELDS
    assert server["name"] == "new-server-name"
    assert server["hostname"] == "web01.example.com"
    assert server["backups_enabled"] is True
    assert api.request("PATCH", "/servers/12345/", json={"backups_enabled": False}).ok
    assert api.get("/servers/12345/").json()["backups_enabled"] is False
    bad = api.request(
        "PATCH",
        "/servers/12345/",
        json={"hostname": "nodots", "location": "us-east", "backups_enabled": "no"},
    )
    assert bad.status_code == 400
    assert bad.json() == {
        "location": ["This field cannot be changed."],
        "hostname": ["Enter a valid fully qualified domain name, e.g. web01.example.com."],
        "backups_enabled": ["Must be a valid boolean."],
    }


def test_delete_answers_204_then_404(api: Api) -> None:
    response = api.request("DELETE", "/servers/12346/")
    assert response.status_code == 204
    assert response.content == b""
    assert api.get("/servers/12346/").status_code == 404
    assert api.request("DELETE", "/servers/12346/").status_code == 404
    assert 12346 not in [s["id"] for s in api.get("/servers/", params=WHOLE).json()["results"]]


def test_writes_are_allowed_in_any_state(api: Api, sandbox: RunningSandbox) -> None:
    server = api.create(name="busy")
    assert api.request("PATCH", f"/servers/{server['id']}/", json={"name": "renamed"}).ok
    control(sandbox, "POST", f"servers/{server['id']}/status", json={"status": "suspended"})
    assert api.request("PATCH", f"/servers/{server['id']}/", json={"name": "again"}).ok
    assert api.request("DELETE", f"/servers/{server['id']}/").status_code == 204


# -- lifecycle ----------------------------------------------------------------------


def test_provisioning_settles_to_active_with_addresses(api: Api) -> None:
    created = api.create(name="fresh")
    server_id = created["id"]
    detail = api.get(f"/servers/{server_id}/").json()
    assert detail["status"] == "provisioning"
    assert detail["ip_address"] is None and detail["ipv6_address"] is None
    assert set(detail["resource_usage"].values()) == {0}
    time.sleep(SETTLED)
    detail = api.get(f"/servers/{server_id}/").json()
    assert detail["status"] == "active"
    assert ipaddress.ip_address(detail["ip_address"]) in ipaddress.ip_network("203.0.113.0/24")
    assert ipaddress.ip_address(detail["ipv6_address"]) in ipaddress.ip_network("2001:db8::/32")
    assert detail["resource_usage"]["memory_used"] > 0
    assert detail["updated_at"] >= created["updated_at"]
    listed = api.get("/servers/", params=WHOLE).json()
    addresses = [s["ip_address"] for s in listed["results"]]
    assert len(addresses) == listed["count"] == SEED_COUNT + 1
    assert len(addresses) == len(set(addresses))


def test_stop_start_and_reboot_go_through_their_transitions(api: Api) -> None:
    stop = api.post("/servers/12345/stop/")
    assert stop.status_code == 200
    assert stop.json() == {
        "status": "success",
        "message": "Server is stopping",
        "server": {"id": 12345, "name": "web-server-01", "status": "stopping"},
    }
    assert api.status(12345) == "stopping"
    time.sleep(SETTLED)
    stopped = api.get("/servers/12345/").json()
    assert stopped["status"] == "stopped"
    assert stopped["ip_address"] == "203.0.113.10"  # a stopped server keeps its address
    assert set(stopped["resource_usage"].values()) == {0}

    start = api.post("/servers/12345/start/")
    assert start.status_code == 200
    assert start.json()["message"] == "Server is starting"
    assert start.json()["server"]["status"] == "starting"
    assert api.status(12345) == "starting"
    time.sleep(SETTLED)
    assert api.status(12345) == "active"

    reboot = api.post("/servers/12345/reboot/")
    assert reboot.status_code == 200
    assert reboot.json()["message"] == "Server is rebooting"
    assert api.status(12345) == "rebooting"
    time.sleep(SETTLED)
    assert api.status(12345) == "active"


def test_power_actions_refuse_with_400_when_they_do_not_apply(
    api: Api, sandbox: RunningSandbox
) -> None:
    def refusal(server_id: int, action: str) -> Any:
        response = api.post(f"/servers/{server_id}/{action}/")
        assert response.status_code == 400
        return response.json()

    assert refusal(12345, "start") == {"detail": "Server is already running."}
    assert api.post("/servers/12345/stop/").ok
    for action in ("start", "stop", "reboot"):
        assert refusal(12345, action) == {"detail": "Server is busy (stopping)."}
    time.sleep(SETTLED)
    assert refusal(12345, "stop") == {"detail": "Server is not running."}
    assert refusal(12345, "reboot") == {"detail": "Server is not running."}
    control(sandbox, "POST", "servers/12346/status", json={"status": "suspended"})
    for action in ("start", "stop", "reboot"):
        assert refusal(12346, action) == {"detail": "Server is suspended."}
    fresh = api.create(name="provisioning")
    assert refusal(fresh["id"], "reboot") == {"detail": "Server is busy (provisioning)."}


def test_updated_at_moves_on_every_change(api: Api) -> None:
    seeded = api.get("/servers/12345/").json()["updated_at"]
    assert api.post("/servers/12345/reboot/").ok
    rebooting = api.get("/servers/12345/").json()["updated_at"]
    assert rebooting > seeded
    time.sleep(SETTLED)
    assert api.get("/servers/12345/").json()["updated_at"] >= rebooting


def test_resource_usage_moves_while_running_and_stays_in_bounds(api: Api) -> None:
    detail = api.get("/servers/12346/").json()
    plan = detail["plan"]
    usage = detail["resource_usage"]
    assert 0 <= usage["cpu_percent"] <= 100
    assert 0 < usage["memory_used"] <= plan["memory"]
    assert 0 < usage["disk_used"] <= plan["storage"]
    assert 0 <= usage["bandwidth_used"] <= plan["bandwidth"]
    # Over time, through the state's own clock rather than by sleeping.
    server = Server(
        id=12346,
        owner="",
        name="db-server-01",
        hostname=None,
        status="active",
        ip_address=None,
        ipv6_address=None,
        location="us-east",
        plan_id=plan["id"],
        os_id=3,
        backups_enabled=False,
        ssh_key_id=None,
        created_at=0,
        updated_at=0,
    )
    start = 1_760_000_000  # the middle of a month: bandwidth only grows from here
    readings = [resource_usage(server, start + minute * 60) for minute in range(0, 600, 7)]
    assert len({r["cpu_percent"] for r in readings}) > 10
    assert len({r["memory_used"] for r in readings}) > 10
    for reading in readings:
        assert 0 <= reading["cpu_percent"] <= 100
        assert 0 < reading["memory_used"] <= plan["memory"]
        assert 0 < reading["disk_used"] <= plan["storage"]
        assert 0 <= reading["bandwidth_used"] <= plan["bandwidth"]
    bandwidth = [r["bandwidth_used"] for r in readings]
    assert bandwidth == sorted(bandwidth) and bandwidth[-1] > bandwidth[0]


def test_a_new_server_has_used_next_to_no_bandwidth(api: Api) -> None:
    fresh = api.create(name="fresh")
    time.sleep(SETTLED)
    usage = api.get(f"/servers/{fresh['id']}/").json()["resource_usage"]
    assert usage["cpu_percent"] > 0  # it runs...
    assert usage["bandwidth_used"] == 0  # ...but has had no time to send 1 GB


def test_concurrent_creates_get_distinct_ids(sandbox: RunningSandbox) -> None:
    sandbox.state.set_credits(TOKEN, 1000)
    ids: list[int] = []

    def create(n: int) -> None:
        response = Api(sandbox).post("/servers/", json={**GOOD_BODY, "name": f"c-{n}"})
        ids.append(response.json()["id"])

    threads = [threading.Thread(target=create, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == 20


# -- pagination and filters -------------------------------------------------------------


@pytest.fixture
def many(sandbox: RunningSandbox, api: Api) -> Api:
    sandbox.state.set_credits(TOKEN, 1000)
    for n in range(25):
        api.create(name=f"bulk-{n:02d}", location="eu-central" if n % 2 else "us-east")
    return api


def test_pages_carry_absolute_links_from_the_host_header(
    many: Api, sandbox: RunningSandbox
) -> None:
    headers = {"Host": "panel.example:9000", "X-Forwarded-Proto": "https"}
    first = many.get("/servers/", params={"page_size": 10, "location": "us-east"}, headers=headers)
    assert first.status_code == 200
    page = first.json()
    east = 13 + 8  # 13 created there, plus the seed's eight
    assert page["count"] == east
    assert len(page["results"]) == 10
    assert page["previous"] is None
    assert page["next"] == (
        "https://panel.example:9000/api/v1/servers/?location=us-east&page=2&page_size=10"
    )
    second = many.session.get(page["next"].replace("https://panel.example:9000", sandbox.url))
    assert second.status_code == 200
    body = second.json()
    assert len(body["results"]) == 10
    # Built from this request's Host; the first page's link drops "page", as DRF's does.
    assert body["previous"] == f"{sandbox.url}/api/v1/servers/?location=us-east&page_size=10"
    assert body["next"] == f"{sandbox.url}/api/v1/servers/?location=us-east&page=3&page_size=10"
    third = many.session.get(body["next"]).json()
    assert len(third["results"]) == east - 20
    assert third["next"] is None
    assert third["previous"] == (
        f"{sandbox.url}/api/v1/servers/?location=us-east&page=2&page_size=10"
    )
    listed = page["results"] + body["results"] + third["results"]
    assert {s["location"] for s in listed} == {"us-east"}
    assert len({s["id"] for s in listed}) == east


def test_page_size_defaults_to_20_and_clamps_to_100(many: Api) -> None:
    default = many.get("/servers/").json()
    assert default["count"] == 24 + 25
    assert len(default["results"]) == 20
    assert default["next"].endswith("/api/v1/servers/?page=2")
    second = many.get("/servers/", params={"page": 2}).json()
    third = many.get("/servers/", params={"page": 3}).json()
    assert len(second["results"]) == 20
    assert len(third["results"]) == 9
    last = {"results": second["results"] + third["results"]}
    assert [s["id"] for s in default["results"] + last["results"]] == sorted(
        s["id"] for s in default["results"] + last["results"]
    )
    clamped = many.get("/servers/", params={"page_size": 1000}).json()
    assert len(clamped["results"]) == 49 and clamped["next"] is None
    ignored = many.get("/servers/", params={"page_size": "lots"}).json()
    assert len(ignored["results"]) == 20


def test_invalid_pages_answer_404(many: Api) -> None:
    assert many.get("/servers/", params={"page": 3}).status_code == 200  # the last of 49 / 20
    for page in ("0", "4", "-1", "abc", "1.5"):
        response = many.get("/servers/", params={"page": page})
        assert response.status_code == 404, page
        assert response.json() == {"detail": "Invalid page."}
    # As DRF reads them: an empty page is the first, "last" the last.
    assert many.get("/servers/", params={"page": ""}).json()["previous"] is None
    assert many.get("/servers/", params={"page": "last"}).json()["next"] is None
    assert many.get("/servers/", params={"status": "nothing"}).json()["count"] == 0


def test_filters_combine(api: Api) -> None:
    active = api.get("/servers/", params={"status": "active"}).json()["results"]
    assert active and all(s["status"] == "active" for s in active)
    west = api.get("/servers/", params={"location": "us-west"}).json()["results"]
    assert west and all(s["location"] == "us-west" for s in west)
    both = api.get("/servers/", params={"status": "stopped", "location": "us-west"}).json()
    assert both["count"] >= 1
    assert all(s["status"] == "stopped" and s["location"] == "us-west" for s in both["results"])
    expected = [s["id"] for s in west if s["status"] == "stopped"]
    assert [s["id"] for s in both["results"]] == expected
    assert api.get("/servers/", params={"status": "suspended"}).json()["count"] == 3


# -- plans ---------------------------------------------------------------------------


def test_plans_list_detail_and_location_filter(api: Api) -> None:
    response = api.get("/plans/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    plans = {plan["id"]: plan for plan in body["results"]}
    assert body["count"] == 5
    for plan in plans.values():
        assert set(plan) == PLAN_FIELDS
    assert plans[1]["name"] == "Standard VPS" and plans[1]["price_monthly"] == 10.0
    assert plans[2]["name"] == "Performance VPS" and plans[2]["price_monthly"] == 20.0
    assert plans[3] == {
        "id": 3,
        "name": "Starter VPS",
        "slug": "starter",
        "vcpus": 1,
        "memory": 2048,
        "storage": 40,
        "bandwidth": 1024,
        "price_monthly": 5.0,
        "price_hourly": 0.007,
        "available": True,
        "locations": ["us-west", "us-east", "eu-central"],
        "description": plans[3]["description"],
    }
    assert [p["available"] for p in plans.values()].count(False) == 1
    west = api.get("/plans/", params={"location": "us-west"}).json()["results"]
    assert west and all("us-west" in p["locations"] for p in west)
    assert len(west) < len(plans)
    assert api.get("/plans/", params={"location": "mars"}).json()["count"] == 0
    detail = api.get("/plans/4/")
    assert detail.status_code == 200 and detail.json() == plans[4]
    assert api.get("/plans/77/").status_code == 404


# -- fault injection ---------------------------------------------------------------------


def test_fail_next_fails_exactly_that_many_requests_each_way(
    api: Api, sandbox: RunningSandbox
) -> None:
    for kind, status in (("500", 500), ("503", 503), ("429", 429), ("malformed", 200)):
        control(sandbox, "POST", "faults", json={"fail_next": 2, "fail_with": kind})
        for _ in range(2):
            failed = api.get("/servers/")
            assert failed.status_code == status, kind
            if kind == "malformed":
                with pytest.raises(ValueError):
                    failed.json()
            else:
                assert "detail" in failed.json()
        assert api.get("/servers/").status_code == 200
    control(sandbox, "POST", "faults", json={"fail_next": 1, "fail_with": "429", "retry_after": 7})
    limited = api.get("/servers/")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"

    control(sandbox, "POST", "faults", json={"fail_next": 1, "fail_with": "drop"})
    with pytest.raises(requests.ConnectionError):
        api.get("/servers/")
    assert api.get("/servers/").status_code == 200


def test_a_failed_write_changes_nothing(api: Api, sandbox: RunningSandbox) -> None:
    control(sandbox, "POST", "faults", json={"fail_next": 1, "fail_with": "503"})
    assert api.post("/servers/12345/stop/").status_code == 503
    assert api.status(12345) == "active"


def test_rates_latency_and_reset(api: Api, sandbox: RunningSandbox) -> None:
    settings = control(sandbox, "GET", "faults")
    assert settings["error_rate"] == 0 and settings["fail_next"] == 0
    control(sandbox, "POST", "faults", json={"error_rate": 1})
    assert {api.get("/plans/").status_code for _ in range(12)} <= {500, 503}
    # The controls themselves are never faulted.
    assert control(sandbox, "GET", "faults")["error_rate"] == 1
    control(sandbox, "POST", "faults", json={"error_rate": 0, "rate_limit_rate": 1})
    assert api.get("/plans/").status_code == 429
    control(sandbox, "POST", "faults", json={"rate_limit_rate": 0, "malformed_rate": 1})
    assert api.get("/plans/").text.startswith("{") and api.get("/plans/").status_code == 200
    control(sandbox, "POST", "faults", json={"malformed_rate": 0, "drop_rate": 1})
    with pytest.raises(requests.ConnectionError):
        api.get("/plans/")
    control(sandbox, "POST", "faults", json={"drop_rate": 0, "latency": 0.25})
    started = time.monotonic()
    assert api.get("/plans/").ok
    assert time.monotonic() - started >= 0.25
    reset = control(sandbox, "DELETE", "faults")
    assert reset["latency"] == 0 and reset["drop_rate"] == 0
    assert api.get("/plans/").ok


def _timed_get(api: Api, path: str) -> tuple[requests.Response, float, float]:
    """The answer, when its head arrived and when its body was complete."""
    started = time.monotonic()
    response = api.get(path, stream=True)
    head = time.monotonic() - started
    response.content  # noqa: B018 - reads the body
    return response, head, time.monotonic() - started


def test_drip_sends_the_right_answer_a_byte_at_a_time(api: Api, sandbox: RunningSandbox) -> None:
    normal = api.get("/account/me/")
    control(
        sandbox, "POST", "faults", json={"fail_next": 1, "fail_with": "drip", "drip_interval": 0.01}
    )
    dripped, head, whole = _timed_get(api, "/account/me/")
    size = len(dripped.content)
    assert dripped.status_code == 200
    assert dripped.json() == normal.json()
    assert dripped.headers["Content-Length"] == str(size)
    # The head at once, then one byte every 10 ms.
    assert head < 0.2
    assert whole >= (size - 1) * 0.01
    # fail_next counts dripped answers like any other fault; the next one is quick.
    _, _, quick = _timed_get(api, "/account/me/")
    assert quick < whole / 4


def test_drip_rate_and_errors_drip_too(api: Api, sandbox: RunningSandbox) -> None:
    settings = control(sandbox, "POST", "faults", json={"drip_rate": 1, "drip_interval": 0.005})
    assert settings["drip_rate"] == 1 and settings["drip_interval"] == 0.005
    for path, status in (("/plans/1/", 200), ("/servers/999999/", 404)):
        response, head, whole = _timed_get(api, path)
        assert response.status_code == status
        assert "detail" in response.json() if status == 404 else response.json()["id"] == 1
        assert whole >= (len(response.content) - 1) * 0.005 > head
    assert control(sandbox, "DELETE", "faults")["drip_rate"] == 0
    assert _timed_get(api, "/plans/1/")[2] < 0.2


def _handler_threads() -> int:
    return sum("process_request_thread" in t.name for t in threading.enumerate())


def test_a_client_that_gives_up_on_a_drip_ends_it(sandbox: RunningSandbox) -> None:
    control(sandbox, "POST", "faults", json={"drip_rate": 1, "drip_interval": 0.1})
    time.sleep(0.2)  # the control's own connection closed, its thread gone
    before = _handler_threads()
    response = requests.get(
        sandbox.api_url + "/servers/",
        headers={"Authorization": f"Bearer {TOKEN}"},
        stream=True,
        timeout=5,
    )
    assert response.raw.read(5) == b'{"cou'
    assert _handler_threads() == before + 1  # still dripping
    response.close()
    # The next byte written to the closed connection fails, and the thread ends.
    deadline = time.monotonic() + 3
    while _handler_threads() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _handler_threads() == before


def test_fault_settings_are_validated(sandbox: RunningSandbox) -> None:
    for body in (
        {"error_rate": 2},
        {"latency": -1},
        {"fail_with": "teapot"},
        {"fail_next": True},
        {"bogus": 1},
        {"drip_rate": 1.5},
        {"drip_interval": 0},
        {"drip_interval": 61},
        {"drip_interval": "slow"},
    ):
        response = requests.post(f"{sandbox.url}/_sandbox/faults", json=body, timeout=5)
        assert response.status_code == 400
        assert set(response.json()) == set(body)


def test_controls_read_json_sent_as_curl_d_sends_it(sandbox: RunningSandbox) -> None:
    # `curl -X POST .../_sandbox/faults -d '{"fail_next": 1}'` labels the body as a form.
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    faults = requests.post(
        f"{sandbox.url}/_sandbox/faults", data='{"latency": 0.01}', headers=form, timeout=5
    )
    assert faults.status_code == 200
    assert faults.json()["latency"] == 0.01
    forced = requests.post(
        f"{sandbox.url}/_sandbox/servers/12345/status",
        data='{"status": "suspended"}',
        headers=form,
        timeout=5,
    )
    assert forced.status_code == 200
    assert forced.json()["status"] == "suspended"


def test_faults_can_be_set_at_start() -> None:
    with start_sandbox(tokens=(TOKEN,), error_rate=1.0, retry_after=3) as running:
        assert Api(running).get("/servers/").status_code in (500, 503)
        assert control(running, "GET", "faults")["retry_after"] == 3
    with pytest.raises(TypeError):
        start_sandbox(tokens=(TOKEN,), no_such_fault=1)


def test_requests_are_counted_per_endpoint(api: Api, sandbox: RunningSandbox) -> None:
    control(sandbox, "DELETE", "requests")
    api.get("/servers/")
    api.get("/servers/12345/")
    api.get("/servers/12346/")
    api.request("PATCH", "/servers/12346/", json={"name": "counted"})
    api.post("/servers/12345/reboot/")
    api.get("/plans/")
    Api(sandbox, token=None).get("/servers/")
    control(sandbox, "POST", "faults", json={"fail_next": 1, "fail_with": "drop"})
    with pytest.raises(requests.ConnectionError):
        api.get("/account/me/")
    counts = control(sandbox, "GET", "requests")
    assert counts["total"] == 8
    assert counts["by_endpoint"] == {
        "GET /api/v1/servers/": 2,
        "GET /api/v1/servers/{id}/": 2,
        "PATCH /api/v1/servers/{id}/": 1,
        "POST /api/v1/servers/{id}/reboot/": 1,
        "GET /api/v1/plans/": 1,
        "GET /api/v1/account/me/": 1,
    }
    assert counts["by_status"] == {"200": 6, "401": 1, "dropped": 1}
    assert control(sandbox, "DELETE", "requests")["total"] == 0
    assert control(sandbox, "GET", "requests") == {"total": 0, "by_endpoint": {}, "by_status": {}}


# -- test controls, index, persistence -----------------------------------------------------


def test_forced_status_and_reset(api: Api, sandbox: RunningSandbox) -> None:
    seeded = {
        t: Api(sandbox, t).get("/servers/", params=WHOLE).json() for t in (TOKEN, OTHER, READ)
    }
    forced = control(sandbox, "POST", "servers/12345/status", json={"status": "suspended"})
    assert forced["status"] == "suspended"
    assert api.status(12345) == "suspended"
    # Any status word may be forced, so a client's handling of unknown ones can be tried.
    assert control(sandbox, "POST", "servers/12345/status", json={"status": "migrating"})
    assert api.status(12345) == "migrating"
    bad = requests.post(f"{sandbox.url}/_sandbox/servers/12345/status", json={}, timeout=5)
    assert bad.status_code == 400
    missing = requests.post(
        f"{sandbox.url}/_sandbox/servers/1/status", json={"status": "active"}, timeout=5
    )
    assert missing.status_code == 404
    api.create(name="gone-after-reset")
    api.request("DELETE", "/servers/12346/")
    sandbox.state.set_credits(TOKEN, 0)
    control(sandbox, "POST", "reset")
    assert {t: Api(sandbox, t).get("/servers/", params=WHOLE).json() for t in seeded} == seeded
    assert control(sandbox, "GET", "accounts")["results"][0]["credits"] == "100.00"


def test_index_page_describes_the_sandbox_without_whole_tokens(sandbox: RunningSandbox) -> None:
    response = requests.get(sandbox.url + "/", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    page = response.text
    assert sandbox.api_url in page
    assert "…0001" in page and "…0003" in page
    for token in (TOKEN, OTHER, READ):
        assert token not in page
    for word in ("/api/v1/servers/", "/_sandbox/faults", "drop_rate", "drip_rate", "fail_next"):
        assert word in page


def test_state_file_keeps_servers_across_a_restart(tmp_path: Path) -> None:
    state_file = tmp_path / "state" / "sandbox.json"
    with start_sandbox(tokens=(TOKEN,), transition_seconds=0, state_file=state_file) as first:
        api = Api(first)
        created = api.create(name="kept", hostname="kept.example.com")
        api.request("PATCH", "/servers/12345/", json={"name": "renamed-01"})
        api.request("DELETE", "/servers/12346/")
        before = api.get("/servers/", params=WHOLE).json()
        assert before["count"] == len(before["results"]) == SEED_COUNT  # one created, one deleted
        credits = control(first, "GET", "accounts")["results"][0]["credits"]
    assert TOKEN not in state_file.read_text()
    assert not [p for p in state_file.parent.iterdir() if p != state_file]  # no temp files left
    with start_sandbox(tokens=(TOKEN,), transition_seconds=0, state_file=state_file) as second:
        api = Api(second)
        after = api.get("/servers/", params=WHOLE).json()
        assert after == before
        assert api.get(f"/servers/{created['id']}/").json()["status"] == "active"
        assert control(second, "GET", "accounts")["results"][0]["credits"] == credits
        assert api.create(name="next")["id"] > created["id"]


def test_stop_closes_kept_alive_connections() -> None:
    running = start_sandbox(tokens=(TOKEN,))
    api = Api(running)
    assert api.get("/servers/").ok
    running.stop()
    with pytest.raises(requests.ConnectionError):
        api.get("/servers/")


# -- command line --------------------------------------------------------------------------


def run_cli(*args: str, timeout: float = 10) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sandbox", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_cli_help_documents_every_option() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for option in (
        "--host",
        "--port",
        "--token",
        "--read-token",
        "--transition-seconds",
        "--credits",
        "--state",
        "--latency",
        "--error-rate",
        "--rate-limit-rate",
        "--retry-after",
        "--malformed-rate",
        "--drop-rate",
        "--drip-rate",
        "--drip-interval",
        "--quiet",
    ):
        assert option in result.stdout


def test_cli_refuses_a_busy_port_with_one_line_and_exit_2() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("--port", str(port), "--quiet")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"127.0.0.1:{port}" in lines[0] and "address already in use" in lines[0]


def test_cli_serves_logs_without_tokens_and_exits_cleanly_on_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", "--token", TOKEN, "--token", OTHER],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        match = re.fullmatch(
            r"VPS\.org sandbox on (http://127\.0\.0\.1:\d+/api/v1) \(tokens: 2\)", line
        )
        assert match, line
        response = requests.get(
            match[1] + "/servers/", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
        )
        assert response.status_code == 200
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=5)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert "GET /api/v1/servers/" in stderr and " 200 " in stderr
    assert TOKEN not in stderr
    assert "Traceback" not in stderr


def test_cli_refuses_an_unreadable_state_file(tmp_path: Path) -> None:
    state_file = tmp_path / "broken.json"
    state_file.write_text("{half a file")
    result = run_cli("--port", "0", "--state", str(state_file))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "cannot load state file" in result.stderr
    assert state_file.read_text() == "{half a file"  # left for its owner to look at


def test_cli_drip_options_reach_the_faults() -> None:
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "sandbox", "--port", "0", "--quiet"),
            *("--drip-rate", "0.5", "--drip-interval", "0.25"),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        api_url = line.split(" on ", 1)[1].split(" ", 1)[0]
        base = api_url.removesuffix("/api/v1")
        faults = requests.get(f"{base}/_sandbox/faults", timeout=5).json()
        assert faults["drip_rate"] == 0.5 and faults["drip_interval"] == 0.25
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=5)


def test_cli_rejects_bad_options_with_exit_2() -> None:
    assert run_cli("--drip-rate", "2").returncode == 2
    result = run_cli("--drip-interval", "0", "--port", "0")
    assert result.returncode == 2 and "drip_interval" in result.stderr
    assert run_cli("--error-rate", "2").returncode == 2
    assert run_cli("--credits", "-5").returncode == 2
    result = run_cli("--token", "same", "--read-token", "same", "--port", "0")
    assert result.returncode == 2 and "more than once" in result.stderr
