# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PANEL_PORT ?= 8000
SANDBOX_PORT ?= 8001
# The suite runs with development settings (no TLS redirect), its own key, and the
# local-memory cache (fast, per process; the default database cache is tested on its own).
TEST_ENV := DEBUG=true SECRET_KEY=test-only-secret-key VPSORG_API_URL=http://vpsorg.test/api/v1 CACHE_URL=locmemcache://
# The same suite against the services of a multi-instance deployment (browser tests aside).
SERVICES_ENV := DATABASE_URL=postgres://postgres@127.0.0.1:5432/test CACHE_URL=redis://127.0.0.1:6379/1
# Where the two-instance test finds its services (it creates and drops its own database).
INSTANCES_ENV := INSTANCES_POSTGRES=postgres://postgres@127.0.0.1:5432 INSTANCES_REDIS_URL=redis://127.0.0.1:6379/4

.PHONY: run test test-services test-instances install lint format sandbox check bench screenshots clean deploy-check serve

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "Python 3.12 or newer is needed, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,postgres,redis]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	DEBUG=true $(PY) manage.py migrate --noinput
	PANEL_PORT=$(PANEL_PORT) SANDBOX_PORT=$(SANDBOX_PORT) $(PY) scripts/rundemo.py

test: install
	$(TEST_ENV) $(PY) -m pytest -m "not instances" $(PYTEST_ARGS)

test-services: install
	$(TEST_ENV) $(SERVICES_ENV) $(PY) -m pytest --ignore=tests/e2e -m "not instances" $(PYTEST_ARGS)

# Two gunicorn instances on one PostgreSQL (a database of the test's own) and one Redis.
test-instances: install
	$(TEST_ENV) $(INSTANCES_ENV) $(PY) -m pytest -m instances tests/test_two_instances.py $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

sandbox: install
	$(PY) -m sandbox --port $(SANDBOX_PORT)

# The list page under gunicorn against a direct fetch, polling and wrk (issue 11), about
# 4 minutes; writes docs/benchmarks.md. wrk comes from Debian's packages.
bench: install
	@command -v wrk >/dev/null 2>&1 || { export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
	$(PY) scripts/bench.py $(BENCH_ARGS)

# The main pages, light and dark, desktop and phone, into docs/screenshots/ (needs Chromium).
screenshots: install
	$(PY) scripts/screenshots.py

check: install
	$(TEST_ENV) $(PY) manage.py check

# Production serving: migrate, collectstatic, gunicorn (deploy/gunicorn.conf.py), with the
# variables of README "Deploying" from the environment (SECRET_KEY at least).
serve: install
	PYTHON=$(PY) sh deploy/serve.sh

# With the production variables of README "Deploying" in the environment (no DEBUG):
# hashed, compressed static files, then Django's deployment checks; a warning fails too.
deploy-check: install
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) db.sqlite3 var staticfiles .pytest_cache .ruff_cache
