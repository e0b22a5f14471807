# Two commands matter to a newcomer: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-sqlite test-postgres lint messages bench clean lock

# Exact versions (and their hashes) from requirements.lock, so that every install is the same;
# pyproject.toml keeps the allowed ranges. `make lock` refreshes the lock within them.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/oshbot demo --out demo-output

# The suite on SQLite, then on PostgreSQL when OSHBOT_TEST_POSTGRES_URL is set.
test: $(STAMP) lint
	$(BIN)/python -m pytest -q
	@if [ -n "$$OSHBOT_TEST_POSTGRES_URL" ]; then \
		OSHBOT_TEST_DATABASE=postgres $(BIN)/python -m pytest -q; \
	else echo "OSHBOT_TEST_POSTGRES_URL not set: PostgreSQL run skipped"; fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

lock: $(STAMP)
	$(BIN)/pip-compile --quiet --upgrade --extra dev --generate-hashes --strip-extras \
		--allow-unsafe --no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml

messages: $(STAMP)
	$(BIN)/python -m bot.catalogs update

clean:
	rm -rf demo-output .pytest_cache
