"""The bridge between views and the VPS.org client: one client per team, errors as messages."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class Problem:
    """What went wrong upstream, for a person: plain words first (`message`), the
    technical detail beside them, smaller (`detail`: the HTTP status, VPS.org's own
    words). Rendered by templates/servers/_problem.html."""

    message: str
    detail: str = ""
    # A failure that passes by itself (VPS.org down, slow, busy): worth retrying.
    transient: bool = False
    # The token is missing or unusable: retrying cannot help until an admin acts.
    token: bool = False
    retry_after: float | None = None


def _detail(error: vpsorg.VPSOrgError) -> str:
    parts = []
    if error.status:
        parts.append(_("HTTP %(status)s") % {"status": error.status})
    elif isinstance(error, vpsorg.Unavailable):
        parts.append(_("no answer in time"))
    said = (error.message or "").strip()
    if said == getattr(type(error), "default_message", None):
        # The client's own words for what happened, not VPS.org's.
        parts.append(said)
    elif said and said not in {str(error.status), "None"}:
        parts.append(_("VPS.org said: %(message)s") % {"message": said[:300]})
    return " · ".join(parts)


def problem(error: vpsorg.VPSOrgError, *, retrying: bool = False) -> Problem:
    """`retrying`: the page keeps asking by itself (a list or a detail page, live), so
    the words say the panel will keep trying; otherwise they say to try again."""
    if isinstance(error, TokenUnreadable):
        return Problem(
            _(
                "The panel can no longer read the team's VPS.org key. "
                "An admin of the team must enter it again."
            ),
            _("The stored API token cannot be decrypted (the encryption keys changed)."),
            token=True,
        )
    if isinstance(error, NoToken):
        return Problem(_("This team has no VPS.org API token yet."), token=True)
    if isinstance(error, vpsorg.Unauthorized):
        return Problem(
            _("VPS.org rejected the team's API token. An admin must replace it."),
            _detail(error),
            token=True,
        )
    if isinstance(error, vpsorg.Forbidden):
        return Problem(
            _("The team's VPS.org key is not allowed to do this."), _detail(error), token=True
        )
    if isinstance(error, vpsorg.PaymentRequired):
        return Problem(
            _("The VPS.org account does not have enough credits for this."), _detail(error)
        )
    if isinstance(error, vpsorg.NotFound):
        return Problem(_("VPS.org has no such server (it may have been deleted)."))
    after = _("The panel will keep trying.") if retrying else _("Try again in a moment.")
    if isinstance(error, vpsorg.RateLimited):
        if error.retry_after and not retrying:
            seconds = max(1, round(error.retry_after))
            after = ngettext(
                "Try again in %(seconds)d second.", "Try again in %(seconds)d seconds.", seconds
            ) % {"seconds": seconds}
        return Problem(
            " ".join((_("VPS.org is receiving too many requests right now."), after)),
            _detail(error),
            transient=True,
            retry_after=error.retry_after,
        )
    if isinstance(error, vpsorg.Unavailable):
        return Problem(
            " ".join((_("VPS.org is not answering right now."), after)),
            _detail(error),
            transient=True,
        )
    if isinstance(error, vpsorg.ServerError):
        return Problem(
            " ".join((_("VPS.org is having trouble right now."), after)),
            _detail(error),
            transient=True,
        )
    if isinstance(error, vpsorg.UnexpectedResponse):
        return Problem(
            " ".join((_("VPS.org sent an answer the panel could not understand."), after)),
            _detail(error),
            transient=True,
        )
    if isinstance(error, vpsorg.InvalidRequest):
        # Its message already carries VPS.org's words.
        return Problem(
            _("VPS.org refused the request: %(detail)s") % {"detail": error.message},
            _("HTTP %(status)s") % {"status": error.status} if error.status else "",
        )
    return Problem(
        _("VPS.org answered with an error: %(detail)s") % {"detail": error.message},
        _detail(error),
    )


def error_message(error: vpsorg.VPSOrgError, *, retrying: bool = False) -> str:
    """The plain words of problem(): what the user reads when VPS.org did not do what
    was asked."""
    return problem(error, retrying=retrying).message


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
