.PHONY: run test lint audit format bench

run:   ## run the service on 127.0.0.1:8000 (SQLite, in-process cache)
	scripts/run.sh

test:  ## the whole test suite
	scripts/test.sh

lint:
	scripts/bootstrap.sh
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

audit: ## known vulnerabilities in the installed dependencies (see docs/security.md)
	scripts/bootstrap.sh
	.venv/bin/python scripts/audit_deps.py

format:
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .
