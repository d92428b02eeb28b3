"""Command line: `python -m sandbox --port 8001 --token T ...`; see --help."""

from __future__ import annotations

import argparse
import errno
import signal
import sys
from collections.abc import Callable, Sequence
from types import FrameType

from .faults import DEFAULT_DRIP_INTERVAL, DEFAULT_RETRY_AFTER, FaultInjector
from .server import API_PREFIX, make_server
from .state import SandboxState

DEFAULT_TOKEN = "sandbox-demo-token"  # noqa: S105 - a public demo token, not a secret


def _non_negative(kind: type[int] | type[float]) -> Callable[[str], int | float]:
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value < 0:
            raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be from 0 to 1: {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description=(
            "A stand-in for the VPS.org REST API (servers, plans, account) for "
            "development and tests. Each token is an account with its own servers "
            "and credits; servers go through provisioning, starting, stopping and "
            "rebooting in real time. Test controls live under /_sandbox/ (see GET /)."
        ),
    )
    number = _non_negative(float)
    whole = _non_negative(int)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (%(default)s)")
    parser.add_argument(
        "--port", type=whole, default=8001, help="port to listen on, 0 for any (%(default)s)"
    )
    parser.add_argument(
        "--token",
        action="append",
        default=[],
        metavar="T",
        help=f"an API token with read and write permission, repeatable; each is its own "
        f"account (the first has the documentation's servers 12345 and 12346); "
        f"default: one token {DEFAULT_TOKEN!r}",
    )
    parser.add_argument(
        "--read-token",
        action="append",
        default=[],
        metavar="T",
        help="a read-only API token, repeatable; its own account, whose writes answer 403",
    )
    parser.add_argument(
        "--transition-seconds",
        type=number,
        default=5.0,
        metavar="S",
        help="how long provisioning, starting, stopping and rebooting take (%(default)s)",
    )
    parser.add_argument(
        "--credits",
        type=number,
        default=100.0,
        metavar="AMOUNT",
        help="credits of each account; a new server costs its plan's monthly price, "
        "and too few credits answer 402 (%(default).2f)",
    )
    parser.add_argument(
        "--state",
        metavar="FILE",
        help="keep the servers in this JSON file: loaded at start if present, saved after "
        "every change (default: in memory only)",
    )
    faults = parser.add_argument_group(
        "fault injection", "applies to /api/v1/ requests; change at run time with /_sandbox/faults"
    )
    faults.add_argument(
        "--latency", type=number, default=0.0, metavar="SECONDS", help="delay added to each answer"
    )
    faults.add_argument(
        "--error-rate", type=_rate, default=0.0, metavar="F", help="share answering 500 or 503"
    )
    faults.add_argument(
        "--rate-limit-rate",
        type=_rate,
        default=0.0,
        metavar="F",
        help="share answering 429 with a Retry-After header",
    )
    faults.add_argument(
        "--retry-after",
        type=whole,
        default=DEFAULT_RETRY_AFTER,
        metavar="N",
        help="seconds given in Retry-After (%(default)s)",
    )
    faults.add_argument(
        "--malformed-rate",
        type=_rate,
        default=0.0,
        metavar="F",
        help="share answering 200 with a body that is not JSON",
    )
    faults.add_argument(
        "--drop-rate",
        type=_rate,
        default=0.0,
        metavar="F",
        help="share whose connection is closed without an answer",
    )
    faults.add_argument(
        "--drip-rate",
        type=_rate,
        default=0.0,
        metavar="F",
        help="share answered right but slowly: the body one byte at a time (see --drip-interval)",
    )
    faults.add_argument(
        "--drip-interval",
        type=number,
        default=DEFAULT_DRIP_INTERVAL,
        metavar="SECONDS",
        help="seconds between two bytes of a dripped body, above 0, at most 60 (%(default)s)",
    )
    parser.add_argument("--quiet", action="store_true", help="do not log one line per request")
    return parser


def _terminate(signum: int, frame: FrameType | None) -> None:
    # serve_forever runs in this thread, so unwinding is the way to stop it cleanly.
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        state = SandboxState(
            args.token or [DEFAULT_TOKEN],
            args.read_token,
            transition_seconds=args.transition_seconds,
            credits=args.credits,
            state_file=args.state,
        )
        faults = FaultInjector(
            latency=args.latency,
            error_rate=args.error_rate,
            rate_limit_rate=args.rate_limit_rate,
            retry_after=args.retry_after,
            malformed_rate=args.malformed_rate,
            drop_rate=args.drop_rate,
            drip_rate=args.drip_rate,
            drip_interval=args.drip_interval,
        )
    except ValueError as exc:
        print(f"sandbox: error: {exc}", file=sys.stderr)
        return 2
    try:
        server = make_server(state, faults, host=args.host, port=args.port, quiet=args.quiet)
    except OSError as exc:
        reason = "address already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        print(
            f"sandbox: error: cannot listen on {args.host}:{args.port}: {reason}", file=sys.stderr
        )
        return 2

    signal.signal(signal.SIGTERM, _terminate)
    tokens = len(state.tokens)
    print(f"VPS.org sandbox on {server.base_url}{API_PREFIX} (tokens: {tokens})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    if not args.quiet:
        print("sandbox stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
