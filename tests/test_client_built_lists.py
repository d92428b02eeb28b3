"""A list read again that comes back the same, item for item, gives the servers built from
it before (servers.client._built_list); any difference builds them anew."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import responses

from servers import client as vpsorg
from servers.client import Server, UnexpectedResponse, VPSOrgClient

TOKEN = "vps_built-lists-T0KEN-1234"
API = "https://admin.vps.org/api/v1"
SERVERS = f"{API}/servers/"


def _item(n: int, **overrides: Any) -> dict[str, Any]:
    item = {
        "id": n,
        "name": f"web-{n:02d}",
        "status": "active",
        "location": "us-west",
        "plan": {"id": 1, "name": "Standard VPS", "vcpus": 2, "memory": 4096, "storage": 80},
        "os": {"id": 5, "name": "Ubuntu 22.04 LTS"},
        "created_at": "2025-01-10T14:30:00Z",
    }
    item.update(overrides)
    return item


def _page(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"count": len(items), "next": None, "previous": None, "results": items}


@pytest.fixture
def builds(monkeypatch) -> Iterator[list[str]]:
    """The ids of the servers built from their items."""
    built: list[str] = []
    real = Server.from_api.__func__

    def counted(cls, data, shared=None):
        built.append(str(data.get("id")))
        return real(cls, data, shared)

    monkeypatch.setattr(Server, "from_api", classmethod(counted))
    vpsorg._BUILT_LISTS.clear()
    yield built
    vpsorg._BUILT_LISTS.clear()


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


def test_the_same_items_give_the_servers_built_before(rsps, builds) -> None:
    rsps.get(SERVERS, json=_page([_item(1), _item(2)]))
    client = VPSOrgClient(TOKEN, base_url=API)
    first = client.list_servers()
    second = client.list_servers()
    assert builds == ["1", "2"]
    assert second == first and second is not first  # each caller its own list
    second.append(Server(id="3"))
    assert len(client.list_servers()) == 2


def test_a_difference_in_any_item_builds_them_anew(rsps, builds) -> None:
    rsps.get(SERVERS, json=_page([_item(1), _item(2)]))
    rsps.get(SERVERS, json=_page([_item(1), _item(2, status="stopped")]))
    rsps.get(SERVERS, json=_page([_item(1), _item(2, os={"id": 3, "name": "Debian 12"})]))
    client = VPSOrgClient(TOKEN, base_url=API)
    client.list_servers()
    stopped = client.list_servers()
    debian = client.list_servers()
    assert builds == ["1", "2"] * 3
    assert stopped[1].status == "stopped" and stopped[1].os.name == "Ubuntu 22.04 LTS"
    assert debian[1].status == "active" and debian[1].os.name == "Debian 12"


def test_a_list_that_cannot_be_built_is_not_kept(rsps, builds) -> None:
    rsps.get(SERVERS, json=_page([_item(1), _item(2, id=None)]))
    client = VPSOrgClient(TOKEN, base_url=API)
    for _ in range(2):
        with pytest.raises(UnexpectedResponse):
            client.list_servers()
    assert vpsorg._BUILT_LISTS == {}


def test_the_memory_is_bounded(rsps, builds, monkeypatch) -> None:
    monkeypatch.setattr(vpsorg, "BUILT_LISTS_SIZE", 2)
    client = VPSOrgClient(TOKEN, base_url=API)
    for n in range(1, 4):
        rsps.get(SERVERS, json=_page([_item(n)]))
        client.list_servers()
    assert len(vpsorg._BUILT_LISTS) <= 2


@pytest.fixture
def parses(monkeypatch) -> Iterator[list[str]]:
    """The paths of the answers parsed from JSON."""
    parsed: list[str] = []
    real = requests.Response.json

    def counted(self, **kwargs):
        parsed.append(urlsplit(self.url).path)
        return real(self, **kwargs)

    monkeypatch.setattr(requests.Response, "json", counted)
    vpsorg._PARSED_PAGES.clear()
    yield parsed
    vpsorg._PARSED_PAGES.clear()


def test_a_byte_identical_list_page_is_parsed_once(rsps, builds, parses) -> None:
    rsps.get(SERVERS, json=_page([_item(1), _item(2)]))
    rsps.get(f"{SERVERS}1/", json=_item(1))
    client = VPSOrgClient(TOKEN, base_url=API)
    assert client.list_servers() == client.list_servers()
    client.get_server(1)
    client.get_server(1)
    # A detail's caller may keep or change what it gets: it is parsed each time.
    assert parses == ["/api/v1/servers/", "/api/v1/servers/1/", "/api/v1/servers/1/"]


def test_another_answer_is_parsed(rsps, builds, parses) -> None:
    rsps.get(SERVERS, json=_page([_item(1)]))
    rsps.get(SERVERS, json=_page([_item(1, name="renamed")]))
    client = VPSOrgClient(TOKEN, base_url=API)
    assert client.list_servers()[0].name == "web-01"
    assert client.list_servers()[0].name == "renamed"
    assert len(parses) == 2
