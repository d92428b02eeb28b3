"""Measure the two caches every worker of one machine can share, for the panel's own uses.

    DEBUG=true .venv/bin/python scripts/bench_cache.py [--rounds 300] [--processes 2]

On a fresh SQLite database in a temporary folder (with the panel's SQLite options), or the
empty database --database-url names (e.g. PostgreSQL), each
of `--processes` processes runs, per round: set() and get() of a pickled list of 100
servers (about 50 KB, the team's list entry), add() of one lock key that every process
races for in the same round (the single-flight lock), then incr() of one shared counter
(the invalidation generation, the lock-out's count). Printed per backend: the median and
p95 time of each operation, rounds in which more than one process won the same lock
(should be 0), and increments lost (should be 0).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _servers(count: int) -> list[Any]:
    from servers import cache as _registers_fast_pickling  # noqa: F401
    from servers.client import Server

    return [
        Server.from_api(
            {
                "id": 10000 + n,
                "name": f"web-server-{n:03d}",
                "hostname": f"web{n:03d}.example.com",
                "status": "active",
                "ip_address": f"203.0.113.{n % 250}",
                "ipv6_address": f"2001:db8::{n:x}",
                "location": "us-west",
                "backups_enabled": n % 2 == 0,
                "message": f"Server {n} is running normally",
                "resource_usage": {
                    "cpu_percent": 12.5 + n,
                    "memory_used": 1024.0 + n,
                    "disk_used": 20.5,
                    "bandwidth_used": 1.5 * n,
                },
                "plan": {
                    "id": n % 4 + 1,
                    "name": "Standard VPS",
                    "slug": f"standard-{n % 4}",
                    "vcpus": 2,
                    "memory": 4096,
                    "storage": 80,
                    "bandwidth": 4000,
                    "price_monthly": "24.00",
                    "price_hourly": "0.036",
                    "available": True,
                    "locations": ["us-west", "us-east", "eu-central"],
                    "description": f"2 vCPU, 4 GB memory, 80 GB SSD, plan {n % 4}",
                },
                "os": {"id": 5, "name": "Ubuntu 22.04 LTS"},
                "created_at": "2025-01-10T14:30:00Z",
                "updated_at": "2025-01-15T10:20:00Z",
            }
        )
        for n in range(count)
    ]


def _worker(alias: str, rounds: int, barrier: Any, results: Any, index: int) -> None:
    from django.core.cache import caches

    cache = caches[alias]
    value = {"at": time.time(), "value": _servers(100)}
    times: dict[str, list[float]] = {"set": [], "get": [], "add": [], "incr": []}
    won: list[int] = []
    for n in range(rounds):
        start = time.perf_counter()
        cache.set(f"list:{index}", value, 60)
        times["set"].append(time.perf_counter() - start)
        start = time.perf_counter()
        assert cache.get(f"list:{index}") is not None
        times["get"].append(time.perf_counter() - start)
        barrier.wait()
        start = time.perf_counter()
        if cache.add(f"lock:{n}", 1, 60):
            won.append(n)
        times["add"].append(time.perf_counter() - start)
        start = time.perf_counter()
        cache.incr("generation")
        times["incr"].append(time.perf_counter() - start)
    results.put((times, won))


def _run(alias: str, rounds: int, processes: int) -> None:
    from django.core.cache import caches

    cache = caches[alias]
    cache.clear()
    cache.set("generation", 0, None)
    import pickle

    size = len(pickle.dumps({"at": 0.0, "value": _servers(100)}, pickle.HIGHEST_PROTOCOL))
    from django.db import connections

    connections.close_all()
    barrier = multiprocessing.Barrier(processes)
    results: Any = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(target=_worker, args=(alias, rounds, barrier, results, i))
        for i in range(processes)
    ]
    started = time.perf_counter()
    for proc in procs:
        proc.start()
    collected = [results.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join()
    elapsed = time.perf_counter() - started
    merged: dict[str, list[float]] = {}
    wins: dict[int, int] = {}
    for times, won in collected:
        for op, values in times.items():
            merged.setdefault(op, []).extend(values)
        for n in won:
            wins[n] = wins.get(n, 0) + 1
    double = sum(1 for count in wins.values() if count > 1)
    lost = rounds * processes - int(cache.get("generation"))
    print(f"{alias}: {processes} processes x {rounds} rounds in {elapsed:.1f} s, entry {size} B")
    for op, values in merged.items():
        values.sort()
        p95 = values[int(len(values) * 0.95)]
        print(
            f"  {op:5} median {statistics.median(values) * 1000:7.2f} ms  p95 {p95 * 1000:7.2f} ms"
        )
    print(f"  lock rounds won by more than one process: {double} of {rounds}")
    print(f"  increments lost: {lost} of {rounds * processes}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument(
        "--database-url",
        help="an empty database to measure on (default: a new SQLite file in a tmp dir)",
    )
    parser.add_argument(
        "--only", choices=("file", "django-db", "default"), help="measure one backend only"
    )
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="bench-cache-")
    os.environ.setdefault("DEBUG", "true")
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{folder}/db.sqlite3"
    os.environ.pop("CACHE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "panel.settings"
    import django
    from django.conf import settings

    django.setup()
    settings.CACHES["file"] = {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": f"{folder}/filecache",
        "OPTIONS": {"MAX_ENTRIES": 20000},
    }
    settings.CACHES["django-db"] = {
        **settings.CACHES["default"],
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
    }
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    multiprocessing.set_start_method("fork")
    for alias in [args.only] if args.only else ["file", "django-db", "default"]:
        _run(alias, args.rounds, args.processes)


if __name__ == "__main__":
    main()
