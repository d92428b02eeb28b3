#!/bin/sh
# What `make serve`, the container and the systemd unit run: the database schema (and the
# cache table) up to date, hashed and compressed static files, then gunicorn in this very
# process (exec), so the signals of a graceful restart (HUP) and stop (TERM) reach its master.
# Every setting comes from the environment: README "Deploying".
set -eu
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
"$PY" manage.py migrate --noinput
"$PY" manage.py collectstatic --noinput --verbosity 0
exec "$PY" -m gunicorn --config deploy/gunicorn.conf.py
