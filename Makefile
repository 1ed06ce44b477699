# The two commands a new user needs: `make demo` and `make test`.
# Both build with the one `dev` profile (dependencies optimised, see Cargo.toml), so RocksDB's
# C++ is compiled once and shared, in a target directory kept outside the clone.

SHELL := /bin/bash
export CARGO_TARGET_DIR ?= $(HOME)/.cache/beredd-target
BEREDD := $(CARGO_TARGET_DIR)/debug/beredd
DEMO_DIR ?= beredd-demo
BASE_PORT ?= 8081
VENV ?= $(HOME)/.cache/beredd-venv

.PHONY: demo test deps build failover

deps:
	@scripts/install-deps.sh

build: deps
	cargo build --locked -p node --bin beredd

## Start the three-node demo cluster on 127.0.0.1 (Ctrl-C stops it).
demo: build
	$(BEREDD) demo --data $(DEMO_DIR) --base-port $(BASE_PORT)

## Run every test: unit, storage suite, the real-process cluster tests (exports read back with
## poppler and the PEPPOL validator, which needs the venv's lxml and saxonche), schemathesis
## against a demo cluster (no 5xx allowed), then the browser tests in headless Chromium with axe-core.
test:
	scripts/install-deps.sh --test
	scripts/ensure-venv.sh $(VENV)
	PEPPOL_PYTHON=$(VENV)/bin/python cargo test --locked --workspace -- --test-threads=2
	cargo build --locked -p node --bin beredd
	python3 scripts/api-fuzz.py --beredd $(BEREDD) --schemathesis $(VENV)/bin/schemathesis
	BEREDD=$(BEREDD) $(VENV)/bin/pytest -q -p no:cacheprovider ui-tests

## Kill the leader of a demo cluster five times under write load and report failover times.
failover: build
	python3 scripts/failover.py --beredd $(BEREDD)
