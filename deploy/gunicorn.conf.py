"""gunicorn's settings for `make serve`, the systemd unit and the container.

Every value can be set from the environment (README "Deploying"):

- GUNICORN_BIND (default 127.0.0.1:8000; a container binds 0.0.0.0:8000)
- WEB_CONCURRENCY: worker processes (default 2 x cores + 1, gunicorn's own advice)
- GUNICORN_THREADS: threads per worker (default 2 x cores, at least 2). A page mostly
  waits on VPS.org (up to VPSORG_TIMEOUT per call), so threads are cheap concurrency;
  with 1 the workers are plain sync workers.
- GUNICORN_TIMEOUT: seconds before a silent worker is killed (default 60, above the
  three upstream timeouts a list may take at worst)
- GUNICORN_GRACEFUL_TIMEOUT: seconds a worker gets to finish its requests on a restart
  or stop (default 30)

Graceful restart: `kill -HUP <master pid>` (systemd: `systemctl reload vpsorg-panel`)
starts new workers with the new code and settings, then stops the old ones once their
requests are done, within GUNICORN_GRACEFUL_TIMEOUT. The app is not preloaded, so HUP
reloads the code too. SIGTERM stops the same graceful way.

Access log: one JSON line per request from the panel itself (panel/access_log.py, with
the upstream calls), so gunicorn's own access log stays off.
"""

from __future__ import annotations

import os

_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
_CORES = _CORES or 1


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {raw!r}") from None
    if value < 1:
        raise SystemExit(f"{name} must be 1 or more, not {raw!r}")
    return value


wsgi_app = "panel.wsgi:application"
bind = [address for address in os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")]
workers = _positive_int("WEB_CONCURRENCY", 2 * _CORES + 1)
threads = _positive_int("GUNICORN_THREADS", max(2, 2 * _CORES))
worker_class = "gthread" if threads > 1 else "sync"
timeout = _positive_int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _positive_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Keep-alive behind a proxy that reuses connections (nginx upstream keepalive).
keepalive = 5
preload_app = False
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# The proxy on this machine may say the original scheme (X-Forwarded-Proto); Django reads
# it only with BEHIND_TLS_PROXY=true (SECURE_PROXY_SSL_HEADER).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
proc_name = "vpsorg-panel"
# gunicorn 25+ opens a control socket at one fixed path per user: a second instance on the
# machine would take over the first one's. The signals above are all the panel needs.
control_socket_disable = True
