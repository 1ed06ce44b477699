# The two commands a new user needs: `make demo` and `make test`.
# Both build with the one `dev` profile (dependencies optimised, see Cargo.toml), so RocksDB's
# C++ is compiled once and shared, in a target directory kept outside the clone.

SHELL := /bin/bash
export CARGO_TARGET_DIR ?= $(HOME)/.cache/beredd-target
BEREDD := $(CARGO_TARGET_DIR)/debug/beredd
CHAOS := $(CARGO_TARGET_DIR)/debug/chaos-tests
DEMO_DIR ?= beredd-demo
BASE_PORT ?= 8081
MAIL_PORT ?= $(shell echo $$(( $(BASE_PORT) + 2000 )))
VENV ?= $(HOME)/.cache/beredd-venv
# Extra flags for `beredd demo`, e.g. DEMO_FLAGS=--https (HTTPS and a demo smart card).
DEMO_FLAGS ?=

.PHONY: demo test deps build failover chaos bench

deps:
	@scripts/install-deps.sh

build: deps
	cargo build --locked -p node --bin beredd

## Start the three-node demo cluster on 127.0.0.1 (Ctrl-C stops it), with a local mail server
## (scripts/mailbox.py, from the venv) that keeps every e-mail the cluster sends in
## $(DEMO_DIR)/mailbox.
demo: build
	@mail=; if scripts/ensure-venv.sh $(VENV); then \
	  $(VENV)/bin/python scripts/mailbox.py --port $(MAIL_PORT) --dir $(DEMO_DIR)/mailbox & mail=$$!; \
	else echo "no Python venv (is PyPI reachable?): the demo runs without its mail server"; fi; \
	trap '[ -z "$$mail" ] || kill $$mail 2>/dev/null' EXIT; \
	$(BEREDD) demo --data $(DEMO_DIR) --base-port $(BASE_PORT) --mail-port $(MAIL_PORT) $(DEMO_FLAGS)

## Run every test: unit, storage suite, the real-process cluster tests (exports read back with
## poppler and the PEPPOL validator, which needs the venv's lxml and saxonche), schemathesis
## against a demo cluster (no 5xx allowed), the browser tests in headless Chromium with axe-core,
## and the quick fault scenarios (a leader kill, a partition) against a containerised cluster.
test:
	scripts/install-deps.sh --test
	scripts/ensure-venv.sh $(VENV)
	PEPPOL_PYTHON=$(VENV)/bin/python cargo test --locked --workspace -- --test-threads=2
	cargo build --locked -p node -p chaos-tests --bin beredd --bin chaos-tests
	python3 scripts/api-fuzz.py --beredd $(BEREDD) --schemathesis $(VENV)/bin/schemathesis
	BEREDD=$(BEREDD) $(VENV)/bin/pytest -q -p no:cacheprovider ui-tests
	deploy/build-image.sh
	$(CHAOS) --quick

## Every fault scenario, three runs each, against containerised clusters built from the shipped
## image and Compose files; prints (and writes to chaos-report.md) the figures table.
chaos:
	scripts/install-deps.sh --test
	cargo build --locked -p node -p chaos-tests --bin beredd --bin chaos-tests
	deploy/build-image.sh
	$(CHAOS) --runs 3 --report chaos-report.md

## Kill the leader of a demo cluster five times under write load and report failover times.
failover: build
	python3 scripts/failover.py --beredd $(BEREDD)

## etcd and beredd side by side, same load, same machine, one run (the team's harness in
## ../shared/bench; it installs etcd and wrk from Debian): writes/s and p99 at 1, 8 and 64
## clients, five leader kills, and the ratios. About four minutes. Results in
## $(BENCH_RESULTS) (default /tmp/beredd-bench-results); BENCHMARKS.md keeps the table.
BENCH_HARNESS ?= ../shared/bench/run-side-by-side.sh
bench: build
	@test -f $(BENCH_HARNESS) || { echo "no $(BENCH_HARNESS): set BENCH_HARNESS to the side-by-side script"; exit 2; }
	bash $(BENCH_HARNESS) $(BEREDD)
