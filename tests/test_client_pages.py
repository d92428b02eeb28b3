"""The client's concurrent fetch of a list's pages: `responses` for what each page
answers, a real local server for what is truly in flight at once, and the sandbox for a
list of 1000 servers."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from sandbox import start_sandbox
from servers.client import (
    DEFAULT_LIST_CONCURRENCY,
    RateLimited,
    ServerError,
    Unauthorized,
    UnexpectedResponse,
    VPSOrgClient,
)
from tests.local_upstream import Answer, Request, client_threads, local_upstream, wait_until

TOKEN = "vps_pages-T0KEN-4242"
API = "https://admin.vps.org/api/v1"
SERVERS = f"{API}/servers/"


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


def _server(n: int, name: str | None = None) -> dict[str, Any]:
    return {"id": n, "name": name or f"s-{n}", "status": "active"}


def _page(
    number: int, ids: list[int], *, count: int, last: int, query: str = "page_size=100"
) -> dict[str, Any]:
    return {
        "count": count,
        "next": f"{SERVERS}?page={number + 1}&{query}" if number < last else None,
        "previous": None,
        "results": [_server(n) for n in ids],
    }


def _add_page(rsps: responses.RequestsMock, number: int, **kwargs: Any) -> None:
    wanted = {"page_size": "100"} if number == 1 else {"page": str(number), "page_size": "100"}
    rsps.get(SERVERS, match=[matchers.query_param_matcher(wanted)], **kwargs)


def _pages(rsps: responses.RequestsMock, per_page: int, count: int) -> None:
    last = -(-count // per_page)
    for number in range(1, last + 1):
        ids = list(range((number - 1) * per_page + 1, min(number * per_page, count) + 1))
        _add_page(rsps, number, json=_page(number, ids, count=count, last=last))


def test_default_concurrency_and_validation() -> None:
    assert VPSOrgClient(TOKEN).list_concurrency == DEFAULT_LIST_CONCURRENCY == 8
    assert VPSOrgClient(TOKEN, list_concurrency=1).list_concurrency == 1
    for bad in (0, -1, 17, 2.5, True, "4"):
        with pytest.raises(ValueError):
            VPSOrgClient(TOKEN, list_concurrency=bad)  # type: ignore[arg-type]


def test_pages_complete_and_in_order(rsps: responses.RequestsMock, client: VPSOrgClient) -> None:
    _pages(rsps, per_page=2, count=9)
    servers = client.list_servers()
    assert [s.id for s in servers] == [str(n) for n in range(1, 10)]
    assert len(rsps.calls) == 5
    for call in rsps.calls:
        assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
    asked = sorted(call.request.params.get("page", "1") for call in rsps.calls)
    assert asked == ["1", "2", "3", "4", "5"]


def test_filters_ride_along_on_every_predicted_page(
    rsps: responses.RequestsMock, client: VPSOrgClient
) -> None:
    query = "page_size=100&status=active&location=us-west"
    for number in (1, 2, 3):
        wanted = {"page_size": "100", "status": "active", "location": "us-west"}
        if number > 1:
            wanted["page"] = str(number)
        rsps.get(
            SERVERS,
            json=_page(number, [number], count=3, last=3, query=query),
            match=[matchers.query_param_matcher(wanted)],
        )
    servers = client.list_servers(status="active", location="us-west")
    assert [s.id for s in servers] == ["1", "2", "3"]


def test_a_server_on_two_pages_is_kept_once_the_first_time(
    rsps: responses.RequestsMock, client: VPSOrgClient
) -> None:
    # Another tool created a server between the reads: server 2 moved to page 2 as well.
    first = _page(1, [1, 2], count=4, last=2)
    second = _page(2, [2, 3], count=4, last=2)
    second["results"][0]["name"] = "moved"
    _add_page(rsps, 1, json=first)
    _add_page(rsps, 2, json=second)
    servers = client.list_servers()
    assert [(s.id, s.name) for s in servers] == [("1", "s-1"), ("2", "s-2"), ("3", "s-3")]


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        ({"status": 500, "json": {"detail": "boom"}}, ServerError),
        ({"status": 401, "json": {"detail": "Invalid token."}}, Unauthorized),
        ({"status": 200, "body": "{not json"}, UnexpectedResponse),
        ({"status": 200, "json": {"count": 6, "results": "nope"}}, UnexpectedResponse),
    ],
)
def test_any_page_failing_fails_the_list(
    rsps: responses.RequestsMock,
    client: VPSOrgClient,
    failure: dict[str, Any],
    error: type[Exception],
) -> None:
    rsps.assert_all_requests_are_fired = False
    _add_page(rsps, 1, json=_page(1, [1, 2], count=6, last=3))
    _add_page(rsps, 2, **failure)
    _add_page(rsps, 3, json=_page(3, [5, 6], count=6, last=3))
    with pytest.raises(error):
        client.list_servers()


def test_a_hole_in_the_middle_is_an_error_not_a_gap(
    rsps: responses.RequestsMock, client: VPSOrgClient
) -> None:
    _add_page(rsps, 1, json=_page(1, [1, 2], count=6, last=3))
    _add_page(rsps, 2, status=404, json={"detail": "Invalid page."})
    _add_page(rsps, 3, json=_page(3, [5, 6], count=6, last=3))
    with pytest.raises(UnexpectedResponse) as info:
        client.list_servers()
    assert info.value.status == 404


def test_a_list_that_shrank_stops_where_next_ends(
    rsps: responses.RequestsMock, client: VPSOrgClient
) -> None:
    # count said 3 pages; by the time page 2 was read, servers were deleted elsewhere.
    _add_page(rsps, 1, json=_page(1, [1, 2], count=6, last=3))
    _add_page(rsps, 2, json=_page(2, [3, 4], count=4, last=2))
    _add_page(rsps, 3, status=404, json={"detail": "Invalid page."})
    assert [s.id for s in client.list_servers()] == ["1", "2", "3", "4"]


def test_a_list_that_grew_is_followed_past_the_predicted_pages(
    rsps: responses.RequestsMock, client: VPSOrgClient
) -> None:
    _add_page(rsps, 1, json=_page(1, [1, 2], count=4, last=2))
    _add_page(rsps, 2, json=_page(2, [3, 4], count=5, last=3))
    _add_page(rsps, 3, json=_page(3, [5], count=5, last=3))
    assert [s.id for s in client.list_servers()] == ["1", "2", "3", "4", "5"]


def test_429_waits_retry_after_then_goes_one_page_at_a_time(
    rsps: responses.RequestsMock, client: VPSOrgClient, sleeps: list[float]
) -> None:
    _add_page(rsps, 1, json=_page(1, [1, 2], count=6, last=3))
    _add_page(rsps, 2, json=_page(2, [3, 4], count=6, last=3))
    _add_page(rsps, 3, status=429, headers={"Retry-After": "1"}, json={"detail": "slow"})
    _add_page(rsps, 3, json=_page(3, [5, 6], count=6, last=3))
    assert [s.id for s in client.list_servers()] == ["1", "2", "3", "4", "5", "6"]
    assert sleeps == [1.0]
    assert len(rsps.calls) == 4


@pytest.mark.parametrize("headers", [{}, {"Retry-After": "30"}])
def test_429_that_does_not_fit_the_budget_is_raised(
    rsps: responses.RequestsMock,
    client: VPSOrgClient,
    sleeps: list[float],
    headers: dict[str, str],
) -> None:
    # 30 s is more than the list's 2 x 10 s; without Retry-After there is nothing to wait.
    rsps.assert_all_requests_are_fired = False
    _add_page(rsps, 1, json=_page(1, [1, 2], count=4, last=2))
    _add_page(rsps, 2, status=429, headers=headers, json={"detail": "slow"})
    with pytest.raises(RateLimited) as info:
        client.list_servers()
    assert info.value.retry_after == (30.0 if headers else None)
    assert sleeps == []


def test_a_second_429_after_waiting_is_raised(
    rsps: responses.RequestsMock, client: VPSOrgClient, sleeps: list[float]
) -> None:
    _add_page(rsps, 1, json=_page(1, [1, 2], count=4, last=2))
    _add_page(rsps, 2, status=429, headers={"Retry-After": "1"}, json={"detail": "slow"})
    with pytest.raises(RateLimited):
        client.list_servers()
    assert sleeps == [1.0]
    assert len(rsps.calls) == 3


@pytest.mark.parametrize(
    "first",
    [
        # No count: nothing to predict with.
        {"next": f"{SERVERS}?page=2&page_size=100", "results": [_server(1)]},
        {"count": "3", "next": f"{SERVERS}?page=2&page_size=100", "results": [_server(1)]},
        # A cursor, or an offset, cannot be predicted.
        {"count": 3, "next": f"{SERVERS}?cursor=cD0y&page_size=100", "results": [_server(1)]},
        {"count": 3, "next": f"{SERVERS}?limit=1&offset=1", "results": [_server(1)]},
    ],
)
def test_unpredictable_pages_are_followed_one_after_the_other(
    rsps: responses.RequestsMock, client: VPSOrgClient, first: dict[str, Any]
) -> None:
    order: list[str] = []

    def later(request: Any) -> tuple[int, dict[str, str], str]:
        order.append(request.url)
        seen = len(order)
        body = {
            "next": f"{SERVERS}?cursor=n{seen}" if seen < 2 else None,
            "results": [_server(seen + 1)],
        }
        return 200, {}, json.dumps(body)

    rsps.get(SERVERS, json=first, match=[matchers.query_param_matcher({"page_size": "100"})])
    rsps.add_callback(responses.GET, SERVERS, callback=later)
    assert [s.id for s in client.list_servers()] == ["1", "2", "3"]
    assert order[0] == first["next"]
    assert order[1] == f"{SERVERS}?cursor=n1"


def test_page_cap_is_known_from_the_count_before_asking(
    rsps: responses.RequestsMock,
) -> None:
    c = VPSOrgClient(TOKEN, max_pages=3)
    _add_page(rsps, 1, json=_page(1, [1, 2], count=7, last=4))
    with pytest.raises(UnexpectedResponse) as info:
        c.list_servers()
    assert "more than 3 pages" in info.value.message
    assert len(rsps.calls) == 1


def test_predicted_pages_are_checked_for_the_same_origin(
    rsps: responses.RequestsMock, client: VPSOrgClient
) -> None:
    first = {"count": 4, "next": "https://evil.example/api/v1/servers/?page=2", "results": [1]}
    rsps.get(SERVERS, json=first)
    with pytest.raises(UnexpectedResponse) as info:
        client.list_servers()
    assert "another host" in info.value.message
    assert len(rsps.calls) == 1


def test_plans_share_the_concurrent_pages(
    rsps: responses.RequestsMock, client: VPSOrgClient
) -> None:
    plans = f"{API}/plans/"
    for number in (1, 2, 3):
        query = {"page_size": "100"} if number == 1 else {"page": str(number), "page_size": "100"}
        rsps.get(
            plans,
            json={
                "count": 3,
                "next": f"{plans}?page={number + 1}&page_size=100" if number < 3 else None,
                "results": [{"id": number, "name": f"p{number}"}],
            },
            match=[matchers.query_param_matcher(query)],
        )
    assert [p.id for p in client.list_plans()] == [1, 2, 3]


# -- over real sockets ------------------------------------------------------------------


def _numbered(count: int, per_page: int, delay: float) -> Any:
    def route(request: Request) -> Answer:
        number = int(request.query.get("page", ["1"])[0])
        last = -(-count // per_page)
        ids = range((number - 1) * per_page + 1, min(number * per_page, count) + 1)
        body = {
            "count": count,
            "next": f"/api/v1/servers/?page={number + 1}&page_size=100" if number < last else None,
            "previous": None,
            "results": [_server(n) for n in ids],
        }
        return Answer(body=body, delay=delay)

    return route


@pytest.mark.parametrize("concurrency", [1, 3, 5])
def test_the_concurrency_bound_holds_in_flight(concurrency: int) -> None:
    before = client_threads()
    with local_upstream(_numbered(count=100, per_page=10, delay=0.1)) as upstream:
        session = requests.Session()
        client = VPSOrgClient(
            TOKEN, base_url=upstream.url, timeout=5, list_concurrency=concurrency, session=session
        )
        started = time.monotonic()
        servers = client.list_servers()
        took = time.monotonic() - started
        assert [s.id for s in servers] == [str(n) for n in range(1, 101)]
        assert upstream.max_in_flight == concurrency
        # Keep-alive: no more connections than pages in flight at once, and a second list
        # reuses them all.
        assert upstream.connections <= concurrency
        client.list_servers()
        assert upstream.connections <= concurrency
        session.close()
    # 1 page, then 9 more at `concurrency` at a time, 0.1 s each.
    assert took < 0.1 * (1 + -(-9 // concurrency)) + 0.5
    assert wait_until(lambda: client_threads() <= before)
    assert not [t for t in threading.enumerate() if t.name.startswith("vpsorg-page")]


def test_a_failing_page_cancels_the_pages_not_yet_asked() -> None:
    slow = _numbered(count=100, per_page=10, delay=0.5)

    def route(request: Request) -> Answer:
        if request.query.get("page") == ["2"]:
            return Answer(status=401, body={"detail": "Invalid token."})
        return slow(request)

    with local_upstream(route) as upstream:
        client = VPSOrgClient(TOKEN, base_url=upstream.url, timeout=5, list_concurrency=2)
        with pytest.raises(Unauthorized):
            client.list_servers()
        client.close()
        # Page 1, then pages 2 and 3 together; 2 fails at once, so 4 to 10 are never asked
        # (one of them may have started in the instant before the failure was seen).
        assert len(upstream.requests) <= 4


# -- the sandbox with 1000 servers ------------------------------------------------------


SANDBOX_TOKEN = "pages-sandbox-token"


@pytest.fixture(scope="module")
def thousand() -> Iterator[Any]:
    with start_sandbox(
        tokens=(SANDBOX_TOKEN,), credits=1_000_000.0, transition_seconds=0.01
    ) as sandbox:
        token = sandbox.state.authenticate(SANDBOX_TOKEN)
        existing = len(sandbox.state.list_servers(token))
        for n in range(1000 - existing):
            body = {"name": f"bulk-{n}", "plan_id": 1, "os_id": 5, "location": "us-east"}
            sandbox.state.create_server(token, body)
        yield sandbox


@pytest.mark.parametrize("concurrency", [1, 4])
def test_thousand_servers_from_the_sandbox(thousand: Any, concurrency: int) -> None:
    thousand.requests.reset()
    client = VPSOrgClient(
        SANDBOX_TOKEN, base_url=thousand.api_url, timeout=5, list_concurrency=concurrency
    )
    servers = client.list_servers()
    client.close()
    token = thousand.state.authenticate(SANDBOX_TOKEN)
    expected = [str(item["id"]) for item in thousand.state.list_servers(token)]
    assert len(servers) == 1000
    assert [s.id for s in servers] == expected
    assert thousand.requests.snapshot()["by_endpoint"] == {"GET /api/v1/servers/": 10}


def test_thousand_servers_concurrently_is_faster_with_latency(thousand: Any) -> None:
    # 100 ms a page, so that the round trips, not the sandbox's own serialising of the
    # pages (one process; slow on a slow machine), are what the list waits for.
    latency = 0.1
    thousand.faults.update({"latency": latency})
    try:
        timings: dict[int, float] = {}
        for concurrency in (1, 4):
            client = VPSOrgClient(
                SANDBOX_TOKEN, base_url=thousand.api_url, timeout=5, list_concurrency=concurrency
            )
            started = time.monotonic()
            assert len(client.list_servers()) == 1000
            timings[concurrency] = time.monotonic() - started
            client.close()
    finally:
        thousand.faults.reset()
    # Ten round trips one after the other against one plus three batches.
    assert timings[1] >= 10 * latency
    assert timings[4] < timings[1] * 0.75


def test_a_failing_page_stops_a_dripping_one_at_its_next_byte() -> None:
    # Page 3 drips for far longer than the failure of page 2 takes to arrive: the list
    # fails as soon as page 3's next byte comes, not at the 2 x 5 s deadline.
    def route(request: Request) -> Answer:
        page = request.query.get("page", ["1"])[0]
        if page == "1":
            return _numbered(count=30, per_page=10, delay=0)(request)
        if page == "2":
            return Answer(status=401, body={"detail": "Invalid token."}, delay=0.3)
        return Answer(body={"count": 30, "results": []}, how="headers", interval=0.2)

    with local_upstream(route) as upstream:
        client = VPSOrgClient(TOKEN, base_url=upstream.url, timeout=5, list_concurrency=2)
        started = time.monotonic()
        with pytest.raises(Unauthorized):
            client.list_servers()
        took = time.monotonic() - started
        client.close()
    assert took < 1.5  # the deadline is 10 s


def test_the_clients_own_session_keeps_no_cookies(rsps: responses.RequestsMock) -> None:
    # Pages read at once share the session; a jar nothing writes to is safe to share.
    client = VPSOrgClient(TOKEN)
    rsps.get(SERVERS, json={"results": []}, headers={"Set-Cookie": "sessionid=abc; Path=/"})
    client.list_servers()
    assert len(client._session.cookies) == 0
