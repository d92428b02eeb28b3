# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PANEL_PORT ?= 8000
SANDBOX_PORT ?= 8001
# The suite runs with development settings (no TLS redirect) and its own key.
TEST_ENV := DEBUG=true SECRET_KEY=test-only-secret-key VPSORG_API_URL=http://vpsorg.test/api/v1
# The same suite against the services of a multi-instance deployment (browser tests aside).
SERVICES_ENV := DATABASE_URL=postgres://postgres@127.0.0.1:5432/test CACHE_URL=redis://127.0.0.1:6379/1

.PHONY: run test test-services install lint format sandbox check bench screenshots clean

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
	$(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS)

test-services: install
	$(TEST_ENV) $(SERVICES_ENV) $(PY) -m pytest --ignore=tests/e2e $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

sandbox: install
	$(PY) -m sandbox --port $(SANDBOX_PORT)

bench: install
	$(PY) scripts/bench_list.py

# The main pages, light and dark, desktop and phone, into docs/screenshots/ (needs Chromium).
screenshots: install
	$(PY) scripts/screenshots.py

check: install
	$(TEST_ENV) $(PY) manage.py check

clean:
	rm -rf $(VENV) db.sqlite3 var staticfiles .pytest_cache .ruff_cache
