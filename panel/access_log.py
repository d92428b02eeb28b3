"""One structured access-log line per request, with the VPS.org calls that request made.

    {"ts": "2026-12-03T09:00:00.123Z", "method": "GET", "path": "/servers/", "status": 200,
     "duration_ms": 14.2, "upstream_calls": 1, "upstream_ms": 4.4, "pid": 1234}

The line is a JSON object on logger "panel.access" (to standard error, like gunicorn's own
log), so journald, docker or a log shipper parse it without a pattern. Upstream calls are
counted by the requests session the VPS.org client is given (servers/api.py `_session()`):
every send, retries included, failures included, is added to the current request's tally,
kept in a context variable so the threads of a gthread worker never mix their counts.
The query string is left out: it carries what people typed in the search and filters.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import requests
from django.http import HttpRequest, HttpResponse

log = logging.getLogger("panel.access")

# Seconds of each upstream call of the request being served; None outside a request.
_upstream: ContextVar[list[float] | None] = ContextVar("panel_upstream_calls", default=None)


class MeasuredSession(requests.Session):
    """A requests session that adds the time of every call to the current request's tally."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        start = time.perf_counter()
        try:
            return super().send(request, **kwargs)
        finally:
            calls = _upstream.get()
            if calls is not None:
                calls.append(time.perf_counter() - start)


def access_log(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """First in MIDDLEWARE, so the time covers every other middleware and static files."""

    def middleware(request: HttpRequest) -> HttpResponse:
        calls: list[float] = []
        token = _upstream.set(calls)
        start = time.perf_counter()
        status = 500
        try:
            response = get_response(request)
            status = response.status_code
            return response
        finally:
            duration = time.perf_counter() - start
            _upstream.reset(token)
            if log.isEnabledFor(logging.INFO):
                log.info(
                    json.dumps(
                        {
                            "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
                            "method": request.method,
                            "path": request.path,
                            "status": status,
                            "duration_ms": round(duration * 1000, 1),
                            "upstream_calls": len(calls),
                            "upstream_ms": round(sum(calls) * 1000, 1),
                            "pid": os.getpid(),
                        }
                    )
                )

    return middleware
