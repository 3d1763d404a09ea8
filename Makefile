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

# One run on two processes. Live-worker tests share an xdist group (serial, beside the
# rest); eager Celery is opt-in per test (celery_eager), and each process has queues of
# its own on Redis (tests/conftest.py), so nothing leaks between them.
test: $(STAMP)
	$(BIN)/pytest -p no:cacheprovider -n 2 --dist loadgroup $(PYTEST_ARGS)

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
