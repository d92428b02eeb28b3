"""A stand-in for the VPS.org REST API, built on the standard library only.

Run it with `python -m sandbox`, or from Python (tests, the Makefile's runner):

    with start_sandbox(tokens=("t1",), transition_seconds=0.2) as sandbox:
        requests.get(sandbox.api_url + "/servers/", headers={"Authorization": "Bearer t1"})
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from types import TracebackType
from typing import Any, Self

from .faults import FaultInjector, RequestCounter
from .server import API_PREFIX, SandboxHTTPServer, make_server
from .state import SandboxState

__all__ = [
    "FaultInjector",
    "RequestCounter",
    "RunningSandbox",
    "SandboxState",
    "start_sandbox",
]


class RunningSandbox:
    """A sandbox serving in a daemon thread; stop it, or use it as a context manager."""

    def __init__(self, server: SandboxHTTPServer) -> None:
        self._server = server
        self.state: SandboxState = server.state
        self.faults: FaultInjector = server.faults
        self.requests: RequestCounter = server.counter
        self.port: int = server.server_port
        self.url: str = server.base_url
        self.api_url: str = self.url + API_PREFIX
        # A short poll interval so that stop() returns within a few milliseconds.
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        self._stopped = False

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<RunningSandbox {self.api_url}>"


def start_sandbox(
    *,
    tokens: Iterable[str] = ("sandbox-demo-token",),
    read_tokens: Iterable[str] = (),
    transition_seconds: float = 5.0,
    credits: float = 100.0,
    state_file: str | os.PathLike[str] | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    quiet: bool = True,
    **faults: Any,
) -> RunningSandbox:
    """Start a sandbox on host:port (0 picks a free port) and return once it listens.

    `faults` are FaultInjector's settings: latency, error_rate, rate_limit_rate,
    retry_after, malformed_rate, drop_rate, drip_rate, drip_interval.
    """
    state = SandboxState(
        tokens,
        read_tokens,
        transition_seconds=transition_seconds,
        credits=credits,
        state_file=state_file,
    )
    server = make_server(state, FaultInjector(**faults), host=host, port=port, quiet=quiet)
    return RunningSandbox(server)
