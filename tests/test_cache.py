"""servers.cache: the short-lived per-team cache of VPS.org answers."""

from __future__ import annotations

import pickle

import pytest
import responses
from django.core.cache import cache as django_cache
from django.test import override_settings
from django.utils import timezone

from panel.models import Team, TeamToken
from servers import cache
from servers import client as vpsorg
from servers.api import NoToken
from tests.conftest import API, page, server_json


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(cache, "clock", fake)
    return fake


def _list_calls(api: responses.RequestsMock) -> int:
    return sum(1 for call in api.calls if call.request.url.split("?")[0] == f"{API}/servers/")


def test_list_is_served_from_the_cache_within_the_ttl(team, api, clock) -> None:
    api.get(f"{API}/servers/", json=page([server_json(1), server_json(2, name="db")]))

    first = cache.list_servers(team)
    clock.advance(1.9)
    second = cache.list_servers(team)

    assert [s.id for s in first] == ["1", "2"]
    assert second == first
    assert len(api.calls) == 1


def test_list_is_fetched_again_once_the_ttl_has_passed(team, api, clock) -> None:
    api.get(f"{API}/servers/", json=page([server_json(1, status="stopping")]))
    cache.list_servers(team)
    clock.advance(2.0)
    cache.list_servers(team)
    assert len(api.calls) == 2


def test_ttl_comes_from_settings(team, api, clock, settings) -> None:
    settings.SERVERS_CACHE_SECONDS = 10
    api.get(f"{API}/servers/", json=page([server_json(1)]))
    cache.list_servers(team)
    clock.advance(9)
    cache.list_servers(team)
    assert len(api.calls) == 1


def test_teams_do_not_share_entries(team, other_team, api, clock) -> None:
    api.get(f"{API}/servers/", json=page([server_json(1)]))
    cache.list_servers(team)
    cache.list_servers(other_team)
    assert len(api.calls) == 2
    tokens = {call.request.headers["Authorization"] for call in api.calls}
    assert len(tokens) == 2


def test_filters_have_their_own_entries(team, api, clock) -> None:
    api.get(f"{API}/servers/", json=page([server_json(1)]))
    cache.list_servers(team)
    cache.list_servers(team, status="active")
    cache.list_servers(team, status="active", location="us west / weird ✓")
    cache.list_servers(team, status="active")
    assert len(api.calls) == 3
    assert "status=active" in api.calls[1].request.url


def test_invalidate_drops_every_entry_of_the_team_only(team, other_team, api, clock) -> None:
    api.get(f"{API}/servers/", json=page([server_json(1)]))
    api.get(f"{API}/servers/1/", json=server_json(1))
    cache.list_servers(team)
    cache.get_server(team, "1")
    cache.list_servers(other_team)

    cache.invalidate(team)
    cache.list_servers(team)
    cache.get_server(team, "1")
    cache.list_servers(other_team)

    assert _list_calls(api) == 3  # team twice, other team once
    assert sum(1 for c in api.calls if c.request.url.endswith("/servers/1/")) == 2


def test_invalidate_survives_an_evicted_generation(team, api, clock) -> None:
    api.get(f"{API}/servers/", json=page([server_json(1)]))
    cache.list_servers(team)
    django_cache.delete(f"servers:t{team.pk}:gen")
    cache.invalidate(team)
    cache.list_servers(team)
    assert len(api.calls) == 2


def test_get_server_is_cached_per_server(team, api, clock) -> None:
    api.get(f"{API}/servers/1/", json=server_json(1))
    api.get(f"{API}/servers/2/", json=server_json(2))
    cache.get_server(team, "1")
    cache.get_server(team, "1")
    cache.get_server(team, "2")
    assert len(api.calls) == 2


def test_upstream_errors_are_cached_briefly_too(team, api, clock) -> None:
    api.get(f"{API}/servers/9/", status=404, json={"detail": "Not found."})
    api.get(f"{API}/servers/", status=500, json={"detail": "boom"})

    for _ in range(3):
        with pytest.raises(vpsorg.NotFound):
            cache.get_server(team, "9")
        with pytest.raises(vpsorg.ServerError) as info:
            cache.list_servers(team)
    assert info.value.status == 500
    assert len(api.calls) == 2

    clock.advance(2.5)
    with pytest.raises(vpsorg.NotFound):
        cache.get_server(team, "9")
    assert len(api.calls) == 3


def test_a_team_without_token_raises_no_token_and_caches_nothing(db, api, clock) -> None:
    bare = Team.objects.create(name="Bare")
    with pytest.raises(NoToken):
        cache.list_servers(bare)
    assert cache.peek_server(bare, "1") is None
    assert len(api.calls) == 0


def test_a_replaced_token_does_not_see_what_the_old_one_read(team, api, clock) -> None:
    api.get(f"{API}/servers/", json=page([server_json(1)]))
    cache.list_servers(team)

    stored = TeamToken.objects.get(team=team)
    stored.set_token("a-brand-new-token-9999")
    stored.stored_at = timezone.now()
    stored.save()
    team.refresh_from_db()
    cache.list_servers(team)

    assert len(api.calls) == 2
    assert api.calls[1].request.headers["Authorization"] == "Bearer a-brand-new-token-9999"


def test_peek_server_reads_without_asking(team, api, clock) -> None:
    api.get(f"{API}/servers/", json=page([server_json(7, name="from-list")]))
    assert cache.peek_server(team, "7") is None
    cache.list_servers(team)
    clock.advance(100)  # however old
    peeked = cache.peek_server(team, "7")
    assert peeked is not None and peeked.name == "from-list"
    assert len(api.calls) == 1


def test_a_caller_waits_for_the_one_already_asking(team, api, clock, monkeypatch) -> None:
    """Single flight: while another worker holds the fill lock, use its answer."""
    api.get(f"{API}/servers/", json=page([server_json(1)]))
    key = cache._list_key(team, None, None)
    django_cache.add(f"{key}:lock", 1)
    answer = [vpsorg.Server(id="42", name="filled-by-the-other", status="active")]

    def other_worker_finishes(seconds: float) -> None:
        django_cache.set(key, {"at": clock(), "value": answer})

    monkeypatch.setattr(cache, "sleep", other_worker_finishes)
    assert cache.list_servers(team) == answer
    assert len(api.calls) == 0


def test_a_caller_asks_itself_when_the_holder_never_answers(
    team, api, clock, monkeypatch, settings
) -> None:
    settings.VPSORG_TIMEOUT = 1.0
    api.get(f"{API}/servers/", json=page([server_json(1)]))
    key = cache._list_key(team, None, None)
    django_cache.add(f"{key}:lock", 1)
    waited: list[float] = []
    monkeypatch.setattr(cache, "sleep", waited.append)

    servers = cache.list_servers(team)

    assert [s.id for s in servers] == ["1"]
    assert len(api.calls) == 1
    # It waited no longer than one upstream timeout before asking itself.
    assert sum(waited) == pytest.approx(1.0, abs=0.05)


def test_entries_survive_pickling_as_redis_stores_them(team, api, clock) -> None:
    detail = server_json(3, ipv6_address="2001:db8::3", resource_usage={"cpu_percent": 5})
    api.get(f"{API}/servers/3/", json=detail)
    server = cache.get_server(team, "3")
    assert pickle.loads(pickle.dumps(server)) == server
    error = pickle.loads(pickle.dumps(vpsorg.RateLimited("slow down", retry_after=30)))
    assert isinstance(error, vpsorg.RateLimited)
    assert (error.status, error.retry_after, error.message) == (429, 30, "slow down")


# --- with redis: what every worker and instance shares -----------------------------------


def test_with_redis_two_instances_share_entries_and_invalidation(
    team, api, clock, redis_cache, monkeypatch
) -> None:
    redis_caches, _raw = redis_cache
    from django.core.cache.backends.redis import RedisCache

    api.get(f"{API}/servers/", json=page([server_json(1, status="rebooting")]))
    api.get(f"{API}/servers/1/", json=server_json(1, resource_usage={"cpu_percent": 1.5}))
    with override_settings(CACHES=redis_caches):
        first = cache.list_servers(team)
        detail = cache.get_server(team, "1")
        proxy = cache.cache
        # Another instance: its own connection, the same redis.
        config = redis_caches["default"]
        monkeypatch.setattr(cache, "cache", RedisCache(config["LOCATION"], config))
        assert cache.list_servers(team) == first
        assert cache.get_server(team, "1") == detail
        assert len(api.calls) == 2
        cache.invalidate(team)  # by the other instance...
        monkeypatch.setattr(cache, "cache", proxy)
        cache.list_servers(team)  # ...seen by the first
        assert len(api.calls) == 3


# --- issue 8: fresh reads, poll ages, the last known state --------------------------------


def test_a_fresh_read_asks_even_within_the_ttl_and_refreshes_the_entry(team, api, clock) -> None:
    api.get(f"{API}/servers/", json=page([server_json(1, status="active")]))
    cache.list_servers(team)
    api.replace("GET", f"{API}/servers/", json=page([server_json(1, status="stopping")]))
    clock.advance(0.5)
    assert cache.list_servers(team, fresh=True)[0].status == "stopping"
    assert cache.list_servers(team)[0].status == "stopping"  # the shared entry, refreshed
    assert _list_calls(api) == 2


def test_a_fresh_read_shares_a_fill_that_began_after_it(team, api, clock, monkeypatch) -> None:
    """Single flight for navigation: another worker is asking right now; its answer is
    no older than this request, so it is shared."""
    key = cache._list_key(team, None, None)
    django_cache.set(key, {"at": clock() - 1, "value": []})  # older than this read
    django_cache.add(f"{key}:lock", 1)
    answer = [vpsorg.Server(id="42", name="filled-now", status="active")]

    def other_worker_finishes(seconds: float) -> None:
        django_cache.set(key, {"at": clock(), "value": answer})

    monkeypatch.setattr(cache, "sleep", other_worker_finishes)
    assert cache.list_servers(team, fresh=True) == answer
    assert len(api.calls) == 0


def test_a_fresh_read_waits_past_an_entry_older_than_itself(team, api, clock, monkeypatch) -> None:
    """Another worker is asking right now and takes a while: the entry left from before
    this read, young as it is, is not the answer VPS.org gives now (a server renamed
    elsewhere meanwhile would be shown with its old name)."""
    key = cache._list_key(team, None, None)
    old = [vpsorg.Server(id="42", name="old-name", status="active")]
    django_cache.set(key, {"at": clock() - 1, "value": old})  # within the ttl
    django_cache.add(f"{key}:lock", 1)
    answer = [vpsorg.Server(id="42", name="new-name", status="active")]
    sleeps: list[float] = []

    def other_worker_finishes_later(seconds: float) -> None:
        sleeps.append(seconds)
        clock.advance(seconds)
        if len(sleeps) == 3:
            django_cache.set(key, {"at": clock(), "value": answer})

    monkeypatch.setattr(cache, "sleep", other_worker_finishes_later)
    assert cache.list_servers(team, fresh=True) == answer
    assert len(sleeps) == 3 and len(api.calls) == 0


def test_max_age_may_depend_on_the_entry(team, api, clock) -> None:
    api.get(f"{API}/servers/", json=page([server_json(1, status="active")]))
    cache.list_servers(team)
    clock.advance(15)

    def age(servers: list[vpsorg.Server]) -> float:
        return 2.0 if any(s.status != "active" for s in servers) else 20.0

    cache.list_servers(team, max_age=age)
    assert _list_calls(api) == 1  # all settled: 15 s old is young enough
    clock.advance(6)
    cache.list_servers(team, max_age=age)
    assert _list_calls(api) == 2


def test_failures_are_never_kept_longer_than_the_ttl(team, api, clock) -> None:
    api.get(f"{API}/servers/", status=503, json={"detail": "down"})
    with pytest.raises(vpsorg.ServerError):
        cache.list_servers(team, max_age=60)
    first = _list_calls(api)  # the client's own retries included
    clock.advance(1)
    with pytest.raises(vpsorg.ServerError):
        cache.list_servers(team, max_age=60)
    assert _list_calls(api) == first  # the failure, shared for the ttl
    clock.advance(1.5)
    with pytest.raises(vpsorg.ServerError):
        cache.list_servers(team, max_age=60)
    assert _list_calls(api) == 2 * first  # not for the 60 s asked


def test_the_last_known_list_outlives_entries_and_invalidation(team, api, clock) -> None:
    api.get(f"{API}/servers/", json=page([server_json(1, name="web")]))
    cache.list_servers(team)
    read_at = clock()
    clock.advance(3600)
    cache.invalidate(team)
    known = cache.last_known_list(team)
    assert known is not None
    assert [s.name for s in known[0]] == ["web"] and known[1] == read_at


def test_the_last_known_server_comes_from_its_detail_or_the_list(team, api, clock) -> None:
    api.get(f"{API}/servers/", json=page([server_json(1, name="from-list")]))
    api.get(f"{API}/servers/2/", json=server_json(2, name="from-detail"))
    assert cache.last_known_server(team, "1") is None
    cache.list_servers(team)
    cache.get_server(team, "2")
    assert cache.last_known_server(team, "1")[0].name == "from-list"
    assert cache.last_known_server(team, "2")[0].name == "from-detail"


def test_a_replaced_token_forgets_the_last_known_state(team, api, clock) -> None:
    api.get(f"{API}/servers/", json=page([server_json(1)]))
    cache.list_servers(team)
    stored = team.api_token
    stored.set_token("a-brand-new-token-9999")
    stored.stored_at = timezone.now()
    stored.save()
    team.refresh_from_db()
    assert cache.last_known_list(team) is None


def test_servers_that_left_the_list_are_remembered_by_name(team, api, clock) -> None:
    api.get(f"{API}/servers/", json=page([server_json(1, name="web"), server_json(7, name="db")]))
    cache.list_servers(team)
    api.replace("GET", f"{API}/servers/", json=page([server_json(1, name="web")]))
    clock.advance(5)
    cache.list_servers(team)
    assert cache.departed_names(team) == {"7": "db"}


def test_the_last_known_list_is_rewritten_sparingly_but_follows_own_changes(
    team, api, clock
) -> None:
    api.get(f"{API}/servers/", json=page([server_json(1), server_json(7)]))
    cache.list_servers(team)
    api.replace("GET", f"{API}/servers/", json=page([server_json(1)]))
    clock.advance(5)
    cache.list_servers(team)
    # Within KNOWN_REFRESH seconds: the twin still holds the first read (and says so).
    assert [s.id for s in cache.last_known_list(team)[0]] == ["1", "7"]
    cache.invalidate(team)  # the team's own delete, say
    cache.list_servers(team)
    assert [s.id for s in cache.last_known_list(team)[0]] == ["1"]
