"""A real HTTP server on a free port whose answers can be slow, dripping or counted.

`responses` never touches a socket, so what only a socket shows (a status line sent a
byte at a time, requests truly in flight together) is tested against this instead.
Each route answers one (status, body) and says how to send it.
"""

from __future__ import annotations

import json
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True, slots=True)
class Answer:
    status: int = 200
    body: Any = None
    # "whole": at once; "headers": everything from the status line on, a byte at a time;
    # "body": the head at once, then the body a byte at a time; "steady": the body in
    # `pieces` parts spread over `interval` each.
    how: str = "whole"
    interval: float = 0.2
    pieces: int = 5
    delay: float = 0.0


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes


Route = Callable[[Request], Answer]


@dataclass
class Upstream:
    url: str
    requests: list[Request] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _reason(status: int) -> str:
    return {200: "OK", 201: "Created", 404: "Not Found", 429: "Too Many Requests"}.get(
        status, "Error"
    )


def _encode(answer: Answer) -> tuple[bytes, bytes]:
    body = b"" if answer.body is None else json.dumps(answer.body).encode()
    head = (
        f"HTTP/1.1 {answer.status} {_reason(answer.status)}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        + ("Retry-After: 1\r\n" if answer.status == 429 else "")
        + "\r\n"
    ).encode()
    return head, body


def _drip(connection: socket.socket, data: bytes, interval: float) -> None:
    for index in range(len(data)):
        connection.sendall(data[index : index + 1])
        time.sleep(interval)


@contextmanager
def local_upstream(route: Route, tls: ssl.SSLContext | None = None) -> Iterator[Upstream]:
    """Serve `route` on 127.0.0.1 (a free port) for the duration of the block, over TLS
    if given a server context."""
    upstream: Upstream

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            with upstream.lock:
                upstream.connections += 1
            # Keep-alive: one connection may carry several requests.
            while True:
                line = self.rfile.readline()
                if not line.strip():
                    return
                method, target, _ = line.decode().split(" ", 2)
                headers: dict[str, str] = {}
                while (header := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = header.decode().partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = self.rfile.read(int(headers.get("content-length") or 0))
                url = urlsplit(target)
                request = Request(method, url.path, parse_qs(url.query), body)
                with upstream.lock:
                    upstream.requests.append(request)
                    upstream.in_flight += 1
                    upstream.max_in_flight = max(upstream.max_in_flight, upstream.in_flight)
                try:
                    self._answer(route(request))
                except OSError:
                    return  # the client gave up: stop dripping
                finally:
                    with upstream.lock:
                        upstream.in_flight -= 1

        def _answer(self, answer: Answer) -> None:
            if answer.delay:
                time.sleep(answer.delay)
            head, body = _encode(answer)
            if answer.how == "headers":
                _drip(self.connection, head + body, answer.interval)
            elif answer.how == "body":
                self.connection.sendall(head)
                _drip(self.connection, body, answer.interval)
            elif answer.how == "steady":
                self.connection.sendall(head)
                size = -(-len(body) // answer.pieces)
                for start in range(0, len(body), size):
                    time.sleep(answer.interval)
                    self.connection.sendall(body[start : start + size])
            else:
                self.connection.sendall(head + body)

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True
        request_queue_size = 64  # the default 5 could reset concurrent connections

        def get_request(self) -> tuple[Any, Any]:
            connection, address = super().get_request()
            if tls is not None:
                connection = tls.wrap_socket(connection, server_side=True)
            return connection, address

    server = Server(("127.0.0.1", 0), Handler)
    host, port = server.server_address[:2]
    upstream = Upstream(url=f"{'https' if tls else 'http'}://{host}:{port}/api/v1")
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield upstream
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def client_threads() -> set[str]:
    """Names of live threads that are not this module's server threads."""
    return {
        t.name
        for t in threading.enumerate()
        if "process_request_thread" not in t.name and "serve_forever" not in t.name
    }


def wait_until(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.02)
    return check()
