# SCF Chain. Two commands: `make run` (install, start chain, deploy, serve) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FORGE := node_modules/@foundry-rs/forge-linux-amd64/bin/forge
PY_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed

.PHONY: run run-pg test install tools lint typecheck forge pytest pytest-pg snapshot clean help brownie brownie-env bench bench-consortium slither stress geth network network-stop
BROWNIE_VENV := .venv-brownie
BROWNIE_STAMP := $(BROWNIE_VENV)/.installed

help:
	@echo "make run    install everything, start the local chain, deploy, serve the API on 127.0.0.1:8000"
	@echo "make test   install everything, run forge tests, slither, pytest, ruff, import-linter, eslint and mypy"
	@echo "make brownie  brownie console on the running ledger (contracts bound by name)"
	@echo "make network  a 4-validator geth Clique consortium in .scf/network (then: scf up --network .scf/network)"

tools:
	@bash tools/check-tools.sh

$(PY_STAMP): pyproject.toml | tools
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

$(NPM_STAMP): package.json package-lock.json | tools
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

install: $(PY_STAMP) $(NPM_STAMP)

# brownie 1.22 pins web3 7 / eth-account 0.13: it gets a venv of its own.
$(BROWNIE_STAMP): | tools
	@test -x $(BROWNIE_VENV)/bin/python || $(PYTHON) -m venv $(BROWNIE_VENV)
	$(BROWNIE_VENV)/bin/python -m pip install -q --upgrade pip
	$(BROWNIE_VENV)/bin/python -m pip install -q eth-brownie==1.22.2
	@touch $@

brownie-env: $(BROWNIE_STAMP) $(NPM_STAMP)

# Interactive brownie console on the running ledger (start it first with `make run` in another terminal).
brownie: brownie-env
	tools/brownie.sh --interactive

run: install
	$(BIN)/scf up

# `make run` with the read model on PostgreSQL: tools/postgres.sh makes a server available (as root on Debian it
# installs and starts the packaged one; elsewhere set SCF_TEST_PG_URL to an admin URL), database `scf` made on it.
run-pg: install
	admin="$$(bash tools/postgres.sh)" && \
	url="$$($(BIN)/python -c 'import sys; from chain.readmodel.store import ensure_database as e; print(e(sys.argv[1], "scf"))' "$$admin")" && \
	SCF_DATABASE_URL="$$url" $(BIN)/scf up

forge: $(NPM_STAMP)
	$(FORGE) test

pytest: install brownie-env
	@bash tools/check-browser.sh
	SCF_REQUIRE_BROWNIE=1 SCF_REQUIRE_BROWSER=1 SCF_REQUIRE_CONSORTIUM=1 PYTHONUNBUFFERED=1 $(BIN)/python -m pytest

# The same suites on PostgreSQL (the API, the end-to-end stories that run in-process, the fast fault scenarios):
# tools/postgres.sh installs and starts Debian's PostgreSQL as root, or takes SCF_TEST_PG_URL; every test world
# gets a database of its own on it. PYTHONUNBUFFERED: a CI log cut off by a time limit still shows the test it was at.
PG_SUITES := tests/api tests/e2e/test_story.py tests/e2e/test_workers.py tests/e2e/test_backup.py tests/e2e/test_fraud_replays.py tests/stress
pytest-pg: install
	url="$$(bash tools/postgres.sh)" && SCF_TEST_PG_URL="$$url" PYTHONUNBUFFERED=1 $(BIN)/python -m pytest $(PG_SUITES)

lint: $(PY_STAMP) $(NPM_STAMP)
	$(BIN)/ruff check chain api scripts tests
	$(BIN)/ruff format --check chain api scripts tests
	$(BIN)/lint-imports  # package boundaries: the contracts in pyproject.toml [tool.importlinter]
	node_modules/.bin/eslint web  # the console's ES modules: eslint.config.mjs

typecheck: $(PY_STAMP)
	$(BIN)/mypy chain api scripts bench

# The SQLite and PostgreSQL passes run side by side: the suites mostly wait on blocks and processes (a whole
# `make test` used about 20 of its 60 core-minutes when they ran one after the other). What both would install or
# write is made first (the contracts' artifacts, Chromium and the CJK font, the PostgreSQL server: apt-get takes one
# lock). Every line is tagged with its pass; the exit is non-zero when either fails.
test: install brownie-env
	$(MAKE) --no-print-directory forge
	$(MAKE) --no-print-directory slither
	$(BIN)/python -c 'from chain.devnet.compile import compile_contracts; compile_contracts()'  # stamp: no-op when current
	@bash tools/check-browser.sh
	@bash tools/postgres.sh >/dev/null
	@set -o pipefail; \
	  { $(MAKE) --no-print-directory pytest-pg 2>&1 | sed -u 's/^/[postgresql] /'; } & pg=$$!; \
	  $(MAKE) --no-print-directory pytest 2>&1 | sed -u 's/^/[sqlite] /'; sqlite=$$?; \
	  wait $$pg; postgresql=$$?; \
	  echo "make pytest (SQLite): exit $$sqlite; make pytest-pg (PostgreSQL): exit $$postgresql"; \
	  [ $$sqlite -eq 0 ] && [ $$postgresql -eq 0 ]
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory typecheck

# geth v1.13.15 (the last release that seals Clique), built once from the Go module proxy into .cache/ (git-ignored).
geth: install
	$(BIN)/python -c "from chain.devnet.geth import ensure_geth; print(ensure_geth(print))"

# A consortium: one geth Clique validator per organisation (operator, core, bank-a, bank-b), the suite deployed.
network: install
	$(BIN)/scf network up --validators 4 --dir .scf/network

network-stop: install
	$(BIN)/scf network stop --dir .scf/network

snapshot: $(NPM_STAMP)
	$(FORGE) snapshot

# Static analysis of contracts/ (pinned slither in its own venv); fails on unjustified high/medium findings.
slither: $(NPM_STAMP)
	bash tools/slither.sh

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache

# Every section (gas, raw ceiling, service, consortium, endurance, reads, indexer); writes bench/RESULTS.md. The read
# section runs on SQLite and on PostgreSQL: tools/postgres.sh makes a server available as for the tests (a database
# `scf_bench_reads` is made on it); where it cannot (not root, no apt-get), the reads run on SQLite alone and say so.
bench: install
	url="$$(bash tools/postgres.sh)" || { echo "bench: no PostgreSQL server: the read section runs on SQLite only" >&2; url=; }; \
	SCF_BENCH_PG_ADMIN_URL="$$url" $(BIN)/python -m bench

# The consortium section alone (4-validator geth Clique network; geth built once into .cache/), next to a fresh
# anvil service section of the same run; the other sections keep their figures in bench/results.json.
bench-consortium: install
	$(BIN)/python -m bench --only service consortium

# Fault suite, long versions (tests/stress: SIGKILL at each step of a write, anvil restart, reorg, database
# lock, RPC timeout, stuck transaction), within STRESS_BUDGET seconds; ends with a table: scenario, tries, passed.
# Also schemathesis with a fixed seed (stateful, negative data, all checks): no 5xx, no schema violation.
STRESS_BUDGET ?= 3600
stress: install
	@mkdir -p test-output
	SCF_STRESS=1 SCF_STRESS_RESULTS=test-output/stress-results.json timeout --signal=INT $(STRESS_BUDGET) \
		$(BIN)/python -m pytest tests/stress -m stress --timeout $(STRESS_BUDGET)  # long versions: the budget, not 900 s
