"""`make bench`: the server list page under gunicorn against a direct fetch of VPS.org.

One run measures the five goals of issue 11 and writes docs/benchmarks.md:

1. 100 servers, 50 ms of latency on every API answer: the list page on a cache miss
   against the cheapest direct fetch (one GET ?page_size=100), alternated, medians.
2. 1000 servers, 50 ms: the list page against the cheapest *sequential* direct fetch
   (10 pages of 100, each `next` after the other).
3. 1000 servers, 0 ms: the same.
4. Polling: V viewers of one team with K servers in transition, V and K in {1, 5, 20}:
   upstream calls per minute (the sandbox's request counter) beside what per-row polling
   would cost (V x K per interval).
5. wrk with 20 and 50 connections on the list page (100 servers): requests/s, latency
   percentiles, errors, and each worker's peak resident memory after the load.

What runs: the sandbox (`python -m sandbox`, its latency fault set through
POST /_sandbox/faults) and the panel as `make serve` runs it (deploy/serve.sh, so
deploy/gunicorn.conf.py, 2 workers x 4 threads), production settings over plain HTTP on
loopback, a throwaway SQLite database holding the default (database) cache, and seeded
users, teams and tokens. A page "miss" is one where the team's cached entries were
dropped (servers.cache.invalidate, from this process, through the same database) just
before the request, so the page makes its GET /servers/ (all its pages) every time.

    make bench                          # everything, about 4 minutes
    python scripts/bench.py --quick     # every piece once, small and short (a smoke run)
    python scripts/bench.py profile --servers 1000   # pyinstrument, list page, cache miss
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN = "<!-- bench:begin (written by make bench; edit outside these markers) -->"
END = "<!-- bench:end -->"
TOKEN_100 = "bench-token-100"  # noqa: S105 - sandbox tokens
TOKEN_1000 = "bench-token-1000"  # noqa: S105
LATENCY = 0.05
LIST_URL = "/servers/?per_page=100"
# The wrk script: every figure as one JSON line (wrk's own --latency table has no p95).
WRK_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, '
    .. '"status": %d, "timeout": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


# --------------------------------------------------------------------------------------
# Small pieces (unit-tested in tests/test_bench.py)
# --------------------------------------------------------------------------------------


@dataclass
class Samples:
    values: list[float] = field(default_factory=list)  # milliseconds

    def add(self, ms: float) -> None:
        self.values.append(ms)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def percentile(self, share: float) -> float:
        ordered = sorted(self.values)
        return ordered[min(len(ordered) - 1, max(0, round(len(ordered) * share) - 1))]


def parse_wrk(output: str) -> dict[str, float]:
    """The figures of WRK_LUA's line in wrk's output."""
    match = re.search(r"^BENCH (\{.*\})$", output, re.MULTILINE)
    if match is None:
        raise RuntimeError("wrk printed no summary:\n" + output)
    raw = json.loads(match[1])
    seconds = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "rps": raw["requests"] / seconds if seconds else 0.0,
        "p50_ms": raw["p50_us"] / 1000,
        "p95_ms": raw["p95_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "non_2xx": raw["status"],
        "socket_errors": raw["connect"] + raw["read"] + raw["write"] + raw["timeout"],
    }


class _PollParser(HTMLParser):
    """What the list page polls: its live elements' hx-get and trigger, and the ids of the
    rows whose badge is in transition."""

    def __init__(self) -> None:
        super().__init__()
        self.pollers: list[tuple[str, str, str]] = []  # (id, hx-get, hx-trigger)
        self.transition_ids: list[str] = []
        self._stack: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        server_id = values.get("data-server-id")
        if server_id is None and self._stack:
            server_id = self._stack[-1][1]
        if tag not in {"input", "img", "br", "hr", "meta", "link", "source", "col", "wbr"}:
            self._stack.append((tag, server_id))
        if values.get("hx-get") and (
            values.get("id") == "status-poller"
            or "delay:" in (values.get("hx-trigger") or "")
            or "every " in (values.get("hx-trigger") or "")
        ):
            self.pollers.append(
                (values.get("id") or "", values["hx-get"] or "", values.get("hx-trigger") or "")
            )
        transition = "data-status" in values and "data-transition" in values
        if transition and server_id and server_id not in self.transition_ids:
            self.transition_ids.append(server_id)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._stack) - 1, -1, -1):
            if self._stack[index][0] == tag:
                del self._stack[index:]
                break


def poll_request(html: str) -> tuple[str, list[str]]:
    """The URL one poll of the list page asks for, and the ids it watches.

    Today's list page has one #status-poller (static/js/panel.js fires it with the ids of
    the rows in transition). A live element that polls itself (`hx-trigger="load delay:Ns"`
    or `every Ns`) is taken as it is.
    """
    parser = _PollParser()
    parser.feed(html)
    if not parser.pollers:
        raise RuntimeError("the list page has no live element to poll")
    element_id, url, _trigger = parser.pollers[0]
    ids = parser.transition_ids
    if element_id == "status-poller":
        glue = "&" if "?" in url else "?"
        url += glue + "&".join(f"id={server_id}" for server_id in ids)
    return url, ids


def poll_interval(trigger: str) -> float:
    """The delay a live element's `hx-trigger` asks for ("load delay:2s", "delay:500ms"):
    the server decides each poll's next one (issue 8)."""
    match = re.search(r"delay:\s*(\d+(?:\.\d+)?)(ms|s)\b", trigger)
    if match is None:
        raise RuntimeError(f"no delay in the live element's trigger {trigger!r}")
    value = float(match[1])
    return value / 1000 if match[2] == "ms" else value


def machine() -> dict[str, str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cores": str(cores),
        "cpu": model,
        "python": platform.python_version(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "os": platform.platform(terse=True),
        # The machine is shared: the figures move with what else runs (say so beside them).
        "load": " / ".join(f"{n:.1f}" for n in os.getloadavg()),
    }


def peak_rss_kib(pid: int) -> int:
    """VmHWM: the process's peak resident set, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for {pid}")


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(child) for child in text)
    return sorted(found)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used (what contention barely changes)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        # The fields after the command name, which is in parentheses and may hold spaces.
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def replace_section(document: str, section: str) -> str:
    """The document with the text between BEGIN and END replaced (or both added on top)."""
    block = f"{BEGIN}\n{section.rstrip()}\n{END}"
    if BEGIN in document and END in document:
        head, rest = document.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        return head + block + tail
    return block + "\n\n" + document


# --------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen[bytes], log: Path, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited:\n{log.read_text(errors='replace')}")
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer:\n{log.read_text(errors='replace')}")


@contextmanager
def process(args: list[str], env: dict[str, str], log: Path, ready: str) -> Iterator[int]:
    """A child in its own process group, stopped (TERM, then KILL) on the way out."""
    with log.open("wb") as out:
        child = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_for(ready, child, log)
        yield child.pid
    finally:
        os.killpg(child.pid, signal.SIGTERM)
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()


def panel_env(tmp: Path, api_url: str, port: int) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    from cryptography.fernet import Fernet

    return {
        **keep,
        "DJANGO_SETTINGS_MODULE": "panel.settings",
        "DEBUG": "false",
        "SECRET_KEY": "bench-secret-key-" + "b" * 40,
        "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        # testserver: the profile's in-process requests (Django's test client).
        "ALLOWED_HOSTS": "127.0.0.1,testserver",
        "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "SECURE_HSTS_SECONDS": "0",
        "VPSORG_API_URL": api_url,
        "VPSORG_TIMEOUT": "10",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "4",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_LOG_LEVEL": "warning",
        "PYTHON": sys.executable,
    }


class Sandbox:
    def __init__(self, url: str) -> None:
        self.url = url
        self.api = url + "/api/v1"
        self.http = requests.Session()

    def faults(self, **settings: Any) -> None:
        self.http.post(f"{self.url}/_sandbox/faults", json=settings, timeout=10).raise_for_status()

    def reset_count(self) -> None:
        self.http.delete(f"{self.url}/_sandbox/requests", timeout=10).raise_for_status()

    def count(self) -> dict[str, Any]:
        return self.http.get(f"{self.url}/_sandbox/requests", timeout=10).json()

    def rename(self, token: str, server_id: str, name: str) -> None:
        """What another tool may do between two pages: one server changed at VPS.org."""
        self.http.patch(f"{self.api}/servers/{server_id}/", json={"name": name},
                        headers={"Authorization": f"Bearer {token}"}, timeout=10,
                        ).raise_for_status()  # fmt: skip

    def force_status(self, server_id: str, status: str) -> None:
        self.http.post(
            f"{self.url}/_sandbox/servers/{server_id}/status", json={"status": status}, timeout=10
        ).raise_for_status()

    def seed(self, token: str, total: int) -> list[str]:
        """Servers in the token's account up to `total`; their ids, in the API's order."""
        headers = {"Authorization": f"Bearer {token}"}
        have = self.http.get(f"{self.api}/servers/?page_size=1", headers=headers, timeout=10)
        missing = max(0, total - have.json()["count"])

        def create(n: int) -> None:
            body = {"name": f"bench-{n:04d}", "plan_id": 3, "os_id": 5, "location": "us-east",
                    "hostname": f"bench-{n:04d}.example.com"}  # fmt: skip
            answer = requests.post(f"{self.api}/servers/", json=body, headers=headers, timeout=10)
            answer.raise_for_status()

        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(create, range(missing)))
        return [str(s["id"]) for s in direct_sequential(self.http, self.api, token)]


def direct_once(http: requests.Session, api: str, token: str) -> None:
    """The cheapest direct fetch of 100 servers: one GET, the body read (not decoded)."""
    answer = http.get(
        f"{api}/servers/?page_size=100", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    answer.raise_for_status()
    assert answer.content


def direct_sequential(http: requests.Session, api: str, token: str) -> list[dict[str, Any]]:
    """A plain client's whole list: page after page, each `next` after the last answer."""
    url: str | None = f"{api}/servers/?page_size=100"
    items: list[dict[str, Any]] = []
    while url:
        answer = http.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        answer.raise_for_status()
        body = answer.json()
        items.extend(body["results"])
        url = body["next"]
    return items


# --------------------------------------------------------------------------------------
# The Django side (this process): seeded teams, sessions, cache invalidation
# --------------------------------------------------------------------------------------


@dataclass
class Seeded:
    team_100: Any
    team_1000: Any
    cookie_100: str
    cookie_1000: str
    viewers: list[str]  # session cookies of viewers of team_100


def setup_django(env: dict[str, str], viewers: int) -> Seeded:
    os.environ.update({k: v for k, v in env.items() if k != "PYTHON"})
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client

    from panel.models import Membership, Role, Team, TeamToken

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)

    def team(name: str, token: str) -> Any:
        created = Team.objects.create(name=name)
        stored = TeamToken(team=created)
        stored.set_token(token)
        stored.save()
        return created

    def session(team: Any, username: str, role: str) -> str:
        user = User.objects.create_user(username, f"{username}@example.com", "bench-pw-1234")
        Membership.objects.create(team=team, user=user, role=role)
        browser = Client()
        browser.force_login(user)
        return browser.cookies["sessionid"].value

    team_100 = team("Bench 100", TOKEN_100)
    team_1000 = team("Bench 1000", TOKEN_1000)
    return Seeded(
        team_100=team_100,
        team_1000=team_1000,
        cookie_100=session(team_100, "admin100", Role.ADMIN),
        cookie_1000=session(team_1000, "admin1000", Role.ADMIN),
        viewers=[session(team_100, f"viewer{n:02d}", Role.VIEWER) for n in range(viewers)],
    )


def invalidate(team: Any) -> None:
    from servers import cache as server_cache

    server_cache.invalidate(team)


# --------------------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------------------


class Panel:
    def __init__(self, url: str, cookie: str) -> None:
        self.url = url
        self.http = requests.Session()
        self.http.cookies.set("sessionid", cookie, domain="127.0.0.1")

    def get(self, path: str, **headers: str) -> requests.Response:
        answer = self.http.get(self.url + path, headers=headers, timeout=60, allow_redirects=False)
        if answer.status_code != 200:
            raise RuntimeError(f"{path} answered {answer.status_code}")
        return answer


def page_miss(panel: Panel, team: Any, rows: int, url: str = LIST_URL) -> Callable[[], None]:
    def run() -> None:
        invalidate(team)
        started = time.perf_counter()
        body = panel.get(url).content
        # Only the request is timed: the invalidation above is the bench's, not the page's.
        run.elapsed = time.perf_counter() - started  # type: ignore[attr-defined]
        if body.count(b"data-server-id=") < rows:
            raise RuntimeError("the list page showed fewer rows than the account has")

    return run


def compare(
    page: Callable[[], None], direct: Callable[[], None], rounds: int, workers: list[int]
) -> tuple[Samples, Samples, float]:
    """The page and the direct fetch alternated (the order flipped every round), so both
    see the same machine load; also the workers' CPU milliseconds per page (the direct
    fetch costs them nothing), a figure that the load of a shared machine barely moves."""
    pages, directs = Samples(), Samples()
    cpu = cpu_seconds(workers)
    for n in range(rounds):
        order = ("page", "direct") if n % 2 == 0 else ("direct", "page")
        for which in order:
            if which == "page":
                page()
                pages.add(page.elapsed * 1000)  # type: ignore[attr-defined]
            else:
                started = time.perf_counter()
                direct()
                directs.add((time.perf_counter() - started) * 1000)
    return pages, directs, (cpu_seconds(workers) - cpu) * 1000 / rounds


def _viewer(
    panel: Panel, url: str, offset: float, interval: float, stop: threading.Event, tally: list[Any]
) -> None:
    """One browser tab: a poll every `interval`, as panel.js's clock sends it."""
    # Viewers opened the page at different moments: their clocks are spread out.
    if stop.wait(offset):
        return
    while not stop.is_set():
        try:
            panel.get(url, **{"HX-Request": "true"})
            tally.append(None)
        except (requests.RequestException, RuntimeError) as exc:
            tally.append(str(exc))
        stop.wait(interval)


def polling(
    sandbox: Sandbox,
    panel_url: str,
    seeded: Seeded,
    server_ids: list[str],
    seconds: float,
    interval: float,
    combos: list[tuple[int, int]],
) -> list[dict[str, Any]]:
    results = []
    for v, k in combos:
        for server_id in server_ids[:k]:
            sandbox.force_status(server_id, "starting")
        for server_id in server_ids[k:20]:
            sandbox.force_status(server_id, "active")
        panels = [Panel(panel_url, cookie) for cookie in seeded.viewers[:v]]
        invalidate(seeded.team_100)
        url, watched = poll_request(panels[0].get(LIST_URL).text)
        if len(watched) != k:
            raise RuntimeError(f"the page shows {len(watched)} rows in transition, not {k}")
        tally: list[Any] = []
        stop = threading.Event()
        threads = [
            threading.Thread(
                target=_viewer,
                args=(panel, url, interval * n / v, interval, stop, tally),
                daemon=True,
            )
            for n, panel in enumerate(panels)
        ]
        sandbox.reset_count()
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        counted = sandbox.count()
        errors = [entry for entry in tally if entry is not None]
        if errors:
            raise RuntimeError(f"polls failed: {errors[:3]}")
        per_minute = 60 / seconds
        results.append(
            {
                "viewers": v,
                "in_transition": k,
                "polls": len(tally),
                "calls_per_min": counted["total"] * per_minute,
                "list_calls_per_min": sum(
                    n for key, n in counted["by_endpoint"].items() if key.endswith("/servers/")
                )
                * per_minute,
                "per_row_per_min": v * k * 60 / interval,
            }
        )
    for server_id in server_ids[:20]:
        sandbox.force_status(server_id, "active")
    return results


def wrk(url: str, cookie: str, connections: int, seconds: int, script: Path) -> dict[str, float]:
    wrk_bin = shutil.which("wrk")
    if wrk_bin is None:
        raise RuntimeError("wrk is not installed (make bench installs it with apt-get)")
    threads = min(connections, 2)
    result = subprocess.run(
        [wrk_bin, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
         "--timeout", "20s", "-s", str(script), "-H", f"Cookie: sessionid={cookie}", url],
        capture_output=True, text=True, timeout=seconds + 60, check=True,
    )  # fmt: skip
    return parse_wrk(result.stdout)


# --------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def report(facts: dict[str, Any]) -> str:
    m = facts["machine"]
    lines = [
        "## Latest run",
        "",
        f"Machine: {m['cores']} cores, {m['cpu']}, Python {m['python']}, {m['os']}; "
        f"{m['date']}; load average (1/5/15 min) {m['load']} at the start, "
        f"{facts['load_after']} at the end. {facts['mode']}",
        "",
        "Panel under gunicorn as `make serve` runs it (2 workers x 4 threads, DEBUG=false, "
        "SQLite and the database cache); the sandbox adds the latency to every API answer. "
        "Page = `GET /servers/?per_page=100` on a cache miss (the team's entries dropped "
        "before each request); direct = `requests` with keep-alive, body read, not decoded. "
        "Medians of the rounds, the two alternated. Panel CPU per page: the gunicorn "
        "workers' user + system time over the rounds divided by the pages (the direct "
        "fetch costs them nothing): the panel's own work, which a busy machine inflates "
        "far less than the wall-clock times.",
        "",
        "| # | case | panel: median (min, p95) | direct: median (min, p95) | ratio of medians "
        "| goal | | panel CPU per page |",
        "| --- | --- | ---: | ---: | ---: | --- | --- | ---: |",
    ]
    for row in facts["comparisons"]:
        ratio = row["page"] / row["direct"]
        lines.append(
            f"| {row['goal']} | {row['case']} | {row['page']:.1f} ms ({row['page_min']:.1f}, "
            f"{row['page_p95']:.1f}) | {row['direct']:.1f} ms ({row['direct_min']:.1f}, "
            f"{row['direct_p95']:.1f}) | {ratio:.2f}x "
            f"| {row['target']} | {'' if row['limit'] is None else verdict(ratio <= row['limit'])} "
            f"| {row['cpu_ms']:.1f} ms |"
        )
    if "poll" in facts:
        lines += [
            "",
            f"A live poll of that list (`/servers/status/`, from the team's shared cache, no "
            f"upstream call): median {facts['poll']:.1f} ms.",
        ]
    if "polling" not in facts:
        return "\n".join(lines) + "\n"
    lines += [
        "",
        f"### 4. Polling ({facts['poll_seconds']:g} s per case, {facts['poll_interval']:g} s "
        f"interval, 50 ms latency; {facts['poller']})",
        "",
        "| viewers V | in transition K | polls sent | upstream calls / min | "
        "per-row polling would cost / min (V x K per interval) |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in facts["polling"]:
        lines.append(
            f"| {row['viewers']} | {row['in_transition']} | {row['polls']} "
            f"| {row['calls_per_min']:.0f} | {row['per_row_per_min']:.0f} |"
        )
    calls = [row["calls_per_min"] for row in facts["polling"]]
    lines += [
        "",
        f"Upstream calls per minute range from {min(calls):.0f} to {max(calls):.0f} "
        f"whatever V and K (one list call per {facts['ttl']:g} s cache entry at most: "
        f"{60 / facts['ttl']:.0f} / min).",
        "",
        f"### 5. Under load (wrk, {facts['load_seconds']} s, 2 threads, list page with 100 "
        "servers, 50 ms latency, the cache on as in production)",
        "",
        "| connections | requests/s | p50 | p95 | p99 | non-2xx | socket errors | "
        "peak RSS per worker (VmHWM) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in facts["load"]:
        rss = ", ".join(f"{kib / 1024:.0f} MiB" for kib in row["rss_kib"])
        lines.append(
            f"| {row['connections']} | {row['rps']:.0f} | {row['p50_ms']:.1f} ms "
            f"| {row['p95_ms']:.1f} ms | {row['p99_ms']:.1f} ms | {row['non_2xx']} "
            f"| {row['socket_errors']} | {rss} |"
        )
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------
# Runs
# --------------------------------------------------------------------------------------


@dataclass
class Plan:
    rounds_100: int = 40
    rounds_1000: int = 20
    poll_seconds: float = 15.0
    poll_values: tuple[int, ...] = (1, 5, 20)
    load_seconds: int = 30
    load_connections: tuple[int, ...] = (20, 50)
    servers_1000: int = 1000
    parts: str = "12345"


QUICK = Plan(
    rounds_100=3,
    rounds_1000=2,
    poll_seconds=3.0,
    poll_values=(1, 5),
    load_seconds=2,
    load_connections=(5,),
    servers_1000=300,
)


@contextmanager
def running(tmp: Path, plan: Plan) -> Iterator[tuple[Sandbox, str, int, Seeded]]:
    """The sandbox, the seeded panel database and gunicorn; the master's pid."""
    sandbox_port, panel_port = free_port(), free_port()
    sandbox_args = [sys.executable, "-m", "sandbox", "--port", str(sandbox_port), "--quiet",
                    "--token", TOKEN_100, "--token", TOKEN_1000, "--credits", "100000000",
                    "--transition-seconds", "0.01"]  # fmt: skip
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    env = panel_env(tmp, sandbox_url + "/api/v1", panel_port)
    with process(sandbox_args, dict(os.environ), tmp / "sandbox.log", sandbox_url + "/"):
        sandbox = Sandbox(sandbox_url)
        seeded = setup_django(env, max(plan.poll_values))
        panel_url = f"http://127.0.0.1:{panel_port}"
        serve = ["sh", "deploy/serve.sh"]
        with process(serve, env, tmp / "gunicorn.log", panel_url + "/healthz") as master:
            yield sandbox, panel_url, master, seeded


def run(plan: Plan, mode: str) -> dict[str, Any]:
    facts: dict[str, Any] = {"machine": machine(), "mode": mode}
    with (
        tempfile.TemporaryDirectory(prefix="bench-") as name,
        running(Path(name), plan) as (
            sandbox,
            panel_url,
            master,
            seeded,
        ),
    ):
        tmp = Path(name)
        print("seeding servers...", flush=True)
        ids_100 = sandbox.seed(TOKEN_100, 100)
        sandbox.seed(TOKEN_1000, plan.servers_1000)
        direct_http = requests.Session()
        panel_100 = Panel(panel_url, seeded.cookie_100)
        panel_1000 = Panel(panel_url, seeded.cookie_1000)
        miss_100 = page_miss(panel_100, seeded.team_100, 100)
        miss_1000 = page_miss(panel_1000, seeded.team_1000, 100)

        def direct_100() -> None:
            direct_once(direct_http, sandbox.api, TOKEN_100)

        def direct_1000() -> None:
            direct_sequential(direct_http, sandbox.api, TOKEN_1000)

        # Warm-up: both workers' imports, templates, connections (each request may land
        # on either worker), and the plans, cached for minutes.
        for _ in range(6):
            miss_100()
            miss_1000()
            direct_100()
            direct_1000()
        comparisons = []
        workers = children(master)
        sandbox.faults(latency=LATENCY)
        if "1" in plan.parts:
            print("1. 100 servers, 50 ms...", flush=True)
            measured = compare(miss_100, direct_100, plan.rounds_100, workers)
            comparisons.append(_row("1", "100 servers, 50 ms", *measured, "<= 1.2x", 1.2))
            # A page a person opens always asks VPS.org (issue 8); what the shared cache
            # saves is the live poll's upstream call: its cost, from the cache.
            poll_url, _ids = poll_request(panel_100.get(LIST_URL).text)
            polls = Samples()
            for _ in range(plan.rounds_100):
                started = time.perf_counter()
                panel_100.get(poll_url, **{"HX-Request": "true"})
                polls.add((time.perf_counter() - started) * 1000)
            facts["poll"] = polls.median
            # The page as it opens: its first 25 rows (all 100 servers fetched all the same).
            default = page_miss(panel_100, seeded.team_100, 25, "/servers/")
            measured = compare(default, direct_100, plan.rounds_100, workers)
            case = "100 servers, 50 ms, default page (25 rows shown)"
            comparisons.append(_row("1", case, *measured, "<= 1.2x", 1.2))
            # Not the goal's case (the same servers), for comparison: a server renamed at
            # VPS.org before each page (untimed), so the page's memories of the last
            # answer (its parse, its servers, its rendered results) never apply.
            renamed = itertools.count()

            def changed() -> None:
                sandbox.rename(TOKEN_100, ids_100[0], f"renamed-{next(renamed)}")
                miss_100()

            measured = compare(_timed_as(changed, miss_100), direct_100, plan.rounds_100, workers)
            case = "100 servers, 50 ms, a server renamed before each page (for comparison)"
            comparisons.append(_row("1", case, *measured, "-", None))
        if "2" in plan.parts:
            print(f"2. {plan.servers_1000} servers, 50 ms...", flush=True)
            measured = compare(miss_1000, direct_1000, plan.rounds_1000, workers)
            case = f"{plan.servers_1000} servers, 50 ms, direct sequential"
            comparisons.append(_row("2", case, *measured, "<= 0.5x", 0.5))
        if "3" in plan.parts:
            sandbox.faults(latency=0)
            print(f"3. {plan.servers_1000} servers, 0 ms...", flush=True)
            measured = compare(miss_1000, direct_1000, plan.rounds_1000, workers)
            case = f"{plan.servers_1000} servers, 0 ms, direct sequential"
            comparisons.append(_row("3", case, *measured, "< 2x", 2.0))
        facts["comparisons"] = comparisons
        if "4" not in plan.parts and "5" not in plan.parts:
            facts["load_after"] = " / ".join(f"{n:.1f}" for n in os.getloadavg())
            return facts

        sandbox.faults(latency=LATENCY)
        from django.conf import settings

        # While something is in transition the server asks for the next poll after
        # LIVE_BUSY_SECONDS at first (later ones slower): the viewers here keep that
        # fastest pace, so the figures are the most a live page can cost.
        interval = poll_interval(f"load delay:{settings.LIVE_BUSY_SECONDS:g}s")
        combos = [(v, k) for v in plan.poll_values for k in plan.poll_values]
        print(f"4. polling, {len(combos)} cases of {plan.poll_seconds:g} s...", flush=True)
        facts["polling"] = polling(
            sandbox, panel_url, seeded, ids_100, plan.poll_seconds, interval, combos
        )
        facts["poll_seconds"] = plan.poll_seconds
        facts["poll_interval"] = interval
        facts["poller"] = "the list's one live element (GET /servers/status/, the whole list),"
        facts["poller"] += " at the busy interval"

        facts["ttl"] = settings.SERVERS_CACHE_SECONDS

        script = tmp / "bench.lua"
        script.write_text(WRK_LUA)
        facts["load"] = []
        facts["load_seconds"] = plan.load_seconds
        for connections in plan.load_connections:
            print(f"5. wrk, {connections} connections, {plan.load_seconds} s...", flush=True)
            row = wrk(panel_url + LIST_URL, seeded.cookie_100, connections, plan.load_seconds,
                      script)  # fmt: skip
            row["connections"] = connections
            row["rss_kib"] = [peak_rss_kib(pid) for pid in children(master)]
            facts["load"].append(row)
    facts["load_after"] = " / ".join(f"{n:.1f}" for n in os.getloadavg())
    return facts


def _timed_as(run: Callable[[], None], timed: Callable[[], None]) -> Callable[[], None]:
    """`run`, reporting the time `timed` (which it calls) measured as its own."""

    def wrapper() -> None:
        run()
        wrapper.elapsed = timed.elapsed  # type: ignore[attr-defined]

    return wrapper


def _row(
    goal: str,
    case: str,
    pages: Samples,
    directs: Samples,
    cpu_ms: float,
    target: str,
    limit: float | None,
) -> dict[str, Any]:
    return {
        "goal": goal,
        "case": case,
        "cpu_ms": cpu_ms,
        "page": pages.median,
        "page_p95": pages.percentile(0.95),
        "page_min": min(pages.values),
        "direct_min": min(directs.values),
        "direct": directs.median,
        "direct_p95": directs.percentile(0.95),
        "target": target,
        "limit": limit,
    }


# --------------------------------------------------------------------------------------
# Profile: pyinstrument around the list view, in this process, on cache misses
# --------------------------------------------------------------------------------------


def profile(servers: int, rounds: int, latency: float) -> str:
    """The list page's own work on cache misses, profiled in this process (Django's test
    client through every middleware, the same settings as the gunicorn run). Pages are
    fetched one after the other (VPSORG_LIST_CONCURRENCY=1): pyinstrument samples only
    the thread it runs in, and the page threads' work (decoding) would otherwise hide
    behind a wait."""
    from pyinstrument import Profiler

    plan = Plan(poll_values=(1,))
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as name:
        tmp = Path(name)
        sandbox_port = free_port()
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        sandbox_args = [sys.executable, "-m", "sandbox", "--port", str(sandbox_port), "--quiet",
                        "--token", TOKEN_100, "--token", TOKEN_1000, "--credits", "100000000",
                        "--transition-seconds", "0.01"]  # fmt: skip
        env = panel_env(tmp, sandbox_url + "/api/v1", free_port())
        env["VPSORG_LIST_CONCURRENCY"] = "1"
        env["ACCESS_LOG"] = "false"
        with process(sandbox_args, dict(os.environ), tmp / "sandbox.log", sandbox_url + "/"):
            sandbox = Sandbox(sandbox_url)
            token = TOKEN_100 if servers <= 100 else TOKEN_1000
            sandbox.seed(token, servers)
            seeded = setup_django(env, max(plan.poll_values))
            from django.test import Client

            team = seeded.team_100 if servers <= 100 else seeded.team_1000
            browser = Client()
            browser.cookies["sessionid"] = (
                seeded.cookie_100 if servers <= 100 else seeded.cookie_1000
            )
            for _ in range(3):
                invalidate(team)
                assert browser.get(LIST_URL).status_code == 200
            sandbox.faults(latency=latency)
            profiler = Profiler(interval=0.0005)
            spent = 0.0
            for _ in range(rounds):
                invalidate(team)
                started = time.perf_counter()
                profiler.start()
                response = browser.get(LIST_URL)
                profiler.stop()
                spent += time.perf_counter() - started
                assert response.status_code == 200
            text = profiler.output_text(unicode=False, color=False, show_all=False)
    head = f"{servers} servers, {latency * 1000:g} ms latency, {rounds} misses, "
    head += f"{spent / rounds * 1000:.1f} ms per page\n"
    return head + text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", nargs="?", choices=("bench", "profile"), default="bench")
    parser.add_argument("--quick", action="store_true", help="every piece once, small, short")
    parser.add_argument(
        "--parts", default="12345", help="which goals to measure, e.g. 123 (default all)"
    )
    parser.add_argument("--no-write", action="store_true", help="print only, leave the doc")
    parser.add_argument("--servers", type=int, default=100, help="profile: servers (100|1000)")
    parser.add_argument("--rounds", type=int, default=30, help="profile: requests profiled")
    parser.add_argument("--latency", type=float, default=0.0, help="profile: seconds")
    args = parser.parse_args()
    if args.what == "profile":
        print(profile(args.servers, args.rounds, args.latency))
        return 0
    plan = dataclasses.replace(QUICK if args.quick else Plan(), parts=args.parts)
    mode = (
        "Quick smoke run (--quick): small and short, not the goals' figures." if args.quick else ""
    )
    facts = run(plan, mode)
    section = report(facts)
    print(section)
    if not args.no_write and not args.quick and args.parts == "12345":
        DOC.parent.mkdir(exist_ok=True)
        old = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
        DOC.write_text(replace_section(old, section))
        print(f"written to {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
