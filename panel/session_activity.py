"""allauth's session activity ("last seen" on the sessions page), recorded at most once a
minute per session and worker process instead of on every request.

allauth.usersessions' own middleware, with USERSESSIONS_TRACK_ACTIVITY on, reads the
session's row, reads the user once more and saves the whole row inside a transaction on
every request: five statements and a write transaction on every page, every htmx poll and
every list refresh (with SQLite, every write takes the one database-wide write lock, so
concurrent requests queue behind each other's bookkeeping). The row is made at log-in
(allauth's user_logged_in receiver), so ending sessions never depends on this; only
"last seen", and allauth's check for a changed address or browser, lag by at most
INTERVAL seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from allauth.usersessions.middleware import UserSessionsMiddleware
from django.http import HttpRequest, HttpResponse

INTERVAL = 60.0
# Sessions remembered per process; past this the memory starts over (each session is then
# recorded once more, which is all forgetting costs).
MAX_REMEMBERED = 10_000

clock: Callable[[], float] = time.monotonic
_lock = threading.Lock()
_recorded: dict[str, float] = {}


def _due(session_key: str) -> bool:
    now = clock()
    with _lock:
        last = _recorded.get(session_key)
        if last is not None and 0 <= now - last < INTERVAL:
            return False
        if len(_recorded) >= MAX_REMEMBERED:
            _recorded.clear()
        _recorded[session_key] = now
        return True


class SessionActivityMiddleware(UserSessionsMiddleware):
    """In MIDDLEWARE where allauth's UserSessionsMiddleware was."""

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        key = session.session_key if session is not None else None
        if key is None or not _due(key):
            return self.get_response(request)
        return super().__call__(request)
