"""The VPS.org API client, alone, against `responses` (no Django needed)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from servers.client import (
    Account,
    ActionResult,
    Forbidden,
    InvalidRequest,
    NotFound,
    OperatingSystem,
    PaymentRequired,
    Plan,
    RateLimited,
    ResourceUsage,
    Server,
    ServerError,
    Unauthorized,
    Unavailable,
    UnexpectedResponse,
    VPSOrgClient,
    VPSOrgError,
)
from tests.vpsorg_docs import CREATE_EXAMPLE, DETAIL_EXAMPLE, LIST_EXAMPLE, action_example

TOKEN = "vps_s3cr3t-T0KEN-do-not-leak-4242"
API = "https://admin.vps.org/api/v1"
SERVERS = f"{API}/servers/"
SERVER = f"{API}/servers/12345/"

# ---------------------------------------------------------------------------
# Example bodies beyond the documentation's own (those are in tests/vpsorg_docs.py)
# ---------------------------------------------------------------------------

PLAN_EXAMPLE: dict[str, Any] = {
    "id": 1,
    "name": "Starter VPS",
    "slug": "starter",
    "vcpus": 1,
    "memory": 2048,
    "storage": 40,
    "bandwidth": 1024,
    "price_monthly": 5.00,
    "price_hourly": 0.007,
    "available": True,
    "locations": ["us-west", "us-east", "eu-central"],
    "description": "For small sites and side projects.",
}

ACCOUNT_EXAMPLE: dict[str, Any] = {
    "account": {
        "email": "ops@example.com",
        "first_name": "Ana",
        "last_name": "Souza",
        "company_name": "Example Ltda",
        "created_at": "2024-03-01",
    },
    "token": {"name": "panel", "permissions": ["servers:read", "servers:write"], "extra": 1},
}


# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sleeps: list[float]) -> VPSOrgClient:
    c = VPSOrgClient(TOKEN)
    c._sleep = sleeps.append
    return c


def assert_no_token(exc: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    assert TOKEN not in str(exc)
    assert TOKEN not in repr(exc)
    assert TOKEN not in getattr(exc, "message", "")
    assert TOKEN not in caplog.text
    for record in caplog.records:
        assert TOKEN not in record.getMessage()


# ---------------------------------------------------------------------------
# Construction, headers, URLs, timeouts
# ---------------------------------------------------------------------------


def test_module_imports_without_django() -> None:
    code = (
        "import sys, servers.client; "
        "assert not [m for m in sys.modules if m == 'django' or m.startswith('django.')]"
    )
    root = Path(__file__).resolve().parent.parent
    # A fresh interpreter: this one may already have Django loaded by conftest.
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


def test_repr_shows_no_token() -> None:
    c = VPSOrgClient(TOKEN, base_url="http://127.0.0.1:8001/api/v1/")
    assert repr(c) == "<VPSOrgClient base_url='http://127.0.0.1:8001/api/v1'>"
    assert TOKEN not in repr(c) and TOKEN[-4:] not in repr(c)


def test_default_timeout_and_base_url() -> None:
    c = VPSOrgClient(TOKEN)
    assert c.timeout == (3.05, 10.0)
    assert c.base_url == API
    assert c.max_pages == 100


@pytest.mark.parametrize(
    ("given", "expected"),
    [(None, (3.05, 10.0)), (4, (4.0, 4.0)), (2.5, (2.5, 2.5)), ((1, 7.5), (1.0, 7.5))],
)
def test_timeout_forms(given: Any, expected: tuple[float, float]) -> None:
    assert VPSOrgClient(TOKEN, timeout=given).timeout == expected


@pytest.mark.parametrize("bad", [0, -1, float("inf"), float("nan"), (1, 0), (1, 2, 3)])
def test_timeout_must_be_finite_and_positive(bad: Any) -> None:
    with pytest.raises(ValueError):
        VPSOrgClient(TOKEN, timeout=bad)


@pytest.mark.parametrize("bad", ["admin.vps.org/api/v1", "ftp://admin.vps.org", ""])
def test_base_url_must_be_http(bad: str) -> None:
    with pytest.raises(ValueError):
        VPSOrgClient(TOKEN, base_url=bad)


def test_headers_timeout_and_trailing_slash(
    rsps: responses.RequestsMock, client: VPSOrgClient
) -> None:
    rsps.get(SERVER, json=DETAIL_EXAMPLE)
    client.get_server(12345)
    request = rsps.calls[0].request
    assert request.url == SERVER
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"].startswith("vpsorg-panel/")
    assert request.req_kwargs["timeout"] == (3.05, 10.0)


def test_configured_timeout_on_every_call(rsps: responses.RequestsMock) -> None:
    c = VPSOrgClient(TOKEN, timeout=2)
    rsps.get(SERVERS, json=LIST_EXAMPLE)
    rsps.post(f"{SERVER}start/", json=action_example("starting", "starting"))
    rsps.delete(SERVER, status=204)
    c.list_servers()
    c.start_server(12345)
    c.delete_server(12345)
    assert [call.request.req_kwargs["timeout"] for call in rsps.calls] == [(2.0, 2.0)] * 3


def test_request_joins_paths_with_slashes(rsps: responses.RequestsMock) -> None:
    c = VPSOrgClient(TOKEN, base_url="http://sandbox.test:8001/api/v1/")
    rsps.get("http://sandbox.test:8001/api/v1/account/me/", json={})
    rsps.get("http://sandbox.test:8001/api/v1/servers/", json={"results": []})
    assert c.request("GET", "/account/me") == {}
    assert c.request("get", "servers/") == {"results": []}


def test_shared_session_is_not_given_the_token(rsps: responses.RequestsMock) -> None:
    session = requests.Session()
    c = VPSOrgClient(TOKEN, session=session)
    rsps.get(SERVER, json=DETAIL_EXAMPLE)
    c.get_server("12345")
    assert "Authorization" not in session.headers
    assert rsps.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_pasted_token_whitespace_is_stripped(rsps: responses.RequestsMock) -> None:
    c = VPSOrgClient(f"  {TOKEN}\n")
    rsps.get(SERVER, json=DETAIL_EXAMPLE)
    c.get_server(12345)
    assert rsps.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("bad", ["", "   ", "abc def", "tok\x00en", "tóken"])
def test_unusable_token_is_unauthorized_without_a_call(
    rsps: responses.RequestsMock, bad: str
) -> None:
    with pytest.raises(Unauthorized) as info:
        VPSOrgClient(bad).get_server(12345)
    assert info.value.status is None
    assert len(rsps.calls) == 0


# ---------------------------------------------------------------------------
# Servers: the documented endpoints and codes
# ---------------------------------------------------------------------------


def test_list_servers_example(rsps: responses.RequestsMock, client: VPSOrgClient) -> None:
    rsps.get(SERVERS, json=LIST_EXAMPLE)
    servers = client.list_servers()
    assert [s.id for s in servers] == ["12345", "12346"]
    first = servers[0]
    assert first == Server(
        id="12345",
        name="web-server-01",
        status="active",
        hostname="web01.example.com",
        ip_address="203.0.113.10",
        location="us-west",
        plan=Plan(id=1, name="Standard VPS", vcpus=2, memory=4096, storage=80),
        os=OperatingSystem(id=5, name="Ubuntu 22.04 LTS"),
        created_at=datetime(2025, 1, 10, 14, 30, tzinfo=UTC),
        updated_at=datetime(2025, 1, 15, 10, 20, tzinfo=UTC),
    )
    assert first.ipv6_address is None and first.resource_usage is None
    assert servers[1].plan is not None and servers[1].plan.name == "Performance VPS"


def test_list_servers_builds_each_plan_and_os_once(
    rsps: responses.RequestsMock, client: VPSOrgClient
) -> None:
    plan = {"id": 1, "name": "Standard VPS", "vcpus": 2, "locations": ["us-west"]}
    renamed = {**plan, "name": "Standard VPS (renamed)"}
    bodies = [
        {"id": 1, "name": "a", "plan": plan, "os": {"id": 5, "name": "Ubuntu"}},
        {"id": 2, "name": "b", "plan": dict(plan), "os": {"id": 5, "name": "Ubuntu"}},
        # Same id, another field: its own object, not the first one's.
        {"id": 3, "name": "c", "plan": renamed, "os": {"id": 5, "name": "Debian"}},
        {"id": 4, "name": "d", "plan": {"id": [1], "name": "broken"}, "os": "not an object"},
        {"id": 5, "name": "e", "plan": plan},
    ]
    rsps.get(SERVERS, json={"count": 5, "next": None, "previous": None, "results": bodies})
    servers = client.list_servers()
    assert servers[0].plan is servers[1].plan is not None
    assert servers[0].os is servers[1].os is not None
    assert servers[2].plan == Plan(
        id=1, name="Standard VPS (renamed)", vcpus=2, locations=("us-west",)
    )
    assert servers[2].os == OperatingSystem(id=5, name="Debian")
    assert servers[3].plan is None and servers[3].os is None
    # After another plan with the same id, the first one comes back built again, equal.
    assert servers[4].plan == servers[0].plan
    assert [s.plan.name if s.plan else None for s in servers] == [
        "Standard VPS",
        "Standard VPS",
        "Standard VPS (renamed)",
        None,
        "Standard VPS",
    ]


def test_list_servers_sends_filters_and_page_size(
    rsps: responses.RequestsMock, client: VPSOrgClient
) -> None:
    rsps.get(
        SERVERS,
        json={"count": 0, "results": []},
        match=[
            matchers.query_param_matcher(
                {"status": "active", "location": "us-west", "page_size": "100"}
            )
        ],
    )
    rsps.get(
        SERVERS,
        json={"count": 0, "results": []},
        match=[matchers.query_param_matcher({"page_size": "100"})],
    )
    assert client.list_servers(status="active", location="us-west") == []
    assert client.list_servers() == []


def test_list_servers_401(
    rsps: responses.RequestsMock, client: VPSOrgClient, caplog: pytest.LogCaptureFixture
) -> None:
    rsps.get(SERVERS, status=401, json={"detail": "Invalid token."})
    with pytest.raises(Unauthorized) as info:
        client.list_servers()
    assert info.value.status == 401
    assert info.value.message == "Invalid token."
    assert len(rsps.calls) == 1
    assert_no_token(info.value, caplog)


def test_get_server_detail_example(rsps: responses.RequestsMock, client: VPSOrgClient) -> None:
    rsps.get(SERVER, json=DETAIL_EXAMPLE)
    server = client.get_server(12345)
    assert server.id == "12345"
    assert server.ipv6_address == "2001:0db8::1"
    assert server.backups_enabled is True
    assert server.plan is not None and server.plan.bandwidth == 2048
    assert server.resource_usage == ResourceUsage(
        cpu_percent=23.5, memory_used=2048.0, disk_used=35.0, bandwidth_used=450.0
    )
    assert server.updated_at == datetime(2025, 1, 16, 15, 45, tzinfo=UTC)
    assert server.message is None


@pytest.mark.parametrize(
    ("status", "error", "body"),
    [
        (401, Unauthorized, {"detail": "Authentication credentials were not provided."}),
        (404, NotFound, {"detail": "Not found."}),
    ],
)
def test_get_server_errors(
    rsps: responses.RequestsMock,
    client: VPSOrgClient,
    caplog: pytest.LogCaptureFixture,
    status: int,
    error: type[VPSOrgError],
    body: dict[str, str],
) -> None:
    rsps.get(SERVER, status=status, json=body)
    with pytest.raises(error) as info:
        client.get_server("12345")
    assert info.value.status == status
    assert info.value.message == body["detail"]
    assert len(rsps.calls) == 1
    assert_no_token(info.value, caplog)


def test_create_server_201(rsps: responses.RequestsMock, client: VPSOrgClient) -> None:
    rsps.post(SERVERS, status=201, json=CREATE_EXAMPLE)
    server = client.create_server(
        name="web-server-02",
        plan_id="1",
        os_id=5,
        location="us-west",
        hostname="web02.example.com",
        ssh_key_id="77",
        backups_enabled=True,
    )
    assert json.loads(rsps.calls[0].request.body) == {
        "name": "web-server-02",
        "plan_id": 1,
        "os_id": 5,
        "location": "us-west",
        "hostname": "web02.example.com",
        "ssh_key_id": 77,
        "backups_enabled": True,
    }
    assert server.id == "12347"
    assert server.status == "provisioning"
    assert server.ip_address is None
    assert server.message == "Server is being provisioned. This may take 2-5 minutes."


def test_create_server_leaves_out_optional_fields(
    rsps: responses.RequestsMock, client: VPSOrgClient
) -> None:
    rsps.post(SERVERS, status=201, json=CREATE_EXAMPLE)
    client.create_server(name="web-server-02", plan_id=1, os_id="5", location="us-west")
    assert json.loads(rsps.calls[0].request.body) == {
        "name": "web-server-02",
        "plan_id": 1,
        "os_id": 5,
        "location": "us-west",
        "backups_enabled": False,
    }


def test_create_server_keeps_non_numeric_catalog_ids(
    rsps: responses.RequestsMock, client: VPSOrgClient
) -> None:
    rsps.post(SERVERS, status=201, json=CREATE_EXAMPLE)
    client.create_server(name="a", plan_id="plan-uuid-1", os_id="os-7b", location="us-east")
    body = json.loads(rsps.calls[0].request.body)
    assert body["plan_id"] == "plan-uuid-1" and body["os_id"] == "os-7b"


def test_create_server_400_keeps_field_errors(
    rsps: responses.RequestsMock, client: VPSOrgClient, caplog: pytest.LogCaptureFixture
) -> None:
    rsps.post(
        SERVERS,
        status=400,
        json={
            "name": ["Only letters, digits and hyphens.", "Too long."],
            "plan_id": "Unknown plan.",
            "non_field_errors": ["Location us-west is full."],
        },
    )
    with pytest.raises(InvalidRequest) as info:
        client.create_server(name="bad name", plan_id=99, os_id=5, location="us-west")
    exc = info.value
    assert exc.status == 400
    assert exc.field_errors == {
        "name": ["Only letters, digits and hyphens.", "Too long."],
        "plan_id": ["Unknown plan."],
    }
    assert exc.message == "Location us-west is full."
    assert len(rsps.calls) == 1
    assert_no_token(exc, caplog)


def test_400_with_only_field_errors_has_a_generic_message(
    rsps: responses.RequestsMock, client: VPSOrgClient
) -> None:
    rsps.post(SERVERS, status=400, json={"location": ["Unknown location."]})
    with pytest.raises(InvalidRequest) as info:
        client.create_server(name="a", plan_id=1, os_id=5, location="mars")
    assert info.value.field_errors == {"location": ["Unknown location."]}
    assert info.value.message == InvalidRequest.default_message
    assert "Unknown location" not in str(info.value)


@pytest.mark.parametrize(
    ("status", "error", "body", "message"),
    [
        (401, Unauthorized, {"detail": "Invalid token."}, "Invalid token."),
        (402, PaymentRequired, {"detail": "Insufficient credits."}, "Insufficient credits."),
        (402, PaymentRequired, {}, PaymentRequired.default_message),
        (403, Forbidden, {"detail": "Token is read-only."}, "Token is read-only."),
    ],
)
def test_create_server_errors(
    rsps: responses.RequestsMock,
    client: VPSOrgClient,
    caplog: pytest.LogCaptureFixture,
    status: int,
    error: type[VPSOrgError],
    body: dict[str, str],
    message: str,
) -> None:
    rsps.post(SERVERS, status=status, json=body)
    with pytest.raises(error) as info:
        client.create_server(name="a", plan_id=1, os_id=5, location="us-west")
    assert info.value.status == status
    assert info.value.message == message
    assert_no_token(info.value, caplog)


def test_update_server_puts_all_three(rsps: responses.RequestsMock, client: VPSOrgClient) -> None:
    updated = {**DETAIL_EXAMPLE, "name": "web-server-updated"}
    rsps.put(SERVER, json=updated)
    server = client.update_server(
        "12345", name="web-server-updated", hostname="web-updated.example.com", backups_enabled=True
    )
    assert rsps.calls[0].request.method == "PUT"
    assert json.loads(rsps.calls[0].request.body) == {
        "name": "web-server-updated",
        "hostname": "web-updated.example.com",
        "backups_enabled": True,
    }
    assert server.name == "web-server-updated"


@pytest.mark.parametrize(
    ("status", "error"), [(400, InvalidRequest), (404, NotFound), (403, Forbidden)]
)
def test_update_server_errors(
    rsps: responses.RequestsMock,
    client: VPSOrgClient,
    caplog: pytest.LogCaptureFixture,
    status: int,
    error: type[VPSOrgError],
) -> None:
    rsps.put(SERVER, status=status, json={"detail": "Nope."})
    with pytest.raises(error) as info:
        client.update_server(12345, name="x", hostname="x.example.com", backups_enabled=False)
    assert info.value.status == status
    assert_no_token(info.value, caplog)


def test_patch_server_sends_only_given_fields(
    rsps: responses.RequestsMock, client: VPSOrgClient
) -> None:
    rsps.patch(SERVER, json={**DETAIL_EXAMPLE, "name": "new-server-name"})
    server = client.patch_server(12345, name="new-server-name")
    assert rsps.calls[0].request.method == "PATCH"
    assert json.loads(rsps.calls[0].request.body) == {"name": "new-server-name"}
    assert server.name == "new-server-name"


@pytest.mark.parametrize(("status", "error"), [(400, InvalidRequest), (404, NotFound)])
def test_patch_server_errors(
    rsps: responses.RequestsMock,
    client: VPSOrgClient,
    status: int,
    error: type[VPSOrgError],
) -> None:
    rsps.patch(SERVER, status=status, json={"hostname": ["Enter a valid FQDN."]})
    with pytest.raises(error) as info:
        client.patch_server(12345, hostname="-")
    assert info.value.status == status


def test_delete_server_204(rsps: responses.RequestsMock, client: VPSOrgClient) -> None:
    rsps.delete(SERVER, status=204)
    assert client.delete_server(12345) is None
    assert rsps.calls[0].request.method == "DELETE"


def test_delete_server_404(
    rsps: responses.RequestsMock, client: VPSOrgClient, caplog: pytest.LogCaptureFixture
) -> None:
    rsps.delete(SERVER, status=404, json={"detail": "Not found."})
    with pytest.raises(NotFound) as info:
        client.delete_server(12345)
    assert info.value.message == "Not found."
    assert_no_token(info.value, caplog)


@pytest.mark.parametrize(
    ("action", "verb", "transitional"),
    [
        ("start", "starting", "starting"),
        ("stop", "stopping", "stopping"),
        ("reboot", "rebooting", "rebooting"),
    ],
)
def test_power_actions(
    rsps: responses.RequestsMock,
    client: VPSOrgClient,
    action: str,
    verb: str,
    transitional: str,
) -> None:
    rsps.post(f"{SERVER}{action}/", json=action_example(verb, transitional))
    result = getattr(client, f"{action}_server")(12345)
    assert result == ActionResult(
        status="success",
        message=f"Server is {verb}",
        server=Server(id="12345", name="web-server-01", status=transitional),
    )
    assert rsps.calls[0].request.body is None


@pytest.mark.parametrize(
    ("action", "detail"),
    [("start", "Server is already running."), ("reboot", "Server is not running."), ("stop", "x")],
)
def test_power_action_400(
    rsps: responses.RequestsMock, client: VPSOrgClient, action: str, detail: str
) -> None:
    rsps.post(f"{SERVER}{action}/", status=400, json={"detail": detail})
    with pytest.raises(InvalidRequest) as info:
        getattr(client, f"{action}_server")("12345")
    assert info.value.message == detail
    assert info.value.field_errors == {}
    assert len(rsps.calls) == 1


@pytest.mark.parametrize("action", ["start", "stop", "reboot"])
def test_power_action_404(rsps: responses.RequestsMock, client: VPSOrgClient, action: str) -> None:
    rsps.post(f"{SERVER}{action}/", status=404, json={"detail": "Not found."})
    with pytest.raises(NotFound):
        getattr(client, f"{action}_server")(12345)


def test_power_action_without_server_object_falls_back_to_the_id(
    rsps: responses.RequestsMock, client: VPSOrgClient
) -> None:
    rsps.post(f"{SERVER}start/", json={"status": "success", "message": "Server is starting"})
    result = client.start_server(12345)
    assert result.server.id == "12345"
    assert result.message == "Server is starting"


# ---------------------------------------------------------------------------
# Plans and account
# ---------------------------------------------------------------------------


def test_list_plans(rsps: responses.RequestsMock, client: VPSOrgClient) -> None:
    second = {
        "id": 2,
        "name": "Standard VPS",
        "slug": "standard",
        "vcpus": 2,
        "memory": 4096,
        "storage": 80,
        "bandwidth": 2048,
    }
    rsps.get(
        f"{API}/plans/",
        json={"count": 2, "next": None, "previous": None, "results": [PLAN_EXAMPLE, second]},
        match=[matchers.query_param_matcher({"location": "eu-central", "page_size": "100"})],
    )
    plans = client.list_plans(location="eu-central")
    assert plans[0] == Plan(
        id=1,
        name="Starter VPS",
        vcpus=1,
        memory=2048,
        storage=40,
        bandwidth=1024,
        slug="starter",
        price_monthly=Decimal("5.0"),
        price_hourly=Decimal("0.007"),
        available=True,
        locations=("us-west", "us-east", "eu-central"),
        description="For small sites and side projects.",
    )
    assert plans[1].price_monthly is None and plans[1].available is None
    assert plans[1].locations == ()


def test_plan_prices_as_strings_are_exact() -> None:
    plan = Plan.from_api({"id": "1", "price_monthly": "5.00", "price_hourly": "oops"})
    assert plan.id == "1"
    assert plan.price_monthly == Decimal("5.00")
    assert plan.price_hourly is None


def test_get_plan(rsps: responses.RequestsMock, client: VPSOrgClient) -> None:
    rsps.get(f"{API}/plans/1/", json=PLAN_EXAMPLE)
    assert client.get_plan(1).slug == "starter"
    rsps.get(f"{API}/plans/9/", status=404, json={"detail": "Not found."})
    with pytest.raises(NotFound):
        client.get_plan("9")


def test_get_account(rsps: responses.RequestsMock, client: VPSOrgClient) -> None:
    rsps.get(f"{API}/account/me/", json=ACCOUNT_EXAMPLE)
    assert client.get_account() == Account(
        email="ops@example.com",
        first_name="Ana",
        last_name="Souza",
        company_name="Example Ltda",
        created_at=date(2024, 3, 1),
        token_name="panel",
        token_permissions=("servers:read", "servers:write"),
    )


def test_account_tolerates_missing_parts() -> None:
    account = Account.from_api({"account": {"created_at": "some day"}})
    assert account.created_at == "some day"
    assert account.token_permissions == ()
    assert account.email is None
    stamped = Account.from_api({"account": {"created_at": "2024-03-01T10:00:00Z"}})
    assert stamped.created_at == datetime(2024, 3, 1, 10, tzinfo=UTC)


def test_get_account_401(
    rsps: responses.RequestsMock, client: VPSOrgClient, caplog: pytest.LogCaptureFixture
) -> None:
    rsps.get(f"{API}/account/me/", status=401, json={"detail": "Invalid token."})
    with pytest.raises(Unauthorized) as info:
        client.get_account()
    assert_no_token(info.value, caplog)


# ---------------------------------------------------------------------------
# Resources: tolerance
# ---------------------------------------------------------------------------


def test_unknown_keys_missing_keys_unknown_status_and_uuid_ids() -> None:
    uuid = "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"
    server = Server.from_api(
        {
            "id": uuid,
            "status": "migrating",
            "surprise": {"nested": True},
            "plan": {"id": "plan-uuid", "future_field": 1},
            "os": "not an object",
            "resource_usage": {"cpu_percent": "12.5", "disk_used": None},
            "created_at": "yesterday-ish",
            "updated_at": 12,
        }
    )
    assert server.id == uuid
    assert server.status == "migrating"
    assert server.name == ""
    assert server.hostname is None and server.ip_address is None and server.location is None
    assert server.plan == Plan(id="plan-uuid")
    assert server.os is None
    assert server.resource_usage == ResourceUsage(cpu_percent=12.5)
    assert server.created_at is None and server.updated_at is None
    assert server.backups_enabled is None


def test_nested_object_without_id_is_dropped_not_fatal() -> None:
    server = Server.from_api({"id": 1, "plan": {"name": "?"}, "os": {"name": "?"}})
    assert server.plan is None and server.os is None


def test_dates_with_offsets_and_naive_dates_are_aware() -> None:
    server = Server.from_api(
        {"id": 1, "created_at": "2025-01-10T14:30:00+02:00", "updated_at": "2025-01-10T14:30:00"}
    )
    assert server.created_at == datetime(2025, 1, 10, 12, 30, tzinfo=UTC)
    assert server.updated_at == datetime(2025, 1, 10, 14, 30, tzinfo=UTC)


def test_resources_are_frozen() -> None:
    server = Server.from_api({"id": 1})
    with pytest.raises(AttributeError):
        server.status = "active"  # type: ignore[misc]


@pytest.mark.parametrize("bad_id", [None, "", "1/2", "../x", True, 1.5, {"id": 1}, "a b"])
def test_server_without_a_usable_id_is_refused(bad_id: Any) -> None:
    with pytest.raises(ValueError):
        Server.from_api({"id": bad_id, "name": "x"})


# ---------------------------------------------------------------------------
# Ids are opaque and cannot inject paths
# ---------------------------------------------------------------------------


def test_uuid_server_id_goes_into_the_path(
    rsps: responses.RequestsMock, client: VPSOrgClient
) -> None:
    uuid = "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"
    rsps.get(f"{SERVERS}{uuid}/", json={**DETAIL_EXAMPLE, "id": uuid})
    rsps.post(f"{SERVERS}{uuid}/reboot/", json={"status": "success", "server": {"id": uuid}})
    assert client.get_server(uuid).id == uuid
    assert client.reboot_server(uuid).server.id == uuid


@pytest.mark.parametrize(
    "bad_id", ["1/../../account/me", "..", "", "12 34", "12?x=1", "12#x", "12%2F", "ü", None]
)
@pytest.mark.parametrize("method", ["get_server", "delete_server", "start_server", "get_plan"])
def test_bad_ids_are_not_found_without_a_call(
    rsps: responses.RequestsMock, client: VPSOrgClient, bad_id: Any, method: str
) -> None:
    with pytest.raises(NotFound) as info:
        getattr(client, method)(bad_id)
    assert info.value.status is None
    assert len(rsps.calls) == 0


def test_bad_id_on_update_and_patch(rsps: responses.RequestsMock, client: VPSOrgClient) -> None:
    with pytest.raises(NotFound):
        client.update_server("a/b", name="x", hostname="x", backups_enabled=False)
    with pytest.raises(NotFound):
        client.patch_server("a/b", name="x")
    assert len(rsps.calls) == 0


# ---------------------------------------------------------------------------
# Rate limits, server errors and retries
# ---------------------------------------------------------------------------


def test_429_retry_after_seconds_not_retried(
    rsps: responses.RequestsMock,
    client: VPSOrgClient,
    sleeps: list[float],
    caplog: pytest.LogCaptureFixture,
) -> None:
    rsps.get(SERVERS, status=429, json={"detail": "Slow down."}, headers={"Retry-After": "30"})
    with pytest.raises(RateLimited) as info:
        client.list_servers()
    assert info.value.status == 429
    assert info.value.retry_after == 30.0
    assert info.value.message == "Slow down."
    assert len(rsps.calls) == 1 and sleeps == []
    assert_no_token(info.value, caplog)


def test_429_retry_after_http_date(rsps: responses.RequestsMock, client: VPSOrgClient) -> None:
    when = datetime.now(UTC) + timedelta(seconds=120)
    rsps.post(SERVERS, status=429, headers={"Retry-After": format_datetime(when, usegmt=True)})
    with pytest.raises(RateLimited) as info:
        client.create_server(name="a", plan_id=1, os_id=5, location="us-west")
    assert info.value.retry_after is not None
    assert 110 <= info.value.retry_after <= 121
    assert info.value.message == RateLimited.default_message


@pytest.mark.parametrize("header", [None, "soon", "Wed, 01 Jan 2020 00:00:00 GMT"])
def test_429_retry_after_missing_bad_or_past(
    rsps: responses.RequestsMock, client: VPSOrgClient, header: str | None
) -> None:
    headers = {"Retry-After": header} if header else {}
    rsps.get(SERVER, status=429, headers=headers)
    with pytest.raises(RateLimited) as info:
        client.get_server(12345)
    expected = 0.0 if header and header.startswith("Wed") else None
    assert info.value.retry_after == expected


def test_get_500_is_not_retried(
    rsps: responses.RequestsMock,
    client: VPSOrgClient,
    sleeps: list[float],
    caplog: pytest.LogCaptureFixture,
) -> None:
    rsps.get(SERVER, status=500, body="<html><body>Traceback: secret stuff</body></html>")
    with pytest.raises(ServerError) as info:
        client.get_server(12345)
    assert info.value.status == 500
    assert info.value.message == ServerError.default_message
    assert "Traceback" not in str(info.value)
    assert len(rsps.calls) == 1 and sleeps == []
    assert_no_token(info.value, caplog)


@pytest.mark.parametrize("status", [502, 503, 504])
def test_get_transient_5xx_retried_twice(
    rsps: responses.RequestsMock,
    client: VPSOrgClient,
    sleeps: list[float],
    caplog: pytest.LogCaptureFixture,
    status: int,
) -> None:
    rsps.get(SERVER, status=status, json={"detail": "Upstream hiccup."})
    with pytest.raises(ServerError) as info:
        client.get_server(12345)
    assert info.value.status == status
    assert info.value.message == "Upstream hiccup."
    assert len(rsps.calls) == 3
    assert sleeps == [0.2, 0.5]
    assert_no_token(info.value, caplog)


def test_get_503_then_success(
    rsps: responses.RequestsMock, client: VPSOrgClient, sleeps: list[float]
) -> None:
    rsps.get(SERVER, status=503)
    rsps.get(SERVER, json=DETAIL_EXAMPLE)
    assert client.get_server(12345).id == "12345"
    assert len(rsps.calls) == 2 and sleeps == [0.2]


def test_list_retries_apply_per_page(
    rsps: responses.RequestsMock, client: VPSOrgClient, sleeps: list[float]
) -> None:
    rsps.get(SERVERS, status=502)
    rsps.get(SERVERS, json=LIST_EXAMPLE)
    assert len(client.list_servers()) == 2
    assert len(rsps.calls) == 2


def _writes(client: VPSOrgClient) -> list[tuple[str, str, Any]]:
    return [
        (
            "POST",
            SERVERS,
            lambda: client.create_server(name="a", plan_id=1, os_id=5, location="us-west"),
        ),
        (
            "PUT",
            SERVER,
            lambda: client.update_server(12345, name="a", hostname="a.b", backups_enabled=False),
        ),
        ("PATCH", SERVER, lambda: client.patch_server(12345, name="a")),
        ("DELETE", SERVER, lambda: client.delete_server(12345)),
        ("POST", f"{SERVER}start/", lambda: client.start_server(12345)),
        ("POST", f"{SERVER}stop/", lambda: client.stop_server(12345)),
        ("POST", f"{SERVER}reboot/", lambda: client.reboot_server(12345)),
    ]


@pytest.mark.parametrize("index", range(7))
@pytest.mark.parametrize(
    "failure",
    [
        {"status": 503},
        {"status": 502},
        {"body": requests.exceptions.ConnectionError("connection refused")},
        {"body": requests.exceptions.ConnectTimeout("connect timed out")},
        {"body": requests.exceptions.ReadTimeout("read timed out")},
    ],
)
def test_writes_are_never_retried(
    rsps: responses.RequestsMock,
    client: VPSOrgClient,
    sleeps: list[float],
    caplog: pytest.LogCaptureFixture,
    index: int,
    failure: dict[str, Any],
) -> None:
    method, url, call = _writes(client)[index]
    rsps.add(method, url, **failure)
    expected = ServerError if "status" in failure else Unavailable
    with pytest.raises(expected) as info:
        call()
    assert len(rsps.calls) == 1 and sleeps == []
    assert_no_token(info.value, caplog)


def test_unavailable_write_warns_it_may_have_happened(
    rsps: responses.RequestsMock, client: VPSOrgClient
) -> None:
    rsps.post(f"{SERVER}reboot/", body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(Unavailable) as info:
        client.reboot_server(12345)
    assert "may or may not have been applied" in info.value.message


# ---------------------------------------------------------------------------
# No answer at all
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "exc",
    [
        requests.exceptions.ConnectionError("Connection refused"),
        requests.exceptions.ConnectTimeout("connect timed out"),
    ],
)
def test_get_connection_failures_retried_then_unavailable(
    rsps: responses.RequestsMock,
    client: VPSOrgClient,
    sleeps: list[float],
    caplog: pytest.LogCaptureFixture,
    exc: Exception,
) -> None:
    rsps.get(SERVER, body=exc)
    with pytest.raises(Unavailable) as info:
        client.get_server(12345)
    assert info.value.status is None
    assert info.value.__cause__ is exc
    assert len(rsps.calls) == 3 and sleeps == [0.2, 0.5]
    assert_no_token(info.value, caplog)


@pytest.mark.parametrize(
    "exc",
    [
        requests.exceptions.ReadTimeout("read timed out"),
        requests.exceptions.ChunkedEncodingError("broken chunk"),
        requests.exceptions.SSLError("bad certificate"),
        requests.exceptions.TooManyRedirects("loop"),
        requests.exceptions.RequestException("anything else"),
    ],
)
def test_get_other_transport_failures_not_retried(
    rsps: responses.RequestsMock,
    client: VPSOrgClient,
    sleeps: list[float],
    caplog: pytest.LogCaptureFixture,
    exc: Exception,
) -> None:
    rsps.get(SERVERS, body=exc)
    with pytest.raises(Unavailable) as info:
        client.list_servers()
    assert info.value.__cause__ is exc
    assert len(rsps.calls) == 1 and sleeps == []
    assert_no_token(info.value, caplog)


def test_timeout_message(rsps: responses.RequestsMock, client: VPSOrgClient) -> None:
    rsps.get(SERVER, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(Unavailable) as info:
        client.get_server(12345)
    assert info.value.message == "The VPS.org API did not answer in time."


def test_retry_budget_allows_retries_when_fast(
    rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    c = VPSOrgClient(TOKEN, timeout=(1, 2))
    c._sleep = sleeps.append
    c._clock = lambda: 0.0
    rsps.get(SERVER, status=503)
    with pytest.raises(ServerError):
        c.get_server(12345)
    assert len(rsps.calls) == 3


def test_retry_budget_refuses_when_backoff_would_overrun(
    rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    c = VPSOrgClient(TOKEN, timeout=(1, 2))
    c._sleep = sleeps.append
    ticks = iter([0.0, 0.0, 1.7, 1.7])  # start, attempt start, log, budget check
    c._clock = lambda: next(ticks, 1.7)
    rsps.get(SERVER, body=requests.exceptions.ConnectionError("refused"))
    with pytest.raises(Unavailable):
        c.get_server(12345)
    # 1.7 s elapsed + 0.5 s would pass the 2 s read timeout; 1.7 + 0.2 would not.
    assert sleeps == [0.2]
    assert len(rsps.calls) == 2


# ---------------------------------------------------------------------------
# Answers the client cannot read
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    ["{not json", "<html>Welcome to nginx</html>", '"just a string"', "[1, 2]", "null"],
)
def test_get_server_unreadable_body(
    rsps: responses.RequestsMock,
    client: VPSOrgClient,
    caplog: pytest.LogCaptureFixture,
    body: str,
) -> None:
    rsps.get(SERVER, body=body, content_type="application/json")
    with pytest.raises(UnexpectedResponse) as info:
        client.get_server(12345)
    assert "nginx" not in str(info.value)
    assert_no_token(info.value, caplog)


def test_malformed_json_is_chained(rsps: responses.RequestsMock, client: VPSOrgClient) -> None:
    rsps.get(SERVER, body="{not json")
    with pytest.raises(UnexpectedResponse) as info:
        client.get_server(12345)
    assert isinstance(info.value.__cause__, ValueError)
    assert info.value.status == 200


@pytest.mark.parametrize(
    ("status", "error"), [(200, UnexpectedResponse), (400, InvalidRequest), (503, ServerError)]
)
def test_json_nested_too_deep_is_unreadable_not_a_crash(
    rsps: responses.RequestsMock, client: VPSOrgClient, status: int, error: type[VPSOrgError]
) -> None:
    # json.loads raises RecursionError here, which is no ValueError.
    rsps.get(SERVER, body="[" * 100_000, status=status, content_type="application/json")
    with pytest.raises(error) as info:
        client.get_server(12345)
    assert info.value.status == status


def test_a_number_too_large_for_a_float_is_dropped_not_a_crash(
    rsps: responses.RequestsMock, client: VPSOrgClient
) -> None:
    huge = "9" * 400
    body = f'{{"id": 12345, "status": "active", "resource_usage": {{"cpu_percent": {huge}}}}}'
    rsps.get(SERVER, body=body, content_type="application/json")
    server = client.get_server(12345)
    assert server.resource_usage is not None
    assert server.resource_usage.cpu_percent is None


def test_server_lacking_id(rsps: responses.RequestsMock, client: VPSOrgClient) -> None:
    rsps.get(SERVER, json={"name": "web-server-01", "status": "active"})
    with pytest.raises(UnexpectedResponse) as info:
        client.get_server(12345)
    assert isinstance(info.value.__cause__, ValueError)


def test_create_unreadable_warns_it_may_have_happened(
    rsps: responses.RequestsMock, client: VPSOrgClient
) -> None:
    rsps.post(SERVERS, status=201, json={"status": "provisioning"})
    with pytest.raises(UnexpectedResponse) as info:
        client.create_server(name="a", plan_id=1, os_id=5, location="us-west")
    assert "may have been applied" in info.value.message


@pytest.mark.parametrize(
    "body",
    [
        {"count": 2},
        {"count": 1, "results": {"id": 1}},
        {"results": [1, 2]},
        {"results": [{"id": 1}, "x"]},
        {"results": [{"id": 1}, {"name": "no id"}]},
        {"results": [], "next": 42},
        "text",
        None,
    ],
)
def test_list_wrong_shapes(rsps: responses.RequestsMock, client: VPSOrgClient, body: Any) -> None:
    if body is None:
        rsps.get(SERVERS, status=200, body="")
    else:
        rsps.get(SERVERS, json=body)
    with pytest.raises(UnexpectedResponse):
        client.list_servers()


def test_action_result_not_an_object(rsps: responses.RequestsMock, client: VPSOrgClient) -> None:
    rsps.post(f"{SERVER}stop/", json=["ok"])
    with pytest.raises(UnexpectedResponse):
        client.stop_server(12345)


def test_account_not_an_object(rsps: responses.RequestsMock, client: VPSOrgClient) -> None:
    rsps.get(f"{API}/account/me/", body="OK", content_type="text/plain")
    with pytest.raises(UnexpectedResponse):
        client.get_account()


@pytest.mark.parametrize("status", [301, 302, 307, 405, 409, 418, 422])
def test_unexpected_status(
    rsps: responses.RequestsMock,
    client: VPSOrgClient,
    caplog: pytest.LogCaptureFixture,
    status: int,
) -> None:
    rsps.get(SERVER, status=status, headers={"Location": "https://evil.example/steal/"})
    with pytest.raises(UnexpectedResponse) as info:
        client.get_server(12345)
    assert info.value.status == status
    assert str(status) in info.value.message
    assert len(rsps.calls) == 1  # a redirect is never followed
    assert_no_token(info.value, caplog)


def test_long_detail_is_truncated_and_flattened(
    rsps: responses.RequestsMock, client: VPSOrgClient
) -> None:
    rsps.get(SERVER, status=404, json={"detail": "line\n" * 200, "debug": "internal"})
    with pytest.raises(NotFound) as info:
        client.get_server(12345)
    assert len(info.value.message) <= 300
    assert "\n" not in info.value.message
    assert "internal" not in info.value.message


def test_detail_echoing_the_token_is_redacted(
    rsps: responses.RequestsMock, client: VPSOrgClient, caplog: pytest.LogCaptureFixture
) -> None:
    rsps.post(
        SERVERS,
        status=400,
        json={"detail": f"Token {TOKEN} is odd", "name": [f"bad {TOKEN}"]},
    )
    with pytest.raises(InvalidRequest) as info:
        client.create_server(name="a", plan_id=1, os_id=5, location="us-west")
    assert_no_token(info.value, caplog)
    assert TOKEN not in repr(info.value.field_errors)
    assert info.value.message == "Token *** is odd"


def test_message_key_and_bare_list_bodies(
    rsps: responses.RequestsMock, client: VPSOrgClient
) -> None:
    rsps.post(f"{SERVER}start/", status=400, json={"message": "Server is already running."})
    rsps.post(f"{SERVER}stop/", status=400, json=["Server is not running."])
    with pytest.raises(InvalidRequest) as started:
        client.start_server(12345)
    with pytest.raises(InvalidRequest) as stopped:
        client.stop_server(12345)
    assert started.value.message == "Server is already running."
    assert stopped.value.message == "Server is not running."


# ---------------------------------------------------------------------------
# Pagination
# ---------------------------------------------------------------------------


def _server(n: int) -> dict[str, Any]:
    return {"id": n, "name": f"s-{n}", "status": "active"}


def test_pagination_follows_next_across_three_pages(rsps: responses.RequestsMock) -> None:
    # One page after the other (list_concurrency=1): the order of the calls is pinned.
    # The concurrent fetch of predictable pages is tested in test_client_pages.py.
    client = VPSOrgClient(TOKEN, list_concurrency=1)
    page2 = f"{SERVERS}?page=2&page_size=100&status=active"
    page3 = f"{SERVERS}?page=3&page_size=100&status=active"
    rsps.get(
        SERVERS,
        json={"count": 5, "next": page2, "previous": None, "results": [_server(1), _server(2)]},
        match=[matchers.query_param_matcher({"page_size": "100", "status": "active"})],
    )
    rsps.get(
        SERVERS,
        json={"count": 5, "next": page3, "results": [_server(3), _server(4)]},
        match=[matchers.query_param_matcher({"page": "2", "page_size": "100", "status": "active"})],
    )
    rsps.get(
        SERVERS,
        json={"count": 5, "next": None, "results": [_server(5)]},
        match=[matchers.query_param_matcher({"page": "3", "page_size": "100", "status": "active"})],
    )
    servers = client.list_servers(status="active")
    assert [s.id for s in servers] == ["1", "2", "3", "4", "5"]
    assert len(rsps.calls) == 3
    for call in rsps.calls:
        assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert call.request.req_kwargs["timeout"] == (3.05, 10.0)
    assert rsps.calls[1].request.url == page2


def test_pagination_accepts_a_relative_next(
    rsps: responses.RequestsMock, client: VPSOrgClient
) -> None:
    rsps.get(
        SERVERS,
        json={"next": "/api/v1/servers/?page=2", "results": [_server(1)]},
        match=[matchers.query_param_matcher({"page_size": "100"})],
    )
    rsps.get(
        SERVERS,
        json={"results": [_server(2)]},
        match=[matchers.query_param_matcher({"page": "2"})],
    )
    assert [s.id for s in client.list_servers()] == ["1", "2"]


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/api/v1/servers/?page=2",
        "http://admin.vps.org:8080/api/v1/servers/?page=2",
        "http://user:pw@admin.vps.org/api/v1/servers/?page=2",
        "https://admin.vps.org:8443/api/v1/servers/?page=2",
        "https://user:pw@admin.vps.org/api/v1/servers/?page=2",
        "//evil.example/api/v1/servers/?page=2",
    ],
)
def test_pagination_refuses_a_foreign_next(
    rsps: responses.RequestsMock,
    client: VPSOrgClient,
    caplog: pytest.LogCaptureFixture,
    next_url: str,
) -> None:
    rsps.get(SERVERS, json={"count": 2, "next": next_url, "results": [_server(1)]})
    with pytest.raises(UnexpectedResponse) as info:
        client.list_servers()
    assert len(rsps.calls) == 1  # the foreign host is never asked
    assert "another host" in info.value.message
    assert_no_token(info.value, caplog)


@pytest.mark.parametrize(
    "next_url",
    [
        "http://admin.vps.org/api/v1/servers/?page=2",
        "http://Admin.VPS.org:80/api/v1/servers/?page=2",
    ],
)
def test_pagination_upgrades_an_http_next_of_the_same_host_to_https(
    rsps: responses.RequestsMock, client: VPSOrgClient, next_url: str
) -> None:
    # What DRF writes behind a TLS-terminating proxy that does not forward the scheme.
    rsps.get(
        SERVERS,
        json={"count": 2, "next": next_url, "results": [_server(1)]},
        match=[matchers.query_param_matcher({"page_size": "100"})],
    )
    rsps.get(
        SERVERS,
        json={"count": 2, "next": None, "results": [_server(2)]},
        match=[matchers.query_param_matcher({"page": "2"})],
    )
    assert [s.id for s in client.list_servers()] == ["1", "2"]
    assert all(call.request.url.startswith("https://admin.vps.org/") for call in rsps.calls)


@pytest.mark.parametrize(
    "next_url",
    [
        "https://admin.vps.org:abc/api/v1/servers/?page=2",
        "https://admin.vps.org:99999/api/v1/servers/?page=2",
        "http://[::1/api/v1/servers/?page=2",
    ],
)
def test_pagination_broken_next_link_is_unexpected_response(
    rsps: responses.RequestsMock, client: VPSOrgClient, next_url: str
) -> None:
    rsps.get(SERVERS, json={"count": 2, "next": next_url, "results": [_server(1)]})
    with pytest.raises(UnexpectedResponse):
        client.list_servers()
    assert len(rsps.calls) == 1


def test_pagination_same_origin_with_explicit_default_port(
    rsps: responses.RequestsMock, client: VPSOrgClient
) -> None:
    rsps.get(
        SERVERS,
        json={"next": "https://ADMIN.vps.org:443/api/v1/servers/?page=2", "results": []},
        match=[matchers.query_param_matcher({"page_size": "100"})],
    )
    rsps.get(
        "https://admin.vps.org:443/api/v1/servers/",
        json={"results": [_server(7)]},
        match=[matchers.query_param_matcher({"page": "2"})],
    )
    assert [s.id for s in client.list_servers()] == ["7"]


def test_pagination_page_cap_is_loud(rsps: responses.RequestsMock, sleeps: list[float]) -> None:
    c = VPSOrgClient(TOKEN, max_pages=2)
    rsps.get(
        SERVERS,
        json={"next": f"{SERVERS}?page=2", "results": [_server(1)]},
        match=[matchers.query_param_matcher({"page_size": "100"})],
    )
    rsps.get(
        SERVERS,
        json={"next": f"{SERVERS}?page=3", "results": [_server(2)]},
        match=[matchers.query_param_matcher({"page": "2"})],
    )
    with pytest.raises(UnexpectedResponse) as info:
        c.list_servers()
    assert "more than 2 pages" in info.value.message
    assert len(rsps.calls) == 2


def test_pagination_exactly_at_the_cap_is_fine(rsps: responses.RequestsMock) -> None:
    c = VPSOrgClient(TOKEN, max_pages=1)
    rsps.get(SERVERS, json={"next": None, "results": [_server(1)]})
    assert len(c.list_servers()) == 1


def test_pagination_slow_on_every_page_stops_within_two_timeouts(
    rsps: responses.RequestsMock,
) -> None:
    # Each page answers just under the timeout: without a budget for the whole list,
    # ten such pages would keep a panel request waiting ten timeouts.
    now = [0.0]
    c = VPSOrgClient(TOKEN, timeout=1)
    c._clock = lambda: now[0]

    def page(request: Any) -> tuple[int, dict[str, str], str]:
        now[0] += 0.8
        number = int(request.params.get("page", "1"))
        body = {"next": f"{SERVERS}?page={number + 1}", "results": [_server(number)]}
        return 200, {}, json.dumps(body)

    rsps.add_callback(responses.GET, SERVERS, callback=page)
    with pytest.raises(Unavailable):
        c.list_servers()
    # 0.8 + 0.8, then the third page may only take what is left of 2 x 1 s.
    assert len(rsps.calls) == 3
    assert rsps.calls[2].request.req_kwargs["timeout"] == pytest.approx((0.4, 0.4))
    assert now[0] <= 2.0 + 0.8


def test_bare_list_answer_is_tolerated(rsps: responses.RequestsMock, client: VPSOrgClient) -> None:
    rsps.get(f"{API}/plans/", json=[PLAN_EXAMPLE])
    rsps.get(SERVERS, json=[_server(1), _server(2)])
    assert [p.id for p in client.list_plans()] == [1]
    assert [s.id for s in client.list_servers()] == ["1", "2"]


def test_error_on_a_later_page_propagates(
    rsps: responses.RequestsMock, client: VPSOrgClient
) -> None:
    rsps.get(
        SERVERS,
        json={"next": f"{SERVERS}?page=2", "results": [_server(1)]},
        match=[matchers.query_param_matcher({"page_size": "100"})],
    )
    rsps.get(
        SERVERS,
        status=401,
        json={"detail": "Invalid token."},
        match=[matchers.query_param_matcher({"page": "2"})],
    )
    with pytest.raises(Unauthorized):
        client.list_servers()


# ---------------------------------------------------------------------------
# Logging
# ---------------------------------------------------------------------------


def test_one_info_line_per_call(
    rsps: responses.RequestsMock, client: VPSOrgClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="servers.client")
    rsps.get(SERVERS, json=LIST_EXAMPLE)
    client.list_servers(status="active")
    records = [r for r in caplog.records if r.name == "servers.client"]
    assert len(records) == 1
    line = records[0].getMessage()
    assert records[0].levelno == logging.INFO
    assert line.startswith("VPS.org GET /api/v1/servers/ -> 200 in ")
    assert line.endswith(" ms")
    assert "status=active" not in line  # no query string in the log
    assert TOKEN not in caplog.text


def test_failures_are_logged_with_the_error_class(
    rsps: responses.RequestsMock, client: VPSOrgClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rsps.get(SERVER, body=requests.exceptions.ConnectTimeout("connect timed out"))
    rsps.post(f"{SERVER}start/", status=402, json={"detail": "No credits."})
    with pytest.raises(Unavailable):
        client.get_server(12345)
    with pytest.raises(PaymentRequired):
        client.start_server(12345)
    lines = [r.getMessage() for r in caplog.records if r.name == "servers.client"]
    assert len(lines) == 4
    assert "GET /api/v1/servers/12345/ -> ConnectTimeout" in lines[0]
    assert "(retry 2)" in lines[2]
    assert "POST /api/v1/servers/12345/start/ -> 402" in lines[3]
    assert TOKEN not in caplog.text


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, InvalidRequest),
        (401, Unauthorized),
        (402, PaymentRequired),
        (403, Forbidden),
        (404, NotFound),
        (429, RateLimited),
        (500, ServerError),
        (503, ServerError),
        (409, UnexpectedResponse),
    ],
)
def test_token_absent_everywhere_on_every_status(
    rsps: responses.RequestsMock,
    client: VPSOrgClient,
    caplog: pytest.LogCaptureFixture,
    status: int,
    error: type[VPSOrgError],
) -> None:
    caplog.set_level(logging.DEBUG)
    rsps.patch(SERVER, status=status, json={"detail": "x"})
    with pytest.raises(error) as info:
        client.patch_server(12345, name="y")
    assert isinstance(info.value, VPSOrgError)
    assert_no_token(info.value, caplog)
