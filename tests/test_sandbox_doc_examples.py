"""The documentation's own Python examples, run as written against the sandbox.

Only the origin differs (the sandbox's instead of https://admin.vps.org): the sandbox
is configured with the documentation's placeholder token, so the snippets' headers work
unchanged. Each snippet ends in the status code and, where the documentation shows one,
the answer it documents.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from sandbox import start_sandbox
from tests.vpsorg_docs import CREATE_EXAMPLE, DETAIL_EXAMPLE, LIST_EXAMPLE

HEADERS = {
    "Authorization": "Bearer YOUR_API_TOKEN",
    "Content-Type": "application/json",
}


@pytest.fixture
def host() -> Iterator[str]:
    with start_sandbox(tokens=("YOUR_API_TOKEN",), transition_seconds=0.1) as running:
        yield running.url


def force(sandbox_url: str, server_id: int, status: str) -> None:
    url = f"{sandbox_url}/_sandbox/servers/{server_id}/status"
    requests.post(url, json={"status": status}, timeout=5).raise_for_status()


def test_list_servers(host: str) -> None:
    url = f"{host}/api/v1/servers/"
    headers = HEADERS

    response = requests.get(url, headers=headers, timeout=5)

    assert response.status_code == 200
    body = response.json()
    # The example reads one page: the default 20 of the sandbox's 24, and `next` leads on.
    assert body["count"] == 24
    assert len(body["results"]) == 20
    assert body["previous"] is None
    assert body["next"] == f"{url}?page=2"
    rest = requests.get(body["next"], headers=headers, timeout=5).json()
    assert rest["next"] is None
    assert len(body["results"]) + len(rest["results"]) == body["count"]
    assert body["results"][:2] == LIST_EXAMPLE["results"]


def test_create_server(host: str) -> None:
    url = f"{host}/api/v1/servers/"
    headers = HEADERS
    data = {
        "name": "web-server-02",
        "plan_id": 1,
        "os_id": 5,
        "location": "us-west",
        "hostname": "web02.example.com",
        "backups_enabled": True,
    }

    response = requests.post(url, headers=headers, json=data, timeout=5)

    assert response.status_code == 201
    server = response.json()
    created_at = server.pop("created_at")
    assert server.pop("updated_at") == created_at
    # Everything but the timestamps exactly as the documentation's create example.
    documented = {k: v for k, v in CREATE_EXAMPLE.items() if k not in ("created_at", "updated_at")}
    assert server == documented


def test_get_server(host: str) -> None:
    server_id = 12345
    url = f"{host}/api/v1/servers/{server_id}/"
    headers = HEADERS

    response = requests.get(url, headers=headers, timeout=5)

    assert response.status_code == 200
    server = response.json()
    usage = server.pop("resource_usage")
    assert set(usage) == {"cpu_percent", "memory_used", "disk_used", "bandwidth_used"}
    # The documentation's detail example gives another updated_at than its list example.
    assert server.pop("updated_at") == "2025-01-15T10:20:00Z"
    # Everything else exactly as the documentation's detail example.
    documented = {
        k: v for k, v in DETAIL_EXAMPLE.items() if k not in ("resource_usage", "updated_at")
    }
    assert server == documented


def test_update_server(host: str) -> None:
    server_id = 12345
    url = f"{host}/api/v1/servers/{server_id}/"
    headers = HEADERS
    data = {
        "name": "web-server-updated",
        "hostname": "web-updated.example.com",
        "backups_enabled": True,
    }

    response = requests.put(url, headers=headers, json=data, timeout=5)

    assert response.status_code == 200
    server = response.json()
    assert server["id"] == 12345
    assert server["name"] == "web-server-updated"
    assert server["hostname"] == "web-updated.example.com"
    assert server["backups_enabled"] is True


def test_partially_update_server(host: str) -> None:
    server_id = 12345
    url = f"{host}/api/v1/servers/{server_id}/"
    headers = HEADERS
    data = {"name": "new-server-name"}

    response = requests.patch(url, headers=headers, json=data, timeout=5)

    assert response.status_code == 200
    server = response.json()
    assert server["name"] == "new-server-name"
    assert server["hostname"] == "web01.example.com"


def test_delete_server(host: str) -> None:
    server_id = 12345
    url = f"{host}/api/v1/servers/{server_id}/"
    headers = HEADERS

    response = requests.delete(url, headers=headers, timeout=5)

    assert response.status_code == 204
    assert requests.get(url, headers=headers, timeout=5).status_code == 404


def test_start_server(host: str) -> None:
    force(host, 12345, "stopped")  # the example starts a stopped server
    server_id = 12345
    url = f"{host}/api/v1/servers/{server_id}/start/"
    headers = HEADERS

    response = requests.post(url, headers=headers, timeout=5)

    assert response.status_code == 200
    assert response.json() == {
        "status": "success",
        "message": "Server is starting",
        "server": {"id": 12345, "name": "web-server-01", "status": "starting"},
    }
    # And the documented 400: starting a server that is already running.
    force(host, 12345, "active")
    assert requests.post(url, headers=headers, timeout=5).status_code == 400


def test_stop_server(host: str) -> None:
    server_id = 12345
    url = f"{host}/api/v1/servers/{server_id}/stop/"
    headers = HEADERS

    response = requests.post(url, headers=headers, timeout=5)

    assert response.status_code == 200
    assert response.json() == {
        "status": "success",
        "message": "Server is stopping",
        "server": {"id": 12345, "name": "web-server-01", "status": "stopping"},
    }


def test_reboot_server(host: str) -> None:
    server_id = 12345
    url = f"{host}/api/v1/servers/{server_id}/reboot/"
    headers = HEADERS

    response = requests.post(url, headers=headers, timeout=5)

    assert response.status_code == 200
    assert response.json() == {
        "status": "success",
        "message": "Server is rebooting",
        "server": {"id": 12345, "name": "web-server-01", "status": "rebooting"},
    }
    # And the documented 400: rebooting a server that is not running.
    force(host, 12345, "stopped")
    assert requests.post(url, headers=headers, timeout=5).status_code == 400


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/servers/"),
        ("post", "/api/v1/servers/"),
        ("get", "/api/v1/servers/12345/"),
        ("put", "/api/v1/servers/12345/"),
        ("patch", "/api/v1/servers/12345/"),
        ("delete", "/api/v1/servers/12345/"),
        ("post", "/api/v1/servers/12345/start/"),
        ("post", "/api/v1/servers/12345/stop/"),
        ("post", "/api/v1/servers/12345/reboot/"),
    ],
)
def test_every_endpoint_answers_401_to_a_wrong_token(host: str, method: str, path: str) -> None:
    headers = {**HEADERS, "Authorization": "Bearer NOT_YOUR_API_TOKEN"}
    response = requests.request(method, f"{host}{path}", headers=headers, timeout=5)
    assert response.status_code == 401


def test_create_documents_400_and_402(host: str) -> None:
    url = f"{host}/api/v1/servers/"
    bad = requests.post(url, headers=HEADERS, json={"name": "web server"}, timeout=5)
    assert bad.status_code == 400
    data = {"name": "big", "plan_id": 4, "os_id": 5, "location": "us-east"}
    codes = [
        requests.post(url, headers=HEADERS, json=data, timeout=5).status_code for _ in range(3)
    ]
    assert codes == [201, 201, 402]  # 100.00 of credits, 40.00 a server
