"""The loading bar (panel.css .loading-bar, base.html): shown while an htmx request runs
longer than about 300 ms, gone when it ends, and never for a quick one -- also with
reduced motion, which turns every transition off. Against the sandbox with its latency
fault for the slow answer."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from django.contrib.auth.models import User

from panel.models import Role
from tests.e2e.conftest import logged_in, member, team_with_token

# Every animation frame: the bar's opacity; and when the first htmx request other than
# the live poller's began and ended (the pollers never show the bar).
WATCH = """() => {
  const bar = document.querySelector('.loading-bar');
  const log = window.loadingLog = {samples: [], start: null, end: null, stop: false};
  const ours = e => !e.detail.elt.closest('[data-live]');
  document.body.addEventListener('htmx:beforeRequest', e => {
    if (ours(e) && log.start === null) log.start = performance.now();
  });
  document.body.addEventListener('htmx:afterRequest', e => {
    if (ours(e) && log.end === null) log.end = performance.now();
  });
  const tick = () => {
    log.samples.push([performance.now(), parseFloat(getComputedStyle(bar).opacity)]);
    if (!log.stop) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""


@pytest.fixture
def viewer(transactional_db: Any, upstream: Any, settings: Any) -> User:
    # Each filter request asks the sandbox (the cache would answer a quick one itself).
    settings.SERVERS_CACHE_SECONDS = 0.001
    return member(team_with_token("E2E loading"), "lou", Role.VIEWER)


def filter_once(page: Any, latency: float, upstream: Any) -> dict[str, Any]:
    """Change the status filter (an htmx GET of the list) with the sandbox answering
    after `latency` seconds; the bar's opacity over the request and 500 ms after it."""
    requests.post(f"{upstream.url}/_sandbox/faults", json={"latency": latency}, timeout=5)
    page.evaluate(WATCH)
    page.select_option("#filter-status", "stopped")
    page.wait_for_function("() => window.loadingLog.end !== null", timeout=15_000)
    page.wait_for_timeout(500)
    log = page.evaluate("(() => { window.loadingLog.stop = true; return window.loadingLog; })()")
    assert log["start"] is not None
    return log


@pytest.mark.parametrize("motion", ["no-preference", "reduce"])
def test_a_slow_request_shows_the_bar_after_300_ms_and_hides_it_after(
    browser: Any, live_server: Any, viewer: User, upstream: Any, motion: str
) -> None:
    context, page = logged_in(browser, live_server, viewer, reduced_motion=motion)
    try:
        page.goto(f"{live_server.url}/servers/")
        log = filter_once(page, 1.5, upstream)
        start, end = log["start"], log["end"]
        assert end - start >= 1200, f"the request took {end - start:.0f} ms, not slow"
        during = [(t - start, o) for t, o in log["samples"] if start <= t <= end]
        early = [o for t, o in during if t < 200]
        assert early and max(early) == 0, f"shown before 300 ms: {during[:20]}"
        shown = [t for t, o in during if o >= 0.99]
        assert shown, "never fully shown during a 1.5 s request"
        assert 250 <= shown[0] <= 700, f"fully shown only {shown[0]:.0f} ms in"
        assert all(o >= 0.99 for t, o in during if t >= shown[0]), "it flickered"
        after = [o for t, o in log["samples"] if t > end + 300]
        assert after and max(after) == 0, "still shown 300 ms after the answer"
    finally:
        context.close()


@pytest.mark.parametrize("motion", ["no-preference", "reduce"])
def test_a_quick_request_does_not_flash_the_bar(
    browser: Any, live_server: Any, viewer: User, upstream: Any, motion: str
) -> None:
    context, page = logged_in(browser, live_server, viewer, reduced_motion=motion)
    try:
        page.goto(f"{live_server.url}/servers/")
        log = filter_once(page, 0, upstream)
        took = log["end"] - log["start"]
        assert took < 250, f"the quick request took {took:.0f} ms: too slow to tell"
        seen = [o for t, o in log["samples"] if t >= log["start"]]
        assert len(seen) > 5 and max(seen) == 0, f"the bar showed: {max(seen)}"
    finally:
        context.close()
