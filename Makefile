.PHONY: run test lint format bench

run:   ## run the service on 127.0.0.1:8000 (SQLite, in-process cache); LOCAL_CHAIN=1 adds a local EVM chain for x402
	scripts/run.sh

test:  ## the whole test suite
	scripts/test.sh

lint:
	scripts/bootstrap.sh
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format:
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .
