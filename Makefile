.PHONY: run test lint format bench mutation

run:   ## run the service on 127.0.0.1:8000 (SQLite, in-process cache)
	scripts/run.sh

test:  ## the whole test suite
	scripts/test.sh

mutation:  ## mutation testing of the modules in scripts/mutation.toml (docs/mutation.md)
	scripts/mutation.sh

lint:
	scripts/bootstrap.sh
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format:
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .
