"""The bridge between views and the VPS.org client: one client per team, errors as messages."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http import cookiejar

import requests
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

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


_local = threading.local()


def _session() -> requests.Session:
    """One session per worker thread, so keep-alive connections are reused across requests.

    The client sends each team's token per request, never on the session; cookies are
    refused so nothing an answer sets for one team can ride along with another's.
    """
    session = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        session.cookies.set_policy(_NoCookies())
        _local.session = session
    return session


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
