# The two set-up commands of the README: `make run` and `make test`. Both build the virtualenv
# on first use (Python 3.11+), so a fresh clone needs nothing else.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: run test test-sqlite test-postgres lint clean

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit("riskreg needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $(STAMP)

PORT ?= 8000

## Serve the demo on http://127.0.0.1:$(PORT) (SQLite in the project folder, demo logins printed); `make run PORT=8001`.
run: $(STAMP)
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py seed_demo
	DEBUG=1 $(PY) manage.py runserver 127.0.0.1:$(PORT)

## The whole suite, on SQLite and then on a throwaway PostgreSQL server.
test: lint test-sqlite test-postgres

test-sqlite: $(STAMP)
	$(PY) -m pytest

test-postgres: $(STAMP)
	$(PY) scripts/with_postgres.py -- $(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .
	DEBUG=1 $(PY) -m mypy
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) staticfiles
