"""The API client against the running sandbox, over real HTTP: one test per endpoint,
plus the failures the sandbox can inject."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from sandbox import start_sandbox
from servers import client as vpsorg

TOKEN = "integration-token-1"
READ_TOKEN = "integration-read-only"


@pytest.fixture
def running() -> Iterator[object]:
    with start_sandbox(
        tokens=(TOKEN,), read_tokens=(READ_TOKEN,), transition_seconds=0.3, credits=30.0
    ) as sandbox:
        yield sandbox


@pytest.fixture
def api(running: object) -> vpsorg.VPSOrgClient:
    return vpsorg.VPSOrgClient(TOKEN, base_url=running.api_url, timeout=2)


def faults(running: object, **settings: object) -> None:
    requests.post(f"{running.url}/_sandbox/faults", json=settings, timeout=2).raise_for_status()


def wait_for_status(api: vpsorg.VPSOrgClient, server_id: str, status: str) -> vpsorg.Server:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        server = api.get_server(server_id)
        if server.status == status:
            return server
        time.sleep(0.05)
    raise AssertionError(f"{server_id} never became {status}")


def test_list_servers_follows_every_page() -> None:
    with start_sandbox(tokens=(TOKEN,), credits=10_000.0) as big:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        for n in range(100):  # with the seed, more than one page of 100
            body = {"name": f"bulk-{n}", "plan_id": 3, "os_id": 5, "location": "us-east"}
            session.post(f"{big.api_url}/servers/", json=body, timeout=2).raise_for_status()
        first_page = session.get(f"{big.api_url}/servers/?page_size=100", timeout=2).json()
        assert first_page["next"] and first_page["count"] > 100

        servers = vpsorg.VPSOrgClient(TOKEN, base_url=big.api_url).list_servers()

    assert len(servers) == first_page["count"]
    assert len({s.id for s in servers}) == len(servers)
    assert {"12345", "12346"} <= {s.id for s in servers}


def test_list_servers_filters(api: vpsorg.VPSOrgClient) -> None:
    active = api.list_servers(status="active")
    assert active and all(s.status == "active" for s in active)
    west_stopped = api.list_servers(status="stopped", location="us-west")
    assert all(s.status == "stopped" and s.location == "us-west" for s in west_stopped)
    assert {s.status for s in api.list_servers()} >= {"active", "stopped", "suspended"}


def test_get_server_has_every_documented_field(api: vpsorg.VPSOrgClient) -> None:
    server = api.get_server(12345)
    assert server.name == "web-server-01"
    assert server.ip_address == "203.0.113.10"
    assert server.ipv6_address
    assert server.plan is not None and server.plan.bandwidth
    assert server.os is not None and server.os.name == "Ubuntu 22.04 LTS"
    assert server.resource_usage is not None
    assert server.backups_enabled is not None
    assert server.created_at is not None and server.updated_at is not None


def test_get_unknown_server_is_not_found(api: vpsorg.VPSOrgClient) -> None:
    with pytest.raises(vpsorg.NotFound):
        api.get_server(99999999)


def test_create_provisions_then_becomes_active_with_an_ip(api: vpsorg.VPSOrgClient) -> None:
    server = api.create_server(
        name="web-server-02",
        plan_id=1,
        os_id=5,
        location="us-west",
        hostname="web02.example.com",
        backups_enabled=True,
    )
    assert server.status == "provisioning"
    assert server.ip_address is None
    assert server.message
    settled = wait_for_status(api, server.id, "active")
    assert settled.ip_address


def test_create_invalid_fields_are_reported_per_field(api: vpsorg.VPSOrgClient) -> None:
    with pytest.raises(vpsorg.InvalidRequest) as caught:
        api.create_server(
            name="bad name!", plan_id=1, os_id=5, location="us-west", hostname="not a host"
        )
    assert "name" in caught.value.field_errors
    assert "hostname" in caught.value.field_errors


def test_create_without_credits_is_payment_required(api: vpsorg.VPSOrgClient) -> None:
    # 30 credits: two plan-2 servers (20.00 a month each) cannot both be paid for.
    with pytest.raises(vpsorg.PaymentRequired):
        for n in range(3):
            api.create_server(name=f"perf-{n}", plan_id=2, os_id=3, location="us-east")


def test_update_and_patch(api: vpsorg.VPSOrgClient) -> None:
    updated = api.update_server(
        12345, name="web-server-updated", hostname="web-updated.example.com", backups_enabled=False
    )
    assert updated.name == "web-server-updated"
    assert updated.hostname == "web-updated.example.com"
    assert updated.backups_enabled is False
    patched = api.patch_server(12345, name="new-server-name")
    assert patched.name == "new-server-name"
    assert patched.hostname == "web-updated.example.com"


def test_delete_then_gone(api: vpsorg.VPSOrgClient) -> None:
    api.delete_server(12346)
    with pytest.raises(vpsorg.NotFound):
        api.get_server(12346)
    with pytest.raises(vpsorg.NotFound):
        api.delete_server(12346)


def test_power_cycle(api: vpsorg.VPSOrgClient) -> None:
    result = api.stop_server(12345)
    assert result.server.status == "stopping"
    wait_for_status(api, "12345", "stopped")
    with pytest.raises(vpsorg.InvalidRequest):
        api.reboot_server(12345)  # not running
    assert api.start_server(12345).server.status == "starting"
    wait_for_status(api, "12345", "active")
    with pytest.raises(vpsorg.InvalidRequest):
        api.start_server(12345)  # already running
    assert api.reboot_server(12345).server.status == "rebooting"
    wait_for_status(api, "12345", "active")


def test_plans_and_account(api: vpsorg.VPSOrgClient) -> None:
    plans = api.list_plans()
    assert {p.id for p in plans} >= {1, 2, 3}
    eu = api.list_plans(location="eu-central")
    assert eu and all("eu-central" in p.locations for p in eu)
    assert api.get_plan(1).name == "Standard VPS"
    account = api.get_account()
    assert account.email
    assert account.token_permissions


def test_bad_token_is_unauthorized(running: object) -> None:
    with pytest.raises(vpsorg.Unauthorized):
        vpsorg.VPSOrgClient("wrong", base_url=running.api_url).list_servers()


def test_read_only_token_cannot_write(running: object) -> None:
    reader = vpsorg.VPSOrgClient(READ_TOKEN, base_url=running.api_url)
    assert reader.list_servers()
    with pytest.raises(vpsorg.Forbidden):
        reader.create_server(name="nope", plan_id=1, os_id=5, location="us-west")


def test_injected_faults_map_to_the_error_classes(
    api: vpsorg.VPSOrgClient, running: object
) -> None:
    faults(running, fail_next=1, fail_with="malformed")
    with pytest.raises(vpsorg.UnexpectedResponse):
        api.get_server(12345)
    faults(running, fail_next=1, fail_with="429")
    with pytest.raises(vpsorg.RateLimited) as limited:
        api.get_server(12345)
    assert limited.value.retry_after is not None
    faults(running, fail_next=1, fail_with="500")
    with pytest.raises(vpsorg.ServerError):
        api.stop_server(12345)
    # A GET rides out one 503 by retrying; a POST is never retried.
    faults(running, fail_next=1, fail_with="503")
    assert api.get_server(12345).id == "12345"
    faults(running, fail_next=1, fail_with="drop")
    with pytest.raises(vpsorg.Unavailable):
        api.reboot_server(12345)


def test_slow_upstream_times_out(running: object) -> None:
    faults(running, latency=1.0)
    impatient = vpsorg.VPSOrgClient(TOKEN, base_url=running.api_url, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(vpsorg.Unavailable):
        impatient.get_server(12345)
    assert time.monotonic() - started < 1.0


def test_dripping_upstream_ends_at_the_deadline(running: object) -> None:
    # One byte every 0.2 s never trips a 1 s read timeout; the call's deadline does.
    client = vpsorg.VPSOrgClient(TOKEN, base_url=running.api_url, timeout=1)
    faults(running, drip_rate=1, drip_interval=0.2)
    for call, deadline in (
        (lambda: client.get_server(12345), 1.0),
        (client.list_servers, 2.0),
        (lambda: client.reboot_server(12345), 1.0),
    ):
        started = time.monotonic()
        with pytest.raises(vpsorg.Unavailable) as info:
            call()
        took = time.monotonic() - started
        assert "did not answer in time" in info.value.message
        assert deadline - 0.05 <= took < deadline + 0.5
    assert "may or may not have been applied" in info.value.message


def test_a_slow_drip_that_finishes_in_time_is_an_answer(running: object) -> None:
    faults(running, fail_next=1, fail_with="drip", drip_interval=0.0005)
    client = vpsorg.VPSOrgClient(TOKEN, base_url=running.api_url, timeout=5)
    started = time.monotonic()
    server = client.get_server(12345)
    assert server.name == "web-server-01"
    assert time.monotonic() - started >= 0.2  # it did drip: about a thousand bytes
