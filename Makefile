.PHONY: run test lint audit format bench mutation

run:   ## serve on 127.0.0.1:$(PORT) (default 8000; SQLite, in-process cache): make run PORT=8001; LOCAL_CHAIN=1 adds a local EVM chain for x402
	scripts/run.sh

test:  ## the whole test suite; with DATABASE_URL and REDIS_URL also the concurrency tests
	scripts/test.sh

mutation:  ## mutation testing of the modules in scripts/mutation.toml (docs/mutation.md)
	scripts/mutation.sh

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

bench: ## every benchmark in bench/ (PostgreSQL, Redis and wrk; see docs/benchmarks.md)
	scripts/bootstrap.sh
	.venv/bin/python bench/auth_overhead.py
	.venv/bin/python bench/verify.py
	.venv/bin/python bench/wallet_auth.py
