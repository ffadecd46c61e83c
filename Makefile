# The two commands a new user needs:
#   make demo   - install, migrate, load the demo corpus, start web + worker + beat (SQLite, no servers)
#   make test   - run the whole test suite (PostgreSQL/Redis/Chromium are used where present)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test install install-dev lint bench-import bench-api clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: $(VENV)/.installed
	HOST=$(HOST) PORT=$(PORT) VENV=$(VENV) bin/demo

test: $(VENV)/.installed-dev
	VENV=$(VENV) bin/run-tests

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .

clean:
	rm -rf var .pytest_cache
