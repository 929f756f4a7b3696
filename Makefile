# Two commands matter: `make demo` and `make test`. Each installs what it needs first (scripts/setup.sh).
.PHONY: setup build test lint typecheck demo dev bench clean

setup:
	@scripts/setup.sh

build: setup

typecheck: setup
	npm run --silent typecheck

lint: setup
	npm run --silent lint

test: setup
	npm run --silent typecheck
	npm run --silent lint
	RUNBOOK_TEST_SKIP_BUILD=1 npx jest

demo: setup
	node bin/runbook.js demo

dev: setup
	node bin/runbook.js dev

bench: setup
	npm run --silent bench

clean:
	rm -rf dist .artifacts
