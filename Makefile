# janela: every set-up step lives here, so a fresh machine needs only `make run` or `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BABEL_KEYWORDS := -k N_ -k t

.PHONY: run test lint i18n worker bench clean

# Create the virtual environment and install janela with its test tools, when pyproject changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## Start everything on this machine: embedded Redis, SQLite, demo data, a worker, the simulator.
run: $(STAMP)
	$(BIN)/python app.py

## Run the linters, the type checker and the whole test suite.
test: $(STAMP) lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app.py cli.py config.py embedded_redis.py commands conversations desk phonetext registry workers simulator bench

## Extract user-facing strings, merge them into every catalog, and compile the catalogs.
i18n: $(STAMP)
	$(BIN)/pybabel extract -F locales/babel.cfg $(BABEL_KEYWORDS) --no-location --sort-output \
		--project janela --copyright-holder janela -o locales/messages.pot .
	$(BIN)/pybabel update -i locales/messages.pot -d locales --no-fuzzy-matching --width 100
	$(BIN)/pybabel compile -d locales --statistics

## Measure hops against a bare endpoint, the registry at national size, the outbox and Redis memory
## (see bench/ and the README's Benchmarks; needs DATABASE_URL and REDIS_URL).
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

## Run an RQ worker (production runs as many as it needs).
worker: $(STAMP)
	$(BIN)/flask --app app worker

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache .mypy_cache locales/*/LC_MESSAGES/*.mo locales/messages.pot
