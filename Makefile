# Shortcuts for the commands the README and .ci/run use; everything runs from .venv.
SHELL := /bin/bash
PYTHON := .venv/bin/python
PG := -h 127.0.0.1 -p 5432 -U postgres

.PHONY: venv run test test-pg lint bench ci

venv:
	python3 -m venv .venv && .venv/bin/pip install -r requirements-test.txt

run:
	$(PYTHON) migrations.py && $(PYTHON) bucketlist.py

test:
	$(PYTHON) -m pytest

# The tests on a fresh PostgreSQL database of a unique name, dropped afterwards whatever happens.
test-pg:
	@db="bucketlist_test_$$$$_$$(date +%s)"; \
	createdb $(PG) "$$db" || exit 1; \
	trap 'dropdb $(PG) --if-exists --force "$$db"' EXIT; \
	trap 'exit 130' INT TERM; \
	echo "TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/$$db"; \
	TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:5432/$$db" $(PYTHON) -m pytest

lint:
	.venv/bin/ruff check .

# BENCH_PEERS: the directory of the servers the benchmark compares with (tools/bench.py --help).
bench:
	$(PYTHON) tools/bench.py --scale 1k --duration 5 --rounds 3 --start-peer --start-fastapi --requests-for-memory 100000

ci:
	bash .ci/run
