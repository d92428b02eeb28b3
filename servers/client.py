"""Client for the VPS.org REST API (servers, plans, account).

Deliberately free of Django: the sandbox, scripts and tests import it without
settings, and the views are its only Django-aware callers.

Everything goes through :meth:`VPSOrgClient.request`, so headers, timeouts,
retries, error mapping, redaction and logging are decided in one place.

Bounded time. Every call has a total deadline, body included: the read timeout T for
one call (its retries inside it), 2 x T for a list with all its pages. requests' own
timeouts cannot give that: the read timeout bounds each socket read, so an upstream
that sends a byte a second holds a call for as long as it likes. The mechanism chosen
is the simplest that bounds a dripped status line and headers as well as a dripped
body: before every read of the response's socket, its timeout is set to the time left
(http.client's `response_class` hook, on urllib3 connection classes that a
`DeadlineAdapter` mounts on the session). It needs no thread, works the same over TLS,
and leaves the connection pool and keep-alive as they were. The alternatives were
worse: `stream=True` with a deadline between body chunks leaves the headers unbounded;
running the call in a thread abandoned at the deadline leaks that thread; a watchdog
thread shutting sockets down needs the same access to the socket plus a thread. A call
cut at its deadline raises Unavailable caused by DeadlineExceeded, a requests
ReadTimeout: for a write, the request left and may have been applied.

Concurrent pages. A list's first page tells how many items there are; when its `next`
link is of the predictable page-number form, the other pages are asked at once, at
most `list_concurrency` in flight, through the same choke point (same-origin check,
retries, deadline), in a small thread pool joined before the call returns. The session
(shared by the threads of one call; requests' HTTPAdapter and urllib3's pools are
thread-safe) gets a pool large enough to keep all those connections alive between calls.
"""

from __future__ import annotations

import contextvars
import http.client
import http.cookiejar
import io
import logging
import math
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Self
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit

import requests
import requests.adapters
import urllib3
import urllib3.connection

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_LIST_CONCURRENCY",
    "DEFAULT_TIMEOUT",
    "Account",
    "ActionResult",
    "DeadlineAdapter",
    "DeadlineExceeded",
    "Forbidden",
    "InvalidRequest",
    "NotFound",
    "OperatingSystem",
    "PaymentRequired",
    "Plan",
    "RateLimited",
    "ResourceUsage",
    "Server",
    "ServerError",
    "Unauthorized",
    "Unavailable",
    "UnexpectedResponse",
    "VPSOrgClient",
    "VPSOrgError",
]

logger = logging.getLogger("servers.client")

DEFAULT_BASE_URL = "https://admin.vps.org/api/v1"
# 3.05 s: just over a multiple of TCP's 3 s SYN retransmit window, the value the
# requests docs recommend for connect timeouts.
DEFAULT_TIMEOUT: tuple[float, float] = (3.05, 10.0)
USER_AGENT = "vpsorg-panel/0.1"
PAGE_SIZE = 100
MAX_MESSAGE_LENGTH = 300

# A list, all its pages together, gets this many read timeouts: the panel promises an
# answer within about 3 x the timeout, and an API that is slow on every page of a long
# list would otherwise cost one timeout per page.
LIST_BUDGET = 2.0

# Pages of a list in flight at once after the first page told how many there are. Measured
# against the sandbox with 50 ms of latency, 1000 servers in pages of 100: 600 ms one page
# after the other, 283 ms with 4, 210 ms with 8 (three round trips), 196 ms with 10; at
# 0 ms all are within noise of each other (85-120 ms). 8 is the smallest for three trips.
DEFAULT_LIST_CONCURRENCY = 8
MAX_LIST_CONCURRENCY = 16

# Backoff before each GET retry; its length is the retry limit.
RETRY_BACKOFF: tuple[float, ...] = (0.2, 0.5)
RETRY_STATUSES = frozenset({502, 503, 504})

# Ids are opaque (integers in the docs, UUIDs in the provider's own client).
# Anything else could smuggle "../" or a query into the URL path.
_ID_RE = re.compile(r"[A-Za-z0-9-]{1,128}")
# A token goes into an HTTP header: visible ASCII only, otherwise requests
# raises InvalidHeader with the header value (the token) in its message.
_TOKEN_RE = re.compile(r"[\x21-\x7e]+")
_NON_FIELD_KEYS = ("detail", "message", "error", "non_field_errors")


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


class VPSOrgError(Exception):
    """Base of every error the client raises; views catch this one class."""

    default_message: ClassVar[str] = "The request to the VPS.org API failed."

    def __init__(self, message: str | None = None, *, status: int | None = None) -> None:
        self.message: str = message or self.default_message
        self.status: int | None = status
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, message={self.message!r})"


class InvalidRequest(VPSOrgError):
    default_message = "The VPS.org API rejected the request as invalid."

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = 400,
        field_errors: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message, status=status)
        self.field_errors: dict[str, list[str]] = field_errors or {}


class Unauthorized(VPSOrgError):
    default_message = "The API token is missing, invalid or revoked."


class PaymentRequired(VPSOrgError):
    default_message = "The VPS.org account does not have enough credits."


class Forbidden(VPSOrgError):
    default_message = "The API token is not allowed to do this."


class NotFound(VPSOrgError):
    default_message = "Not found at VPS.org."


class RateLimited(VPSOrgError):
    default_message = "Too many requests to the VPS.org API; try again shortly."

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = 429,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after: float | None = retry_after


class ServerError(VPSOrgError):
    default_message = "The VPS.org API failed with an internal error."


class Unavailable(VPSOrgError):
    default_message = "The VPS.org API could not be reached."


class UnexpectedResponse(VPSOrgError):
    default_message = "The VPS.org API sent an answer the panel could not read."


_STATUS_ERRORS: dict[int, type[VPSOrgError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    402: PaymentRequired,
    403: Forbidden,
    404: NotFound,
    429: RateLimited,
}


# --------------------------------------------------------------------------
# Value parsing: lenient, because the live API differs from its documentation
# --------------------------------------------------------------------------


# The helpers below run a dozen times per server of a list (1000 servers: 15 ms before
# the fast paths): the type the API sends is checked first, by identity, before the
# lenient conversions.


def _str_or_none(value: Any) -> str | None:
    if value.__class__ is str:
        return value
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)


def _int_or_none(value: Any) -> int | None:
    if value.__class__ is int:
        return value
    # bool is an int subclass; a true/false in a numeric field is bad data.
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return None


def _float_or_none(value: Any) -> float | None:
    if value.__class__ is float:
        return value if math.isfinite(value) else None
    if isinstance(value, bool):
        return None
    if not isinstance(value, int | float | Decimal | str):
        return None
    try:
        result = float(value)
    except (ValueError, OverflowError):  # an integer too large for a float overflows
        return None
    return result if math.isfinite(result) else None


def _decimal_or_none(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | str | Decimal):
        try:
            # str() first: Decimal(0.007) would carry binary-float noise.
            result = Decimal(str(value).strip())
        except InvalidOperation:
            return None
        return result if result.is_finite() else None
    return None


def _bool_or_none(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _str_tuple(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        return ()
    return tuple(str(item) for item in value if isinstance(item, str | int) and item != "")


def _datetime_or_none(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    # The API documents UTC; a naive value would otherwise compare wrongly
    # against aware datetimes elsewhere.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _date_or_raw(value: Any) -> date | datetime | str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        return str(value)
    text = value.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    return _datetime_or_none(text) or value


def _opaque_id(value: Any) -> str:
    # bool/float/dict ids would stringify into something no URL should carry.
    if value.__class__ is str:
        text = value
    elif isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("id is missing or not a string/integer")
    else:
        text = str(value)
    if not _ID_RE.fullmatch(text):
        raise ValueError("id has characters other than letters, digits and hyphens")
    return text


def _catalog_id(value: Any) -> int | str:
    # Plan and OS ids go back into create bodies, where the API wants integers.
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        raise ValueError("id is missing or not a string/integer")
    return value


def _nested[T](builder: Callable[[dict[str, Any]], T], value: Any) -> T | None:
    # A broken nested object should cost that detail, not the whole server.
    if not isinstance(value, dict):
        return None
    try:
        return builder(value)
    except ValueError:
        return None


class _Shared:
    """The nested objects already built for one list, to build each plan and OS once.

    A list of 1000 servers holds a handful of distinct plans and OSes; building them
    anew for every server was over a third of from_api's time. A nested object is
    reused only when its raw dict equals the one it was built from (a C comparison),
    so a server whose plan differs in any field still gets its own. Sharing frozen
    objects also makes the cached list smaller: pickle writes a shared object once.
    """

    __slots__ = ("_built",)

    def __init__(self) -> None:
        self._built: dict[tuple[Callable[..., Any], Any], tuple[dict[str, Any], Any]] = {}

    def nested[T](self, builder: Callable[[dict[str, Any]], T], value: Any) -> T | None:
        if value.__class__ is not dict:
            return _nested(builder, value)
        key = (builder, value.get("id"))
        try:
            seen = self._built.get(key)
        except TypeError:  # an unhashable id: not shareable (and likely not buildable)
            return _nested(builder, value)
        if seen is not None and seen[0] == value:
            return seen[1]
        built = _nested(builder, value)
        self._built[key] = (value, built)
        return built


# --------------------------------------------------------------------------
# Resources
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Plan:
    id: int | str
    name: str = ""
    vcpus: int | None = None
    memory: int | None = None  # MB
    storage: int | None = None  # GB
    bandwidth: int | None = None  # GB
    slug: str | None = None
    price_monthly: Decimal | None = None
    price_hourly: Decimal | None = None
    available: bool | None = None
    locations: tuple[str, ...] = ()
    description: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            id=_catalog_id(data.get("id")),
            name=_str_or_none(data.get("name")) or "",
            vcpus=_int_or_none(data.get("vcpus")),
            memory=_int_or_none(data.get("memory")),
            storage=_int_or_none(data.get("storage")),
            bandwidth=_int_or_none(data.get("bandwidth")),
            slug=_str_or_none(data.get("slug")),
            price_monthly=_decimal_or_none(data.get("price_monthly")),
            price_hourly=_decimal_or_none(data.get("price_hourly")),
            available=_bool_or_none(data.get("available")),
            locations=_str_tuple(data.get("locations")),
            description=_str_or_none(data.get("description")),
        )


@dataclass(frozen=True, slots=True)
class OperatingSystem:
    id: int | str
    name: str = ""

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Self:
        return cls(id=_catalog_id(data.get("id")), name=_str_or_none(data.get("name")) or "")


@dataclass(frozen=True, slots=True)
class ResourceUsage:
    cpu_percent: float | None = None
    memory_used: float | None = None  # MB
    disk_used: float | None = None  # GB
    bandwidth_used: float | None = None  # GB

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            cpu_percent=_float_or_none(data.get("cpu_percent")),
            memory_used=_float_or_none(data.get("memory_used")),
            disk_used=_float_or_none(data.get("disk_used")),
            bandwidth_used=_float_or_none(data.get("bandwidth_used")),
        )


@dataclass(frozen=True, slots=True)
class Server:
    id: str
    name: str = ""
    # Raw as the API sent it; what a status means is another module's business.
    status: str = ""
    hostname: str | None = None
    ip_address: str | None = None
    ipv6_address: str | None = None
    location: str | None = None
    plan: Plan | None = None
    os: OperatingSystem | None = None
    backups_enabled: bool | None = None
    resource_usage: ResourceUsage | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    message: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any], shared: _Shared | None = None) -> Self:
        """`shared`: the plans and OSes already built for the same list (list_servers)."""
        nested = _nested if shared is None else shared.nested
        return cls(
            id=_opaque_id(data.get("id")),
            name=_str_or_none(data.get("name")) or "",
            status=_str_or_none(data.get("status")) or "",
            hostname=_str_or_none(data.get("hostname")),
            ip_address=_str_or_none(data.get("ip_address")),
            ipv6_address=_str_or_none(data.get("ipv6_address")),
            location=_str_or_none(data.get("location")),
            plan=nested(Plan.from_api, data.get("plan")),
            os=nested(OperatingSystem.from_api, data.get("os")),
            backups_enabled=_bool_or_none(data.get("backups_enabled")),
            resource_usage=_nested(ResourceUsage.from_api, data.get("resource_usage")),
            created_at=_datetime_or_none(data.get("created_at")),
            updated_at=_datetime_or_none(data.get("updated_at")),
            message=_str_or_none(data.get("message")),
        )


@dataclass(frozen=True, slots=True)
class ActionResult:
    status: str
    message: str | None
    server: Server

    @classmethod
    def from_api(cls, data: Mapping[str, Any], *, server_id: str | None = None) -> Self:
        server_data = data.get("server")
        try:
            if not isinstance(server_data, dict):
                raise ValueError("no server object")
            server = Server.from_api(server_data)
        except ValueError:
            # The action was accepted (2xx); reporting it as failed would invite
            # a second click. Fall back to the id we asked about.
            if server_id is None:
                raise
            server = Server(id=server_id)
        return cls(
            status=_str_or_none(data.get("status")) or "",
            message=_str_or_none(data.get("message")),
            server=server,
        )


@dataclass(frozen=True, slots=True)
class Account:
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company_name: str | None = None
    created_at: date | datetime | str | None = None
    token_name: str | None = None
    token_permissions: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Self:
        account = data.get("account")
        # Tolerate a flat profile too: only part of this page's docs is known.
        profile: Mapping[str, Any] = account if isinstance(account, dict) else data
        token = data.get("token")
        token_info: Mapping[str, Any] = token if isinstance(token, dict) else {}
        return cls(
            email=_str_or_none(profile.get("email")),
            first_name=_str_or_none(profile.get("first_name")),
            last_name=_str_or_none(profile.get("last_name")),
            company_name=_str_or_none(profile.get("company_name")),
            created_at=_date_or_raw(profile.get("created_at")),
            token_name=_str_or_none(token_info.get("name")),
            token_permissions=_str_tuple(token_info.get("permissions")),
        )


# --------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------


def _normalize_timeout(
    timeout: float | tuple[float, float] | None,
) -> tuple[float, float]:
    if timeout is None:
        return DEFAULT_TIMEOUT
    if isinstance(timeout, tuple):
        if len(timeout) != 2:
            raise ValueError("timeout must be a number or a (connect, read) pair")
        pair = (float(timeout[0]), float(timeout[1]))
    else:
        pair = (float(timeout), float(timeout))
    # An infinite or zero timeout would let one stuck upstream hang a worker.
    if not all(math.isfinite(t) and t > 0 for t in pair):
        raise ValueError("timeouts must be finite and positive")
    return pair


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def _clean_text(text: str, token: str) -> str:
    # Collapse whitespace so a multi-line detail stays one log/flash line, and
    # never let an upstream that echoes the token put it in a message.
    cleaned = " ".join(text.split())
    if token:
        cleaned = cleaned.replace(token, "***")
    if len(cleaned) > MAX_MESSAGE_LENGTH:
        cleaned = cleaned[: MAX_MESSAGE_LENGTH - 1].rstrip() + "…"
    return cleaned


def _messages(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [item for entry in value for item in _messages(entry)]
    if isinstance(value, dict):
        # Nested serializer errors: keep the text, lose the nesting.
        return [item for entry in value.values() for item in _messages(entry)]
    if value is None:
        return []
    return [str(value)]


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    return max(0.0, seconds) if math.isfinite(seconds) else None


# --------------------------------------------------------------------------
# Deadlines: the whole answer, not each socket read
# --------------------------------------------------------------------------
#
# See the module docstring for why the deadline works this way. The current attempt's
# deadline lives in a thread-local, set by _send around session.request(): the response
# is built and read in that same thread, and a response read outside a client call (no
# deadline set) behaves exactly as before.

_attempt = threading.local()

# Set by a caller that goes on with other work while a call travels (servers.cache's
# read_list_soon): each response object of the call sets the event as it is built, that
# is once its request has been written and before its answer is awaited.
request_sent: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar(
    "request_sent", default=None
)


@dataclass(slots=True)
class _Deadline:
    at: float  # time.monotonic() value
    # Set by concurrent page fetches that are no longer needed (another page failed).
    abandoned: threading.Event | None = None
    expired: bool = False


class DeadlineExceeded(requests.exceptions.ReadTimeout):
    """The whole answer did not arrive by the deadline (a slow or dripping upstream).

    A ReadTimeout, so code that asks whether a write may have arrived (the request
    left, the answer did not come back in time) reads it as it reads any read timeout.
    """


class _DeadlineReader(io.RawIOBase):
    """The socket file of one response, each read clamped to the time left."""

    def __init__(self, fp: Any, sock: socket.socket, deadline: _Deadline) -> None:
        super().__init__()
        self._fp = fp
        self._raw = fp.raw
        self._sock = sock
        self._deadline = deadline
        # urllib3 sets the read timeout on the socket right before the response is built.
        self._read_timeout: float | None = sock.gettimeout()

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._raw.fileno()

    def readinto(self, buffer: Any) -> int | None:
        deadline = self._deadline
        if deadline.abandoned is not None and deadline.abandoned.is_set():
            raise TimeoutError("the answer is no longer needed")
        remaining = deadline.at - time.monotonic()
        if remaining <= 0:
            deadline.expired = True
            raise TimeoutError("the deadline for the whole answer has passed")
        clamped = remaining if self._read_timeout is None else min(self._read_timeout, remaining)
        if self._sock.fileno() != -1:
            # A socket closed under the response: the read below fails as it always did,
            # rather than settimeout() with a less telling error.
            self._sock.settimeout(clamped)
        try:
            return self._raw.readinto(buffer)
        except TimeoutError:
            if clamped == remaining:
                deadline.expired = True
            raise

    def close(self) -> None:
        if not self.closed:
            self._fp.close()
        super().close()


class _DeadlineHTTPResponse(http.client.HTTPResponse):
    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        sent = request_sent.get()
        if sent is not None:
            sent.set()
        deadline: _Deadline | None = getattr(_attempt, "deadline", None)
        if deadline is not None:
            self.fp = io.BufferedReader(_DeadlineReader(self.fp, sock, deadline))


class _DeadlineHTTPConnection(urllib3.connection.HTTPConnection):
    response_class = _DeadlineHTTPResponse


class _DeadlineHTTPSConnection(urllib3.connection.HTTPSConnection):
    response_class = _DeadlineHTTPResponse


class _DeadlineHTTPConnectionPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


class _DeadlineHTTPSConnectionPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


_DEADLINE_POOLS: dict[str, type[urllib3.HTTPConnectionPool]] = {
    "http": _DeadlineHTTPConnectionPool,
    "https": _DeadlineHTTPSConnectionPool,
}


class DeadlineAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter whose connections honour the client's per-call deadline.

    Its pool keeps at least `pool_maxsize` connections per host alive, so concurrent
    page fetches reuse them from one panel request to the next.
    """

    def __init__(self, pool_maxsize: int = requests.adapters.DEFAULT_POOLSIZE) -> None:
        self.pool_maxsize = pool_maxsize
        super().__init__(pool_maxsize=pool_maxsize)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_DEADLINE_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if isinstance(manager, urllib3.ProxyManager):
            manager.pool_classes_by_scheme = dict(_DEADLINE_POOLS)
        return manager


def _use_deadline_adapter(session: requests.Session, pool_size: int) -> None:
    """Mount a DeadlineAdapter on the session unless one with a pool this large is there."""
    for prefix in ("https://", "http://"):
        current = session.adapters.get(prefix)
        if isinstance(current, DeadlineAdapter) and current.pool_maxsize >= pool_size:
            continue
        session.mount(prefix, DeadlineAdapter(max(requests.adapters.DEFAULT_POOLSIZE, pool_size)))
        if current is not None:
            current.close()


def _unique(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items by id, the first of each kept.

    A server created or deleted while the pages are read shifts the others between
    pages, so one can come back twice; it is one server.
    """
    seen: set[str] = set()
    unique: list[dict[str, Any]] = []
    for item in items:
        key = item.get("id")
        if isinstance(key, int | str) and not isinstance(key, bool):
            if str(key) in seen:
                continue
            seen.add(str(key))
        unique.append(item)
    return unique


def _api_int(value: int | str) -> int | str:
    # Form data arrives as strings; the API documents integers. Non-digit
    # strings (UUID-style catalogs of the live API) are passed through.
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return value


# The list pages last parsed, in this process, by their bytes (and declared encoding):
# a list read again mostly comes back byte for byte the same. Shared, so only for callers
# that only read them (the list code). Bounded: emptied when full.
_PARSED_PAGES: dict[tuple[str | None, bytes], Any] = {}
PARSED_PAGES_SIZE = 16

# The servers last built from a list's items, in this process: a list read again mostly
# comes back the same, item for item, and building 100 servers costs more than comparing
# their items (dicts, compared in C). The servers are frozen, so the ones built before
# serve again; each caller gets its own list. Bounded: emptied when full.
_BUILT_LISTS: dict[tuple[int, Any], tuple[list[dict[str, Any]], list[Server]]] = {}
BUILT_LISTS_SIZE = 16


def _built_list(items: list[dict[str, Any]]) -> list[Server]:
    key = (len(items), items[0].get("id") if items else None)
    seen = _BUILT_LISTS.get(key)
    if seen is not None and seen[0] == items:
        return seen[1]
    shared = _Shared()
    try:
        servers = [Server.from_api(item, shared) for item in items]
    except ValueError as exc:
        raise UnexpectedResponse(status=None) from exc
    if len(_BUILT_LISTS) >= BUILT_LISTS_SIZE:
        _BUILT_LISTS.clear()
    _BUILT_LISTS[key] = (items, servers)
    return servers


class VPSOrgClient:
    """One API token's view of VPS.org. Cheap to create; not tied to Django."""

    def __init__(
        self,
        token: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float | tuple[float, float] | None = None,
        session: requests.Session | None = None,
        max_pages: int = 100,
        list_concurrency: int = DEFAULT_LIST_CONCURRENCY,
    ) -> None:
        base = base_url.strip().rstrip("/")
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("base_url must be an absolute http(s) URL")
        if max_pages < 1:
            raise ValueError("max_pages must be at least 1")
        if (
            isinstance(list_concurrency, bool)
            or not isinstance(list_concurrency, int)
            or not 1 <= list_concurrency <= MAX_LIST_CONCURRENCY
        ):
            raise ValueError(
                f"list_concurrency must be a whole number from 1 to {MAX_LIST_CONCURRENCY}"
            )
        self.base_url: str = base
        self.timeout: tuple[float, float] = _normalize_timeout(timeout)
        self.max_pages: int = max_pages
        self.list_concurrency: int = list_concurrency
        # Stripped because pasted tokens often carry a newline; validated lazily
        # in request() so a bad token surfaces as a VPSOrgError the views catch.
        self._token: str = (token or "").strip()
        self._owns_session = session is None
        self._session: requests.Session = session or requests.Session()
        if session is None:
            # The token is the only credential, and a jar nobody writes to is safe to
            # read from the threads of a concurrent list.
            self._session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        # The deadline needs the adapter's connection classes; the pool must hold one
        # connection per concurrent page so keep-alive survives from call to call.
        _use_deadline_adapter(self._session, list_concurrency)
        # Sent per request rather than set on the session: a session shared
        # between clients of different teams must never carry one's token.
        self._headers: dict[str, str] = {
            "Authorization": f"Bearer {self._token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        # Indirections so tests can run retries without waiting.
        self._sleep: Callable[[float], None] = time.sleep
        self._clock: Callable[[], float] = time.monotonic

    def __repr__(self) -> str:
        return f"<VPSOrgClient base_url={self.base_url!r}>"

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the choke point ---------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        """Send one API call; return the decoded JSON (None for an empty body).

        Raises a VPSOrgError subclass for every failure, including those of
        ``requests`` itself.
        """
        return self._send(method, self._url(path), params=params, json=json)

    def _url(self, path: str) -> str:
        # The API wants the trailing slash; without it a DRF backend answers
        # a redirect, which we refuse to follow.
        return f"{self.base_url}/{path.strip('/')}/"

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        started: float | None = None,
        budget: float | None = None,
        abandoned: threading.Event | None = None,
        read_only: bool = False,
    ) -> Any:
        """`read_only`: the caller only reads the answer, which may then be the one
        parsed from an earlier byte-identical answer (list pages, _PARSED_PAGES)."""
        method = method.upper()
        if not _TOKEN_RE.fullmatch(self._token):
            raise Unauthorized(
                "The API token is empty or contains characters that are not allowed."
            )
        if params is not None:
            params = {key: value for key, value in params.items() if value is not None}
        log_path = urlsplit(url).path
        # The budget covers a whole logical call (retries, all pages of a list), so the
        # panel can promise an answer within about 3x the timeout.
        now = self._clock()
        started = now if started is None else started
        budget = self.timeout[1] if budget is None else budget
        retries = RETRY_BACKOFF if method == "GET" else ()
        attempt = 0
        while True:
            attempt_started = now if attempt == 0 else self._clock()
            remaining = budget - (attempt_started - started)
            if remaining <= 0 or (abandoned is not None and abandoned.is_set()):
                # A part of an answer is no answer: say it took too long instead.
                raise Unavailable("The VPS.org API did not answer in time.", status=None)
            deadline = _Deadline(time.monotonic() + remaining, abandoned)
            _attempt.deadline = deadline
            try:
                response = self._session.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    headers=self._headers,
                    timeout=(min(self.timeout[0], remaining), min(self.timeout[1], remaining)),
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                outcome = "DeadlineExceeded" if deadline.expired else type(exc).__name__
                self._log(method, log_path, outcome, attempt_started, attempt)
                if deadline.expired:
                    # urllib3 reports the cut as a read timeout or, inside the body, as a
                    # connection error; either way the answer was too slow, and a write
                    # may have arrived.
                    cause = DeadlineExceeded(f"no complete answer within {remaining:.1f} s")
                    cause.__cause__ = exc
                    raise self._transport_error(cause, method) from cause
                if self._may_retry(exc, retries, attempt, started):
                    self._sleep(retries[attempt])
                    attempt += 1
                    continue
                raise self._transport_error(exc, method) from exc
            finally:
                _attempt.deadline = None
            self._log(method, log_path, response.status_code, attempt_started, attempt)
            if response.status_code in RETRY_STATUSES and self._may_retry(
                None, retries, attempt, started
            ):
                self._sleep(retries[attempt])
                attempt += 1
                continue
            return self._handle(response, method, read_only=read_only)

    def _may_retry(
        self,
        exc: requests.RequestException | None,
        retries: tuple[float, ...],
        attempt: int,
        started: float,
    ) -> bool:
        if attempt >= len(retries):
            return False
        # A ReadTimeout may mean the server is still working on it, and waiting
        # again would break the response-time promise. TLS errors do not heal
        # in half a second.
        if exc is not None and (
            not isinstance(exc, requests.ConnectionError)
            or isinstance(exc, requests.exceptions.SSLError)
        ):
            return False
        elapsed = self._clock() - started
        return elapsed + retries[attempt] <= self.timeout[1]

    def _log(
        self, method: str, path: str, outcome: int | str, attempt_started: float, attempt: int
    ) -> None:
        duration_ms = (self._clock() - attempt_started) * 1000
        if attempt:
            logger.info(
                "VPS.org %s %s -> %s in %.0f ms (retry %d)",
                method,
                path,
                outcome,
                duration_ms,
                attempt,
            )
        else:
            logger.info("VPS.org %s %s -> %s in %.0f ms", method, path, outcome, duration_ms)

    def _transport_error(self, exc: requests.RequestException, method: str) -> Unavailable:
        # requests' own messages hold hosts, pools and urllib3 internals; the
        # user gets a plain sentence, the cause stays chained for debugging.
        if isinstance(exc, requests.Timeout) and not isinstance(
            exc, requests.exceptions.ConnectTimeout
        ):
            message = "The VPS.org API did not answer in time."
        else:
            message = "The VPS.org API could not be reached."
        if method != "GET" and not isinstance(exc, requests.exceptions.ConnectTimeout):
            # The request may have arrived before the answer was lost.
            message += " The change may or may not have been applied; check before retrying."
        return Unavailable(message, status=None)

    def _handle(self, response: requests.Response, method: str, *, read_only: bool = False) -> Any:
        status = response.status_code
        if 200 <= status < 300:
            if status == 204 or not response.content:
                return None
            key = (response.encoding, response.content) if read_only else None
            parsed = _PARSED_PAGES.get(key) if key else None
            if parsed is not None:
                return parsed
            try:
                parsed = response.json()
            # json raises RecursionError, not ValueError, for arrays nested too deep.
            except (ValueError, RecursionError) as exc:
                raise self._unreadable(method, status) from exc
            if key:
                if len(_PARSED_PAGES) >= PARSED_PAGES_SIZE:
                    _PARSED_PAGES.clear()
                _PARSED_PAGES[key] = parsed
            return parsed

        body: Any = None
        if response.content:
            try:
                body = response.json()
            except (ValueError, RecursionError):
                body = None
        message = self._body_message(body)

        error_class = _STATUS_ERRORS.get(status)
        if error_class is InvalidRequest:
            raise InvalidRequest(message, status=status, field_errors=self._field_errors(body))
        if error_class is RateLimited:
            raise RateLimited(
                message,
                status=status,
                retry_after=_parse_retry_after(response.headers.get("Retry-After")),
            )
        if error_class is not None:
            raise error_class(message, status=status)
        if 500 <= status < 600:
            raise ServerError(message, status=status)
        # Redirects (not followed: they could carry the token elsewhere or turn
        # a POST into a GET), 405, 409, 422 and friends.
        raise UnexpectedResponse(
            message or f"The VPS.org API answered with an unexpected status {status}.",
            status=status,
        )

    def _unreadable(self, method: str, status: int | None) -> UnexpectedResponse:
        message = UnexpectedResponse.default_message
        if method != "GET":
            message += " The change may have been applied; check before retrying."
        return UnexpectedResponse(message, status=status)

    def _body_message(self, body: Any) -> str | None:
        # Only the API's own human sentence, never the body itself.
        if isinstance(body, dict):
            for key in _NON_FIELD_KEYS:
                texts = _messages(body.get(key))
                if texts:
                    return _clean_text(" ".join(texts), self._token)
        elif isinstance(body, list) and body and all(isinstance(item, str) for item in body):
            return _clean_text(" ".join(body), self._token)
        return None

    def _field_errors(self, body: Any) -> dict[str, list[str]]:
        if not isinstance(body, dict):
            return {}
        return {
            str(field): [_clean_text(text, self._token) for text in _messages(value)]
            for field, value in body.items()
            if field not in _NON_FIELD_KEYS and _messages(value)
        }

    # -- helpers for the endpoints -----------------------------------------

    def _id_path(self, kind: str, resource_id: int | str, *rest: str) -> str:
        # Checked before any HTTP call: an id like "1/../../account" must not
        # be able to address anything but one server.
        try:
            safe = _opaque_id(resource_id)
        except ValueError as exc:
            raise NotFound(f"There is no {kind} with this id.", status=None) from exc
        return "/".join((f"{kind}s", quote(safe, safe=""), *rest))

    def _object(self, body: Any, method: str) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise self._unreadable(method, None)
        return body

    def _build[T](
        self, builder: Callable[[Mapping[str, Any]], T], body: Any, method: str = "GET"
    ) -> T:
        data = self._object(body, method)
        try:
            return builder(data)
        except ValueError as exc:
            raise self._unreadable(method, None) from exc

    def _list(self, path: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        started = self._clock()
        budget = LIST_BUDGET * self.timeout[1]
        first = self._send(
            "GET",
            self._url(path),
            params={**params, "page_size": PAGE_SIZE},
            started=started,
            budget=budget,
            read_only=True,
        )
        if isinstance(first, list):
            items: list[Any] = first
        else:
            items = list(self._results(first))
            last: Any = first
            pages = 1
            urls = self._page_urls(first) if self.list_concurrency > 1 else None
            if urls:
                more, last = self._fetch_pages(urls, started, budget)
                items.extend(more)
                pages += len(urls)
            if last is not None:
                items.extend(self._follow(last, pages, started, budget))
        if not all(isinstance(item, dict) for item in items):
            raise UnexpectedResponse(status=None)
        return _unique(items)

    def _results(self, body: Any) -> list[Any]:
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            raise UnexpectedResponse(status=None)
        return body["results"]

    def _follow(self, body: Any, pages: int, started: float, budget: float) -> list[Any]:
        """The pages after `body`, one `next` link after the other."""
        items: list[Any] = []
        url = self._next_url(body.get("next"))
        while url is not None:
            if pages >= self.max_pages:
                # Showing a silently truncated list would be worse than an error.
                raise self._too_many_pages()
            # The next link already carries the page and page_size.
            body = self._send("GET", url, started=started, budget=budget, read_only=True)
            pages += 1
            if isinstance(body, list):
                items.extend(body)
                break
            items.extend(self._results(body))
            url = self._next_url(body.get("next"))
        return items

    def _too_many_pages(self) -> UnexpectedResponse:
        return UnexpectedResponse(
            f"The VPS.org API list has more than {self.max_pages} pages.", status=None
        )

    def _page_urls(self, first: dict[str, Any]) -> list[str] | None:
        """The URLs of pages 2..n when the first page makes them predictable, else None.

        Predictable: a whole-number `count` larger than the first page, and a `next` of
        the page-number form (`page=2`, the rest of the query kept). Cursor or offset
        links, or no count, are followed one after the other instead.
        """
        link = first.get("next")
        count = first.get("count")
        size = len(first["results"])
        if link is None or link == "" or isinstance(count, bool) or not isinstance(count, int):
            return None
        if size == 0 or count <= size:
            return None
        next_url = self._next_url(link)  # the same-origin check, before any prediction
        if next_url is None:
            return None
        parts = urlsplit(next_url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        if [value for key, value in query if key == "page"] != ["2"]:
            return None
        total = math.ceil(count / size)
        if total > self.max_pages:
            raise self._too_many_pages()
        urls = [next_url]
        for number in range(3, total + 1):
            numbered = [(key, str(number) if key == "page" else value) for key, value in query]
            urls.append(parts._replace(query=urlencode(numbered)).geturl())
        return urls

    def _fetch_pages(self, urls: list[str], started: float, budget: float) -> tuple[list[Any], Any]:
        """Pages 2..n at once (at most list_concurrency in flight); their items in order.

        Returns the items and the last page's body when its `next` still points further
        (the list grew meanwhile), or None. Any failure of a page that is needed is the
        list's failure; a 429 cancels what has not started and, if its Retry-After fits
        the budget, the missing pages are asked again one after the other.
        """
        bodies: dict[int, Any] = {}
        rate_limited: RateLimited | None = None
        abandoned = threading.Event()
        workers = min(self.list_concurrency, len(urls))
        # One small pool per list call, joined before returning: no thread outlives it.
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vpsorg-page") as pool:
            futures: dict[Future[Any], int] = {
                # Each page in a copy of the caller's context: the access log counts it.
                pool.submit(
                    contextvars.copy_context().run,
                    self._send,
                    "GET",
                    url,
                    started=started,
                    budget=budget,
                    abandoned=abandoned,
                    read_only=True,
                ): index
                for index, url in enumerate(urls)
            }
            try:
                for future in as_completed(futures):
                    try:
                        bodies[futures[future]] = future.result()
                    except CancelledError:
                        continue
                    except NotFound as exc:
                        # Past the end of a list that shrank meanwhile, or a gap: decided below.
                        bodies[futures[future]] = exc
                    except RateLimited as exc:
                        rate_limited = rate_limited or exc
                        for other in futures:
                            other.cancel()
            except BaseException:
                # Pages still in flight stop at their next read instead of at the deadline.
                abandoned.set()
                for other in futures:
                    other.cancel()
                raise
        missing = [index for index in range(len(urls)) if index not in bodies]
        if missing:
            assert rate_limited is not None
            self._wait_out(rate_limited, started, budget)
            for index in missing:
                try:
                    bodies[index] = self._send(
                        "GET", urls[index], started=started, budget=budget, read_only=True
                    )
                except NotFound as exc:
                    bodies[index] = exc

        items: list[Any] = []
        for index in range(len(urls)):
            body = bodies[index]
            if isinstance(body, NotFound):
                # The page before said there was more: this is a hole, not the end.
                raise UnexpectedResponse(
                    "A page of the VPS.org API list was missing; try again.", status=404
                )
            if isinstance(body, list):
                items.extend(body)
                return items, None
            items.extend(self._results(body))
            if body.get("next") is None or body.get("next") == "":
                # The list shrank: the pages predicted after this one are past its end.
                return items, None
        return items, bodies[len(urls) - 1]

    def _wait_out(self, error: RateLimited, started: float, budget: float) -> None:
        """Sleep the 429's Retry-After if the list's budget allows it, else raise it."""
        elapsed = self._clock() - started
        if error.retry_after is None or elapsed + error.retry_after >= budget:
            raise error
        self._sleep(error.retry_after)

    def _next_url(self, link: Any) -> str | None:
        if link is None or link == "":
            return None
        if not isinstance(link, str):
            raise UnexpectedResponse(status=None)
        try:
            return self._same_origin_url(link)
        except ValueError as exc:
            # urllib raises this for a port that is not a number or a broken IPv6 host.
            raise UnexpectedResponse(status=None) from exc

    def _same_origin_url(self, link: str) -> str:
        url = urljoin(self.base_url + "/", link)
        parts = urlsplit(url)
        base = urlsplit(self.base_url)
        if (
            base.scheme == "https"
            and parts.scheme == "http"
            and parts.port in (None, 80)
            and parts.username is None
            and (parts.hostname or "").lower() == (base.hostname or "").lower()
        ):
            # DRF behind a TLS-terminating proxy that does not pass on the scheme writes
            # http:// links. Asking the same host over https again is safe; refusing
            # would break the whole list, and following over http would expose the token.
            parts = parts._replace(scheme=base.scheme, netloc=base.netloc)
            url = parts.geturl()
        # The token rides along with every request: never to another origin.
        if _origin(url) != _origin(self.base_url) or parts.username or parts.password:
            raise UnexpectedResponse(
                "The VPS.org API pointed the next page at another host; refused.", status=None
            )
        return url

    def _build_all[T](
        self, builder: Callable[[Mapping[str, Any]], T], items: Iterable[dict[str, Any]]
    ) -> list[T]:
        try:
            return [builder(item) for item in items]
        except ValueError as exc:
            raise UnexpectedResponse(status=None) from exc

    # -- servers -----------------------------------------------------------

    def list_servers(self, status: str | None = None, location: str | None = None) -> list[Server]:
        items = self._list("servers", {"status": status or None, "location": location or None})
        return list(_built_list(items))

    def get_server(self, server_id: int | str) -> Server:
        return self._build(Server.from_api, self.request("GET", self._id_path("server", server_id)))

    def create_server(
        self,
        *,
        name: str,
        plan_id: int | str,
        os_id: int | str,
        location: str,
        hostname: str | None = None,
        ssh_key_id: int | str | None = None,
        backups_enabled: bool = False,
    ) -> Server:
        body: dict[str, Any] = {
            "name": name,
            "plan_id": _api_int(plan_id),
            "os_id": _api_int(os_id),
            "location": location,
            "backups_enabled": bool(backups_enabled),
        }
        # Optional fields are left out rather than sent empty: "" is not a FQDN.
        if hostname:
            body["hostname"] = hostname
        if ssh_key_id is not None and ssh_key_id != "":
            body["ssh_key_id"] = _api_int(ssh_key_id)
        return self._build(Server.from_api, self.request("POST", "servers", json=body), "POST")

    def update_server(
        self, server_id: int | str, *, name: str, hostname: str | None, backups_enabled: bool
    ) -> Server:
        body = {"name": name, "hostname": hostname, "backups_enabled": bool(backups_enabled)}
        path = self._id_path("server", server_id)
        return self._build(Server.from_api, self.request("PUT", path, json=body), "PUT")

    def patch_server(self, server_id: int | str, **fields: Any) -> Server:
        path = self._id_path("server", server_id)
        return self._build(Server.from_api, self.request("PATCH", path, json=fields), "PATCH")

    def delete_server(self, server_id: int | str) -> None:
        self.request("DELETE", self._id_path("server", server_id))

    def _action(self, server_id: int | str, action: str) -> ActionResult:
        path = self._id_path("server", server_id, action)
        body = self._object(self.request("POST", path), "POST")
        try:
            return ActionResult.from_api(body, server_id=str(server_id))
        except ValueError as exc:
            raise self._unreadable("POST", None) from exc

    def start_server(self, server_id: int | str) -> ActionResult:
        return self._action(server_id, "start")

    def stop_server(self, server_id: int | str) -> ActionResult:
        return self._action(server_id, "stop")

    def reboot_server(self, server_id: int | str) -> ActionResult:
        return self._action(server_id, "reboot")

    # -- plans and account -------------------------------------------------

    def list_plans(self, location: str | None = None) -> list[Plan]:
        items = self._list("plans", {"location": location or None})
        return self._build_all(Plan.from_api, items)

    def get_plan(self, plan_id: int | str) -> Plan:
        return self._build(Plan.from_api, self.request("GET", self._id_path("plan", plan_id)))

    def get_account(self) -> Account:
        return self._build(Account.from_api, self.request("GET", "account/me"))
