"""scripts/bench.py's pieces that need no running panel: reading wrk's summary, finding
what the list page polls, the report and how it lands in docs/benchmarks.md. (`make bench`
itself runs for minutes and is not part of the suite; `scripts/bench.py --quick` runs every
piece end to end in under a minute.)"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench", ROOT / "scripts" / "bench.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules.
    sys.modules.setdefault("bench", module)
    spec.loader.exec_module(module)
    return module


bench = _load()

WRK_OUTPUT = """Running 30s test @ http://127.0.0.1:8160/servers/?per_page=100
  2 threads and 20 connections
  Latency Distribution
     50%   40.00ms
  1200 requests in 30.00s, 40.00MB read
  Non-2xx or 3xx responses: 3
BENCH {"requests": 1200, "duration_us": 30000000, "connect": 1, "read": 2, "write": 0, \
"status": 3, "timeout": 4, "p50_us": 40000, "p95_us": 95500, "p99_us": 120250}
"""


def test_wrk_summary_is_read_from_the_lua_line() -> None:
    figures = bench.parse_wrk(WRK_OUTPUT)
    assert figures["rps"] == pytest.approx(40.0)
    assert (figures["p50_ms"], figures["p95_ms"], figures["p99_ms"]) == (40.0, 95.5, 120.25)
    assert figures["non_2xx"] == 3
    assert figures["socket_errors"] == 7


def test_wrk_without_the_summary_line_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="no summary"):
        bench.parse_wrk("unable to connect to 127.0.0.1:8160 Connection refused\n")


LIST_PAGE = """<main>
<table><tbody>
<tr data-server-id="7"><td><span class="badge" data-status="starting" data-transition>
Starting</span></td></tr>
<tr data-server-id="8"><td><span class="badge" data-status="active">Active</span></td></tr>
<tr data-server-id="9"><td><input type="checkbox"><span data-status="rebooting"
data-transition>Rebooting</span></td></tr>
</tbody></table>
<ul><li data-server-id="7"><span data-status="starting" data-transition>Starting</span></li></ul>
<div id="status-poller" hidden hx-get="/servers/status/?team=3" hx-trigger="panel:poll"></div>
</main>"""


def test_the_list_poller_asks_for_the_rows_in_transition_once_each() -> None:
    url, ids = bench.poll_request(LIST_PAGE)
    assert ids == ["7", "9"]
    assert url == "/servers/status/?team=3&id=7&id=9"


def test_a_self_polling_live_element_is_polled_as_it_is() -> None:
    html = '<section hx-get="/servers/live/?v=2" hx-trigger="load delay:2s"></section>'
    assert bench.poll_request(html) == ("/servers/live/?v=2", [])


def test_a_page_with_nothing_to_poll_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="no live element"):
        bench.poll_request("<main><p>No servers</p></main>")


def test_the_poll_interval_is_the_delay_the_live_element_asks_for() -> None:
    assert bench.poll_interval("load delay:2s, panel:wake from:body") == 2.0
    assert bench.poll_interval("load delay:1.5s") == 1.5
    assert bench.poll_interval("load delay:500ms") == 0.5
    with pytest.raises(RuntimeError, match="no delay"):
        bench.poll_interval("panel:wake from:body")


def test_the_section_replaces_only_the_text_between_the_markers() -> None:
    before = (
        f"# Benchmarks\n\nintro\n\n{bench.BEGIN}\nold table\n{bench.END}\n\n## Profiles\nkept\n"
    )
    after = bench.replace_section(before, "new table\n")
    assert after == (
        f"# Benchmarks\n\nintro\n\n{bench.BEGIN}\nnew table\n{bench.END}\n\n## Profiles\nkept\n"
    )
    assert bench.replace_section("# Benchmarks\n", "t").startswith(f"{bench.BEGIN}\nt\n{bench.END}")


def _facts(page_ms: float) -> dict[str, Any]:
    row = {"page_p95": 1.0, "direct_p95": 1.0, "page_min": 1.0, "direct_min": 1.0, "cpu_ms": 9.0}
    return {
        "machine": bench.machine(),
        "mode": "",
        "load_after": "1.0 / 1.0 / 1.0",
        "comparisons": [
            {
                **row,
                "goal": "1",
                "case": "100",
                "page": page_ms,
                "direct": 50.0,
                "target": "<= 1.2x",
                "limit": 1.2,
            },
        ],
        "poll": 10.0,
        "poll_seconds": 15.0,
        "poll_interval": 2.0,
        "poller": "the list poller",
        "polling": [
            {
                "viewers": 5,
                "in_transition": 20,
                "polls": 37,
                "calls_per_min": 28.0,
                "per_row_per_min": 3000.0,
            },
        ],
        "ttl": 2.0,
        "load_seconds": 30,
        "load": [
            {
                "connections": 20,
                "rps": 100.0,
                "p50_ms": 1.0,
                "p95_ms": 2.0,
                "p99_ms": 3.0,
                "non_2xx": 0,
                "socket_errors": 0,
                "rss_kib": [75 * 1024, 80 * 1024],
            },
        ],
    }


def test_the_report_judges_each_goal_from_its_own_figures() -> None:
    met = bench.report(_facts(60.0))
    assert "| 1.20x | <= 1.2x | met | 9.0 ms |" in met
    missed = bench.report(_facts(61.0))
    assert "| 1.22x | <= 1.2x | **not met** |" in missed
    assert "| 5 | 20 | 37 | 28 | 3000 |" in met
    assert "75 MiB, 80 MiB" in met


def test_peak_memory_and_children_of_this_process() -> None:
    import os
    import subprocess

    # 40 MB touched, then freed: the peak (VmHWM) remembers it.
    code = (
        "b = bytearray(40_000_000); del b; print('ready', flush=True); import time; time.sleep(9)"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        assert child.pid in bench.children(os.getpid())
        assert bench.peak_rss_kib(child.pid) > 40_000_000 // 1024
        assert bench.cpu_seconds([os.getpid()]) > 0
    finally:
        child.kill()
        child.wait()


def test_a_case_for_comparison_has_no_verdict() -> None:
    facts = _facts(60.0)
    facts["comparisons"].append(
        {**facts["comparisons"][0], "case": "renamed", "page": 70.0, "target": "-", "limit": None}
    )
    line = next(line for line in bench.report(facts).splitlines() if "| renamed |" in line)
    assert "| 1.40x | - |  | 9.0 ms |" in line
