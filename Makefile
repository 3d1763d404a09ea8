# AlignWeb. `make run` and `make test` work on a fresh clone with only python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
PORT ?= 8000
FAKE_MODEL_PORT ?= 8765

.PHONY: run test lint format bench load worker install clean demo fake-server

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Web server, a real Celery worker on an embedded broker and the offline model server,
# under one supervisor (alignweb/local.py): Ctrl-C stops all of them.
run: $(STAMP)
	$(PY) -m alignweb.local --port $(PORT) --fake-port $(FAKE_MODEL_PORT)

# Tests that drive real services (live Celery workers, 50-thread PostgreSQL) run first in a
# process of their own, so eager tasks run by other tests cannot leave Celery state behind.
test: $(STAMP)
	$(BIN)/pytest -p no:cacheprovider -m services $(PYTEST_ARGS)
	$(BIN)/pytest -p no:cacheprovider -m "not services" -n 2 --dist loadgroup $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

load: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,load]'
	$(PY) benchmarks/load/run_load.py

worker: $(STAMP)
	$(BIN)/celery -A alignweb worker --loglevel=INFO --concurrency=4

fake-server: $(STAMP)
	$(PY) manage.py fake_model_server --port $(FAKE_MODEL_PORT)

clean:
	rm -rf $(VENV) db.sqlite3 .local .screenshots staticfiles
