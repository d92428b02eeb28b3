"""Benchmark: the server list page against a direct fetch of the same servers.

Both sides talk to the same sandbox over loopback. The page is measured on cache
misses: the team's cached servers are dropped before each request (what an action,
or their 2 s going stale, does), so every request makes the page's GET /servers/
and the figure is the panel's own work on top of that call. Cache hits are reported
beside it, and so is a cold cache (everything cleared: the plans, cached for minutes,
are fetched too, and the OS catalog is queried), the rare worst case.

    make bench                      # 100 servers, 30 rounds
    python scripts/bench_list.py --servers 250 --rounds 50
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "panel.settings")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("DATABASE_URL", "sqlite://:memory:")
os.environ.setdefault("LOG_LEVEL", "WARNING")

TOKEN = "bench-token-0001"  # noqa: S105 - a sandbox token


def timed(fn, rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def describe(name: str, samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[max(0, round(len(samples) * 0.95) - 1)]
    return (
        f"{name:<34} median {statistics.median(samples):7.2f} ms   "
        f"p95 {p95:7.2f} ms   min {samples[0]:7.2f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", type=int, default=100, help="servers in the account")
    parser.add_argument("--rounds", type=int, default=30, help="requests per measurement")
    args = parser.parse_args()

    import django

    django.setup()
    import requests
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.cache import cache
    from django.core.management import call_command
    from django.test import Client

    from panel.models import Membership, Role, Team, TeamToken
    from sandbox import start_sandbox
    from servers import cache as server_cache
    from servers.client import VPSOrgClient

    # Not setup_test_environment(): its per-template instrumentation would be measured too.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("migrate", verbosity=0)
    with start_sandbox(tokens=(TOKEN,), credits=1_000_000.0, transition_seconds=0.01) as box:
        settings.VPSORG_API_URL = box.api_url
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        seeded = len(VPSOrgClient(TOKEN, base_url=box.api_url).list_servers())
        for n in range(max(0, args.servers - seeded)):
            body = {"name": f"bench-{n:04d}", "plan_id": 3, "os_id": 5, "location": "us-east",
                    "hostname": f"bench-{n:04d}.example.com"}  # fmt: skip
            session.post(f"{box.api_url}/servers/", json=body, timeout=5).raise_for_status()

        team = Team.objects.create(name="Bench")
        stored = TeamToken(team=team)
        stored.set_token(TOKEN)
        stored.save()
        user = User.objects.create_user("bench")
        Membership.objects.create(team=team, user=user, role=Role.ADMIN)
        browser = Client()
        browser.force_login(user)
        url = "/servers/?per_page=100"

        direct_client = VPSOrgClient(TOKEN, base_url=box.api_url)
        count = len(direct_client.list_servers())

        def page_miss() -> None:
            server_cache.invalidate(team)
            response = browser.get(url)
            assert response.status_code == 200, response.status_code
            assert response.content.count(b"data-server-id=") >= min(count, 100)

        def page_cold() -> None:
            cache.clear()
            assert browser.get(url).status_code == 200

        def page_hit() -> None:
            response = browser.get(url)
            assert response.status_code == 200

        def htmx_miss() -> None:
            server_cache.invalidate(team)
            assert browser.get(url, headers={"HX-Request": "true"}).status_code == 200

        # Warm-up: imports, template compilation, connection set-up.
        for _ in range(3):
            direct_client.list_servers()
            page_miss()

        direct = timed(direct_client.list_servers, args.rounds)
        miss = timed(page_miss, args.rounds)
        fragment = timed(htmx_miss, args.rounds)
        page_hit()
        hit = timed(page_hit, args.rounds)
        cold = timed(page_cold, args.rounds)

        tracemalloc.start()
        page_miss()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

    overhead = statistics.median(miss) - statistics.median(direct)
    print(f"servers in the account: {count}; rows on the page: {min(count, 100)}; "
          f"rounds: {args.rounds}")  # fmt: skip
    print(describe("direct fetch (client.list_servers)", direct))
    print(describe("list page, cache miss", miss))
    print(describe("list fragment (htmx), cache miss", fragment))
    print(describe("list page, cache hit", hit))
    print(describe("list page, cold cache (+ plans)", cold))
    print(f"panel's own work on a miss (median page - median fetch): {overhead:.2f} ms")
    print(f"cache gain (median miss - median hit): "
          f"{statistics.median(miss) - statistics.median(hit):.2f} ms")  # fmt: skip
    print(f"peak Python memory of one page render (tracemalloc): {peak / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
