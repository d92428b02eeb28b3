"""The bridge between views and the VPS.org client: one client per team, errors as messages."""

from __future__ import annotations

import os
import threading
from http import cookiejar

import requests
import requests.adapters
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from panel.access_log import MeasuredSession
from panel.crypto import InvalidToken
from panel.models import Team
from servers import client as vpsorg


class NoToken(vpsorg.VPSOrgError):
    """The team has stored no API token yet."""

    def __init__(self) -> None:
        super().__init__("No API token stored", status=None)


class TokenUnreadable(vpsorg.VPSOrgError):
    """A token is stored but cannot be decrypted: TOKEN_ENCRYPTION_KEYS lost its key."""

    def __init__(self) -> None:
        super().__init__("The stored API token cannot be decrypted", status=None)


class _NoCookies(cookiejar.DefaultCookiePolicy):
    def set_ok(self, cookie: cookiejar.Cookie, request: object) -> bool:
        return False


_lock = threading.Lock()
_shared: tuple[int, requests.Session] | None = None
# gunicorn's threads per worker (deploy/gunicorn.conf.py reads the same variable): each may
# run a list with VPSORG_LIST_CONCURRENCY pages in flight at once.
_DEFAULT_THREADS = 4


def _pool_size() -> int:
    raw = os.environ.get("GUNICORN_THREADS", "").strip()
    threads = int(raw) if raw.isascii() and raw.isdigit() and int(raw) > 0 else _DEFAULT_THREADS
    return max(requests.adapters.DEFAULT_POOLSIZE, threads * settings.VPSORG_LIST_CONCURRENCY)


def _session() -> requests.Session:
    """One session per worker process, shared by its threads: one pool of keep-alive
    connections to VPS.org, large enough for every thread's concurrent list pages, so a
    request reuses the connections any earlier request of the process opened (with TLS,
    a new connection costs a handshake) instead of only its own thread's.

    requests' adapters and urllib3's pools are thread-safe; the cookie jar is the one
    shared state, and it refuses every cookie, so nothing an answer sets for one team can
    ride along with another's. The client sends each team's token per request, never on
    the session. The session counts its calls into the request's access-log line
    (panel/access_log.py). Made again in a forked child (the pid is part of the key), so
    no two processes ever share a socket.
    """
    global _shared
    shared = _shared
    pid = os.getpid()
    if shared is not None and shared[0] == pid:
        return shared[1]
    with _lock:
        if _shared is None or _shared[0] != pid:
            session = MeasuredSession()
            session.cookies.set_policy(_NoCookies())
            size = _pool_size()
            for prefix in ("https://", "http://"):
                session.mount(prefix, vpsorg.DeadlineAdapter(size))
            _shared = (pid, session)
        return _shared[1]


def client_for(team: Team) -> vpsorg.VPSOrgClient:
    try:
        stored = team.api_token
    except Team.api_token.RelatedObjectDoesNotExist:
        raise NoToken from None
    try:
        token = stored.get_token()
    except InvalidToken:
        raise TokenUnreadable from None
    return vpsorg.VPSOrgClient(
        token,
        base_url=settings.VPSORG_API_URL,
        timeout=settings.VPSORG_TIMEOUT,
        session=_session(),
        list_concurrency=settings.VPSORG_LIST_CONCURRENCY,
    )


def error_message(error: vpsorg.VPSOrgError) -> str:
    """What the user reads when VPS.org did not do what was asked."""
    if isinstance(error, TokenUnreadable):
        return _(
            "The team's API token cannot be decrypted (the encryption keys changed). "
            "An admin must store it again."
        )
    if isinstance(error, NoToken):
        return _("This team has no VPS.org API token yet.")
    if isinstance(error, vpsorg.Unauthorized):
        return _("VPS.org rejected the team's API token. An admin must replace it.")
    if isinstance(error, vpsorg.Forbidden):
        return _("The team's API token is not allowed to do this (VPS.org answered 403).")
    if isinstance(error, vpsorg.PaymentRequired):
        return _("The VPS.org account does not have enough credits for this.")
    if isinstance(error, vpsorg.NotFound):
        return _("VPS.org has no such server (it may have been deleted).")
    if isinstance(error, vpsorg.RateLimited):
        if error.retry_after:
            seconds = max(1, round(error.retry_after))
            return ngettext(
                "VPS.org is receiving too many requests. Try again in %(seconds)d second.",
                "VPS.org is receiving too many requests. Try again in %(seconds)d seconds.",
                seconds,
            ) % {"seconds": seconds}
        return _("VPS.org is receiving too many requests. Try again in a moment.")
    if isinstance(error, vpsorg.Unavailable):
        return _("VPS.org could not be reached or did not answer in time. Try again in a moment.")
    if isinstance(error, vpsorg.ServerError):
        return _("VPS.org had an internal error (HTTP %(status)s). Try again in a moment.") % {
            "status": error.status
        }
    if isinstance(error, vpsorg.UnexpectedResponse):
        return _("VPS.org sent an answer the panel could not read. Try again in a moment.")
    if isinstance(error, vpsorg.InvalidRequest):
        return _("VPS.org refused the request: %(detail)s") % {"detail": error.message}
    return _("VPS.org answered with an error: %(detail)s") % {"detail": error.message}


def maybe_applied(error: vpsorg.VPSOrgError) -> bool:
    """Whether a write (create, power action...) may have happened although no clear answer
    came back: then the user must check before trying again, and nothing is resent."""
    if isinstance(error, vpsorg.Unavailable):
        # A connect timeout means the request never left; anything later may have landed.
        return not isinstance(error.__cause__, requests.exceptions.ConnectTimeout)
    if isinstance(error, vpsorg.UnexpectedResponse):
        # An unreadable 2xx (or no status) may be a created server; a 3xx/4xx is not.
        return error.status is None or 200 <= error.status < 300
    if isinstance(error, vpsorg.ServerError):
        # A gateway's 502/504 may come after the API did the work; the API's own 500
        # or 503 says it did not.
        return error.status in (502, 504)
    return False
