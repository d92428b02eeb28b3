"""Work a request leaves for after its answer has been sent.

A page that read VPS.org afresh writes what it read into the shared cache, for the live
polls of everyone on the team: a few writes (pickling the list, a transaction each on
the database cache) that the person waiting for the page need not wait for. `defer()`
queues such a write while a request is being answered; the middleware runs the queue
when the WSGI server closes the response, that is once the last byte went out (Django's
test client closes it too, before it returns). Outside a request (a management command,
a test calling a function directly) `defer()` runs the work at once.

What was deferred must not be missed by the rest of the same request: `scratch()` is a
dict the request's code may keep its pending values in (servers.cache reads it before
the cache).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)


class _Pending:
    __slots__ = ("scratch", "tasks")

    def __init__(self) -> None:
        self.tasks: list[Callable[[], None]] = []
        self.scratch: dict[str, Any] = {}


# A pause before the work, once the answer is written. Measured on the 2-core machines
# the panel is benchmarked on: CPU work begun the moment the last byte went out delays
# the client's receipt of it by about as long (its reader is woken late while this
# worker keeps the core; 2.5 ms of work cost a 242 KB page 2.4 ms), and a pause of
# 1 ms first removed that (docs/benchmarks.md, "Goal 1: the page's own path").
PAUSE_BEFORE = 0.001

_pending: ContextVar[_Pending | None] = ContextVar("after_response", default=None)


def defer(task: Callable[[], None]) -> None:
    """Run `task` after the response has been sent, or now outside a request."""
    pending = _pending.get()
    if pending is None:
        task()
    else:
        pending.tasks.append(task)


def scratch() -> dict[str, Any] | None:
    """The current request's dict for values whose writes were deferred; None outside."""
    pending = _pending.get()
    return None if pending is None else pending.scratch


def _run(tasks: list[Callable[[], None]]) -> None:
    # In order: a write queued first lands first (a lock is released after its entry).
    for task in tasks:
        try:
            task()
        except Exception:
            # The answer is gone already; a cache that failed to take a value only
            # costs a later request an upstream call.
            logger.exception("Deferred work after a response failed")


def _after_sent(tasks: list[Callable[[], None]]) -> None:
    time.sleep(PAUSE_BEFORE)
    _run(tasks)


def after_response(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable:
    def middleware(request: HttpRequest) -> HttpResponse:
        pending = _Pending()
        token = _pending.set(pending)
        try:
            response = get_response(request)
        except BaseException:
            _pending.reset(token)
            _run(pending.tasks)
            raise
        _pending.reset(token)
        if pending.tasks:
            # Django's HttpResponse.close() calls these before request_finished (so the
            # database connection is still the request's); WSGI servers call close()
            # after the body was written.
            response._resource_closers.append(lambda: _after_sent(pending.tasks))
        return response

    return middleware
