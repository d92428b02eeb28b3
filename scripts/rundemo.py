"""`make run`: the sandbox and the panel together, both stopped on Ctrl-C.

Each child runs in its own process group, so stopping it also stops anything it
spawned (runserver's autoreloader child): no process is left behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = os.environ.get("PANEL_HOST", "127.0.0.1")
PANEL_PORT = int(os.environ.get("PANEL_PORT", "8000"))
SANDBOX_PORT = int(os.environ.get("SANDBOX_PORT", "8001"))
TOKEN = os.environ.get("SANDBOX_TOKEN", "sandbox-demo-token")
TRANSITION_SECONDS = os.environ.get("SANDBOX_TRANSITION_SECONDS", "5")


def port_busy(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return True
    return False


def wait_for(url: str, child: subprocess.Popen[bytes], seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if child.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - our own loopback
                return True
        except OSError:
            time.sleep(0.2)
    return False


def stop(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()


def main() -> int:
    busy = [p for p in (PANEL_PORT, SANDBOX_PORT) if port_busy(p)]
    if busy:
        ports = " and ".join(str(p) for p in busy)
        noun = "Ports" if len(busy) > 1 else "Port"
        print(
            f"{noun} {ports} on {HOST} already in use: is another `make run` still running?\n"
            "Stop it, or choose other ports: make run PANEL_PORT=8100 SANDBOX_PORT=8101",
            file=sys.stderr,
        )
        return 2
    (ROOT / "var").mkdir(exist_ok=True)
    python = sys.executable
    api_url = f"http://{HOST}:{SANDBOX_PORT}/api/v1"
    env = {
        **os.environ,
        "DEBUG": os.environ.get("DEBUG", "true"),
        "VPSORG_API_URL": os.environ.get("VPSORG_API_URL", api_url),
    }
    children: list[subprocess.Popen[bytes]] = []
    # Ctrl-C reaches only this process (the children have their own groups): stop them here.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(0))
    # Even when started with SIGINT ignored (a background job of a script), Ctrl-C must stop us.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        sandbox = subprocess.Popen(
            [python, "-m", "sandbox", "--host", HOST, "--port", str(SANDBOX_PORT),
             "--token", TOKEN, "--transition-seconds", TRANSITION_SECONDS,
             "--state", str(ROOT / "var" / "sandbox-state.json")],
            cwd=ROOT, env=env, start_new_session=True,
        )  # fmt: skip
        children.append(sandbox)
        if not wait_for(f"http://{HOST}:{SANDBOX_PORT}/", sandbox):
            print("The sandbox did not start; see its output above.", file=sys.stderr)
            return 1
        subprocess.run(
            [python, "manage.py", "seed_demo", "--token", TOKEN], cwd=ROOT, env=env, check=True
        )
        panel = subprocess.Popen(
            [python, "manage.py", "runserver", f"{HOST}:{PANEL_PORT}"],
            cwd=ROOT, env=env, start_new_session=True,
        )  # fmt: skip
        children.append(panel)
        if wait_for(f"http://{HOST}:{PANEL_PORT}/healthz", panel, seconds=30):
            print(
                f"\n  Panel:   http://{HOST}:{PANEL_PORT}/   (log in as demo / vpsorg-demo)\n"
                "  Two-factor sign-in: click your name, set up an app or a passkey"
                f" (passkeys at http://localhost:{PANEL_PORT}/)\n"
                f"  Sandbox: http://{HOST}:{SANDBOX_PORT}/\n  Ctrl-C stops both.\n",
                flush=True,
            )
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("A process stopped; stopping the other.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop(children)


if __name__ == "__main__":
    sys.exit(main())
