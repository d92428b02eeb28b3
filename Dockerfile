# The panel as `make serve` runs it (deploy/serve.sh): migrate, collectstatic, gunicorn.
#   docker build -t vpsorg-panel .
#   docker run -p 8000:8000 -v panel-data:/data --env-file panel.env vpsorg-panel
# panel.env holds at least SECRET_KEY, ALLOWED_HOSTS and TOKEN_ENCRYPTION_KEYS (README
# "Deploying"); without DATABASE_URL the SQLite file lives in the /data volume.
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHON=python \
    GUNICORN_BIND=0.0.0.0:8000 \
    STATIC_ROOT=/app/staticfiles \
    DATABASE_URL=sqlite:////data/db.sqlite3

WORKDIR /app

# The dependencies first (pyproject.toml installs no package of its own: the code runs from
# /app), so a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN pip install ".[postgres,redis]"

COPY manage.py ./
COPY deploy ./deploy
COPY locale ./locale
COPY panel ./panel
COPY servers ./servers
COPY static ./static
COPY templates ./templates

# Static files collected at build time (no secret needed: a throw-away key for this step),
# so the start only refreshes them; the user of the panel owns them and the data volume.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput --verbosity 0 \
    && useradd --system --uid 10001 --home-dir /app panel \
    && mkdir -p /data \
    && chown -R panel /data /app/staticfiles

USER panel
VOLUME ["/data"]
EXPOSE 8000

# /healthz is exempt from the HTTPS redirect; the Host must be one of ALLOWED_HOSTS.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD \
    python -c "import os, urllib.request; host = os.environ.get('ALLOWED_HOSTS', 'localhost').split(',')[0].lstrip('.*') or 'localhost'; urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:8000/healthz', headers={'Host': host}), timeout=4)"

# sh execs gunicorn, which becomes the container's main process: `docker stop` (TERM)
# stops it gracefully, `docker kill -s HUP` reloads it.
CMD ["sh", "deploy/serve.sh"]
