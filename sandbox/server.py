"""HTTP front of the sandbox: routing, authentication, pagination, faults, control paths.

It answers the way a Django REST framework service answers: URL resolution first (an
unknown path is a 404 whoever asks), then authentication (401), then permission (403),
then the method (405), then the view. Error bodies are DRF's `{"detail": ...}` or a
field map. Every path under `/_sandbox/` is a control for tests and demos, outside
the API and untouched by faults.
"""

from __future__ import annotations

import contextlib
import html
import json
import math
import re
import socket
import socketserver
import sys
import threading
import time
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from .errors import ApiError, not_found
from .faults import FAIL_KINDS, FaultInjector, RequestCounter
from .state import SandboxState, Token

API_PREFIX = "/api/v1"
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_BODY = 1 << 20
_DIGITS = re.compile(r"[0-9]{1,9}")  # str.isdigit() accepts "²", which int() refuses
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Bodies cut short the way a proxy that died mid-answer cuts them.
MALFORMED_BODY = b'{"count": 2, "next": null, "previous": null, "results": [{"id": 12345, "na'

Query = dict[str, list[str]]
View = Callable[["Handler", Token, "re.Match[str]", Query, bytes], None]


class SandboxHTTPServer(ThreadingHTTPServer):
    """A threading server that knows its sandbox and can cut its open connections."""

    daemon_threads = True
    # socketserver's default backlog is 5: a client opening more connections at once (a
    # list read several pages at a time, tests creating servers from 20 threads) had
    # some reset by a full accept queue.
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        state: SandboxState,
        faults: FaultInjector,
        counter: RequestCounter,
        *,
        quiet: bool = True,
        log: TextIO | None = None,
    ) -> None:
        self.state = state
        self.faults = faults
        self.counter = counter
        self.quiet = quiet
        self.log = log or sys.stderr
        self._log_lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can stall for seconds
        # on machines with slow reverse DNS; the name is never needed here.
        socketserver.TCPServer.server_bind(self)
        host, port = self.socket.getsockname()[:2]
        self.server_name = host
        self.server_port = port

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Cut kept-alive connections, so a stopped sandbox stops answering at once."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def write_log(self, line: str, *, always: bool = False) -> None:
        if self.quiet and not always:
            return
        with self._log_lock:
            self.log.write(line + "\n")
            self.log.flush()

    @property
    def base_url(self) -> str:
        host = self.server_name
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.server_port}"


class SandboxHTTPServerV6(SandboxHTTPServer):
    address_family = socket.AF_INET6


def make_server(
    state: SandboxState,
    faults: FaultInjector,
    counter: RequestCounter | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    quiet: bool = True,
    log: TextIO | None = None,
) -> SandboxHTTPServer:
    """Bind (raising OSError if the port is busy) but do not serve yet."""
    cls = SandboxHTTPServerV6 if ":" in host else SandboxHTTPServer
    return cls((host, port), state, faults, counter or RequestCounter(), quiet=quiet, log=log)


def _json_bytes(body: Any) -> bytes:
    # DRF's JSONRenderer: compact separators, UTF-8 rather than \u escapes.
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"Out of range float values are not JSON compliant: {name}")


def _parse_json(body: bytes, content_type: str | None) -> Any:
    """The request body as DRF's JSONParser would read it; an empty body is {}."""
    if not body.strip():
        return {}
    media_type = (content_type or "application/json").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise ApiError.detail(415, f'Unsupported media type "{media_type}" in request.')
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError.detail(400, f"JSON parse error - {exc}") from exc


def _control_json(body: bytes) -> Any:
    """A control's body, read as JSON whatever its Content-Type.

    Controls are typed by hand as often as sent by tests, and `curl -d '{...}'` labels
    its body as a form; a 415 there would only get in the way.
    """
    return _parse_json(body, "application/json")


def _first(query: Query, name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "vpsorg-sandbox/1.0"
    sys_version = ""
    # Idle kept-alive connections are closed after this long, freeing their thread.
    timeout = 60
    # Headers and body leave in separate writes; with Nagle on, the body would wait for
    # the client's delayed ACK, some 40 ms per request.
    disable_nagle_algorithm = True
    server: SandboxHTTPServer

    def do_GET(self) -> None:
        self._handle()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def version_string(self) -> str:
        return self.server_version

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # One line per request is written at the end of _handle, with the timing.
        pass

    def log_message(self, format: str, *args: Any) -> None:
        self.server.write_log(f"{self.client_address[0]} {format % args}")

    # -- the request --------------------------------------------------------------

    def _handle(self) -> None:
        self._started = time.monotonic()
        self._logged = False
        self._is_api = False
        self._allow: str | None = None
        self._drip_interval = 0.0
        self._method = self.command
        url = urlsplit(self.path)
        path = url.path
        try:
            body = self._read_body()
            query = parse_qs(url.query, keep_blank_values=True)
            if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
                self._is_api = True
                self._api(path, query, body)
            elif path.startswith("/_sandbox/"):
                self._control(path, body)
            elif path == "/":
                self._index()
            else:
                raise not_found()
        except ApiError as exc:
            self._send_json(exc.status, exc.body, exc.headers)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:
            self.server.write_log(traceback.format_exc().rstrip(), always=True)
            self._send_json(500, {"detail": "Internal sandbox error; see the sandbox's log."})
        finally:
            if not self._logged:  # the client went away before any answer
                self._log_outcome(None)

    def _log_outcome(self, status: int | None) -> None:
        """Count and log a request as its answer leaves.

        Before the answer rather than after, so that a client reading the counter, or a
        process stopped right after its last answer, never misses the request.
        """
        self._logged = True
        if self._is_api:
            self.server.counter.record(self.command, urlsplit(self.path).path, status)
        took = (time.monotonic() - self._started) * 1000
        outcome = "dropped" if status is None else str(status)
        # The path and query only: the token travels in a header and is never logged.
        self.log_message('"%s %s" %s %.1fms', self.command, self.path, outcome, took)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                total += size
                if total > MAX_BODY:
                    self.close_connection = True
                    raise ApiError.detail(413, "Request body too large.")
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            raise ApiError.detail(400, "Invalid Content-Length header.") from None
        if length > MAX_BODY:
            self.close_connection = True
            raise ApiError.detail(413, "Request body too large.")
        return self.rfile.read(length) if length > 0 else b""

    # -- answers ------------------------------------------------------------------

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        self._log_outcome(status)
        self.send_response(status)
        if status != 204:
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Vary", "Accept, Authorization")
        if self._allow is not None:
            self.send_header("Allow", self._allow)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD" and status != 204:
            if self._drip_interval > 0:
                self._write_slowly(body)
            else:
                self.wfile.write(body)

    def _write_slowly(self, body: bytes) -> None:
        """The drip fault: the body a byte at a time (a client that gives up ends it)."""
        for index in range(len(body)):
            if index:
                time.sleep(self._drip_interval)
            self.wfile.write(body[index : index + 1])

    def _send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, _json_bytes(body), "application/json", headers)

    def _drop(self) -> None:
        """Close the connection without a byte of answer, like a crashed upstream."""
        self._log_outcome(None)
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _inject(self, fault: str, retry_after: int) -> None:
        if fault == "drop":
            self._drop()
        elif fault == "malformed":
            self._send(200, MALFORMED_BODY)
        elif fault == "429":
            unit = "second" if retry_after == 1 else "seconds"
            self._send_json(
                429,
                {"detail": f"Request was throttled. Expected available in {retry_after} {unit}."},
                {"Retry-After": str(retry_after)},
            )
        elif fault == "503":
            self._send_json(
                503,
                {"detail": "Service temporarily unavailable, try again later."},
                {"Retry-After": str(retry_after)},
            )
        else:
            self._send_json(500, {"detail": "A server error occurred."})

    # -- the API ------------------------------------------------------------------

    def _api(self, path: str, query: Query, body: bytes) -> None:
        fault = self.server.faults.draw()
        if fault.delay > 0:
            time.sleep(fault.delay)
        if fault.kind == "drip":
            # The right answer, errors included, only slow.
            self._drip_interval = fault.drip_interval
        elif fault.kind is not None:
            self._inject(fault.kind, fault.retry_after)
            return
        views, match = _resolve(path)
        # A DRF view names its methods in every answer, errors included.
        allowed = sorted({*views, "OPTIONS", *(["HEAD"] if "GET" in views else [])})
        self._allow = ", ".join(allowed)
        token = self._authenticate()
        if token.read_only and self.command not in SAFE_METHODS:
            raise ApiError.detail(403, "This token does not have write permission.")
        if self.command == "OPTIONS":
            metadata = {"renders": ["application/json"], "parses": ["application/json"]}
            self._send_json(200, metadata)
            return
        # HEAD is GET without the body, which _send leaves out.
        self._method = "GET" if self.command == "HEAD" else self.command
        view = views.get(self._method)
        if view is None:
            raise ApiError.detail(405, f'Method "{self.command}" not allowed.')
        view(self, token, match, query, body)

    def _authenticate(self) -> Token:
        challenge = {"WWW-Authenticate": 'Bearer realm="api"'}
        header = self.headers.get("Authorization", "")
        parts = header.split()
        if not parts or parts[0].lower() != "bearer":
            raise ApiError(
                401, {"detail": "Authentication credentials were not provided."}, challenge
            )
        if len(parts) == 1:
            raise ApiError(
                401, {"detail": "Invalid token header. No credentials provided."}, challenge
            )
        if len(parts) > 2:
            raise ApiError(
                401,
                {"detail": "Invalid token header. Token string should not contain spaces."},
                challenge,
            )
        token = self.server.state.authenticate(parts[1])
        if token is None:
            raise ApiError(401, {"detail": "Invalid token."}, challenge)
        return token

    def _absolute_url(self, query: Query, page: int | None) -> str:
        """The request's own URL with another page, as DRF's replace_query_param builds it."""
        proto = (self.headers.get("X-Forwarded-Proto") or "").split(",")[0].strip().lower()
        scheme = proto if proto in ("http", "https") else "http"
        host = (self.headers.get("Host") or "").strip()
        if not host or any(c.isspace() or c in "/?#@" for c in host):
            host = self.server.base_url.split("://", 1)[1]
        params = {k: v for k, v in query.items() if k != "page"}
        if page is not None:
            params["page"] = [str(page)]
        encoded = urlencode(sorted(params.items()), doseq=True)
        return urlunsplit((scheme, host, urlsplit(self.path).path, encoded, ""))

    def _paginated(self, items: list[dict[str, Any]], query: Query) -> None:
        size = DEFAULT_PAGE_SIZE
        raw_size = _first(query, "page_size")
        # DRF ignores a page_size it cannot read and clamps one that is too large.
        if raw_size and _DIGITS.fullmatch(raw_size) and int(raw_size) > 0:
            size = min(int(raw_size), MAX_PAGE_SIZE)
        pages = max(1, math.ceil(len(items) / size))
        raw_page = _first(query, "page") or "1"
        page = int(raw_page) if _DIGITS.fullmatch(raw_page) else 0
        if raw_page == "last":
            page = pages
        if not 1 <= page <= pages:
            raise ApiError.detail(404, "Invalid page.")
        next_url = self._absolute_url(query, page + 1) if page < pages else None
        previous_url = None
        if page > 1:
            # DRF drops the parameter for the first page rather than writing page=1.
            previous_url = self._absolute_url(query, page - 1 if page > 2 else None)
        start = (page - 1) * size
        self._send_json(
            200,
            {
                "count": len(items),
                "next": next_url,
                "previous": previous_url,
                "results": items[start : start + size],
            },
        )

    def _servers(self, token: Token, match: re.Match[str], query: Query, body: bytes) -> None:
        if self._method == "POST":
            data = _parse_json(body, self.headers.get("Content-Type"))
            self._send_json(201, self.server.state.create_server(token, data))
            return
        # An empty filter value means no filter, as django-filter reads it.
        items = self.server.state.list_servers(
            token,
            status=_first(query, "status") or None,
            location=_first(query, "location") or None,
        )
        self._paginated(items, query)

    def _server(self, token: Token, match: re.Match[str], query: Query, body: bytes) -> None:
        state = self.server.state
        server_id = int(match["id"])
        if self._method == "GET":
            self._send_json(200, state.get_server(token, server_id))
        elif self._method == "DELETE":
            state.delete_server(token, server_id)
            self._send(204, b"")
        else:
            data = _parse_json(body, self.headers.get("Content-Type"))
            partial = self._method == "PATCH"
            self._send_json(200, state.update_server(token, server_id, data, partial=partial))

    def _power(self, token: Token, match: re.Match[str], query: Query, body: bytes) -> None:
        # The documentation sends these without a body; one sent anyway is ignored.
        result = self.server.state.power(token, int(match["id"]), match["action"])
        self._send_json(200, result)

    def _plans(self, token: Token, match: re.Match[str], query: Query, body: bytes) -> None:
        self._paginated(self.server.state.list_plans(_first(query, "location") or None), query)

    def _plan(self, token: Token, match: re.Match[str], query: Query, body: bytes) -> None:
        self._send_json(200, self.server.state.get_plan(int(match["id"])))

    def _account(self, token: Token, match: re.Match[str], query: Query, body: bytes) -> None:
        self._send_json(200, self.server.state.account_me(token))

    # -- controls -----------------------------------------------------------------

    def _control(self, path: str, body: bytes) -> None:
        server = self.server
        method = self.command
        route = path.rstrip("/")
        status_match = re.fullmatch(r"/_sandbox/servers/(\d+)/status", route)
        if route == "/_sandbox/faults":
            self._control_methods(("GET", "POST", "DELETE"))
            if method == "POST":
                result = server.faults.update(_control_json(body))
            elif method == "DELETE":
                result = server.faults.reset()
            else:
                result = server.faults.snapshot()
            self._send_json(200, result)
        elif route == "/_sandbox/requests":
            self._control_methods(("GET", "DELETE"))
            if method == "DELETE":
                server.counter.reset()
            self._send_json(200, server.counter.snapshot())
        elif status_match:
            self._control_methods(("POST",))
            data = _control_json(body)
            status = data.get("status") if isinstance(data, dict) else None
            self._send_json(200, server.state.force_status(int(status_match[1]), status))
        elif route == "/_sandbox/reset":
            self._control_methods(("POST",))
            server.state.reset()
            self._send_json(200, {"detail": "The seed data is restored."})
        elif route == "/_sandbox/accounts":
            self._control_methods(("GET",))
            self._send_json(200, {"results": server.state.accounts_summary()})
        else:
            raise not_found()

    def _control_methods(self, allowed: tuple[str, ...]) -> None:
        if self.command not in allowed:
            raise ApiError(
                405,
                {"detail": f'Method "{self.command}" not allowed.'},
                {"Allow": ", ".join(allowed)},
            )

    def _index(self) -> None:
        self._control_methods(("GET", "HEAD"))
        self._send(200, index_page(self.server).encode(), "text/html; charset=utf-8")


ROUTES: list[tuple[re.Pattern[str], dict[str, View]]] = [
    (re.compile(r"/api/v1/servers/"), {"GET": Handler._servers, "POST": Handler._servers}),
    (
        re.compile(r"/api/v1/servers/(?P<id>\d+)/"),
        {m: Handler._server for m in ("GET", "PUT", "PATCH", "DELETE")},
    ),
    (
        re.compile(r"/api/v1/servers/(?P<id>\d+)/(?P<action>start|stop|reboot)/"),
        {"POST": Handler._power},
    ),
    (re.compile(r"/api/v1/plans/"), {"GET": Handler._plans}),
    (re.compile(r"/api/v1/plans/(?P<id>\d+)/"), {"GET": Handler._plan}),
    (re.compile(r"/api/v1/account/me/"), {"GET": Handler._account}),
]


def _resolve(path: str) -> tuple[dict[str, View], re.Match[str]]:
    for pattern, views in ROUTES:
        match = pattern.fullmatch(path)
        if match is not None:
            return views, match
    raise not_found()


def index_page(server: SandboxHTTPServer) -> str:
    """A short page for whoever opens the sandbox in a browser."""
    state = server.state
    api = server.base_url + API_PREFIX
    tokens = "".join(
        f"<li><code>{html.escape(t.hint)}</code>{' (read only)' if t.read_only else ''}</li>"
        for t in state.tokens.values()
    )
    endpoints = "".join(
        f"<li><code>{html.escape(line)}</code></li>"
        for line in (
            "GET, POST /api/v1/servers/  (query: status, location, page, page_size)",
            "GET, PUT, PATCH, DELETE /api/v1/servers/{id}/",
            "POST /api/v1/servers/{id}/start/ | stop/ | reboot/",
            "GET /api/v1/plans/  (query: location)",
            "GET /api/v1/plans/{id}/",
            "GET /api/v1/account/me/",
        )
    )
    controls = "".join(
        f"<li><code>{html.escape(line)}</code></li>"
        for line in (
            "GET | POST | DELETE /_sandbox/faults   settings: latency, error_rate, "
            "rate_limit_rate, retry_after, malformed_rate, drop_rate, drip_rate, "
            f"drip_interval, fail_next, fail_with ({' | '.join(FAIL_KINDS)})",
            "GET | DELETE /_sandbox/requests   API requests counted per endpoint",
            'POST /_sandbox/servers/{id}/status   {"status": "suspended"}',
            "POST /_sandbox/reset   restore the seed servers and credits",
            "GET /_sandbox/accounts   accounts, credits left, server counts",
        )
    )
    faults = html.escape(json.dumps(server.faults.snapshot()))
    return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>VPS.org API sandbox</title></head>
<body>
<main>
<h1>VPS.org API sandbox</h1>
<p>A stand-in for the VPS.org REST API, for development and tests. It keeps its servers
in memory (or in a state file) and makes them go through their lifecycle in
{state.transition_seconds:g} s.</p>
<p>Base URL: <code>{html.escape(api)}</code>. Send
<code>Authorization: Bearer &lt;token&gt;</code>.</p>
<h2>Tokens</h2>
<ul>{tokens}</ul>
<h2>Endpoints</h2>
<ul>{endpoints}</ul>
<h2>Test controls</h2>
<ul>{controls}</ul>
<p>Current faults: <code>{faults}</code></p>
</main>
</body>
</html>
"""
